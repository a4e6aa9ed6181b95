"""ONNX graphs as today's exporters write them: every layer's shape with ``--input-size`` equal to ONNX
Runtime's (a squeeze-excite ``Mul``, ``ReduceMean``, a channel ``Concat``, ``Transpose``/``Reshape``,
a residual), parameters equal to the torch module's, computed padding and weights shared through
``Identity`` nodes read rather than refused."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import models as built
import numpy as np
import pytest

from convcli.layer.model import analyse
from convcli.sources.models import read_model
from convcli.sources.models.weights import find_layer, layer_weights

from helpers import invoke

HW = (32, 24)  # not square: H and W swapped anywhere would show


def _modules() -> dict[str, Any]:
    t = built.torch()
    nn, F = t.nn, t.nn.functional

    class SqueezeExcite(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Conv2d(c, c // 4, 1), nn.Conv2d(c // 4, c, 1)

        def forward(self, x: Any) -> Any:  # the scale first, as torchvision's: a Mul of (1, C, 1, 1) by the map
            return t.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3), keepdim=True))))) * x

    class Blocks(nn.Module):
        """Squeeze-excite, a DenseNet-like channel concat, a ConvNeXt-like permute/LayerNorm/Linear, a
        ShuffleNet-like channel shuffle (reshape/transpose/reshape), a residual."""

        def __init__(self) -> None:
            super().__init__()
            self.stem, self.se = nn.Conv2d(3, 8, 3, stride=2, padding=1), SqueezeExcite(8)
            self.after, self.branch = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 4, 3, padding=1)
            self.post_cat = nn.Conv2d(12, 16, 1)
            self.norm, self.lin = nn.LayerNorm(16), nn.Linear(16, 16)
            self.shuf = nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=4)
            self.res, self.head = nn.Conv2d(16, 16, 3, padding=1), nn.Conv2d(16, 10, 1)

        def forward(self, x: Any) -> Any:
            x = self.se(F.relu(self.stem(x)))
            x = self.after(x)
            x = self.post_cat(t.cat([x, self.branch(x)], 1))
            x = self.lin(self.norm(x.permute(0, 2, 3, 1))).permute(0, 3, 1, 2) + x
            n, c, h, w = x.shape
            x = self.shuf(x.reshape(n, 4, c // 4, h, w).transpose(1, 2).reshape(n, c, h, w))
            return self.head(x + self.res(x))

    class SamePad(nn.Module):
        """TensorFlow's 'same' padding computed from the input's size (timm's tf_* models), a shared
        (tied) weight and a zero bias."""

        def __init__(self) -> None:
            super().__init__()
            self.c, self.d, self.e = nn.Conv2d(3, 4, 3, stride=2), nn.Conv2d(4, 4, 3), nn.Conv2d(4, 4, 3)
            self.e.weight = self.d.weight

        def forward(self, x: Any) -> Any:
            ih, iw = x.size()[-2:]
            ph, pw = (max((math.ceil(n / 2) - 1) * 2 + 3 - n, 0) for n in (ih, iw))
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
            return self.e(F.relu(self.d(self.c(x))))

    def folded_norms() -> Any:
        """Conv + BatchNorm three times, fresh: in eval the exporter folds each norm into its conv, whose
        biases come out equal (all zero) and are merged into one initializer the others copy through
        Identity nodes."""
        return nn.Sequential(*(m for c_in in (3, 8, 8) for m in (nn.Conv2d(c_in, 8, 3, bias=False),
                                                                  nn.BatchNorm2d(8), nn.ReLU())))

    t.manual_seed(0)
    return {"blocks": Blocks().eval(), "same_pad": SamePad().eval(), "folded_norms": folded_norms().eval()}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Path]]:
    folder = tmp_path_factory.mktemp("onnx_graphs")
    out = {}
    for key, module in _modules().items():
        out[key] = (module, built.save_torch_onnx(module, folder / f"{key}.onnx", hw=HW))
    t = built.torch()
    dynamic = folder / "blocks_dynamic.onnx"  # H and W free: the shuffle's Reshape computed from Shape
    t.onnx.export(out["blocks"][0], (t.zeros(1, 3, *HW),), str(dynamic), input_names=["x"], output_names=["y"],
                  dynamo=False, dynamic_axes={"x": {2: "h", 3: "w"}})
    out["blocks_dynamic"] = (out["blocks"][0], dynamic)
    return out


def _runtime_shapes(path: Path, hw: tuple[int, int] = HW) -> dict[str, tuple[int, ...]]:
    """Every node's first output as ONNX Runtime computes it on a (1, 3, H, W) input, by node name."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = onnx.load(str(path))
    outputs = {o.name for o in model.graph.output}
    wanted = {n.name: n.output[0] for n in model.graph.node if n.op_type != "Constant"}
    for name in wanted.values():
        if name not in outputs:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = list(wanted.values())
    x = np.random.default_rng(0).standard_normal((1, 3, *hw)).astype(np.float32)
    values = dict(zip(names, session.run(names, {"x": x}), strict=True))
    return {node: tuple(np.shape(values[out])) for node, out in wanted.items()}


#: The nodes between Blocks' permute(0, 2, 3, 1) and its permute back: their tensors are NHWC.
CHANNELS_LAST = {"/Transpose", "/norm/LayerNormalization", "/lin/MatMul", "/lin/Add"}


def _hwc(shape: tuple[int, ...], name: str = "") -> tuple[int, ...]:
    if len(shape) != 4:
        return shape[1:]
    return shape[1:] if name in CHANNELS_LAST else (shape[2], shape[3], shape[1])


@pytest.mark.parametrize(("key", "hw"), [("blocks", HW), ("same_pad", HW), ("blocks_dynamic", (40, 36)),
                                         ("folded_norms", HW)])
def test_every_layer_shape_equals_onnx_runtime(exported: dict[str, tuple[Any, Path]], key: str,
                                               hw: tuple[int, int]) -> None:
    _, path = exported[key]
    analysis = analyse(read_model(path), (*hw, 3))
    runtime = _runtime_shapes(path, hw)
    shown = {n.layer.name: n.out_shape for n in analysis.layers if n.layer.kind != "input"}
    convs = [n.layer.name for n in analysis.layers if n.layer.kind == "conv"]
    assert len(convs) == {"same_pad": 3, "folded_norms": 3}.get(key, 9)
    for name in convs:
        assert shown[name] == _hwc(runtime[name]), name
    for name, shape in shown.items():
        assert shape == _hwc(runtime[name], name), name


def test_squeeze_excite_keeps_the_map(exported: dict[str, tuple[Any, Path]]) -> None:
    """The scale (1×1×8) times the map is the map (16×12×8), not 1×1: the conv after it counts its MACs on it."""
    _, path = exported["blocks"]
    numbers = {n.layer.name: n for n in analyse(read_model(path), (*HW, 3)).layers}
    assert numbers["/se/Mul"].out_shape == (16, 12, 8)
    after = numbers["/after/Conv"]
    assert after.in_shape == (16, 12, 8)
    assert after.macs == 16 * 12 * 8 * 8 * 9
    assert numbers["/se/ReduceMean"].out_shape == (1, 1, 8)
    assert numbers["/Concat"].out_shape == (16, 12, 12)
    lin = numbers["/lin/MatMul"]  # on the permuted (N, H, W, C) map: 16·12 positions of 16 → 16
    assert lin.out_shape == (16, 12, 16) and lin.macs == 16 * 12 * 16 * 16


def test_layers_input_size_runs_through_the_graph(exported: dict[str, tuple[Any, Path]]) -> None:
    _, path = exported["blocks"]
    r = invoke("layers", path, "--input-size", f"{HW[0]},{HW[1]}", "--json")
    assert r.exit_code == 0, r.output
    assert "/head/Conv" in r.stdout


@pytest.mark.parametrize("key", ["blocks", "same_pad", "blocks_dynamic"])
def test_parameters_equal_the_torch_module(exported: dict[str, tuple[Any, Path]], key: str) -> None:
    """No int64 shape, axes or pads and no Constant scalar counted; the tied weight counted once."""
    module, path = exported[key]
    expected = sum(p.numel() for p in module.parameters())
    assert analyse(read_model(path)).params == expected
    assert analyse(read_model(path), (*HW, 3)).params == expected


def test_computed_padding_is_a_zero_padding(exported: dict[str, tuple[Any, Path]]) -> None:
    """F.pad with sizes from the input: a Pad reading a Concat of int64 constants, folded, not refused."""
    _, path = exported["same_pad"]
    listing = read_model(path)
    pad = next(layer for layer in listing.layers if layer.class_name == "Pad")
    assert pad.kind == "zeropad"
    assert pad.pads == (0, 1, 0, 1)  # 32 and 24 at stride 2, kernel 3: one row and one column after
    assert [layer.class_name for layer in listing.layers] == ["input", "Pad", "Conv", "Conv", "Relu", "Conv"]


def _identity_shared(path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Two convs whose weight and bias are Identity copies of one initializer each, as the TorchScript
    exporter writes equal initializers merged."""
    onnx = pytest.importorskip("onnx")
    h = onnx.helper
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    graph = h.make_graph(
        [h.make_node("Conv", ["x", "w", "b"], ["y1"], name="first", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         h.make_node("Identity", ["w"], ["second.weight"], name="copy_w"),
         h.make_node("Identity", ["b"], ["second.bias"], name="copy_b"),
         h.make_node("Conv", ["y1", "second.weight", "second.bias"], ["y"], name="second", kernel_shape=[3, 3])],
        "shared", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 10, 9])],
        [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [onnx.numpy_helper.from_array(w, "w"), onnx.numpy_helper.from_array(b, "b")])
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), str(path))
    return path, w, b


def test_weights_shared_through_identity_are_read(tmp_path: Path) -> None:
    path, w, b = _identity_shared(tmp_path / "shared.onnx")
    listing = read_model(path)
    assert [layer.name for layer in listing.layers] == ["x", "first", "second"]
    second = listing.layers[2]
    assert second.use_bias and second.in_channels == 3 and second.filters == 3
    analysis = analyse(listing, (10, 9, 3))
    assert [n.params for n in analysis.layers] == [0, w.size + b.size, 0]  # one array each, counted once
    assert analysis.layers[2].out_shape == (8, 7, 3)
    _, layer = find_layer(listing, "second")
    got = layer_weights(path, listing, layer)
    np.testing.assert_array_equal(got.kernel, w.transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(got.bias, b)
    r = invoke("layers", path, "--input-size", "10,9,3")
    assert r.exit_code == 0, r.output


@pytest.fixture(scope="module")
def keras_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """Keras 3's own ONNX export: a channels-last input cast and transposed around its Rescaling, 'same'
    pads computed from the input's Shape."""
    k = built.keras()
    pytest.importorskip("onnx")
    L = k.layers
    i = k.Input((HW[0], HW[1], 3), name="image")
    x = L.Rescaling(1 / 127.5, offset=-1, name="scale")(i)
    x = L.Conv2D(8, 3, strides=2, padding="same", name="c1")(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same", name="dw")(x)
    x = L.Conv2D(4, 3, padding="same", name="c2")(x)
    model = built.randomise(k.Model(i, x))
    model(np.zeros((1, HW[0], HW[1], 3), "float32"))
    path = tmp_path_factory.mktemp("keras_onnx") / "exported.onnx"
    model.export(str(path), format="onnx")
    return model, path


def test_keras_own_export_is_read_and_walked(keras_export: tuple[Any, Path]) -> None:
    model, path = keras_export
    listing = read_model(path)
    pads = [layer.pads for layer in listing.layers if layer.class_name == "Pad"]
    assert pads == [(0, 1, 0, 1), (0, 1, 0, 1)]  # 'same' at stride 2 on 32×24 and 16×12: after, not before
    analysis = analyse(listing, (*HW, 3))
    assert analysis.params == model.count_params()
    convs = [n for n in analysis.layers if n.layer.kind == "conv"]
    want = [tuple(model.get_layer(name).output.shape[1:]) for name in ("c1", "dw", "c2")]
    assert [n.out_shape for n in convs] == want
    assert convs[-1].receptive_field == (15, 15)  # 3 + 2·2 + 2·4


def _pad_from(path: Path, nodes: list[Any], pads: str) -> Path:
    """A Pad whose pads come from ``nodes`` (ending in the tensor ``pads``), then a 3×3 conv."""
    onnx = pytest.importorskip("onnx")
    h = onnx.helper
    w = np.ones((2, 3, 3, 3), np.float32)
    graph = h.make_graph(
        [*nodes, h.make_node("Pad", ["x", pads], ["padded"], name="pad"),
         h.make_node("Conv", ["padded", "w"], ["y"], name="conv", kernel_shape=[3, 3])],
        "padded", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 8, 8])],
        [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)], [onnx.numpy_helper.from_array(w, "w")])
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), str(path))
    return path


