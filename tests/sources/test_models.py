"""convcli.sources.models: real models built with Keras and PyTorch, saved in every format, listed and
checked against the framework's own layers (names, geometry, count_params(), output shapes); hostile
files refused in one LoadError; listings never read tensor data."""

from __future__ import annotations

import json
import struct
import zipfile
from math import prod
from pathlib import Path
from typing import Any

import models as built
import pytest

from convcli.errors import LoadError
from convcli.layer.model import analyse
from convcli.sources.models import read_model

KERAS_KINDS = {"Conv2D": "conv", "DepthwiseConv2D": "depthwise", "SeparableConv2D": "separable",
               "Conv2DTranspose": "transpose", "Dense": "dense", "BatchNormalization": "batchnorm",
               "MaxPooling2D": "maxpool", "AveragePooling2D": "avgpool", "GlobalAveragePooling2D": "globalavgpool",
               "Flatten": "flatten", "ZeroPadding2D": "zeropad", "Add": "add", "Concatenate": "concatenate",
               "InputLayer": "input"}


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]


def check_against_keras(model: Any, path: Path, size: tuple[int, int, int] | None) -> None:
    """Every layer of ``model`` as convcli lists ``path``: names, kinds, geometry, count_params()
    per layer and in total, and (with ``size``) every output shape Keras gives."""
    a = analyse(read_model(path), size)
    listed = {n.layer.name: n for n in a.layers}
    # a Sequential model's layers leave out its input; the file holds it
    assert [n.layer.name for n in a.layers if n.layer.name in {x.name for x in model.layers}] == [
        layer.name for layer in model.layers]
    assert all(n.layer.kind == "input" for n in a.layers if n.layer.name not in {x.name for x in model.layers})
    for layer in model.layers:
        n = listed[layer.name]
        assert n.layer.kind == KERAS_KINDS[type(layer).__name__], layer.name
        assert n.params == layer.count_params(), layer.name
        trainable = sum(prod(w.shape) for w in layer.trainable_weights)
        assert n.trainable == trainable, layer.name
        cfg = layer.get_config()
        if "kernel_size" in cfg:
            assert n.layer.kernel == _pair(cfg["kernel_size"])
            assert n.layer.strides == _pair(cfg["strides"])
            assert n.layer.padding == cfg["padding"]
            assert n.layer.dilation == _pair(cfg["dilation_rate"])
            assert n.layer.filters == cfg.get("filters")
            assert n.layer.use_bias == cfg["use_bias"]
            assert n.layer.activation == cfg["activation"]
        if size is not None and n.layer.kind != "input":
            assert n.out_shape == tuple(layer.output.shape[1:]), layer.name
    assert a.params == model.count_params()


def test_keras_graph_every_kind_as_keras_counts_and_shapes(tmp_path: Path) -> None:
    model = built.keras_graph()
    model.save(tmp_path / "g.keras")
    check_against_keras(model, tmp_path / "g.keras", (20, 22, 3))
    check_against_keras(model, tmp_path / "g.keras", None)


def test_keras_graph_in_legacy_h5(tmp_path: Path) -> None:
    model = built.keras_graph()
    model.save(tmp_path / "g.h5")
    check_against_keras(model, tmp_path / "g.h5", (20, 22, 3))


def test_keras_sequential_both_formats(tmp_path: Path) -> None:
    model = built.keras_sequential()
    for name in ("s.keras", "s.h5"):
        model.save(tmp_path / name)
        check_against_keras(model, tmp_path / name, (16, 16, 1))


def test_keras_merge_inbound_and_receptive_fields(tmp_path: Path) -> None:
    """Inbound names from the file; the receptive field by hand: stem 3 (jump 2), dw 3 → 3+2·2 = 7,
    grouped (1,3) dilated (1,2) → cols 3+4·2 = 11; the merge takes the widest per axis (7, 11)."""
    model = built.keras_graph()
    model.save(tmp_path / "g.keras")
    a = analyse(read_model(tmp_path / "g.keras"), (20, 22, 3))
    by = {n.layer.name: n for n in a.layers}
    assert by["merge"].layer.inbound == ("dw", "grouped")
    assert by["cat"].layer.inbound == ("pool", "avg")
    assert by["stem"].receptive_field == (3, 3) and by["stem"].effective_stride == (2, 2)
    assert by["dw"].receptive_field == (7, 7)
    assert by["grouped"].receptive_field == (3, 11)
    assert by["merge"].receptive_field == (7, 11)
    assert by["stem"].pads == (0, 1, 0, 1)  # Keras 'same' on 20×22 at stride 2: the extra row goes after
    assert by["zpad"].pads == (1, 0, 2, 1)
    assert by["stem"].macs == 10 * 11 * 3 * 3 * 3 * 8


