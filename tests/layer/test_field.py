"""The receptive field of a deep layer's output position on the model's input: the rectangle
composed from the layers' windows, against the gradient of that unit in Keras (every input pixel
it depends on, and only those, has a non-zero derivative)."""

from __future__ import annotations

import numpy as np
import pytest

from convcli.layer.field import Window, field_at
from convcli.layer.model import analyse
from convcli.sources.models import read_model

from helpers import SAMPLES

H, W = 24, 20


def edges_analysis():
    return analyse(read_model(str(SAMPLES / "edges.keras")), (H, W, 3))


def by_hand(at: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """edges.keras by hand: 'edges' is 5×5 'same' (2 zeros before), 'mid' 3×3 stride 2 'same' on an
    even size (0 zeros before: TensorFlow puts the odd one after)."""
    spans = []
    for o, n in zip(at, (H, W), strict=True):
        lo, hi = 2 * o, min(2 * o + 2, n - 1)  # mid (past 'edges' output: mid's own padding, which reads nothing)
        spans.append((lo - 2, hi - 2 + 4))  # edges
    return spans[0], spans[1]


def keras_support(layer: str, at: tuple[int, int]) -> np.ndarray:
    """``(H, W)``: where d(Σ_f unit(at, f)) / d(input) ≠ 0, in a copy of the model up to ``layer`` whose
    activations are linear and weights positive (so that no path cancels another)."""
    keras = pytest.importorskip("keras")
    torch = pytest.importorskip("torch")
    if keras.backend.backend() != "torch":
        pytest.skip("needs KERAS_BACKEND=torch")
    model = keras.saving.load_model(SAMPLES / "edges.keras", compile=False)
    rng = np.random.default_rng(0)
    x = inputs = keras.Input((H, W, 3))
    for source in model.layers[1:]:
        config = source.get_config()
        if "activation" in config:
            config["activation"] = "linear"
        copy = source.__class__.from_config(config)
        x = copy(x)
        copy.set_weights([rng.uniform(0.1, 1.0, w.shape).astype(np.float32) for w in source.get_weights()])
        if source.name == layer:
            break
    sub = keras.Model(inputs, x)
    image = torch.tensor(rng.uniform(0, 255, (1, H, W, 3)).astype(np.float32), requires_grad=True)
    out = sub(image)
    out[0, at[0], at[1], :].sum().backward()
    return (image.grad[0].abs().sum(dim=-1) > 0).numpy()


@pytest.mark.parametrize("at", [(0, 0), (5, 4), (11, 9), (3, 9)])
def test_the_field_of_a_deep_unit_is_where_its_gradient_is_non_zero(at: tuple[int, int]):
    field = field_at(edges_analysis(), "mid", at)
    assert field is not None
    assert (field.rows, field.cols) == by_hand(at)
    (r0, r1), (c0, c1) = field.clipped()
    drawn = np.zeros((H, W), dtype=bool)
    drawn[r0:r1 + 1, c0:c1 + 1] = True
    assert np.array_equal(keras_support("mid", at), drawn)


def test_the_first_conv_layer_sees_its_own_window():
    field = field_at(edges_analysis(), "edges", (7, 3))
    assert field is not None and (field.rows, field.cols) == ((5, 9), (1, 5)) and field.size == (5, 5)
    support = keras_support("edges", (7, 3))
    assert np.argwhere(support).min(axis=0).tolist() == [5, 1] and np.argwhere(support).max(axis=0).tolist() == [9, 5]


def test_the_layer_as_run_overrides_the_files_window():
    """--stride 1 --padding valid on 'mid': its own window replaces the file's."""
    field = field_at(edges_analysis(), "mid", (4, 4), last=Window((3, 3)))
    assert field is not None and (field.rows, field.cols) == ((2, 8), (2, 8))


def test_a_transposed_layer_is_placed_by_hand():
    """'decode' (4×4, stride 2, Keras 'same': cuts 1 before) output 3 reads 'mid' outputs i with 2i - 1 + t = 3,
    t < 4: i = 1, 2; those read 'edges' rows 2…6 (0 zeros before), which read rows 0…8 (2 zeros before)."""
    field = field_at(edges_analysis(), "decode", (3, 3))
    assert field is not None and (field.rows, field.cols) == ((0, 8), (0, 8)) and field.exact


# ---- through transposed layers and upsamplings: the walk against the gradient of a model built here


def support(path, layer: str, at: tuple[int, int], hw: tuple[int, int] = (H, W)) -> np.ndarray:
    """``(H, W)``: where the gradient of ``layer``'s unit ``at`` (summed over channels) is non-zero, in a copy of
    the model at ``path`` with linear activations and positive weights (no path cancels another)."""
    keras = pytest.importorskip("keras")
    torch = pytest.importorskip("torch")
    if keras.backend.backend() != "torch":
        pytest.skip("needs KERAS_BACKEND=torch")
    model = keras.saving.load_model(path, compile=False)
    rng = np.random.default_rng(0)
    x = inputs = keras.Input((*hw, model.input_shape[-1]))
    for source in (s for s in model.layers if not isinstance(s, keras.layers.InputLayer)):
        config = source.get_config()
        if "activation" in config:
            config["activation"] = "linear"
        copy = source.__class__.from_config(config)
        x = copy(x)
        copy.set_weights([rng.uniform(0.1, 1.0, w.shape).astype(np.float32) for w in source.get_weights()])
        if source.name == layer:
            break
    sub = keras.Model(inputs, x)
    image = torch.tensor(rng.uniform(1, 255, (1, *hw, model.input_shape[-1])).astype(np.float32), requires_grad=True)
    out = sub(image)
    (grad,) = torch.autograd.grad(out[0, at[0], at[1], :].sum(), image)  # the input's only, not the weights'
    return (grad[0].abs().sum(dim=-1) > 0).numpy()


def drawn(field, hw: tuple[int, int] = (H, W)) -> np.ndarray:
    """The rectangle on the image as an ``(H, W)`` mask."""
    (r0, r1), (c0, c1) = field.clipped()
    mask = np.zeros(hw, dtype=bool)
    mask[r0:r1 + 1, c0:c1 + 1] = True
    return mask


def read_mask(field, hw: tuple[int, int] = (H, W)) -> np.ndarray:
    """The pixels the field says are read: its rows × its columns, on the image."""
    rows = [r for r in field.reads[0] if 0 <= r < hw[0]]
    cols = [c for c in field.reads[1] if 0 <= c < hw[1]]
    mask = np.zeros(hw, dtype=bool)
    mask[np.ix_(rows, cols)] = True
    return mask


@pytest.mark.parametrize("at", [(0, 0), (5, 4), (23, 19), (12, 7), (11, 0)])
def test_a_transposed_layers_field_is_where_its_gradient_is_non_zero(at: tuple[int, int]):
    """edges.keras' 'decode' (Conv2DTranspose 4×4, stride 2, 'same') after 'mid' and 'edges'."""
    field = field_at(edges_analysis(), "decode", at)
    assert field is not None and field.exact and not field.bounded
    assert np.array_equal(support(SAMPLES / "edges.keras", "decode", at), drawn(field))


def model_file(tmp_path, *layers, name: str = "m.keras", channels: int = 2):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((H, W, channels)), *layers])
    path = tmp_path / name
    model.save(path)
    return path