def test_a_hostile_constant_of_shape_is_left_unknown(tmp_path: Path) -> None:
    """Pads from a ConstantOfShape of 10^12 int64 zeros: never allocated; the Pad is listed as an op
    whose pads convcli does not know, not refused."""
    onnx = pytest.importorskip("onnx")
    h = onnx.helper
    shape = h.make_tensor("big", onnx.TensorProto.INT64, [1], [10**12])
    nodes = [h.make_node("Constant", [], ["n"], value=shape),
             h.make_node("ConstantOfShape", ["n"], ["pads"], value=h.make_tensor("v", onnx.TensorProto.INT64, [1], [0]))]
    listing = read_model(_pad_from(tmp_path / "big.onnx", nodes, "pads"))
    assert [(layer.name, layer.kind) for layer in listing.layers] == [("x", "input"), ("pad", "other"),
                                                                      ("conv", "conv")]


def _pads_from_shape(divisor: int) -> list[Any]:
    """Pads computed from the input's Shape, as Keras' export does: H // 8 rows each side, W // divisor
    columns each side."""
    onnx = pytest.importorskip("onnx")
    h = onnx.helper

    def ints(name: str, values: list[int]) -> Any:
        return h.make_node("Constant", [], [name], value=h.make_tensor(name + "_v", onnx.TensorProto.INT64,
                                                                         [len(values)], values))

    return [ints("hw", [2, 3]), ints("by", [8, divisor]), ints("zeros", [0, 0]), ints("s0", [0]), ints("s1", [1]),
            ints("s2", [2]), h.make_node("Shape", ["x"], ["shape"]), h.make_node("Gather", ["shape", "hw"], ["sizes"]),
            h.make_node("Div", ["sizes", "by"], ["each"]), h.make_node("Slice", ["each", "s0", "s1"], ["top"]),
            h.make_node("Slice", ["each", "s1", "s2"], ["left"]),
            h.make_node("Concat", ["zeros", "top", "left", "zeros", "top", "left"], ["pads"], axis=0)]