def _torch_counts(net: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, t in net.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        module = name.rpartition(".")[0]
        out[module] = out.get(module, 0) + t.numel()
    return out


def test_torch_state_dict_and_safetensors(tmp_path: Path) -> None:
    torch = built.torch()
    st = pytest.importorskip("safetensors.torch")
    net = built.torch_net()
    torch.save(net.state_dict(), tmp_path / "n.pt")
    st.save_file(net.state_dict(), tmp_path / "n.safetensors")
    for path in (tmp_path / "n.pt", tmp_path / "n.safetensors"):
        listing = read_model(path)
        assert not listing.graph and any("weights only" in note for note in listing.notes)
        a = analyse(listing)
        assert {n.layer.name: n.params for n in a.layers} == _torch_counts(net)
        assert a.trainable == sum(p.numel() for p in net.parameters())
        by = {n.layer.name: n.layer for n in a.layers}
        assert by["conv1"].kind == "conv" and by["conv1"].kernel == (3, 3) and by["conv1"].filters == 8
        assert by["conv1"].strides is None and by["conv1"].padding is None and by["conv1"].groups is None
        assert by["conv2"].kernel == (3, 1) and by["dw"].use_bias is False
        assert by["fc"].kind == "dense" and (by["fc"].in_channels, by["fc"].units) == (32, 10)
        assert by["bn1"].kind == "batchnorm" and by["bn1"].in_channels == 8


def test_safetensors_bfloat16_lists_alike(tmp_path: Path) -> None:
    torch = built.torch()
    st = pytest.importorskip("safetensors.torch")
    net = built.torch_net()
    st.save_file({k: v.to(torch.bfloat16) for k, v in net.state_dict().items() if v.is_floating_point()},
                 tmp_path / "b.safetensors")
    a = analyse(read_model(tmp_path / "b.safetensors"))
    assert {n.layer.name: n.params for n in a.layers} == _torch_counts(net)


def test_onnx_from_torch_shapes_as_onnxruntime(tmp_path: Path) -> None:
    """torch.onnx.export (which folds the eval-mode batch norm into conv1): params as the graph's
    initializers hold them and as PyTorch counts the modules that stay; output shapes as PyTorch's."""
    onnx = pytest.importorskip("onnx")
    torch = built.torch()
    net = built.torch_net()
    path = built.save_torch_onnx(net, tmp_path / "n.onnx")
    a = analyse(read_model(path), (16, 16, 3))
    graph = onnx.load(str(path)).graph
    assert a.params == sum(prod(t.dims) for t in graph.initializer)
    counts = _torch_counts(net)
    by = {n.layer.name: n for n in a.layers}
    assert by["/conv1/Conv"].params == counts["conv1"]  # the folded bn1 leaves a bias conv1 had anyway
    assert (by["/dw/Conv"].params, by["/conv2/Conv"].params, by["/fc/Gemm"].params) == (
        counts["dw"], counts["conv2"], counts["fc"])
    with torch.no_grad():
        x = torch.zeros(1, 3, 16, 16)
        c1 = net.conv1(x)
        dw = net.dw(c1)
        c2 = net.conv2(net.pool(dw))
    for name, t in (("/conv1/Conv", c1), ("/dw/Conv", dw), ("/conv2/Conv", c2)):
        assert by[name].out_shape == (t.shape[2], t.shape[3], t.shape[1])
    convs = [n for n in a.layers if n.layer.kind == "conv"]
    assert [(n.layer.kernel, n.layer.strides, n.layer.groups, n.layer.dilation) for n in convs] == [
        ((3, 3), (2, 2), 1, (1, 1)), ((3, 3), (1, 1), 8, (1, 2)), ((3, 1), (1, 1), 1, (1, 1))]
    assert convs[1].pads == (1, 1, 2, 2)
    assert [n.out_shape for n in convs] == [(8, 8, 8), (8, 8, 8), (2, 4, 4)]
    assert a.layers[-1].out_shape == (10,)


def _onnx_asym(tmp_path: Path, external: str | None = None) -> Path:
    onnx = pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    b = numpy_helper.from_array(np.zeros(4, np.float32), "b")
    if external is not None:
        w.data_location = TensorProto.EXTERNAL
        w.ClearField("raw_data")
        e = w.external_data.add()
        e.key, e.value = "location", external
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[0, 1, 2, 0], strides=[2, 1]),
             helper.make_node("MaxPool", ["c"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
             helper.make_node("GlobalAveragePool", ["p"], ["y"], name="gap")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 9, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "asym.onnx"
    onnx.save(model, str(path))
    return path


def test_onnx_asymmetric_pads_and_ceil_mode_as_onnxruntime(tmp_path: Path) -> None:
    """pads [top, left, bottom, right] = [0, 1, 2, 0] → (top, bottom, left, right) = (0, 2, 1, 0); shapes
    checked against ONNX Runtime running the model."""
    ort = pytest.importorskip("onnxruntime")
    np = pytest.importorskip("numpy")
    path = _onnx_asym(tmp_path)
    a = analyse(read_model(path), (9, 8, 3))
    conv, pool = a.layers[1], a.layers[2]
    assert conv.pads == (0, 2, 1, 0) and conv.layer.padding is None
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.zeros((1, 3, 9, 8), np.float32)
    for n, out in zip((conv, pool), ("c", "p"), strict=True):
        import onnx

        m = onnx.load(str(path))
        m.graph.output.extend([onnx.helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None)])
        s2 = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        got = s2.run([out], {"x": x})[0].shape
        assert n.out_shape == (got[2], got[3], got[1])
    assert a.layers[-1].out_shape == (1, 1, 4)
    assert sess is not None
    assert a.params == 4 * 3 * 3 * 3 + 4


# ------------------------------------------------------------------------------------------------
# Hostile files: one LoadError each, nothing run


class _Boom:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        import os

        return (os.system, (f"echo pwned > {self.marker}",))


def test_pt_whose_pickle_runs_a_command_is_refused_and_never_run(tmp_path: Path) -> None:
    torch = built.torch()
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pt"
    torch.save({"conv.weight": torch.zeros(2, 1, 3, 3), "x": _Boom(str(marker))}, path)
    # proof that the file is real: loading it unsafely runs the command
    torch.load(path, weights_only=False)
    assert marker.exists()
    marker.unlink()
    with pytest.raises(LoadError, match="refused: its pickle needs more than tensors.*state_dict"):
        read_model(path)
    assert not marker.exists()


def test_pickled_whole_model_is_refused(tmp_path: Path) -> None:
    torch = built.torch()
    torch.save(torch.nn.Conv2d(1, 2, 3), tmp_path / "whole.pt")
    with pytest.raises(LoadError, match="refused.*state_dict"):
        read_model(tmp_path / "whole.pt")


def _rewrite_keras(src: Path, dst: Path, edit: Any) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "config.json":
                cfg = json.loads(data)
                edit(cfg)
                data = json.dumps(cfg).encode()
            zout.writestr(info, data)


def test_keras_whose_config_and_weights_disagree(tmp_path: Path) -> None:
    model = built.keras_sequential()
    model.save(tmp_path / "s.keras")

    def more_filters(cfg: dict[str, Any]) -> None:
        for layer in cfg["config"]["layers"]:
            if layer["config"]["name"] == "c2":
                layer["config"]["filters"] = 7

    _rewrite_keras(tmp_path / "s.keras", tmp_path / "lie.keras", more_filters)
    with pytest.raises(LoadError, match="'c2': the config and the weights disagree.*\\(3, 3, 4, 7\\).*\\(3, 3, 4, 6\\)"):
        read_model(tmp_path / "lie.keras")


def test_keras_member_declaring_a_huge_size(tmp_path: Path) -> None:
    model = built.keras_sequential()
    model.save(tmp_path / "s.keras")
    data = bytearray((tmp_path / "s.keras").read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:  # every central-directory entry: uncompressed size at +24
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46:at + 46 + name_len]) == b"config.json":
            struct.pack_into("<I", data, at + 24, 4_000_000_000)
        at = data.find(b"PK\x01\x02", at + 4)
    (tmp_path / "bomb.keras").write_bytes(bytes(data))
    with pytest.raises(LoadError, match="'config.json' declares 4,000,000,000 bytes"):
        read_model(tmp_path / "bomb.keras")


