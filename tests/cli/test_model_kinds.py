"""``run --model FILE --layer NAME`` on every conv layer of Keras models built with Conv1D (causal, dilated,
strided), DepthwiseConv1D, Conv3D, Conv2DTranspose and SeparableConv2D layers (and SeparableConv1D,
Conv1DTranspose, Conv3DTranspose), saved as ``.keras`` and
``.h5`` and exported to ``.onnx``: convcli's output equals the framework's own output of that layer
(Keras' ``keras.Model(model.inputs, layer.output)``; ONNX Runtime's output of the node), first and deep
layers, the deep ones on the input the framework computed for them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import models
import numpy as np
import pytest

from helpers import invoke

#: The models: name -> (input shape, the layers' names in order).
SHAPES = {"m1d": (24, 3), "m2d": (12, 12, 3), "m3d": (6, 8, 8, 2), "e1d": (16, 3), "e3d": (4, 6, 6, 2),
          "op2d": (7, 9, 3)}
KERAS_LAYERS = {"m1d": ("c1", "dw1", "c1b", "causal"), "m2d": ("up", "sep", "up2"), "m3d": ("c3", "c3b"),
                "e1d": ("sep1", "up1"), "e3d": ("up3", "up3b"), "op2d": ("upop", "upop2")}


def _build(k: Any, name: str) -> Any:
    L = k.layers
    i = k.Input(SHAPES[name], name="x")
    if name == "m1d":
        x = L.Conv1D(4, 3, padding="same", activation="relu", name="c1")(i)
        x = L.DepthwiseConv1D(3, depth_multiplier=2, activation="tanh", name="dw1")(x)
        x = L.Conv1D(5, 3, strides=2, name="c1b")(x)
        x = L.Conv1D(3, 3, dilation_rate=2, padding="causal", name="causal")(x)
    elif name == "m2d":
        x = L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu", name="up")(i)
        x = L.SeparableConv2D(5, 3, depth_multiplier=2, activation="relu", name="sep")(x)
        x = L.Conv2DTranspose(3, 2, strides=2, name="up2")(x)
    elif name == "m3d":
        x = L.Conv3D(3, 3, padding="same", activation="relu", name="c3")(i)
        x = L.Conv3D(4, (2, 3, 3), strides=2, name="c3b")(x)
    elif name == "e1d":  # the other Keras classes of these kinds
        x = L.SeparableConv1D(4, 3, depth_multiplier=2, padding="same", activation="relu", name="sep1")(i)
        x = L.Conv1DTranspose(2, 3, strides=2, padding="same", name="up1")(x)
    elif name == "op2d":  # output_padding: the extra rows and columns a transposed layer's output keeps
        x = L.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1, activation="relu", name="upop")(i)
        x = L.Conv2DTranspose(3, 3, strides=3, output_padding=(2, 1), name="upop2")(x)
    else:
        x = L.Conv3DTranspose(3, 2, strides=2, activation="relu", name="up3")(i)
        x = L.Conv3DTranspose(2, 3, padding="same", name="up3b")(x)
    return models.randomise(k.Model(i, x, name=name), seed=len(name) + ord(name[1]))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each model saved as .keras and .h5 and, where Keras' export works, .onnx (``onnx_errors`` where not),
    with its input as a .npy ``(L, C)`` / ``(H, W, C)`` / ``(D, H, W, C)``."""
    k = models.keras()
    folder = tmp_path_factory.mktemp("model_kinds")
    out: dict[str, Any] = {"onnx_errors": {}}
    for name, shape in SHAPES.items():
        model = _build(k, name)
        x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
        np.save(folder / f"{name}.npy", x)
        model(x[None])  # the export wants a model that has been called
        model.save(folder / f"{name}.keras")
        model.save(folder / f"{name}.h5")
        try:
            model.export(str(folder / f"{name}.onnx"), format="onnx")
        except Exception as exc:  # noqa: BLE001 - Keras' exporter (torch.onnx) refuses some layers
            out["onnx_errors"][name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        out[name] = (model, folder / f"{name}.npy", x)
    out["folder"] = folder
    return out


def _run(model_file: Path, layer: str, x_file: Path, tmp_path: Path, *options: str) -> tuple[np.ndarray, str]:
    save = tmp_path / f"run{len(list(tmp_path.iterdir()))}.npz"
    r = invoke("run", x_file, "--model", model_file, "--layer", layer, "--save", save, "-q", *options)
    assert r.exit_code == 0, r.output
    with np.load(save) as z:
        return z["output"], r.output


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize(("name", "layer"), [(m, lay) for m, names in KERAS_LAYERS.items() for lay in names])
def test_every_keras_layer_equals_keras_own_output(files: dict[str, Any], tmp_path: Path, name: str, layer: str,
                                                   fmt: str) -> None:
    k = models.keras()
    model, x_file, x = files[name]
    got, shown = _run(files["folder"] / f"{name}.{fmt}", layer, x_file, tmp_path)
    sub = k.Model(model.inputs[0], model.get_layer(layer).output)
    want = np.asarray(k.ops.convert_to_numpy(sub(x[None])))[0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert np.abs(want).max() > 0.01  # a layer whose output is all zeros would prove nothing
    first = layer == KERAS_LAYERS[name][0]
    assert ("by Keras" in shown) != first  # a deep layer's input is Keras' computation, the first's the file


def _ort_outputs(path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    """ONNX Runtime's output of every Conv and ConvTranspose node, by node name, channels last."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    m = onnx.load(str(path))
    convs = [n for n in m.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    for n in convs:
        m.graph.output.append(onnx.ValueInfoProto(name=n.output[0]))
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run([n.output[0] for n in convs], {session.get_inputs()[0].name: x[None]})
    return {n.name: np.moveaxis(y[0], 0, -1) for n, y in zip(convs, got, strict=True)}


@pytest.mark.parametrize("name", ["m1d", "m2d"])
def test_every_onnx_conv_node_equals_onnx_runtime(files: dict[str, Any], tmp_path: Path, name: str) -> None:
    from convcli.sources.models import read_model

    if name in files["onnx_errors"]:
        pytest.fail(f"Keras' ONNX export of {name} failed: {files['onnx_errors'][name]}")
    path = files["folder"] / f"{name}.onnx"
    _, x_file, x = files[name]
    want = _ort_outputs(path, x)
    layers = [lay for lay in read_model(path).layers if lay.kind in ("conv", "transpose")]
    kinds = {lay.kind for lay in layers}
    assert len(layers) == len(want) == (4 if name == "m1d" else 4)  # a separable layer is two Convs
    assert kinds == ({"conv"} if name == "m1d" else {"conv", "transpose"})
    for lay in layers:
        got, _ = _run(path, lay.name, x_file, tmp_path)
        assert got.shape == want[lay.name].shape, lay.name
        np.testing.assert_allclose(got, want[lay.name], rtol=1e-4, atol=1e-5, err_msg=lay.name)


def test_keras_cannot_export_conv3d_to_onnx(files: dict[str, Any]) -> None:
    """Keras 3's ONNX export (torch backend) refuses a Conv3D model today: when it learns to, the ONNX reader
    needs its 3-D Conv (5-D weights, 6 pads) and this test says so."""
    assert "m3d" in files["onnx_errors"], "the Conv3D model now exports to ONNX: read its 3-D Conv nodes"


def test_a_2d_input_to_a_1d_model_is_one_error_line(files: dict[str, Any], tmp_path: Path) -> None:
    x_file = tmp_path / "image.npy"
    np.save(x_file, np.zeros((24, 5, 3), np.float32))
    r = invoke("run", x_file, "--model", files["folder"] / "m1d.keras", "--layer", "c1b")
    assert r.exit_code == 1, r.output
    assert r.output.startswith("Error:") and r.output.count("\n") == 1
    assert "(L, C)" in r.output


def test_a_separable_layer_saves_both_kernels(files: dict[str, Any], tmp_path: Path) -> None:
    model, x_file, _ = files["m2d"]
    save = tmp_path / "sep.npz"
    r = invoke("run", x_file, "--model", files["folder"] / "m2d.h5", "--layer", "sep", "--save", save, "-q")
    assert r.exit_code == 0, r.output
    dw, pw, bias = model.get_layer("sep").get_weights()
    with np.load(save) as z:
        np.testing.assert_array_equal(z["depthwise_kernel"], dw)
        np.testing.assert_array_equal(z["pointwise_kernel"], pw)
        np.testing.assert_allclose(z["partials"].sum(axis=-2) + bias, z["preactivation"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "fmt", "layer", "cls"), [
    ("m1d", "h5", "dw1", "DepthwiseConv1D"), ("m3d", "h5", "c3b", "Conv3D"), ("m2d", "keras", "sep", "SeparableConv2D"),
    ("m2d", "h5", "up2", "Conv2DTranspose"), ("m1d", "onnx", "/Conv_2", "Conv1D")])
def test_verify_checks_a_deep_layer_of_another_rank_or_kind_with_the_frameworks_own_layer(
        files: dict[str, Any], name: str, fmt: str, layer: str, cls: str) -> None:
    _, x_file, _ = files[name]
    r = invoke("verify", x_file, "--model", files["folder"] / f"{name}.{fmt}", "--layer", layer)
    assert r.exit_code == 0, r.output
    assert f"{cls}(" in r.output and "PyTorch, Keras" in r.output and "agree with convcli" in r.output


def test_an_onnx_1d_conv_with_asymmetric_pads_equals_onnx_runtime(tmp_path: Path) -> None:
    """A 1-D Conv whose pads differ before and after (Keras' export pads with a Pad node instead): the input is
    shown with the zeros added, and the output is ONNX Runtime's."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    w, b = rng.standard_normal((4, 3, 3)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv1d", pads=[3, 1], strides=[2], dilations=[2])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 20])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    path = tmp_path / "c1d.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    x = rng.standard_normal((20, 3)).astype(np.float32)  # (L, C); the graph reads (N, C, L)
    np.save(tmp_path / "x.npy", x)
    got, shown = _run(path, "conv1d", tmp_path / "x.npy", tmp_path)
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    want = session.run(None, {"x": x.T[None]})[0][0].T
    assert got.shape == want.shape == (10, 4)  # (20 + 3 + 1 - 5) // 2 + 1
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert "the model pads (3, 1) (before, after)" in " ".join(shown.split())


def test_padding_given_overrides_a_1d_layers_and_says_so(files: dict[str, Any], tmp_path: Path) -> None:
    k = models.keras()
    model, x_file, x = files["m1d"]
    got, shown = _run(files["folder"] / "m1d.keras", "c1", x_file, tmp_path, "--padding", "valid")
    assert "--padding valid overrides the model's same" in " ".join(shown.split())
    same = np.asarray(k.ops.convert_to_numpy(k.Model(model.inputs[0], model.get_layer("c1").output)(x[None])))[0]
    np.testing.assert_allclose(got, same[1:-1], rtol=1e-4, atol=1e-5)  # k 3, stride 1: 'valid' is 'same' less its ends


@pytest.mark.parametrize(("name", "layer", "cls"), [("m3d", "c3", "Conv3D"), ("m2d", "up", "Conv2DTranspose")])
def test_the_report_shows_a_model_layer_of_another_rank_or_kind(files: dict[str, Any], tmp_path: Path,
                                                                 name: str, layer: str, cls: str) -> None:
    _, x_file, _ = files[name]
    page = tmp_path / "page.html"
    r = invoke("report", x_file, "--model", files["folder"] / f"{name}.keras", "--layer", layer, "-o", page)
    assert r.exit_code == 0, r.output
    assert f"{cls}(" in page.read_text(encoding="utf-8")  # the header names the layer as the file has it


def test_the_terminal_explorer_opens_a_conv3d_model_layer_on_runs_numbers(files: dict[str, Any], monkeypatch) -> None:
    pytest.importorskip("textual")
    from convcli.tui.app import ExploreApp

    apps: list[Any] = []
    monkeypatch.setattr(ExploreApp, "run", lambda self, *a, **k: apps.append(self))
    _, x_file, _ = files["m3d"]
    model = files["folder"] / "m3d.h5"
    r = invoke("explore", x_file, "--model", model, "--layer", "c3b", "--at", "1,2,2")
    assert r.exit_code == 0, r.output
    (app,) = apps
    r = invoke("run", x_file, "--model", model, "--layer", "c3b", "--trace", "1,2,2", "--json")
    assert r.exit_code == 0, r.output
    expected = json.loads(r.stdout)["filters"][0]["trace"]
    assert (app.pointer.row, app.pointer.col) == (2, 2)
    assert app.pointer.trace().sums.tolist() == expected["channel_sums"]


def test_positions_of_a_model_layer_take_its_own_axes(files: dict[str, Any], tmp_path: Path) -> None:
    """--trace I on a 1-D layer, --depth-at D and --trace D,R,C on a 3-D one: read once the file says the rank."""
    _, x1, _ = files["m1d"]
    r = invoke("run", x1, "--model", files["folder"] / "m1d.keras", "--layer", "c1b", "--trace", "3", "-q")
    assert r.exit_code == 0, r.output
    assert "trace · output (0, 3)" in r.output
    _, x3, _ = files["m3d"]
    r = invoke("run", x3, "--model", files["folder"] / "m3d.keras", "--layer", "c3b", "--depth-at", "0", "-q")
    assert r.exit_code == 0, r.output
    assert "depth slice 0 of the output's 3 planes" in " ".join(r.output.split())
    r = invoke("run", x3, "--model", files["folder"] / "m3d.keras", "--layer", "c3b", "--depth-at", "0", "--trace",
               "1,1,1")
    assert r.exit_code == 2 and "--trace and --depth-at choose different planes" in r.output, r.output
    _, x2, _ = files["m2d"]
    r = invoke("run", x2, "--model", files["folder"] / "m2d.keras", "--layer", "up", "--depth-at", "1")
    assert r.exit_code == 2 and "this layer is 2-D" in r.output, r.output


@pytest.mark.parametrize(("attrs", "said"), [
    ({"auto_pad": "SAME_UPPER"}, "a 1-D Conv with auto_pad SAME_UPPER is not supported"),
    ({"pads": [1, 1, 1]}, "its pads attribute has 3 values; a 1-D layer takes 2"),
    ({"kernel_shape": [5]}, "its kernel_shape [5] disagrees with its weight"),
])
def test_an_onnx_1d_conv_the_reader_cannot_take_is_one_error_line(tmp_path: Path, attrs: dict[str, Any],
                                                                  said: str) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv1d", **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 20])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.ones((4, 3, 3), np.float32), "w")])
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    r = invoke("layers", path)
    assert r.exit_code == 1, r.output
    assert r.output.startswith("Error:") and said in r.output and str(path) in r.output, r.output
