"""``run``/``verify --model FILE --layer NAME``: a real model's layer, with its learned weights and settings,
on its real input, checked against the framework's own output of that layer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import models
import numpy as np
import pytest

from helpers import invoke
from oracle import naive_conv2d

IMAGE = "samples/grace_hopper.png"  # 150×128 RGB


def _saved(path: Path, r: Any) -> dict[str, np.ndarray]:
    assert r.exit_code == 0, r.output
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _image() -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(IMAGE).convert("RGB"), dtype=np.float64)


def _keras_float64(k: Any) -> Any:
    """Rescaling, then a conv read from the image's scale, a strided one, a dilated grouped one and a
    depthwise one: every conv in float64, its weights random (biases too)."""
    L = k.layers
    i = k.Input((None, None, 3), dtype="float64", name="image")
    x = L.Rescaling(1 / 255, name="scale", dtype="float64")(i)
    x = L.Conv2D(8, 5, padding="same", activation="relu", name="edges", dtype="float64")(x)
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="tanh", name="mid", dtype="float64")(x)
    x = L.Conv2D(8, 3, dilation_rate=2, groups=4, name="grouped", dtype="float64")(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu", name="dw", dtype="float64")(x)
    return models.randomise(k.Model(i, x, name="f64"))


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Path]]:
    k = models.keras()
    model = _keras_float64(k)
    folder = tmp_path_factory.mktemp("keras")
    files = {"keras": folder / "m.keras", "h5": folder / "m.h5"}
    model.save(files["keras"])
    model.save(files["h5"])
    return model, files


def _keras_layer_output(k: Any, model: Any, name: str, x: np.ndarray) -> np.ndarray:
    sub = k.Model(model.inputs, model.get_layer(name).output)
    return np.asarray(k.ops.convert_to_numpy(sub(x[None])))[0]


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("layer", ["edges", "mid", "grouped", "dw"])
def test_keras_layer_as_keras_computes_it(keras_files: tuple[Any, dict[str, Path]], fmt: str, layer: str,
                                          tmp_path: Path) -> None:
    k = models.keras()
    model, files = keras_files
    out = tmp_path / "out.npz"
    r = invoke("run", IMAGE, "--model", files[fmt], "--layer", layer, "--dtype", "float64", "--save", out, "-q")
    saved = _saved(out, r)
    want = _keras_layer_output(k, model, layer, _image())
    assert saved["output"].shape == want.shape
    np.testing.assert_allclose(saved["output"], want, rtol=1e-9, atol=1e-12)
    weights = model.get_layer(layer).get_weights()
    np.testing.assert_array_equal(saved["bias"], weights[1])
    if layer != "dw":  # a depthwise kernel is bound as C groups of M filters: (kh, kw, 1, C·M)
        np.testing.assert_array_equal(saved["kernel"], weights[0])
    assert f"learned: m.{fmt} '{layer}' #" in r.stdout


def test_index_names_the_same_layer_and_json_says_which(keras_files: tuple[Any, dict[str, Path]]) -> None:
    _, files = keras_files
    by_name = json.loads(invoke("run", IMAGE, "--model", files["keras"], "--layer", "mid", "--json").stdout)
    by_index = json.loads(invoke("run", IMAGE, "--model", files["keras"], "--layer", "3", "--json").stdout)
    assert by_name["model"] == by_index["model"]
    assert by_name["model"]["layer"] == "mid" and by_name["model"]["index"] == 3
    assert by_name["model"]["class_name"] == "Conv2D" and by_name["model"]["overrides"] == {}
    assert by_name["layer"]["strides"] == [2, 2] and by_name["layer"]["activation"] == "tanh"
    assert by_name["input"]["shape"] == [150, 128, 8]  # the output of 'edges', not the image


def test_options_given_override_the_file_and_the_header_says_so(keras_files: tuple[Any, dict[str, Path]],
                                                                 tmp_path: Path) -> None:
    k = models.keras()
    model, files = keras_files
    out = tmp_path / "out.npz"
    r = invoke("run", IMAGE, "--model", files["keras"], "--layer", "mid", "--stride", "1", "--activation", "linear",
               "--no-bias", "--dtype", "float64", "--save", out, "-q", columns=200)
    saved = _saved(out, r)
    assert "--stride 1 overrides the model's 2" in r.stdout
    assert "--activation linear overrides the model's tanh" in r.stdout
    assert "--no-bias leaves out the model's bias" in r.stdout
    x = _keras_layer_output(k, model, "edges", _image())
    w = model.get_layer("mid").get_weights()[0]
    want = naive_conv2d(x, w, pads=(1, 1, 1, 1))  # 'same' at stride 1: 1 on every side
    np.testing.assert_allclose(saved["output"], want, rtol=1e-9, atol=1e-12)
    doc = json.loads(invoke("run", IMAGE, "--model", files["keras"], "--layer", "mid", "--stride", "1",
                            "--json").stdout)
    assert doc["model"]["overrides"]["stride"] == {"model": [2, 2], "given": [1, 1]}


def test_verify_takes_the_model_layer(keras_files: tuple[Any, dict[str, Path]]) -> None:
    _, files = keras_files
    r = invoke("verify", IMAGE, "--model", files["keras"], "--layer", "grouped", columns=120)
    assert r.exit_code == 0, r.output
    assert "learned: m.keras 'grouped' #4 Conv2D" in r.stdout and "✓ agrees" in r.stdout


def test_torch_weights_only_files_take_their_geometry_from_the_options(tmp_path: Path) -> None:
    t = models.torch()
    net = models.torch_net().double()
    state = {k: v.float() for k, v in net.state_dict().items()}
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "n.safetensors"))
    t.save(state, tmp_path / "n.pt")
    x = _image()
    xt = t.tensor(x.transpose(2, 0, 1)[None])
    # the first layer reads the image: conv1 is Conv2d(3, 8, 3, stride=2, padding=1)
    want = net.conv1.float().double()(xt).detach().numpy()[0].transpose(1, 2, 0)
    for f in ("n.safetensors", "n.pt"):
        out = tmp_path / f"{f}.npz"
        r = invoke("run", IMAGE, "--model", tmp_path / f, "--layer", "conv1", "--stride", "2", "--padding", "1",
                   "--dtype", "float64", "--save", out, "-q")
        np.testing.assert_allclose(_saved(out, r)["output"], want, rtol=1e-9, atol=1e-9)
        assert "holds weights only" in r.stdout
    # a deep layer: its input given as an array (the activations a forward hook saw); dw has groups=8
    net.float()
    with t.no_grad():
        act = t.relu(net.bn1(net.conv1(xt.float())))
        seen = {"y": net.dw(act)}
    np.save(tmp_path / "act.npy", act.numpy()[0].transpose(1, 2, 0))
    out = tmp_path / "dw.npz"
    r = invoke("run", tmp_path / "act.npy", "--model", tmp_path / "n.safetensors", "--layer", "dw", "--padding", "1,2",
               "--dilation", "1,2", "--save", out, "-q")
    saved = _saved(out, r)
    np.testing.assert_allclose(saved["output"], seen["y"].detach().numpy()[0].transpose(1, 2, 0), rtol=1e-5,
                               atol=1e-4)
    assert "groups=8" in r.stdout


def test_onnx_deep_layer_on_its_real_input_by_onnx_runtime(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    t = models.torch()
    net = models.torch_net()
    path = models.save_torch_onnx(net, tmp_path / "n.onnx", hw=(16, 16))
    from PIL import Image

    small = np.asarray(Image.open(IMAGE).convert("RGB").resize((16, 16), Image.BILINEAR), dtype=np.float32)
    np.save(tmp_path / "small.npy", small)
    seen: dict[str, Any] = {}
    net.conv2.register_forward_hook(lambda m, i, o: seen.update(y=o))
    net(t.tensor(small.transpose(2, 0, 1)[None]))
    out = tmp_path / "out.npz"
    r = invoke("run", tmp_path / "small.npy", "--model", path, "--layer", "/conv2/Conv", "--save", out, "-q")
    saved = _saved(out, r)
    np.testing.assert_allclose(saved["output"], seen["y"].detach().numpy()[0].transpose(1, 2, 0), rtol=1e-5,
                               atol=1e-4)
    assert "ONNX Runtime" in r.stdout


def test_resize_and_preprocess_make_the_input_the_model_expects(tmp_path: Path) -> None:
    keras = models.keras()
    from keras.applications import imagenet_utils

    out = tmp_path / "out.npz"
    r = invoke("run", IMAGE, "--resize", "60,50", "--preprocess", "caffe", "--dtype", "float64", "--save", out, "-q")
    x = _saved(out, r)["input"]
    assert x.shape == (60, 50, 3)
    resized = keras.ops.convert_to_numpy(keras.ops.image.resize(_image()[None].astype(np.float32), (60, 50)))[0]
    want = imagenet_utils.preprocess_input(resized.astype(np.float64), mode="caffe")
    np.testing.assert_allclose(x, want, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--model", "MODEL"], 2, "--model and --layer go together"),
    (["--layer", "mid"], 2, "--layer names a layer of --model FILE"),
    (["--model", "MODEL", "--layer", "mid", "-k", "5"], 2, "--kernel-size cannot be combined"),
    (["--model", "MODEL", "--layer", "midd"], 2, "did you mean 'mid'"),
    (["--model", "MODEL", "--layer", "scale"], 2, "is a Rescaling"),
    (["--model", "MODEL", "--layer", "99"], 2, "--layer"),
    (["--model", "MODEL", "--layer", "mid", "--normalize", "--preprocess", "unit"], 2, "both scale the input"),
])
def test_model_usage_errors_are_one_line(keras_files: tuple[Any, dict[str, Path]], args: list[str], code: int,
                                         words: str) -> None:
    _, files = keras_files
    r = invoke("run", IMAGE, *(str(files["keras"]) if a == "MODEL" else a for a in args))
    assert r.exit_code == code, r.output
    assert words in r.output and r.output.count("Error:") == 1


def test_a_model_file_is_never_written(keras_files: tuple[Any, dict[str, Path]]) -> None:
    _, files = keras_files
    before = files["keras"].read_bytes()
    r = invoke("run", IMAGE, "--model", files["keras"], "--layer", "mid", "--save", files["keras"], "--force")
    assert r.exit_code != 0 and "Error:" in r.output
    assert files["keras"].read_bytes() == before


def test_a_lambda_model_is_refused(tmp_path: Path) -> None:
    k = models.keras()
    L = k.layers
    i = k.Input((8, 8, 3))
    x = L.Lambda(lambda v: v * 2, name="double")(i)
    x = L.Conv2D(2, 3, name="c")(x)
    model = k.Model(i, x)
    model.save(tmp_path / "lam.keras")
    from PIL import Image

    Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / "x.png")  # an image is the model's input: Lambda first
    r = invoke("run", tmp_path / "x.png", "--model", tmp_path / "lam.keras", "--layer", "c")
    assert r.exit_code == 1 and r.output.count("\n") == 1 and "Lambda" in r.output
    # that its code never runs is proved in tests/sources/test_upstream.py, with a side effect


def test_preprocessing_an_image_the_model_scales_itself_warns() -> None:
    r = invoke("run", IMAGE, "--model", "samples/edges.keras", "--layer", "edges", "--preprocess", "tf", "--json")
    assert r.exit_code == 0, r.output
    assert ("Warning: --preprocess tf and the model's own Rescaling 'scale' both scale the image; the model "
            "expects it as stored") in r.stderr
    r = invoke("run", IMAGE, "--model", "samples/edges.keras", "--layer", "edges", "--json")
    assert "Warning" not in r.stderr


def test_onnx_relu_after_the_conv_is_its_activation_and_channels_keep_their_names(tmp_path: Path) -> None:
    """The sample in .onnx keeps Relu apart from Conv: run applies it, as .keras does, and says so."""
    pytest.importorskip("onnxruntime")
    outs = {}
    for fmt in ("keras", "onnx"):
        out = tmp_path / f"{fmt}.npz"
        r = invoke("run", IMAGE, "--model", f"samples/edges.{fmt}", "--layer", "edges", "--save", out, "-q",
                   columns=200)
        outs[fmt] = _saved(out, r)
        assert "channels R G B" in r.stdout and "activation relu" in r.stdout
    assert "the Relu node 'edges_relu' that alone reads this Conv is applied as its activation" in r.stdout
    np.testing.assert_allclose(outs["onnx"]["output"], outs["keras"]["output"], rtol=1e-5, atol=1e-6)
    assert outs["onnx"]["output"].min() == 0 and (outs["onnx"]["preactivation"] < 0).any()


def test_bias_options_with_a_model(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    bias = rng.normal(size=8)
    np.savez(tmp_path / "gw.npz", rng.normal(size=(5, 5, 3, 8)), bias)
    out = tmp_path / "out.npz"
    r = invoke("run", IMAGE, "--model", "samples/edges.keras", "--layer", "edges", "--bias", tmp_path / "gw.npz",
               "--save", out, "-q", "--dtype", "float64")
    np.testing.assert_array_equal(_saved(out, r)["bias"], bias)  # arr_1 of a get_weights() .npz
    r = invoke("run", IMAGE, "--model", "samples/edges.keras", "--layer", "edges", "--bias", "0.5",
               "--bias-key", "arr_1")
    assert r.exit_code == 2 and "--bias 0.5 is numbers" in r.output
    r = invoke("run", IMAGE, "--model", "samples/edges.keras", "--layer", "edges", "--bias", "1,2")
    assert r.exit_code == 1 and "--bias 1,2: the bias has shape (2,) but the layer has 8 filters" in r.output
    np.savez(tmp_path / "three.npz", a=np.zeros(8), b=np.ones(8), c=np.ones(8))
    r = invoke("run", IMAGE, "--model", "samples/edges.keras", "--layer", "edges", "--bias", tmp_path / "three.npz")
    assert r.exit_code == 1 and "choose one with --bias-key" in r.output


def test_an_array_of_other_channels_than_the_layer_and_the_model_is_one_line(tmp_path: Path) -> None:
    np.save(tmp_path / "x16.npy", np.zeros((10, 10, 16), np.float32))
    r = invoke("run", tmp_path / "x16.npy", "--model", "samples/edges.keras", "--layer", "mid")
    assert r.exit_code == 1 and r.output.count("\n") == 1
    assert "has 16 channels: layer 'mid' reads 8" in r.output and "the model's input takes 3" in r.output


def test_weights_only_groups_from_the_channels_are_said(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    save_file({"dw.weight": np.ones((3, 1, 3, 3), np.float32)}, str(tmp_path / "dw.safetensors"))
    r = invoke("run", IMAGE, "--model", tmp_path / "dw.safetensors", "--layer", "dw", "-q", "--view", "numbers",
               columns=200)
    assert r.exit_code == 0, r.output
    assert "groups 3: the kernel reads 1 channel per group and the input has 3 (--groups chooses)" in r.stdout


def test_running_the_model_up_to_the_layer_is_refused_when_it_cannot_fit() -> None:
    """The activations up to the layer, from the listing's shapes, are measured against the process's limit
    before Keras runs (a child process with a 3 GiB address space)."""
    import subprocess
    import sys

    models.keras()
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))\n"
        "from convcli.cli import app\n"
        "sys.argv = ['convcli', 'run', 'samples/grace_hopper.png', '--model', 'samples/edges.keras', '--layer', "
        "'mid', '--resize', '6000,6000', '-q', '--json']\n"
        "app()\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("Error: samples/edges.keras: layer 'edges' (Conv2D) would make a 6000×6000×8 "
                               "activation (1.1 GiB) before 'mid'; the model would need about 3.2 GiB")
    assert r.stderr.count("\n") == 1 and "--resize H,W" in r.stderr
