"""The window the number views show (convcli.present.window): its choice and its partials, against the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcli import engine
from convcli.errors import ConfigError, ShapeError
from convcli.present.window import Window, choose_window, window_partials

from oracle import naive_partials
from strategies import conv_cases

TIGHT = {"rtol": 1e-10, "atol": 1e-10}


@settings(max_examples=80, deadline=None)
@given(case=conv_cases(), data=st.data())
def test_window_partials_are_the_oracle_partials_of_the_window(case, data):
    assume(not case.empty)
    x, kernel, bias = case.arrays
    layer = engine.prepare(x, kernel, dtype=np.float64, **case.kwargs)
    ho, wo = layer.geometry.out_hw
    at = (data.draw(st.integers(0, ho - 1)), data.draw(st.integers(0, wo - 1)))
    window = Window.choose((ho, wo), at, data.draw(st.integers(1, max(ho, wo))))
    result = engine.run_layer(layer, bias, "relu")
    (r0, r1), (c0, c1) = window.rows, window.cols
    expected = naive_partials(x, kernel, case.stride, case.pads, case.dilation, case.groups)[r0:r1, c0:c1]
    got = window_partials(result, window)
    assert got.shape == (*window.shape, layer.cg, layer.filters)
    np.testing.assert_allclose(got, expected, **TIGHT)
    # the window's partials and the bias add up to the pre-activation the engine computed for the whole map
    np.testing.assert_allclose(got.sum(axis=2) + result.bias, result.preactivation[r0:r1, c0:c1], **TIGHT)


def test_window_partials_are_computed_once_per_result():
    layer = engine.prepare(np.arange(48.0).reshape(4, 4, 3), np.ones((2, 2, 3, 2)), dtype=np.float64)
    one, other = engine.run_layer(layer, None, "linear"), engine.run_layer(layer, 1.0, "linear")
    window = Window.choose(layer.geometry.out_hw)
    first = window_partials(one, window)
    assert window_partials(one, window) is first
    assert window_partials(other, window) is not first
    np.testing.assert_array_equal(window_partials(other, window), first)  # the bias is not a partial
    assert window == Window((0, 3), (0, 3)) and hash(window) == hash(Window((0, 3), (0, 3)))


@pytest.mark.parametrize(
    ("out_hw", "at", "size", "rows", "cols"),
    [
        ((7, 9), None, None, (2, 5), (3, 6)),  # centred
        ((7, 9), (0, 0), 2, (0, 2), (0, 2)),
        ((7, 9), (6, 8), 3, (4, 7), (6, 9)),  # shifted back inside
        ((2, 9), (1, 4), 4, (0, 2), (4, 8)),  # no taller than the output
        ((1, 1), None, None, (0, 1), (0, 1)),
    ],
)
def test_choose_window(out_hw, at, size, rows, cols):
    assert choose_window(out_hw, at, size) == (rows, cols)
    assert Window.choose(out_hw, at, size) == Window(rows, cols)


@pytest.mark.parametrize(
    ("at", "size", "error", "field", "words"),
    [
        (None, 0, ConfigError, "window", "window must be ≥ 1, got 0"),
        (None, 10, ShapeError, "window", "window 10 is larger than the 7×9 output; use at most 9"),
        ((7, 0), None, ShapeError, "at", "at 7,0 is outside the 7×9 output (rows 0..6, cols 0..8)"),
    ],
)
def test_a_bad_window_names_its_field(at, size, error, field, words):
    with pytest.raises(error) as caught:
        choose_window((7, 9), at, size)
    assert caught.value.field == field
    assert caught.value.worded({field: field}) == words


@pytest.mark.parametrize(
    ("showing", "rows", "cols"),
    [
        ((0, 0), (0, 3), (0, 3)),  # outside the centred window: moved to it, kept inside
        ((6, 8), (4, 7), (6, 9)),
        ((3, 1), (2, 5), (0, 3)),  # centred on it where there is room
        ((3, 4), (2, 5), (3, 6)),  # inside the default window: it stays
    ],
)
def test_a_traced_position_lies_inside_the_window(showing, rows, cols):
    window = Window.choose((7, 9), None, None, showing=showing)
    assert (window.rows, window.cols) == (rows, cols)
    assert window.rows[0] <= showing[0] < window.rows[1] and window.cols[0] <= showing[1] < window.cols[1]
    assert window.asked is None


def test_an_explicit_at_wins_over_the_traced_position():
    assert Window.choose((7, 9), (0, 0), 2, showing=(6, 8)).start == (0, 0)


def test_an_at_shifted_inside_is_remembered_for_the_views():
    shifted = Window.choose((7, 9), (6, 8), 3)
    assert shifted.start == (4, 6) and shifted.asked == (6, 8)
    assert Window.choose((7, 9), (1, 2), 3).asked is None
