"""convcli.sources.models.upstream: a layer's real input, against the framework's own intermediate output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import models as built
import numpy as np
import pytest

from convcli.errors import LoadError, ShapeError
from convcli.layer.model import Listing, ModelLayer
from convcli.sources.models import read_model
from convcli.sources.models import upstream as up

RTOL, ATOL = 1e-5, 1e-5  # float32 through a few layers, as the differential tests allow


def _index(listing: Listing, name: str) -> int:
    return next(i for i, lay in enumerate(listing.layers) if lay.name == name)


def _image(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, size=shape)


def _keras_intermediate(model: Any, name: str, x: np.ndarray) -> np.ndarray:
    """The in-memory model's own output of layer ``name`` (the Keras oracle)."""
    k = built.keras()
    sub = k.Model(model.inputs[0], model.get_layer(name).output)
    return np.asarray(sub.predict_on_batch(x[None].astype(np.float32)))[0]


def _rescaling_model() -> Any:
    k = built.keras()
    L = k.layers
    i = k.Input((12, 10, 3), name="img")
    x = L.Rescaling(1 / 127.5, offset=-1.0, name="rescale")(i)
    x = L.Conv2D(4, 3, activation="relu", name="conv1")(x)
    x = L.Conv2D(5, 3, strides=2, name="conv2")(x)
    return k.Model(i, x, name="rescaled")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_functional_with_rescaling_first_is_keras_own_intermediate(tmp_path: Path, suffix: str) -> None:
    model = _rescaling_model()
    path = tmp_path / f"m{suffix}"
    model.save(path)
    listing = read_model(path)
    assert [up.needs_upstream(listing, i) for i in range(4)] == [False, False, True, True]
    x = _image((12, 10, 3))
    got = up.layer_input(path, listing, _index(listing, "conv2"), x)
    assert got.array.dtype == np.float32 and got.array.shape == (10, 8, 4)
    np.testing.assert_allclose(got.array, _keras_intermediate(model, "conv1", x), rtol=RTOL, atol=ATOL)
    assert got.by.startswith("Keras 3.") and "backend)" in got.by
    assert got.note == ("the input of 'conv2' as Keras computes it from the image, through the model's own "
                        "Rescaling 'rescale' (give the image as stored: --preprocess none)")
    first = up.layer_input(path, listing, _index(listing, "conv1"), x)
    np.testing.assert_allclose(first.array, x / 127.5 - 1.0, rtol=1e-6, atol=1e-6)
    renamed = tmp_path / "m.model"
    renamed.write_bytes(path.read_bytes())  # Keras picks its loader by the suffix
    with pytest.raises(LoadError, match=rf"Keras opens this model only from a file named \*{suffix}: rename"):
        up.layer_input(renamed, read_model(renamed), 3, x)


def test_sequential_layer_after_pooling_is_keras_own_intermediate(tmp_path: Path) -> None:
    model = built.keras_sequential()
    path = tmp_path / "seq.keras"
    model.save(path)
    listing = read_model(path)
    c2 = _index(listing, "c2")
    assert up.needs_upstream(listing, c2) and not up.needs_upstream(listing, _index(listing, "c1"))
    x = _image((16, 16, 1), seed=1)
    got = up.layer_input(path, listing, c2, x)
    np.testing.assert_allclose(got.array, _keras_intermediate(model, "p1", x), rtol=RTOL, atol=ATOL)
    assert got.note == "the input of 'c2' as Keras computes it from the image"
    # by hand: a 2×2 max of the valid 3×3 correlation, in float64
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in model.get_layer("c1").get_weights())
    conv = np.einsum("ijhwc,hwcf->ijf", np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(0, 1))
                     .transpose(0, 1, 3, 4, 2), kernel) + bias
    pooled = conv[:14, :14].reshape(7, 2, 7, 2, 4).max(axis=(1, 3))
    np.testing.assert_allclose(got.array, pooled, rtol=RTOL, atol=1e-3)