def test_shape_arithmetic_folds_without_numpy_warnings(tmp_path: Path) -> None:
    """On an 8×8 input: (1, 1, 2, 2) zeros, walked; a division by zero on the way leaves the pads
    unknown (the Pad listed as an op), with no numpy warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        listing = read_model(_pad_from(tmp_path / "good.onnx", _pads_from_shape(4), "pads"))
        assert listing.layers[1].kind == "zeropad" and listing.layers[1].pads == (1, 1, 2, 2)
        assert analyse(listing, (8, 8, 3)).layers[2].out_shape == (8, 10, 2)
        assert read_model(_pad_from(tmp_path / "bad.onnx", _pads_from_shape(0), "pads")).layers[1].kind == "other"


def test_keras_own_export_rescaling_is_the_images(keras_export: tuple[Any, Path]) -> None:
    """Its Rescaling (a Mul and an Add of constants, between casts and a transpose) scales the image on
    every conv's path: --preprocess would repeat it."""
    from convcli.sources.models import paths

    listing = read_model(keras_export[1])
    convs = [i for i, layer in enumerate(listing.layers) if layer.kind == "conv"]
    for i in convs:
        assert [layer.class_name for layer in paths.image_scalings(listing, i)] == ["Mul", "Add"]


def _chained_pads(path: Path, count: int) -> Path:
    """``count`` Pads, each padding by an eighth of its input's H and W computed in floats from its
    Shape (as Keras' export computes 'same' pads): ONNX's inference knows none of them, each one's
    size is known only once the one before it is."""
    onnx = pytest.importorskip("onnx")
    h = onnx.helper
    T = onnx.TensorProto

    def const(name: str, values: list[Any], dtype: int) -> Any:
        return h.make_node("Constant", [], [name], value=h.make_tensor(name + "_v", dtype, [len(values)], values))

    nodes = [const("hw", [2, 3], T.INT64), const("eight", [8.0, 8.0], T.FLOAT), const("zeros", [0, 0], T.INT64)]
    x = "x"
    for k in range(count):
        nodes += [h.make_node("Shape", [x], [f"s{k}"]), h.make_node("Gather", [f"s{k}", "hw"], [f"g{k}"]),
                  h.make_node("Cast", [f"g{k}"], [f"f{k}"], to=T.FLOAT),
                  h.make_node("Div", [f"f{k}", "eight"], [f"d{k}"]),
                  h.make_node("Cast", [f"d{k}"], [f"i{k}"], to=T.INT64),
                  h.make_node("Concat", ["zeros", f"i{k}", "zeros", f"i{k}"], [f"p{k}"], axis=0),
                  h.make_node("Pad", [x, f"p{k}"], [f"y{k}"], name=f"pad{k}")]
        x = f"y{k}"
    graph = h.make_graph(nodes, "chain", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 16, 8])],
                         [h.make_tensor_value_info(x, T.FLOAT, None)])
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), str(path))
    return path