def test_truncated_safetensors_header(tmp_path: Path) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 3, 3, 3], "data_offsets": [0, 216]}}).encode()
    good = struct.pack("<Q", len(header)) + header + bytes(216)
    (tmp_path / "t.safetensors").write_bytes(good[: 8 + len(header) // 2])
    with pytest.raises(LoadError, match="not a readable .safetensors file"):
        read_model(tmp_path / "t.safetensors")


def test_onnx_external_data_outside_the_folder(tmp_path: Path) -> None:
    for location in ("../../etc/passwd", "/etc/passwd"):
        path = _onnx_asym(tmp_path, external=location)
        with pytest.raises(LoadError, match="points outside the model's folder"):
            read_model(path)


def test_onnx_external_data_beside_the_model_is_not_even_read(tmp_path: Path) -> None:
    path = _onnx_asym(tmp_path, external="weights.bin")  # the file need not exist: dims are in the graph
    assert read_model(path).layers[1].weights["w"] == (4, 3, 3, 3)


# ------------------------------------------------------------------------------------------------
# Listings read headers, never tensor data


def test_safetensors_listing_never_reads_tensor_data(tmp_path: Path) -> None:
    """A file whose 100 MB data region is garbage but whose header is fine lists in full."""
    n = 25 * 2**20
    header = json.dumps({"big.weight": {"dtype": "F32", "shape": [1024, 100, 16, 16], "data_offsets": [0, 4 * n]},
                         "big.bias": {"dtype": "F32", "shape": [1024], "data_offsets": [4 * n, 4 * n + 4096]}}).encode()
    path = tmp_path / "big.safetensors"
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(header)) + header)
        fh.truncate(8 + len(header) + 4 * n + 4096)  # sparse: all zeros, never written
    listing = read_model(path)
    assert analyse(listing).params == 1024 * 100 * 16 * 16 + 1024


