"""The committed sample model samples/edges.{keras,onnx,safetensors} (made by samples/make_model.py):
the three files list the same conv layers; the .onnx computes what the .keras computes (Keras and
onnxruntime as the oracles); the .safetensors holds the .keras weights in PyTorch layout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convcli.layer.model import analyse
from convcli.sources.models import read_model

os.environ.setdefault("KERAS_BACKEND", "torch")

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
FILES = {fmt: SAMPLES / f"edges.{fmt}" for fmt in ("keras", "onnx", "safetensors")}
NEEDS = {"keras": "h5py", "onnx": "onnx", "safetensors": "safetensors"}
#: name: (kind, kernel, strides, in channels, filters, params), counted by hand (kh·kw·C·F + F)
CONVS = {
    "edges": ("conv", (5, 5), (1, 1), 3, 8, 5 * 5 * 3 * 8 + 8),  # 608
    "mid": ("conv", (3, 3), (2, 2), 8, 16, 3 * 3 * 8 * 16 + 16),  # 1,168
    "decode": ("transpose", (4, 4), (2, 2), 16, 3, 4 * 4 * 16 * 3 + 3),  # 771
}


def _convs(fmt: str) -> dict[str, Any]:
    pytest.importorskip(NEEDS[fmt])
    a = analyse(read_model(FILES[fmt]), None)
    return {n.layer.name: n for n in a.layers if n.layer.kind in ("conv", "transpose")}


@pytest.mark.parametrize("fmt", ["keras", "onnx"])
def test_graph_files_list_the_same_convs(fmt: str) -> None:
    convs = _convs(fmt)
    assert list(convs) == list(CONVS)
    for name, (kind, kernel, strides, c, f, params) in CONVS.items():
        n = convs[name]
        assert (n.layer.kind, n.layer.kernel, n.layer.strides) == (kind, kernel, strides), name
        assert (n.layer.in_channels, n.layer.filters, n.params) == (c, f, params), name
        assert n.layer.padding == ("same" if name != "edges" or fmt == "keras" else None), name
    if fmt == "onnx":  # "same" at stride 1 written as explicit pads
        assert convs["edges"].layer.pads == (2, 2, 2, 2)


def test_safetensors_lists_the_same_convs_by_name() -> None:
    convs = _convs("safetensors")
    assert sorted(convs) == sorted(CONVS)
    for name, (_, kernel, _, c, f, params) in CONVS.items():
        n = convs[name]
        assert (n.layer.kernel, n.params) == (kernel, params), name
        # weights only: a ConvTranspose2d's weight is (C, F, kh, kw), so it reads as a conv of C filters
        assert n.layer.weights["weight"] == ((f, c, *kernel) if name != "decode" else (c, f, *kernel)), name


@pytest.fixture(scope="module")
def keras_model() -> Any:
    pytest.importorskip("h5py")
    keras = pytest.importorskip("keras")
    return keras.saving.load_model(FILES["keras"], compile=False)


@pytest.mark.parametrize("box", [(200, 150, 64, 96), (310, 40, 75, 61)])
def test_onnx_gives_the_keras_output(keras_model: Any, box: tuple[int, int, int, int]) -> None:
    ort = pytest.importorskip("onnxruntime")
    image = pytest.importorskip("PIL.Image")
    with image.open(SAMPLES / "grace_hopper.jpg") as img:
        photo = np.asarray(img.convert("RGB"), dtype=np.float32)
    top, left, h, w = box
    crop = photo[top:top + h, left:left + w][None]
    want = np.asarray(keras_model.predict(crop, verbose=0))
    session = ort.InferenceSession(str(FILES["onnx"]), providers=["CPUExecutionProvider"])
    nchw = np.ascontiguousarray(crop.transpose(0, 3, 1, 2))
    got = session.run(None, {"image": nchw})[0].transpose(0, 2, 3, 1)
    assert got.shape == want.shape == (1, h + h % 2, w + w % 2, 3)
    assert float(np.abs(want).max()) > 0.05  # a real output, not zeros on both sides
    assert float(np.abs(got - want).max()) < 1e-4


def test_safetensors_holds_the_keras_weights_in_torch_layout(keras_model: Any) -> None:
    st = pytest.importorskip("safetensors.numpy")
    arrays = st.load_file(FILES["safetensors"])
    assert sorted(arrays) == sorted(f"{n}.{p}" for n in CONVS for p in ("weight", "bias"))
    for name in CONVS:
        layer = keras_model.get_layer(name)
        kernel = np.asarray(layer.kernel.numpy())
        bias = np.asarray(layer.bias.numpy())
        assert arrays[f"{name}.weight"].dtype == np.float32
        np.testing.assert_array_equal(arrays[f"{name}.weight"], kernel.transpose(3, 2, 0, 1))
        np.testing.assert_array_equal(arrays[f"{name}.bias"], bias)
    with pytest.importorskip("safetensors").safe_open(FILES["safetensors"], framework="numpy") as f:
        assert "make_model.py" in f.metadata()["source"]


def test_sample_files_stay_small() -> None:
    sizes = {fmt: path.stat().st_size for fmt, path in FILES.items()}
    assert all(size < 64 * 1024 for size in sizes.values()), sizes
