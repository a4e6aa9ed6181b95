"""ONNX files read without importing the onnx package (convcli.sources.models.onnx_proto): every value,
attribute and listing the same as through the package itself (the oracle), and a second run of a
cached layer that imports neither onnx nor ml_dtypes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convcli.sources.models import onnx_proto, read_model
from convcli.sources.models.weights import find_layer, layer_weights

from helpers import ROOT

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

PHOTO = ROOT / "samples" / "grace_hopper.png"
EDGES_ONNX = ROOT / "samples" / "edges.onnx"
#: Each element type the stand-in converts, with values its numpy type holds.
TYPED = {TensorProto.FLOAT: [1.5, -2.25, 3e-8, 7.0], TensorProto.DOUBLE: [1.0 / 3, -2.0, 1e300, 0.0],
         TensorProto.FLOAT16: [0.5, -1.0, 65504.0, 1e-3], TensorProto.INT64: [2**40, -3, 0, 7],
         TensorProto.INT32: [-(2**31), 5, 0, 2**31 - 1], TensorProto.INT16: [-300, 2, 0, 32767],
         TensorProto.UINT16: [65535, 0, 1, 2], TensorProto.INT8: [-128, 127, 0, 1],
         TensorProto.UINT8: [255, 0, 1, 2], TensorProto.BOOL: [True, False, True, True],
         TensorProto.UINT32: [2**32 - 1, 0, 1, 2], TensorProto.UINT64: [2**64 - 1, 0, 1, 2],
         TensorProto.BFLOAT16: [1.0, -2.5, 0.125, 3.0]}


@pytest.mark.parametrize("data_type", sorted(TYPED))
@pytest.mark.parametrize("raw", [True, False])
def test_to_array_equals_the_packages(data_type: int, raw: bool) -> None:
    tensor = helper.make_tensor("t", data_type, [2, 2], TYPED[data_type], raw=False)
    if raw:
        tensor = numpy_helper.from_array(numpy_helper.to_array(tensor), "t")
        assert tensor.HasField("raw_data")
    ours, theirs = onnx_proto.to_array(tensor), numpy_helper.to_array(tensor)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape == (2, 2)
    np.testing.assert_array_equal(ours, theirs)
    if data_type != TensorProto.BFLOAT16:  # the package's own (ml_dtypes) for the rest
        assert onnx_proto.tensor_dtype_to_np_dtype(data_type) == helper.tensor_dtype_to_np_dtype(data_type)


def test_to_array_refuses_as_the_package() -> None:
    short = TensorProto(name="t", dims=[2, 3], data_type=TensorProto.FLOAT, raw_data=np.zeros(5, np.float32).tobytes())
    for convert in (onnx_proto.to_array, numpy_helper.to_array):
        with pytest.raises(ValueError, match="cannot reshape"):
            convert(short)
    undefined = TensorProto(name="u", dims=[1], data_type=TensorProto.UNDEFINED)
    for convert in (onnx_proto.to_array, numpy_helper.to_array):
        with pytest.raises(TypeError, match="UNDEFINED"):
            convert(undefined)


@pytest.mark.parametrize("value", [1.5, 3, "same", b"\xff", [1, 2, 3], [0.5, 2.0], ["a", "b"],
                                   "tensor", "graph", "tensors"])
def test_attribute_values_equal_the_packages(value: Any) -> None:
    t = helper.make_tensor("v", TensorProto.INT64, [1], [4])
    g = helper.make_graph([], "g", [], [])
    value = {"tensor": t, "graph": g, "tensors": [t, t]}.get(value, value) if isinstance(value, str) else value
    attr = helper.make_attribute("a", value)
    assert onnx_proto.get_attribute_value(attr) == helper.get_attribute_value(attr)
    ref = onnx.AttributeProto(name="a", ref_attr_name="outer", type=onnx.AttributeProto.INT)
    messages = []
    for get in (onnx_proto.get_attribute_value, helper.get_attribute_value):
        with pytest.raises(ValueError, match="reference attribute") as info:
            get(ref)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def _light_and_package(monkeypatch: pytest.MonkeyPatch, path: Path, size: tuple[int, int, int]) -> list[Any]:
    """The listing, its shapes on ``size`` and each conv's weights, through the stand-in and the package."""
    out = []
    for module in (onnx_proto.LIGHT, onnx):
        monkeypatch.setattr(onnx_proto, "module", lambda m=module: m)
        listing = read_model(path)
        convs = [m for m in listing.layers if m.kind == "conv"]
        weights = [layer_weights(path, listing, find_layer(listing, m.name)[1]) for m in convs]
        shapes = dict(listing.shapes(size)) if listing.shapes else {}
        out.append((listing.layers, listing.notes, shapes,
                    [(w.kernel, w.bias, w.where, w.dtype) for w in weights]))
    return out