def fields_model(tmp_path, upsampling: dict, transpose: dict):
    """conv 3×3 'same' → UpSampling2D → conv 3×3 'valid' → Conv2DTranspose → conv 2×2: every kind of step."""
    keras = pytest.importorskip("keras")
    L = keras.layers
    return model_file(tmp_path, L.Conv2D(3, 3, padding="same", name="a"), L.UpSampling2D(**upsampling, name="up"),
                      L.Conv2D(2, 3, name="b"), L.Conv2DTranspose(2, **transpose, name="t"), L.Conv2D(1, 2, name="c"))


CASES = [
    ({"size": 2}, {"kernel_size": 3, "strides": 2, "padding": "same"}),
    ({"size": (2, 3), "interpolation": "bilinear"}, {"kernel_size": 4, "strides": 2, "padding": "valid"}),
    ({"size": 3, "interpolation": "bilinear"}, {"kernel_size": 3, "strides": 1, "dilation_rate": 2}),
    ({"size": 2, "interpolation": "bilinear"}, {"kernel_size": 2, "strides": 3, "padding": "same"}),
]


@pytest.mark.parametrize(("upsampling", "transpose"), CASES)
def test_the_field_through_upsamplings_and_transposed_layers_is_what_the_gradient_reaches(
        tmp_path, upsampling: dict, transpose: dict):
    """The positions the field reads (rows × columns) are exactly where the unit's gradient is non-zero: the
    rectangle when the field is exact, its holes (a stride wider than the kernel, a dilation) otherwise."""
    path = fields_model(tmp_path, upsampling, transpose)
    analysis = analyse(read_model(str(path)), (H, W, 2))
    out = analysis.layers[-1].out_shape
    rng = np.random.default_rng(3)
    points = {(0, 0), (out[0] - 1, out[1] - 1), *((int(rng.integers(out[0])), int(rng.integers(out[1])))
                                                  for _ in range(4))}
    for at in sorted(points):
        field = field_at(analysis, "c", at)
        assert field is not None and not field.bounded, at
        grad = support(path, "c", at)
        assert np.array_equal(grad, read_mask(field)), at
        assert field.exact == np.array_equal(grad, drawn(field)), at
        assert (grad & ~drawn(field)).sum() == 0