def test_computed_pads_settle_round_by_round_within_a_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from convcli.sources.models import onnx_shapes

    path = _chained_pads(tmp_path / "chain.onnx", 3)
    listing = read_model(path)
    assert [layer.pads for layer in listing.layers[1:]] == [(2, 2, 1, 1), (2, 2, 1, 1), (3, 3, 1, 1)]
    assert [n.out_shape for n in analyse(listing, (16, 8, 3)).layers[1:]] == [(20, 10, 3), (24, 12, 3), (30, 14, 3)]
    monkeypatch.setattr(onnx_shapes, "ROUNDS", 1)  # the second pad's input is known after one round only
    assert [layer.kind for layer in read_model(path).layers[1:]] == ["zeropad", "zeropad", "other"]


def test_the_exporters_identity_copies_of_a_bias_are_read(exported: dict[str, tuple[Any, Path]]) -> None:
    """The TorchScript exporter's own file: each conv's bias, an Identity of the one initializer, is
    its bias (read, counted once), not a layer that reads no input."""
    onnx = pytest.importorskip("onnx")
    _, path = exported["folded_norms"]
    model = onnx.load(str(path))
    assert sum(n.op_type == "Identity" for n in model.graph.node) == 2  # the premise: the exporter aliases
    listing = read_model(path)
    convs = [layer for layer in listing.layers if layer.kind == "conv"]
    assert len(convs) == 3 and all(c.use_bias for c in convs)
    assert "Identity" not in [layer.class_name for layer in listing.layers]
    floats = sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT)
    assert analyse(listing, (*HW, 3)).params == floats
    for conv in convs:
        got = layer_weights(path, listing, conv)
        assert got.bias is not None and got.bias.shape == (8,)


def test_keras_own_export_computes_a_deep_layers_input(keras_export: tuple[Any, Path]) -> None:
    """The export takes an (N, H, W, C) batch: the layer input ONNX Runtime computes for 'c2' is
    Keras' own output of 'dw' (the layer before it), fed the image channels-last."""
    pytest.importorskip("onnxruntime")
    k = built.keras()
    from convcli.sources.models.upstream import layer_input

    model, path = keras_export
    listing = read_model(path)
    convs = [i for i, layer in enumerate(listing.layers) if layer.kind == "conv"]
    x = np.random.default_rng(5).uniform(0, 255, (*HW, 3)).astype(np.float32)
    want = k.ops.convert_to_numpy(k.Model(model.inputs, model.get_layer("dw").output)(x[None]))
    got = layer_input(path, listing, convs[-1], x).array
    np.testing.assert_allclose(got, np.asarray(want)[0], rtol=1e-5, atol=1e-4)
