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
    for o in at:
        lo, hi = 2 * o, 2 * o + 2  # mid
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


def test_a_transposed_layer_is_not_placed():
    assert field_at(edges_analysis(), "decode", (3, 3)) is None
