"""convcli.sources.models.weights: one layer's learned kernel and bias, read from real Keras and PyTorch
models saved in every format, equal to the framework's own arrays (Keras' get_weights(), PyTorch's
module.weight permuted to (kh, kw, C/g, F)) exactly; find_layer by name and index and its errors;
hostile files refused in one LoadError naming the file; only the asked layer's arrays read."""

from __future__ import annotations

import json
import struct
import sys
import zipfile
from pathlib import Path
from typing import Any

import models as built
import numpy as np
import pytest

from convcli.errors import ConfigError, LoadError
from convcli.layer.model import Listing, ModelLayer
from convcli.sources.models import read_model
from convcli.sources.models.weights import LayerWeights, find_layer, layer_weights

KERAS_CONVS = ("plain", "grouped", "dw_bias", "dw", "nobias")
TORCH_CONVS = ("plain", "grouped", "dw", "nobias")


def weights_of(path: Path, which: str) -> LayerWeights:
    listing = read_model(path)
    _, layer = find_layer(listing, which)
    return layer_weights(path, listing, layer)


def torch_kernel(conv: Any, dtype: Any = None) -> np.ndarray:
    """A PyTorch conv's weight in Keras layout, (F, C/g, kh, kw) → (kh, kw, C/g, F), by PyTorch."""
    w = conv.weight.detach()
    w = w if dtype is None else w.to(dtype)
    return w.permute(2, 3, 1, 0).float().numpy() if w.dtype == built.torch().bfloat16 else w.permute(2, 3, 1, 0).numpy()


def torch_bias(conv: Any, dtype: Any = None) -> np.ndarray | None:
    if conv.bias is None:
        return None
    b = conv.bias.detach()
    b = b if dtype is None else b.to(dtype)
    return b.float().numpy() if b.dtype == built.torch().bfloat16 else b.numpy()


def assert_same(got: LayerWeights, kernel: np.ndarray, bias: np.ndarray | None) -> None:
    assert got.kernel.shape == kernel.shape and got.kernel.dtype == kernel.dtype
    np.testing.assert_array_equal(got.kernel, kernel)
    if bias is None:
        assert got.bias is None
    else:
        assert got.bias is not None and got.bias.dtype == bias.dtype
        np.testing.assert_array_equal(got.bias, bias)


# ------------------------------------------------------------------------------------------------
# Keras: .keras and legacy .h5, as get_weights() gives them


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_weights_as_get_weights(tmp_path: Path, suffix: str) -> None:
    model = built.keras_convs()
    path = tmp_path / f"m{suffix}"
    model.save(path)
    for name in KERAS_CONVS:
        ref = model.get_layer(name).get_weights()
        got = weights_of(path, name)
        assert_same(got, ref[0], ref[1] if len(ref) > 1 else None)
        assert got.dtype == "float32"
    assert weights_of(path, "dw_bias").kernel.shape == (3, 3, 8, 2)  # depthwise (kh, kw, C, M)
    assert weights_of(path, "grouped").kernel.shape == (3, 1, 3, 8)  # (kh, kw, C/g, F)
    if suffix == ".keras":
        assert weights_of(path, "plain").where == "layers/conv2d/vars/0"
        assert weights_of(path, "nobias").where == "layers/conv2d_2/vars/0"
    else:
        assert weights_of(path, "plain").where == "model_weights/plain/plain/kernel"


def test_keras_sequential_weights(tmp_path: Path) -> None:
    model = built.randomise(built.keras_sequential(), seed=3)
    model.save(tmp_path / "s.keras")
    with zipfile.ZipFile(tmp_path / "s.keras") as zin, zipfile.ZipFile(tmp_path / "z.keras", "w") as zout:
        for info in zin.infolist():  # the weights deflated: read through the zip, not in place
            zout.writestr(info.filename, zin.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)
    for path in (tmp_path / "s.keras", tmp_path / "z.keras"):
        for name in ("c1", "c2"):
            ref = model.get_layer(name).get_weights()
            assert_same(weights_of(path, name), ref[0], ref[1] if len(ref) > 1 else None)