@pytest.mark.parametrize("transpose", [{"kernel_size": 3, "dilation_rate": 2}, {"kernel_size": 2, "strides": 3}])
def test_a_dilated_or_wide_strided_transpose_reads_with_gaps_the_field_says(tmp_path, transpose: dict):
    """On the image itself: a dilation 2 reads every other row; a stride 3 wider than the kernel 2 leaves
    outputs that no input reaches (no field: they hold the bias only, their gradient is zero)."""
    keras = pytest.importorskip("keras")
    path = model_file(tmp_path, keras.layers.Conv2DTranspose(1, **transpose, name="t"))
    analysis = analyse(read_model(str(path)), (H, W, 2))
    out = analysis.layers[-1].out_shape
    exact, gaps, empty = 0, 0, 0
    for at in [(r, c) for r in range(0, out[0], 3) for c in range(0, out[1], 4)]:
        field = field_at(analysis, "t", at)
        grad = support(path, "t", at)
        if field is None:
            empty += 1
            assert not grad.any(), at
            continue
        assert np.array_equal(grad, read_mask(field)), at
        exact, gaps = exact + field.exact, gaps + (not field.exact)
        assert field.exact == np.array_equal(grad, drawn(field)), at
    assert gaps if "dilation_rate" in transpose else empty and exact


def test_a_bicubic_upsampling_is_bounded_and_the_bound_holds(tmp_path):
    keras = pytest.importorskip("keras")
    L = keras.layers
    path = model_file(tmp_path, L.Conv2D(2, 3, name="a"), L.UpSampling2D(2, interpolation="bicubic", name="up"),
                      L.Conv2D(1, 3, name="b"))
    analysis = analyse(read_model(str(path)), (H, W, 2))
    for at in [(0, 0), (10, 7), (39, 31)]:
        field = field_at(analysis, "b", at)
        assert field is not None and field.bounded == ("up",) and not field.exact
        grad = support(path, "b", at)
        assert grad.any() and (grad & ~drawn(field)).sum() == 0  # every pixel read lies inside the bound


@pytest.mark.parametrize("resize", [
    {"height": 37, "width": 29, "interpolation": "bilinear"},  # enlarged by no whole factor
    {"height": 11, "width": 9, "interpolation": "bilinear"},  # shrunk, without antialiasing (Keras' default)
    {"height": 37, "width": 13, "interpolation": "nearest"},
    {"height": 48, "width": 40, "interpolation": "nearest"},
])
def test_the_field_through_a_resize_is_what_the_gradient_reaches(tmp_path, resize: dict):
    keras = pytest.importorskip("keras")
    L = keras.layers
    path = model_file(tmp_path, L.Conv2D(2, 3, padding="same", name="a"), L.Resizing(**resize, name="r"),
                      L.Conv2D(1, 2, name="b"))
    analysis = analyse(read_model(str(path)), (H, W, 2))
    out = analysis.layers[-1].out_shape
    rng = np.random.default_rng(5)
    for at in sorted({(0, 0), (out[0] - 1, out[1] - 1), *((int(rng.integers(out[0])), int(rng.integers(out[1])))
                                                          for _ in range(4))}):
        field = field_at(analysis, "b", at)
        assert field is not None and not field.bounded, at
        grad = support(path, "b", at)
        assert np.array_equal(grad, read_mask(field)), at


@pytest.mark.parametrize("resize", [
    {"height": 11, "width": 9, "interpolation": "bilinear", "antialias": True},
    {"height": 30, "width": 13, "interpolation": "bicubic"},
])
def test_a_resize_that_is_only_bounded_says_so_and_the_bound_holds(tmp_path, resize: dict):
    keras = pytest.importorskip("keras")
    L = keras.layers
    path = model_file(tmp_path, L.Conv2D(2, 3, name="a"), L.Resizing(**resize, name="r"), L.Conv2D(1, 2, name="b"))
    analysis = analyse(read_model(str(path)), (H, W, 2))
    for at in [(0, 0), (5, 3), (9, 7)]:
        field = field_at(analysis, "b", at)
        assert field is not None and field.bounded == ("r",) and not field.exact
        grad = support(path, "b", at)
        assert grad.any() and (grad & ~drawn(field)).sum() == 0


def test_a_resize_that_crops_to_the_aspect_ratio_is_not_placed(tmp_path):
    keras = pytest.importorskip("keras")
    L = keras.layers
    path = model_file(tmp_path, L.Resizing(10, 20, crop_to_aspect_ratio=True, name="r"), L.Conv2D(1, 2, name="b"))
    listing = read_model(str(path))
    assert [layer.kind for layer in listing.layers][-2:] == ["other", "conv"]


def test_a_layer_only_the_framework_knows_leaves_no_field():
    """An ONNX Resize: its shapes come from ONNX's inference, its positions from nothing the walk knows."""
    from convcli.layer.listing import Listing, ModelLayer

    layers = (ModelLayer("image", "input", "InputLayer", input_shape=(8, 8, 3)),
              ModelLayer("grow", "other", "Resize"),
              ModelLayer("c", "conv", "Conv", kernel=(3, 3), strides=(1, 1), padding="valid", dilation=(1, 1),
                         groups=1, in_channels=3, filters=1, use_bias=True))
    listing = Listing("m.onnx", "onnx", layers, shapes=lambda size: {"grow": (16, 16, 3)})
    assert field_at(analyse(listing, (8, 8, 3)), "c", (2, 2)) is None