def test_normalization_layer_is_applied_and_named(tmp_path: Path) -> None:
    k = built.keras()
    L = k.layers
    rng = np.random.default_rng(2)
    data = rng.uniform(0, 255, size=(20, 8, 8, 3)).astype(np.float32) * np.array([1.0, 0.5, 0.2], np.float32)
    norm = L.Normalization(name="norm")
    norm.adapt(data)
    i = k.Input((8, 8, 3), name="img")
    out = L.Conv2D(2, 3, name="conv")(norm(i))
    model = k.Model(i, out)
    path = tmp_path / "norm.keras"
    model.save(path)
    listing = read_model(path)
    x = _image((8, 8, 3), seed=3)
    got = up.layer_input(path, listing, _index(listing, "conv"), x)
    mean, var = data.astype(np.float64).mean(axis=(0, 1, 2)), data.astype(np.float64).var(axis=(0, 1, 2))
    np.testing.assert_allclose(got.array, (x - mean) / np.sqrt(var), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got.array, _keras_intermediate(model, "norm", x), rtol=RTOL, atol=ATOL)
    assert "the model's own Normalization 'norm'" in got.note


def test_onnx_from_torch_is_the_forward_hooks_input(tmp_path: Path) -> None:
    t = built.torch()
    pytest.importorskip("onnxruntime")
    net = built.torch_net()
    path = built.save_torch_onnx(net, tmp_path / "net.onnx")
    listing = read_model(path)
    x = np.random.default_rng(4).normal(size=(16, 16, 3))
    seen: dict[str, np.ndarray] = {}
    double = built.torch_net().double()  # the same seed, the same weights, in float64
    for name in ("conv1", "dw", "conv2"):
        getattr(double, name).register_forward_hook(
            lambda mod, inp, out, name=name: seen.__setitem__(name, inp[0][0].numpy().transpose(1, 2, 0)))
    with t.no_grad():
        double(t.tensor(x.transpose(2, 0, 1)[None]))
    for name, needs in (("conv1", False), ("dw", True), ("conv2", True)):
        i = _index(listing, f"/{name}/Conv")
        assert up.needs_upstream(listing, i) is needs
        got = up.layer_input(path, listing, i, x)
        assert got.array.dtype == np.float32 and got.array.shape == seen[name].shape
        np.testing.assert_allclose(got.array, seen[name], rtol=RTOL, atol=ATOL)
        assert got.by.startswith("ONNX Runtime ")
        assert got.note == (f"the input of '/{name}/Conv' as ONNX Runtime computes it from the image "
                            "(NCHW, read as (H, W, C))")
    with pytest.raises(ShapeError) as info:
        up.layer_input(path, listing, _index(listing, "/dw/Conv"), x[:8])
    assert info.value.field == "resize"
    assert info.value.worded({"resize": "--resize"}) == (
        f"{path}: the model's input takes (16, 16, 3), the image is (8, 16, 3); resize it with --resize")
    with pytest.raises(ShapeError, match=r"takes 3 channels \(16, 16, 3\), the image has 1"):
        up.layer_input(path, listing, _index(listing, "/dw/Conv"), x[:, :, :1])


def test_onnx_without_onnxruntime_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = built.save_torch_onnx(built.torch_net(), tmp_path / "net.onnx")
    listing = read_model(path)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(LoadError) as info:
        up.layer_input(path, listing, _index(listing, "/dw/Conv"), np.zeros((16, 16, 3)))
    assert str(info.value) == (f"{path}: computing the input of layer '/dw/Conv' needs the onnxruntime package: "
                               "pip install 'convcli[onnxruntime]', or pass that input as an array file (.npy, (H, W, C))")


def _without_keras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keras", None)  # import keras fails, find_spec says not installed


