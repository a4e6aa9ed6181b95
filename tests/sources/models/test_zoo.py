"""Model-zoo architectures saved as practitioners save them (torchvision models through the
TorchScript and dynamo ONNX exporters, their state dicts as ``.pth`` and ``.safetensors``;
``keras.applications`` models as ``.keras`` and ``.h5``), random weights, a small input: ``layers``
totals equal the framework's count, ``layers --input-size`` gives every conv the framework's output
shape, and ``run --model`` computes deep conv layers equal to the framework's output there.

The oracles: ONNX Runtime's own intermediate outputs for an ``.onnx`` file (its float initializers
for the count: the exporters fold batch norms into the convs, so the file holds other numbers than
the ``nn.Module``), forward hooks for a state dict (``parameters()`` for the trainable count, the
running statistics as the rest), Keras' ``count_params()``, layer output shapes and a sub-model's
output for Keras files. Each model is built and saved once per module, on first use; the larger
ones only with ``CONVCLI_ZOO=all``. NASNetMobile is skipped where Keras cannot build it (its torch
backend refuses it), and Keras 3 cannot reload its own MobileNetV3Small ``.h5``: that refusal is checked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import warnings
from pathlib import Path
from typing import Any

import models
import numpy as np
import pytest

from helpers import invoke

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

SIZE = 64  # the torchvision models' input side: every one of them still has a map left at the end
KERAS_SIZE = 96  # keras.applications' smallest comfortable input (NASNetMobile's stem and reductions)
TORCH_MODELS = ["resnet18", "mobilenet_v3_small", "efficientnet_b0", "convnext_tiny", "shufflenet_v2_x0_5",
                "densenet121"]
KERAS_MODELS = ["MobileNetV3Small", "EfficientNetB0", "DenseNet121", "NASNetMobile"]
EXPORTERS = ["torchscript", "dynamo"]
#: Keras 3 cannot rebuild these of its own .h5 files (a positional float in MobileNetV3's hard-sigmoid
#: ops): convcli says so in one line (docs/models.md), and the .keras file of the same model is explored
KERAS_CANNOT_RELOAD = {("MobileNetV3Small", "h5")}
#: The larger models (10-30 s each to build, export and run): ``CONVCLI_ZOO=all`` runs them too; the
#: layers they need (dynamo's flattened pooling, Reshape, Multiply, a channel Concatenate) have small tests below
HEAVY = {"efficientnet_b0", "convnext_tiny", "densenet121", "DenseNet121"}
_LIBS: list[Any] = []  # the torchvision op schemas defined below live as long as their Library object


def _torchvision() -> Any:
    """torchvision's models, or a skip. PyPI's torchvision wheel is built for CUDA torch: with a CPU
    torch its ``_C`` extension cannot load and the import stops at the fake kernels it registers for
    ``nms``/``qnms``; the classification models need no compiled op, so their schemas are defined
    here and the import goes on."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("torchvision is not installed (pip install torchvision, the wheel matching torch)")
    if "torchvision" not in __import__("sys").modules:
        try:
            torch.ops.load_library(os.path.join(spec.submodule_search_locations[0], "_C.so"))
        except OSError:
            lib = torch.library.Library("torchvision", "FRAGMENT")
            for op in ("nms", "qnms"):
                lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            _LIBS.append(lib)
    try:
        import torchvision
    except (ImportError, RuntimeError) as e:  # pragma: no cover - another mismatched wheel
        pytest.skip(f"torchvision does not import with this torch: {e}")
    return torchvision.models


def _light(name: str) -> None:
    if name in HEAVY and os.environ.get("CONVCLI_ZOO") != "all":
        pytest.skip(f"{name} is one of the larger zoo models: CONVCLI_ZOO=all runs it")


def _layers(path: Path, *args: object) -> dict[str, Any]:
    r = invoke("layers", path, *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _hwc(a: Any) -> np.ndarray:
    """(1, C, H, W) -> (H, W, C)."""
    return np.moveaxis(np.asarray(a)[0], 0, -1)


def _close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.shape == want.shape, what
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(want).max())), err_msg=what)


# --- torchvision ------------------------------------------------------------------------------------