def test_keras_listing_reads_only_weight_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every dataset read is refused: the listing still works (it reads shapes, never values)."""
    h5py = pytest.importorskip("h5py")
    model = built.keras_sequential()
    model.save(tmp_path / "s.keras")

    def no_read(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a tensor was read")

    monkeypatch.setattr(h5py.Dataset, "__getitem__", no_read)
    monkeypatch.setattr(h5py.Dataset, "read_direct", no_read)
    assert analyse(read_model(tmp_path / "s.keras")).params == model.count_params()


def test_keras_listing_reads_a_sliver_of_the_weights_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """model.weights.h5 holds 32 MB of a dense kernel: the listing reads its metadata only."""
    from convcli.sources.models import keras_v3

    k = built.keras()
    model = k.Sequential([k.Input((4000,)), k.layers.Dense(2000, name="big")])
    model.save(tmp_path / "big.keras")
    read = {"bytes": 0}
    original = keras_v3._Window.readinto

    def counting(self: Any, buffer: Any) -> int:
        n = original(self, buffer)
        read["bytes"] += n
        return n

    monkeypatch.setattr(keras_v3._Window, "readinto", counting)
    assert analyse(read_model(tmp_path / "big.keras")).params == 4000 * 2000 + 2000
    assert 0 < read["bytes"] < 1_000_000


def test_onnx_listing_with_corrupt_external_data(tmp_path: Path) -> None:
    path = _onnx_asym(tmp_path, external="weights.bin")
    (tmp_path / "weights.bin").write_bytes(b"\xff" * 7)  # far too short for a (4, 3, 3, 3) float tensor
    assert analyse(read_model(path), (9, 8, 3)).params == 112


# ------------------------------------------------------------------------------------------------
# Keras applications, exact


@pytest.mark.slow
@pytest.mark.parametrize("app", ["VGG16", "ResNet50", "MobileNetV2"])
def test_keras_applications(app: str, tmp_path: Path) -> None:
    k = built.keras()
    model = getattr(k.applications, app)(weights=None)
    model.save(tmp_path / "m.keras")
    a = analyse(read_model(tmp_path / "m.keras"), (224, 224, 3))
    assert a.params == model.count_params()
    by = {layer.name: layer for layer in model.layers}
    convs = [n for n in a.layers if n.layer.kind in ("conv", "depthwise", "separable", "transpose")]
    assert convs
    for n in convs:
        assert n.out_shape == tuple(by[n.layer.name].output.shape[1:]), n.layer.name
        assert n.params == by[n.layer.name].count_params()