def test_rescaling_only_without_keras_is_scale_x_plus_offset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    k = built.keras()
    L = k.layers
    i = k.Input((6, 5, 3), name="img")
    x = L.Rescaling(0.5, offset=3.0, name="half")(i)
    x = L.Rescaling([1.0, 2.0, -1.0], offset=[0.0, 1.0, 2.0], name="per_channel")(x)
    x = L.Conv2D(2, 3, name="conv")(x)
    x = L.Conv2D(2, 1, name="after")(x)
    path = tmp_path / "r.keras"
    k.Model(i, x).save(path)
    listing = read_model(path)
    assert listing.layers[1].scale == 0.5 and listing.layers[1].offset == 3.0
    assert listing.layers[2].scale == (1.0, 2.0, -1.0) and listing.layers[2].offset == (0.0, 1.0, 2.0)
    _without_keras(monkeypatch)
    img = _image((6, 5, 3), seed=5)
    got = up.layer_input(path, listing, _index(listing, "conv"), img)
    expected = (0.5 * img + 3.0) * np.array([1.0, 2.0, -1.0]) + np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(got.array, expected, rtol=1e-6)
    assert got.by == "convcli (Rescaling)"
    assert got.note == ("the input of 'conv': the model's Rescaling half, per_channel applied by convcli "
                        "(give the image as stored: --preprocess none)")
    with pytest.raises(LoadError) as info:
        up.layer_input(path, listing, _index(listing, "after"), img)
    assert str(info.value) == (f"{path}: the input of layer 'after' is the output of earlier layers: install keras "
                               "(pip install 'convcli[keras]') to compute it, or pass that input as an array file "
                               "(.npy, (H, W, C))")


def test_lambda_layer_is_refused_and_its_code_never_runs(tmp_path: Path) -> None:
    k = built.keras()
    L = k.layers
    marker = tmp_path / "ran"

    def touch(t: Any) -> Any:
        marker.write_text("the Lambda ran")
        return t

    i = k.Input((6, 6, 1), name="img")
    out = L.Conv2D(1, 3, name="conv")(L.Lambda(touch, name="sneaky")(i))
    path = tmp_path / "lambda.keras"
    k.Model(i, out).save(path)
    marker.unlink()  # building the model called it
    listing = read_model(path)
    with pytest.raises(LoadError) as info:
        up.layer_input(path, listing, _index(listing, "conv"), np.zeros((6, 6, 1)))
    assert str(info.value) == (f"{path}: layer 'sneaky' is a Lambda layer, Python code saved in the file; convcli "
                               "does not run it (refused)")
    assert not marker.exists()
    # inside a nested model: the listing shows it by its path, and it is refused the same way
    inner_in = k.Input((6, 6, 1))
    inner = k.Model(inner_in, L.Lambda(touch, name="deep")(inner_in), name="inner")
    j = k.Input((6, 6, 1), name="img")
    nested = k.Model(j, L.Conv2D(1, 3, name="conv")(inner(j)))
    path = tmp_path / "nested.keras"
    nested.save(path)
    marker.unlink()
    listing = read_model(path)
    with pytest.raises(LoadError) as info:
        up.layer_input(path, listing, _index(listing, "conv"), np.zeros((6, 6, 1)))
    assert str(info.value) == (f"{path}: layer 'inner/deep' is a Lambda layer, Python code saved in the file; "
                               "convcli does not run it (refused)")
    assert not marker.exists()


def test_merges_and_several_inputs_are_one_line(tmp_path: Path) -> None:
    k = built.keras()
    L = k.layers
    a, b = k.Input((6, 6, 2), name="a"), k.Input((6, 6, 2), name="b")
    s = L.Add(name="sum")([a, b])
    model = k.Model([a, b], L.Conv2D(1, 3, name="conv")(s))
    path = tmp_path / "two.keras"
    model.save(path)
    listing = read_model(path)
    with pytest.raises(LoadError, match=r"layer 'sum' \(Add\) reads 2 tensors \(a merge\); convcli explores a layer "
                                        "with one input"):
        up.layer_input(path, listing, _index(listing, "sum"), np.zeros((6, 6, 2)))
    with pytest.raises(LoadError, match="the model has 2 inputs; convcli feeds one image"):
        up.layer_input(path, listing, _index(listing, "conv"), np.zeros((6, 6, 2)))


def test_a_file_without_a_graph_cannot_be_run() -> None:
    layer = ModelLayer("features.3", "conv", "Conv2d", kernel=(3, 3), in_channels=8, filters=8)
    listing = Listing("w.safetensors", "safetensors", (layer,), graph=False)
    expected = ("w.safetensors: the file holds weights, no graph: convcli cannot compute the input of layer "
                "'features.3'; pass that input as an array file (.npy, (H, W, C))")
    with pytest.raises(LoadError) as info:
        up.needs_upstream(listing, 0)
    assert str(info.value) == expected
    with pytest.raises(LoadError) as info:
        up.layer_input("w.safetensors", listing, 0, np.zeros((4, 4, 8)))
    assert str(info.value) == expected