class TorchModel:
    """One torchvision model, its input image and the files it was saved as (each made on first use)."""

    def __init__(self, name: str, folder: Path) -> None:
        tv = _torchvision()
        torch.manual_seed(0)
        self.name, self.folder = name, folder
        self.net = getattr(tv, name)(weights=None).eval()
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((SIZE, SIZE, 3)).astype(np.float32)
        self.image = folder / "x.npy"
        np.save(self.image, self.x)
        self._files: dict[str, Path] = {}

    def tensor(self) -> Any:
        return torch.from_numpy(np.moveaxis(self.x, -1, 0)[None].copy())

    def file(self, fmt: str) -> Path:
        if fmt not in self._files:
            self._files[fmt] = self._save(fmt)
        return self._files[fmt]

    def _save(self, fmt: str) -> Path:
        if fmt == "pth":
            path = self.folder / f"{self.name}.pth"
            torch.save(self.net.state_dict(), path)
        elif fmt == "checkpoint":  # as PyTorch's ImageNet example saves model_best.pth.tar
            path = self.folder / "model_best.pth.tar"
            optimizer = torch.optim.SGD(self.net.parameters(), lr=0.1, momentum=0.9)
            torch.save({"epoch": 3, "arch": self.name, "state_dict": self.net.state_dict(),
                        "best_acc1": torch.tensor(61.5), "optimizer": optimizer.state_dict()}, path)
        elif fmt == "safetensors":
            safetensors_torch = pytest.importorskip("safetensors.torch")
            path = self.folder / f"{self.name}.safetensors"
            safetensors_torch.save_file({k: v.contiguous() for k, v in self.net.state_dict().items()}, str(path))
        else:
            dynamo = fmt == "dynamo"
            if dynamo and importlib.util.find_spec("onnxscript") is None:
                pytest.skip("the dynamo ONNX exporter needs onnxscript (pip install onnxscript)")
            path = self.folder / f"{self.name}_{fmt}.onnx"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(self.net, (self.tensor(),), str(path), dynamo=dynamo, verbose=False)
        return path

    def hooked(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Every Conv2d's input and output on the image, (H, W, C), by module path."""
        seen: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        handles = [m.register_forward_hook(lambda mod, i, o, n=n: seen.__setitem__(n, (_hwc(i[0]), _hwc(o))))
                   for n, m in self.net.named_modules() if isinstance(m, torch.nn.Conv2d)]
        with torch.no_grad():
            self.net(self.tensor())
        for h in handles:
            h.remove()
        return seen


def _onnx_conv_outputs(path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every Conv node's output as ONNX Runtime computes it on ``x`` (H, W, C), (H', W', F), by node name."""
    m = onnx.load(str(path))
    convs = {n.name: n.output[0] for n in m.graph.node if n.op_type == "Conv"}
    known = {o.name for o in m.graph.output}
    for out in convs.values():
        if out not in known:
            m.graph.output.append(onnx.helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: np.moveaxis(x, -1, 0)[None].copy()}
    names = list(convs.values())
    got = dict(zip(names, sess.run(names, feed), strict=True))
    return {node: _hwc(got[out]) for node, out in convs.items()}


def _onnx_float_params(path: Path) -> int:
    """The file's learned numbers: its float initializers, each once (shape and index tensors are not)."""
    m = onnx.load(str(path), load_external_data=False)
    floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16}
    return sum(int(np.prod(t.dims)) for t in m.graph.initializer if t.data_type in floats)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    made: dict[str, TorchModel] = {}

    def get(name: str) -> TorchModel:
        _light(name)
        if name not in made:
            made[name] = TorchModel(name, tmp_path_factory.mktemp(name))
        return made[name]
    return get


@pytest.fixture(scope="module")
def ort_outputs() -> dict[Path, dict[str, np.ndarray]]:
    return {}


def _ort(cache: dict[Path, dict[str, np.ndarray]], path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    if path not in cache:
        cache[path] = _onnx_conv_outputs(path, x)
    return cache[path]


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", TORCH_MODELS)
def test_onnx_totals_and_every_conv_shape_are_onnx_runtimes(zoo, ort_outputs, name: str, exporter: str) -> None:
    model = zoo(name)
    path = model.file(exporter)
    doc = _layers(path, "--input-size", f"{SIZE},{SIZE},3")
    assert doc["totals"]["params"] == _onnx_float_params(path)
    want = _ort(ort_outputs, path, model.x)
    convs = {row["name"]: row for row in doc["layers"] if row["class_name"] == "Conv"}
    assert set(convs) == set(want)
    wrong = {n: (row["output_shape"], list(want[n].shape)) for n, row in convs.items()
             if row["output_shape"] != list(want[n].shape)}
    assert not wrong, f"{len(wrong)} of {len(convs)} conv shapes differ from ONNX Runtime's: {wrong}"


def _deep_convs(names: list[str]) -> list[str]:
    """Two deep conv layers: the one two thirds of the way in and the last."""
    return [names[(2 * len(names)) // 3], names[-1]]


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", TORCH_MODELS)
def test_onnx_deep_convs_compute_onnx_runtimes_output(zoo, ort_outputs, name: str, exporter: str,
                                                     tmp_path: Path) -> None:
    model = zoo(name)
    path = model.file(exporter)
    want = _ort(ort_outputs, path, model.x)
    for layer in _deep_convs(list(want)):
        save = tmp_path / "out.npz"
        r = invoke("run", model.image, "--model", path, "--layer", layer, "--dtype", "float64", "--no-cache",
                   "--save", save, "--no-partials", "--force", "-q")
        assert r.exit_code == 0, r.output
        with np.load(save) as z:
            # the Conv node's own output: convcli folds a Relu after it into the layer's activation
            _close(z["preactivation"], want[layer], f"{name} {exporter} {layer}")


@pytest.mark.parametrize("fmt", ["pth", "checkpoint", "safetensors"])
@pytest.mark.parametrize("name", TORCH_MODELS)
def test_state_dict_totals_are_pytorchs(zoo, name: str, fmt: str) -> None:
    model = zoo(name)
    doc = _layers(model.file(fmt))
    params = sum(p.numel() for p in model.net.parameters())
    buffers = sum(b.numel() for n, b in model.net.named_buffers() if not n.endswith("num_batches_tracked"))
    assert doc["totals"]["trainable_params"] == params
    assert doc["totals"]["params"] == params + buffers
    convs = [n for n, m in model.net.named_modules() if isinstance(m, torch.nn.Conv2d)]
    listed = [row["name"] for row in doc["layers"] if row["kind"] == "conv"]
    # a .safetensors file keeps its names sorted (its note says so): the model's order is lost
    assert (sorted(listed) if fmt == "safetensors" else listed) == (sorted(convs) if fmt == "safetensors" else convs)


@pytest.mark.parametrize("fmt", ["pth", "checkpoint", "safetensors"])
@pytest.mark.parametrize("name", TORCH_MODELS)
def test_state_dict_deep_convs_compute_pytorchs_output(zoo, name: str, fmt: str, tmp_path: Path) -> None:
    """A state dict holds no geometry: the module's stride, padding, dilation and groups are given as
    options, its input as the array the forward hook saw."""
    model = zoo(name)
    seen = model.hooked()
    modules = dict(model.net.named_modules())
    for layer in _deep_convs(list(seen)):
        m = modules[layer]
        x, want = seen[layer]
        np.save(tmp_path / "in.npy", x)
        save = tmp_path / "out.npz"
        r = invoke("run", tmp_path / "in.npy", "--model", model.file(fmt), "--layer", layer, "--dtype", "float64",
                   "--stride", ",".join(map(str, m.stride)), "--padding", ",".join(map(str, m.padding)),
                   "--dilation", ",".join(map(str, m.dilation)), "--activation", "linear",
                   "--save", save, "--no-partials", "--force", "-q")
        assert r.exit_code == 0, r.output
        with np.load(save) as z:
            _close(z["output"], want, f"{name} {fmt} {layer}")


# --- keras.applications ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kzoo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    made: dict[str, tuple[Any, dict[str, Path], Path, np.ndarray]] = {}

    def get(name: str) -> tuple[Any, dict[str, Path], Path, np.ndarray]:
        _light(name)
        if name not in made:
            k = models.keras()
            k.utils.set_random_seed(0)
            try:
                model = getattr(k.applications, name)(weights=None, input_shape=(KERAS_SIZE, KERAS_SIZE, 3))
            except ValueError as e:  # NASNetMobile: "not available with the torch backend" (Keras 3.15)
                pytest.skip(f"Keras cannot build {name} here: {e}")
            folder = tmp_path_factory.mktemp(name)
            files = {"keras": folder / f"{name}.keras", "h5": folder / f"{name}.h5"}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for path in files.values():
                    model.save(path)
            x = np.random.default_rng(1).uniform(0, 255, (KERAS_SIZE, KERAS_SIZE, 3)).astype(np.float32)
            np.save(folder / "x.npy", x)
            made[name] = (model, files, folder / "x.npy", x)
        return made[name]
    return get


def _keras_convs(model: Any) -> list[Any]:
    k = models.keras()
    kinds = (k.layers.Conv2D, k.layers.DepthwiseConv2D, k.layers.SeparableConv2D)
    return [layer for layer in model.layers if isinstance(layer, kinds)]


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("name", KERAS_MODELS)
def test_keras_totals_and_every_conv_shape_are_keras(kzoo, name: str, fmt: str) -> None:
    model, files, _, _ = kzoo(name)
    doc = _layers(files[fmt], "--input-size", f"{KERAS_SIZE},{KERAS_SIZE},3")
    assert doc["totals"]["params"] == model.count_params()
    rows = {row["name"]: row for row in doc["layers"]}
    wrong = {c.name: (rows.get(c.name, {}).get("output_shape"), list(c.output.shape[1:]))
             for c in _keras_convs(model) if rows.get(c.name, {}).get("output_shape") != list(c.output.shape[1:])}
    assert not wrong, f"{len(wrong)} conv shapes differ from Keras': {wrong}"


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("name", KERAS_MODELS)
def test_keras_deep_convs_compute_keras_output(kzoo, name: str, fmt: str, tmp_path: Path) -> None:
    k = models.keras()
    model, files, image, x = kzoo(name)
    if (name, fmt) in KERAS_CANNOT_RELOAD:
        r = invoke("run", image, "--model", files[fmt], "--layer", _keras_convs(model)[-1].name, "-q")
        assert r.exit_code == 1, r.output
        assert "Keras cannot load the model" in r.stderr and "Traceback" not in r.stderr, r.stderr
        return
    for layer in _deep_convs([c.name for c in _keras_convs(model)]):
        want = k.Model(model.inputs, model.get_layer(layer).output)(x[None])
        want = np.asarray(k.ops.convert_to_numpy(want))[0]
        save = tmp_path / "out.npz"
        r = invoke("run", image, "--model", files[fmt], "--layer", layer, "--dtype", "float64", "--no-cache",
                   "--save", save, "--no-partials", "--force", "-q")
        assert r.exit_code == 0, r.output
        with np.load(save) as z:
            _close(z["output"], want, f"{name} {fmt} {layer}")


# --- a tensor without its batch axis -----------------------------------------------------------------

def test_a_map_flattened_without_its_batch_axis_keeps_its_shape(tmp_path: Path) -> None:
    """The dynamo exporter writes ConvNeXt's ``AdaptiveAvgPool2d`` as ``ReduceMean``, a ``Reshape`` to
    ``(C,)`` (no batch axis) and a ``Gather`` back to ``(1, C, 1, 1)``: the flat tensor is listed as it is
    and the walk goes on to the conv after it, with ONNX Runtime's shape."""
    h, T = onnx.helper, onnx.TensorProto
    rng = np.random.default_rng(5)
    inits = [onnx.numpy_helper.from_array(rng.standard_normal((2, 3, 3, 3)).astype(np.float32), "w1"),
             onnx.numpy_helper.from_array(rng.standard_normal((5, 2, 1, 1)).astype(np.float32), "w2"),
             onnx.numpy_helper.from_array(np.array([-1], np.int64), "flat"),
             onnx.numpy_helper.from_array(np.array([1, 2, 1, 1], np.int64), "back")]
    nodes = [h.make_node("Conv", ["x", "w1"], ["a"], name="c1", pads=[1, 1, 1, 1]),
             h.make_node("ReduceMean", ["a"], ["m"], name="mean", axes=[2, 3], keepdims=1),
             h.make_node("Reshape", ["m", "flat"], ["f"], name="flatten"),
             h.make_node("Reshape", ["f", "back"], ["b"], name="unflatten"),
             h.make_node("Conv", ["b", "w2"], ["y"], name="c2")]
    graph = h.make_graph(nodes, "flat", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 4, 4])],
                         [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    path = tmp_path / "flat.onnx"
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 13)]), str(path))
    x = rng.standard_normal((4, 4, 3)).astype(np.float32)
    want = _onnx_conv_outputs(path, x)
    rows = {row["name"]: row for row in _layers(path, "--input-size", "4,4,3")["layers"]}
    assert rows["flatten"]["output_shape"] == [2]
    assert rows["c2"]["output_shape"] == list(want["c2"].shape) == [1, 1, 5]