def test_keras_reads_only_the_asked_layers_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h5py = pytest.importorskip("h5py")
    model = built.keras_convs()
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    listings = {p: read_model(p) for p in (tmp_path / "m.keras", tmp_path / "m.h5")}
    read: list[str] = []
    original = h5py.Dataset.__getitem__

    def recording(self: Any, key: Any) -> Any:
        read.append(self.name)
        return original(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", recording)
    for path, listing in listings.items():
        read.clear()
        _, layer = find_layer(listing, "grouped")
        layer_weights(path, listing, layer)
        assert len(read) == 2 and all("conv2d_1" in r or "/grouped/" in r for r in read), read


# ------------------------------------------------------------------------------------------------
# PyTorch: .pt state dict, safetensors (float32, float16, bfloat16), ONNX


def test_torch_state_dict_weights_as_the_modules(tmp_path: Path) -> None:
    torch = built.torch()
    net = built.torch_convs()
    torch.save(net.state_dict(), tmp_path / "n.pt")
    for name in TORCH_CONVS:
        conv = getattr(net, name)
        got = weights_of(tmp_path / "n.pt", name)
        assert_same(got, torch_kernel(conv), torch_bias(conv))
        assert got.where == f"{name}.weight" and got.dtype == "float32"
    assert weights_of(tmp_path / "n.pt", "dw").kernel.shape == (3, 3, 1, 12)  # a grouped conv, g = C


def test_torch_bfloat16_state_dict(tmp_path: Path) -> None:
    torch = built.torch()
    net = built.torch_convs()
    torch.save({k: v.to(torch.bfloat16) for k, v in net.state_dict().items()}, tmp_path / "b.pt")
    got = weights_of(tmp_path / "b.pt", "grouped")
    assert got.dtype == "bfloat16"
    assert_same(got, torch_kernel(net.grouped, torch.bfloat16), torch_bias(net.grouped, torch.bfloat16))


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_safetensors_weights_as_the_modules(tmp_path: Path, dtype: str) -> None:
    torch = built.torch()
    st = pytest.importorskip("safetensors.torch")
    net = built.torch_convs()
    tdtype = getattr(torch, dtype)
    st.save_file({k: v.to(tdtype) for k, v in net.state_dict().items()}, tmp_path / "n.safetensors")
    for name in TORCH_CONVS:
        conv = getattr(net, name)
        got = weights_of(tmp_path / "n.safetensors", name)
        assert got.dtype == dtype and got.where == f"{name}.weight"
        assert_same(got, torch_kernel(conv, tdtype), torch_bias(conv, tdtype))
    if dtype == "bfloat16":  # not rounded through float16 or anything else: bits << 16
        bits = net.plain.weight.detach().to(torch.bfloat16).view(torch.int16).numpy().astype(np.uint16)
        expect = (bits.astype(np.uint32) << 16).view(np.float32).transpose(2, 3, 1, 0)
        np.testing.assert_array_equal(weights_of(tmp_path / "n.safetensors", "plain").kernel, expect)


def test_safetensors_reads_only_the_two_tensors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 100 MB tensor beside the conv (sparse zeros): reading the conv reads its bytes and the header."""
    from convcli.sources.models import safetensors_header

    n = 25 * 2**20
    w = np.arange(2 * 3 * 3 * 3, dtype="<f4").reshape(2, 3, 3, 3)
    b = np.array([-1.5, 2.5], "<f4")
    header = json.dumps({"big.weight": {"dtype": "F32", "shape": [1024, 100, 16, 16], "data_offsets": [0, 4 * n]},
                         "conv.weight": {"dtype": "F32", "shape": [2, 3, 3, 3], "data_offsets": [4 * n, 4 * n + 216]},
                         "conv.bias": {"dtype": "F32", "shape": [2], "data_offsets": [4 * n + 216, 4 * n + 224]},
                         }).encode()
    path = tmp_path / "big.safetensors"
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(header)) + header)
        fh.seek(8 + len(header) + 4 * n)
        fh.write(w.tobytes() + b.tobytes())
    listing = read_model(path)
    counted = {"bytes": 0}

    class Counting:
        def __init__(self, *args: Any) -> None:
            self.fh = open(*args)  # noqa: SIM115

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: Any) -> None:
            self.fh.close()

        def seek(self, at: int) -> int:
            return self.fh.seek(at)

        def read(self, count: int) -> bytes:
            data = self.fh.read(count)
            counted["bytes"] += len(data)
            return data

    monkeypatch.setattr(safetensors_header, "open", Counting, raising=False)
    got = layer_weights(path, listing, find_layer(listing, "conv")[1])
    assert_same(got, w.transpose(2, 3, 1, 0), b)
    assert counted["bytes"] == 8 + len(header) + 224


def test_safetensors_non_finite_values_come_back_as_they_are(tmp_path: Path) -> None:
    st = pytest.importorskip("safetensors.numpy")
    w = np.zeros((1, 1, 2, 2), np.float32)
    w[0, 0, 0, 1], w[0, 0, 1, 0] = np.inf, np.nan
    st.save_file({"c.weight": w}, str(tmp_path / "nan.safetensors"))
    got = weights_of(tmp_path / "nan.safetensors", "c")
    assert got.bias is None and np.isinf(got.kernel[0, 1, 0, 0]) and np.isnan(got.kernel[1, 0, 0, 0])


def test_onnx_weights_as_the_modules(tmp_path: Path) -> None:
    net = built.torch_convs()
    path = built.save_torch_onnx(net, tmp_path / "n.onnx", (8, 8))
    listing = read_model(path)
    for name in TORCH_CONVS:
        conv = getattr(net, name)
        got = weights_of(path, f"/{name}/Conv")
        assert_same(got, torch_kernel(conv), torch_bias(conv))
        assert got.where == f"{name}.weight" and got.dtype == "float32"
    dw = find_layer(listing, "/dw/Conv")[1]
    assert dw.kind == "conv" and dw.groups == 6
    assert weights_of(path, "/dw/Conv").kernel.shape == (3, 3, 1, 12)


def _onnx_conv(tmp_path: Path, w: np.ndarray, b: np.ndarray | None, external: str | None = None,
               name: str = "conv.onnx") -> Path:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    tw = numpy_helper.from_array(w, "w")
    if external is not None:
        tw.data_location = TensorProto.EXTERNAL
        tw.ClearField("raw_data")
        for key, value in (("location", external), ("offset", "0"), ("length", str(w.nbytes))):
            e = tw.external_data.add()
            e.key, e.value = key, value
    inits = [tw] + ([numpy_helper.from_array(b, "b")] if b is not None else [])
    node = helper.make_node("Conv", ["x", "w", "b"] if b is not None else ["x", "w"], ["y"], name="conv")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 5, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    path = tmp_path / name
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_onnx_external_data_beside_the_model(tmp_path: Path) -> None:
    w = np.random.default_rng(0).standard_normal((4, 3, 2, 3)).astype(np.float32)
    (tmp_path / "w.bin").write_bytes(w.tobytes())
    path = _onnx_conv(tmp_path, w, None, external="w.bin")
    got = weights_of(path, "conv")
    assert_same(got, w.transpose(2, 3, 1, 0), None)
    (tmp_path / "w.bin").write_bytes(w.tobytes()[:-4])  # one value short
    with pytest.raises(LoadError, match=r"conv\.onnx.*'conv'.*w.*past the end of its external file"):
        weights_of(path, "conv")


# ------------------------------------------------------------------------------------------------
# find_layer


def test_find_layer_by_name_index_and_case(tmp_path: Path) -> None:
    model = built.keras_convs()
    model.save(tmp_path / "m.keras")
    listing = read_model(tmp_path / "m.keras")
    names = [layer.name for layer in listing.layers]
    for name in KERAS_CONVS:
        index, layer = find_layer(listing, name)
        assert names[index] == name and layer is listing.layers[index]
        assert find_layer(listing, str(index)) == (index, layer)
    assert find_layer(listing, "GROUPED") == find_layer(listing, "grouped")
    assert find_layer(listing, "1")[1].name == "plain"  # 0 is the input, as `convcli layers` numbers it


def test_find_layer_errors_name_the_file_and_the_way_out(tmp_path: Path) -> None:
    model = built.keras_convs()
    model.save(tmp_path / "m.keras")
    listing = read_model(tmp_path / "m.keras")
    file = str(tmp_path / "m.keras")
    cases = {
        "grouper": "has no layer of that name; did you mean 'grouped'?",
        "zzz": "has no layer of that name; the engine explores its conv layers: 'plain', 'grouped', "
               "'dw_bias', 'dw', 'sep', … and 2 more",
        "99": f"has {len(listing.layers)} layers, numbered 0 to {len(listing.layers) - 1}",
        "pool": "is a MaxPooling2D (maxpool), not a convolution: the engine explores its conv layers: 'plain'",
        "0": "'image' (#0) of",
    }
    for which, expect in cases.items():
        with pytest.raises(ConfigError) as info:
            find_layer(listing, which)
        assert info.value.field == "layer" and info.value.exit_code == 2
        message = str(info.value)
        assert message.startswith("layer ") and file in message and expect in message, message
        assert "\n" not in message
    for which in ("sep", "up"):  # a separable and a transposed layer are explored
        assert find_layer(listing, which)[1].kind in ("separable", "transpose")


def test_find_layer_ambiguous_case_and_many_layers() -> None:
    conv = {"kind": "conv", "class_name": "Conv2D", "kernel": (3, 3), "in_channels": 1, "filters": 1}
    listing = Listing("two.keras", "keras", (ModelLayer("Conv", **conv), ModelLayer("conv", **conv)))  # type: ignore[arg-type]
    assert find_layer(listing, "conv")[0] == 1 and find_layer(listing, "Conv")[0] == 0
    with pytest.raises(ConfigError, match="two.keras has 2 layers of that name but for case"):
        find_layer(listing, "CONV")
    many = Listing("many.onnx", "onnx", tuple(ModelLayer(f"c{i}", **conv) for i in range(20)))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"'zzz': many.onnx has no layer of that name \(20 layers: `convcli layers"):
        find_layer(many, "zzz")


# ------------------------------------------------------------------------------------------------
# Hostile files: one LoadError naming the file


def test_keras_weights_of_another_shape_than_the_config(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    model = built.keras_convs()
    model.save(tmp_path / "m.keras")
    honest = read_model(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        members = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    (tmp_path / "w.h5").write_bytes(members["model.weights.h5"])
    with h5py.File(tmp_path / "w.h5", "r+") as f:
        del f["layers/conv2d/vars/0"]
        f["layers/conv2d/vars/0"] = np.zeros((3, 3, 4, 7), np.float32)  # the config makes (3, 3, 4, 6)
    members["model.weights.h5"] = (tmp_path / "w.h5").read_bytes()
    lie = tmp_path / "lie.keras"
    with zipfile.ZipFile(lie, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    with pytest.raises(LoadError, match="lie.keras: layer 'plain': the config and the weights disagree"):
        read_model(lie)
    # the listing of the honest file, the lying file read: the arrays are checked against the listing
    with pytest.raises(LoadError, match=r"lie\.keras: layer 'plain': layers/conv2d/vars/0 is \(3, 3, 4, 7\), "
                                        r"but the listing makes its kernel \(3, 3, 4, 6\)"):
        layer_weights(lie, honest, find_layer(honest, "plain")[1])


def _safetensors(path: Path, entries: dict[str, Any], data: bytes) -> Path:
    header = json.dumps(entries).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return path


def test_safetensors_whose_offsets_run_past_the_file(tmp_path: Path) -> None:
    entries = {"c.weight": {"dtype": "F32", "shape": [2, 3, 3, 3], "data_offsets": [0, 216]}}
    honest = _safetensors(tmp_path / "ok.safetensors", entries, bytes(216))
    listing = read_model(honest)
    short = _safetensors(tmp_path / "short.safetensors", entries, bytes(100))
    with pytest.raises(LoadError, match="short.safetensors"):
        read_model(short)
    with pytest.raises(LoadError, match=r"short\.safetensors: layer 'c': the header puts 'c.weight' at bytes 0-216 "
                                        r"of the data, past the end of the file \(100 bytes of data\)"):
        layer_weights(short, listing, listing.layers[0])
    wrong = {"c.weight": {"dtype": "F32", "shape": [2, 3, 3, 3], "data_offsets": [0, 200]}}
    small = _safetensors(tmp_path / "small.safetensors", wrong, bytes(200))
    with pytest.raises(LoadError, match=r"small\.safetensors: .*\(2, 3, 3, 3\) float32 \(216 bytes\), but the file "
                                        r"holds 200 bytes"):
        layer_weights(small, listing, listing.layers[0])


def test_int32_weights_are_refused(tmp_path: Path) -> None:
    torch = built.torch()
    path = _safetensors(tmp_path / "int.safetensors",
                        {"c.weight": {"dtype": "I32", "shape": [2, 3, 3, 3], "data_offsets": [0, 216]}}, bytes(216))
    with pytest.raises(LoadError, match="int.safetensors: layer 'c': c.weight holds int32 values; convcli reads "
                                        "float weights only"):
        weights_of(path, "c")
    torch.save({"c.weight": torch.zeros(2, 3, 3, 3, dtype=torch.int32)}, tmp_path / "int.pt")
    with pytest.raises(LoadError, match="int.pt: layer 'c': c.weight holds int32 values"):
        weights_of(tmp_path / "int.pt", "c")
    path = _onnx_conv(tmp_path, np.zeros((2, 3, 3, 3), np.int32), None, name="int.onnx")
    with pytest.raises(LoadError, match="int.onnx: layer 'conv': w holds int32 values"):
        weights_of(path, "conv")


def test_onnx_external_data_outside_the_model_folder(tmp_path: Path) -> None:
    w = np.ones((4, 3, 3, 3), np.float32)
    (tmp_path / "w.bin").write_bytes(w.tobytes())
    honest = read_model(_onnx_conv(tmp_path, w, None, external="w.bin"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "secret.bin").write_bytes(w.tobytes())
    for location in ("../w.bin", str(tmp_path / "w.bin")):
        path = _onnx_conv(tmp_path / "sub", w, None, external=location)
        with pytest.raises(LoadError, match="sub/conv.onnx: initializer 'w' points outside the model's folder"):
            read_model(path)
        with pytest.raises(LoadError, match="sub/conv.onnx: initializer 'w' points outside the model's folder"):
            layer_weights(path, honest, honest.layers[1])


def test_a_missing_torch_is_the_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = built.torch()
    torch.save(built.torch_convs().state_dict(), tmp_path / "n.pt")
    listing = read_model(tmp_path / "n.pt")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(LoadError, match=r"reading \.pt/\.pth files needs the torch package"):
        layer_weights(tmp_path / "n.pt", listing, listing.layers[0])


@pytest.mark.parametrize(("n", "tail"), [(5, "'c3', 'c4'"), (6, "'c3', 'c4', … and 1 more"),
                                          (7, "'c4', … and 2 more")])
def test_a_list_of_layers_to_explore_counts_the_names_it_leaves_out(n: int, tail: str) -> None:
    conv = {"kind": "conv", "class_name": "Conv2D", "kernel": (3, 3), "in_channels": 1, "filters": 1}
    listing = Listing("many.keras", "keras", tuple(ModelLayer(f"c{i}", **conv) for i in range(n)))  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as info:
        find_layer(listing, "zzz")
    message = str(info.value)
    assert message.endswith(tail), message
    assert message.count("'c") == min(n, 5)
