"""The one colour Scale's policies, against hand-computed values, and the view models' imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from convcli.present.colour import (
    FIGURE,
    IMAGE,
    NONFINITE,
    SIGNED,
    TERMINAL,
    Palette,
    Palettes,
    Scale,
    lut_colours,
)

# A palette whose colours are easy to compute by hand: red rises 0 -> 200, green falls 200 -> 0.
HAND = Palette(np.array([(0, 200, 0), (100, 100, 0), (200, 0, 0)], dtype=np.float64))


class HandScale(Scale):
    palettes = Palettes(HAND, HAND, lut_size=5)


def test_symmetric_policy_centres_zero_on_the_middle_colour():
    s = HandScale.including_zero(np.array([[-2.0, 1.0], [0.5, np.nan]]))
    assert (s.lo, s.hi, s.diverging, s.clipped) == (-2.0, 1.0, True, False)
    assert s.ends == (-2.0, 2.0)  # symmetric: the limit is max |value|
    np.testing.assert_array_equal(s.position(np.array([-2.0, -1.0, 0.0, 1.0, 2.0])), [0, 0.25, 0.5, 0.75, 1])
    assert tuple(s.rgb(np.array(0.0))) == (100, 100, 0)  # the middle anchor
    assert tuple(s.rgb(np.array(-1.0))) == (50, 150, 0)  # halfway between the first two anchors
    assert tuple(s.rgb(np.array(2.0))) == (200, 0, 0)
    # the terminal's palette: 0 is its near-white middle class, -m and m its ends
    t = Scale(-4.0, 4.0)
    assert tuple(t.rgb(np.array([-4.0, 0.0, 4.0]))[1]) == tuple(SIGNED.anchors[4])
    assert tuple(t.rgb(np.array(-4.0))) == tuple(SIGNED.anchors[0]) and tuple(t.rgb(np.array(4.0))) == tuple(SIGNED.anchors[-1])


def test_symmetric_policy_keeps_an_all_negative_map_diverging():
    s = Scale.including_zero(np.array([-3.0, -1.0]))
    assert (s.lo, s.hi, s.diverging) == (-3.0, 0.0, True)
    assert s.position(np.array(0.0)) == 0.5 and s.position(np.array(-3.0)) == 0.0


def test_clipped_policy_ends_at_the_percentile_and_values_beyond_get_the_end_colours():
    values = np.arange(-100.0, 101.0)  # |value| 0..100, 201 values
    s = HandScale.clipped_at([values], 90.0)
    # "higher" percentile of |value|: the element at ceil(0.9 · 200) = 180 of the sorted magnitudes
    m = float(np.sort(np.abs(values))[180])
    assert m == 90.0
    assert (s.lo, s.hi, s.diverging, s.clipped) == (-90.0, 90.0, True, True)
    beyond = np.array([-100.0, -90.0, 90.0, 95.0])
    np.testing.assert_array_equal(s.position(beyond), [0, 0, 1, 1])
    rgb = s.rgb(beyond)
    assert [tuple(c) for c in rgb] == [(0, 200, 0), (0, 200, 0), (200, 0, 0), (200, 0, 0)]
    # through the 5-entry look-up table: 0 is entry 2 (the middle), 45 entry 3, beyond the ends the ends
    lut = s.lut
    np.testing.assert_array_equal(lut, [(0, 200, 0), (50, 150, 0), (100, 100, 0), (150, 50, 0), (200, 0, 0)])
    got = s.colours(np.array([-1e9, 0.0, 45.0, 1e9, np.nan, np.inf]))
    assert [tuple(c) for c in got] == [(0, 200, 0), (100, 100, 0), (150, 50, 0), (200, 0, 0), NONFINITE, NONFINITE]


def test_clipped_policy_does_not_clip_what_it_does_not_need_to():
    s = Scale.clipped_at([np.array([-1.0, 3.0])], 99.0)  # two values: the percentile is the largest
    assert (s.lo, s.hi, s.clipped) == (-3.0, 3.0, False)


@pytest.mark.parametrize("policy", ["including_zero", "clipped_at"])
def test_sequential_policy_maps_min_to_the_first_colour_and_max_to_the_last(policy):
    values = np.array([[2.0, 4.0], [6.0, np.nan]])
    s = HandScale.including_zero(values) if policy == "including_zero" else HandScale.clipped_at([values], 99.0)
    assert not s.diverging and not s.clipped
    lo = 0.0 if policy == "including_zero" else 2.0  # the heatmaps' scale always holds 0
    assert (s.lo, s.hi) == (lo, 6.0)
    assert tuple(s.rgb(np.array(lo))) == (0, 200, 0) and tuple(s.rgb(np.array(6.0))) == (200, 0, 0)
    assert tuple(s.colours(np.array([lo]))[0]) == (0, 200, 0) and tuple(s.colours(np.array([6.0]))[0]) == (200, 0, 0)
    assert s.position(np.array(4.0)) == pytest.approx((4.0 - lo) / (6.0 - lo))


def test_a_zero_width_scale_puts_every_value_at_its_flat_position():
    zero = Scale.including_zero(np.zeros((2, 2)))  # the heatmaps: at the palette's start
    assert zero == Scale(0.0, 0.0) and zero.position(np.array(0.0)) == 0.0
    flat = Scale.clipped_at([np.full(3, 7.0)], 99.0)  # the figure: in the middle
    assert (flat.lo, flat.hi, flat.flat) == (7.0, 7.0, 0.5)
    np.testing.assert_array_equal(flat.position(np.array([7.0, np.nan])), [0.5, np.nan])
    # a scale with width forgets its flat position, so equal ranges compare equal
    assert Scale(1.0, 2.0, flat=0.5) == Scale(1.0, 2.0)


def test_the_views_palettes_and_lut_colours():
    assert TERMINAL.diverging is SIGNED and FIGURE.diverging is SIGNED
    lut = IMAGE.sequential.lut(FIGURE.lut_size)
    assert lut.shape == (256, 3) and tuple(lut[0]) == (0, 0, 0) and tuple(lut[-1]) == (255, 255, 255)
    out = lut_colours(np.array([0.0, 0.5, 1.0]), np.array([False, True, False]), lut)
    assert [tuple(c) for c in out] == [(0, 0, 0), NONFINITE, (255, 255, 255)]


@pytest.mark.parametrize("shape", [(), (7,), (5, 6), (2, 3, 4)])
def test_colours_are_each_value_s_nearest_table_entry(shape):
    """Scale.colours (made in place, the table read as 3-byte items) against a loop over the values:
    position = clip((v - lo) / (hi - lo), 0, 1), entry = round(position · (n - 1)); NaN and ±inf
    NONFINITE; any shape, a single value too; a diverging scale from -limit to limit."""
    rng = np.random.default_rng(3)
    values = rng.normal(scale=3.0, size=shape)
    if values.size > 3:
        values.flat[:3] = [np.nan, np.inf, -np.inf]
    for scale, (lo, hi) in ((Scale(-2.0, 5.0), (-5.0, 5.0)), (Scale(0.5, 4.0, diverging=False), (0.5, 4.0))):
        got = scale.colours(values)
        table = scale.lut
        expected = []
        for v in np.asarray(values, dtype=np.float64).reshape(-1):
            if not np.isfinite(v):
                expected.append(NONFINITE)
                continue
            t = min(max((v - lo) / (hi - lo), 0.0), 1.0)
            expected.append(tuple(int(c) for c in table[int(round(t * (len(table) - 1)))]))
        assert got.shape == (*shape, 3) and got.dtype == np.uint8
        assert [tuple(int(c) for c in rgb) for rgb in got.reshape(-1, 3)] == expected


@pytest.mark.parametrize("module", ["convcli.present.colour", "convcli.present.maps", "convcli.figure"])
def test_view_models_and_the_figure_import_no_rich(module):
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m == 'rich' or m.startswith('rich.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("module", ["convcli.present.colour", "convcli.present.maps"])
def test_view_models_import_no_pillow(module):
    code = f"import sys, {module}; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