def _same(a: Any, b: Any) -> None:
    assert a[:3] == b[:3]
    assert len(a[3]) == len(b[3]) > 0
    for (k1, b1, w1, d1), (k2, b2, w2, d2) in zip(a[3], b[3], strict=True):
        assert (w1, d1) == (w2, d2) and k1.dtype == k2.dtype
        np.testing.assert_array_equal(k1, k2)
        np.testing.assert_array_equal(b1, b2)


def test_sample_lists_the_same_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    light, package = _light_and_package(monkeypatch, EDGES_ONNX, (20, 16, 3))
    _same(light, package)


def test_computed_pads_and_constants_list_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Constant nodes, int64 initializers, a pad computed from the input's Shape (ONNX's shape inference:
    the package), a float16 conv and one whose weight comes through an Identity."""
    h = helper
    rng = np.random.default_rng(3)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float16), "w")
    w2 = numpy_helper.from_array(rng.standard_normal((4, 4, 3, 3)).astype(np.float32), "w2")
    b2 = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b2")
    two = numpy_helper.from_array(np.array([2], np.int64), "two")
    nodes = [h.make_node("Cast", ["x"], ["xh"], to=TensorProto.FLOAT16),
             h.make_node("Conv", ["xh", "w"], ["c"], name="half", pads=[1, 1, 1, 1]),
             h.make_node("Cast", ["c"], ["cf"], to=TensorProto.FLOAT),
             h.make_node("Shape", ["cf"], ["s"]),
             h.make_node("Constant", [], ["idx"], value=h.make_tensor("i", TensorProto.INT64, [1], [2])),
             h.make_node("Gather", ["s", "idx"], ["hh"]),
             h.make_node("Div", ["hh", "two"], ["half_h"]),
             h.make_node("Sub", ["half_h", "half_h"], ["zero"]),
             h.make_node("Constant", [], ["z6"], value_ints=[0, 0, 0, 0, 0, 0]),
             h.make_node("Concat", ["z6", "zero", "zero"], ["pads"], axis=0),
             h.make_node("Pad", ["cf", "pads"], ["p"]),
             h.make_node("Identity", ["w2"], ["w2i"]),
             h.make_node("Conv", ["p", "w2i", "b2"], ["y"], name="deep", strides=[2, 2])]
    graph = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 10])],
                         [h.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, w2, b2, two])
    path = tmp_path / "m.onnx"
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), str(path))
    light, package = _light_and_package(monkeypatch, path, (12, 10, 3))
    _same(light, package)
    assert [m.name for m in light[0] if m.kind == "conv"] == ["half", "deep"]
    assert light[2]["deep"] == (5, 4, 4)


def test_a_cut_file_is_refused_as_by_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from convcli.errors import LoadError

    cut = tmp_path / "cut.onnx"
    cut.write_bytes(EDGES_ONNX.read_bytes()[:-7])
    messages = []
    for module in (onnx_proto.LIGHT, onnx):
        monkeypatch.setattr(onnx_proto, "module", lambda m=module: m)
        with pytest.raises(LoadError) as info:
            read_model(cut)
        messages.append(info.value.message)
    assert messages[0] == messages[1] and "not a readable ONNX model" in messages[0]


def test_a_cached_second_run_imports_neither_onnx_nor_ml_dtypes(tmp_path: Path) -> None:
    """The second run of an ONNX layer whose input the cache holds parses the file with protobuf alone
    (importing onnx costs 1.1-1.4 s of CPU, ml_dtypes most of it)."""
    pytest.importorskip("onnxruntime")
    script = ("import sys, convcli\n"
              f"ex = convcli.explore({str(PHOTO)!r}, model={str(EDGES_ONNX)!r}, layer='3')\n"
              "print(ex.input.shape, 'onnx' in sys.modules, 'ml_dtypes' in sys.modules)\n")
    env = {**os.environ, "CONVCLI_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr + runs[1].stderr
    first, second = (r.stdout.split() for r in runs)
    assert first[:-2] == second[:-2]  # the same layer input's shape
    assert first[-2] == "True"  # the first run computed it: the package read the graph for ONNX Runtime
    assert second[-2:] == ["False", "False"]