# --- the Keras layers of those models, small --------------------------------------------------------

@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_squeeze_excite_reshape_and_a_channel_concat_follow_keras(tmp_path: Path, fmt: str) -> None:
    """The layers EfficientNet, MobileNetV3 and DenseNet walk through: a ``Reshape`` to (1, 1, C), a
    ``Multiply`` that broadcasts it over the map, a ``Concatenate`` on ``axis=3`` (Keras counts the batch)."""
    k = models.keras()
    L = k.layers
    i = k.Input((8, 6, 3), name="image")
    x = L.Conv2D(4, 3, padding="same", name="conv")(i)
    s = L.GlobalAveragePooling2D(name="squeeze")(x)
    s = L.Reshape((1, 1, 4), name="se_reshape")(s)
    s = L.Conv2D(4, 1, activation="sigmoid", name="excite")(s)
    m = L.Multiply(name="scale")([x, s])
    c = L.Concatenate(axis=3, name="concat")([m, x])
    f = L.Reshape((-1, 8), name="rows")(c)
    y = L.Conv2D(2, 3, strides=2, name="out")(L.Reshape((6, 8, 8), name="back")(f))
    model = k.Model(i, y)
    path = tmp_path / f"se.{fmt}"
    model.save(path)
    doc = _layers(path, "--input-size", "8,6,3")
    assert doc["totals"]["params"] == model.count_params()
    rows = {row["name"]: row["output_shape"] for row in doc["layers"]}
    for layer in model.layers:
        assert rows[layer.name] == list(layer.output.shape[1:]), layer.name
