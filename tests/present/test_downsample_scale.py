"""Behind the terminal heatmaps: downsampling (block means) against a loop oracle, and the Scale with
its palettes and characters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli.present import maps as map_sources
from convcli.present.colour import SIGNED_RAMP
from convcli.present.maps import downsample
from convcli.render.heatmap import Scale


def naive_downsample(a: np.ndarray, max_h: int, max_w: int) -> np.ndarray:
    """Block means by plain loops: the block size straight from the rule ceil(max(h / max_h, w / max_w))."""
    h, w = a.shape
    k = math.ceil(max(h / max_h, w / max_w))
    if k <= 1:
        return a
    out = np.empty((math.ceil(h / k), math.ceil(w / k)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            total, count = 0.0, 0
            for y in range(i * k, min((i + 1) * k, h)):
                for x in range(j * k, min((j + 1) * k, w)):
                    v = float(a[y, x])
                    if not math.isnan(v):
                        total += v
                        count += 1
            out[i, j] = total / count if count else math.nan
    return out


# ------------------------------------------------------------------------------------------------
# downsample


@settings(max_examples=150, deadline=None)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    max_h=st.integers(1, 12),
    max_w=st.integers(1, 12),
    nan_fraction=st.sampled_from([0.0, 0.3, 0.9]),
    seed=st.integers(0, 2**32 - 1),
)
def test_downsample_matches_loop_oracle(h, w, max_h, max_w, nan_fraction, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(h, w)).astype(np.float32)
    a[rng.random((h, w)) < nan_fraction] = np.nan
    got = downsample(a, max_h, max_w)
    expected = naive_downsample(a, max_h, max_w)
    assert got.shape == expected.shape
    assert got.shape[0] <= max_h and got.shape[1] <= max_w
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6, equal_nan=True)


def test_downsample_leaves_a_map_that_fits_alone():
    a = np.arange(12, dtype=np.int16).reshape(3, 4)
    assert downsample(a, 3, 4) is a
    assert downsample(a, 100, 100) is a


def test_downsample_keeps_aspect_and_averages_ragged_blocks():
    a = np.arange(7 * 10, dtype=np.float64).reshape(7, 10)
    got = downsample(a, 3, 3)  # k = ceil(max(7/3, 10/3)) = 4 on both axes
    assert got.shape == (2, 3)
    assert got[0, 0] == a[:4, :4].mean()
    assert got[1, 2] == a[4:, 8:].mean()  # a 3×2 ragged corner


def test_all_nan_block_stays_nan_and_nan_is_skipped():
    a = np.ones((4, 4))
    a[:2, :2] = np.nan
    a[2, 2] = np.nan
    a[3, 3] = 5.0
    got = downsample(a, 2, 2)
    assert np.isnan(got[0, 0])
    assert got[1, 1] == pytest.approx((1 + 1 + 5) / 3)
    assert got[0, 1] == 1.0


def test_huge_values_are_summed_in_float64():
    a = np.full((4, 4), 3e38, dtype=np.float32)  # float32 sums of four would overflow to inf
    assert downsample(a, 1, 1)[0, 0] == pytest.approx(3e38, rel=1e-6)


def test_stack_block_mean_is_each_maps_block_mean():
    rng = np.random.default_rng(4)
    values = rng.normal(size=(23, 31, 3))
    got = map_sources.stack_block_mean(values, 5)
    for f in range(3):
        np.testing.assert_allclose(got[..., f], naive_downsample(values[..., f], 5, 7), rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# Scale and palettes


def test_scale_always_includes_zero_and_picks_the_palette():
    assert Scale.including_zero(np.array([[3.0, 5.0]])) == Scale(0.0, 5.0)
    assert Scale.including_zero(np.array([[-2.0, 7.0]]), np.array([[np.nan, -9.0]])) == Scale(-9.0, 7.0)
    assert not Scale(0.0, 5.0).diverging
    assert Scale(-2.0, 7.0).diverging and Scale(-2.0, 7.0).limit == 7.0
    assert Scale(-2.0, 0.0).diverging  # all ≤ 0 keeps the sign's hue


def test_diverging_zero_is_neutral_and_sign_sets_the_hue():
    s = Scale(-3.0, 6.0)
    assert tuple(s.rgb(np.array(0.0))) == (255, 255, 255)
    assert tuple(s.rgb(np.array(6.0))) == (175, 0, 0)
    assert tuple(s.rgb(np.array(-6.0))) == (0, 95, 175)  # symmetric limit: -6 is the far end
    assert tuple(s.rgb(np.array(-3.0))) == tuple(s.rgb(np.array(-3.0 - 1e-9)))
    v = np.linspace(-6, 6, 241)
    v = v[v != 0]
    rgb = s.rgb(v).astype(int)
    coloured = np.rint(np.abs(v) / 6 * 4) > 0  # 4 classes a side; within half a class of 0: white
    assert np.all(np.sign(rgb[:, 0] - rgb[:, 2]) == np.sign(v) * coloured)  # red > blue exactly when v > 0
    assert s.color(6.0).get_truecolor() == (175, 0, 0)  # type: ignore[union-attr]
    assert s.color(float("nan")) is None


def test_sequential_goes_from_white_to_red_as_the_value_rises():
    s = Scale(0.0, 10.0)
    rgb = s.rgb(np.linspace(0, 10, 101)).astype(np.float64) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722])
    assert np.all(np.diff(luminance) <= 0) and luminance[0] > luminance[-1] + 0.8  # white 0 -> dark red
    assert tuple(s.rgb(np.array(10.0))) == (175, 0, 0) == tuple(Scale(-10.0, 10.0).rgb(np.array(10.0)))


def test_characters_bin_by_value():
    seq = Scale(0.0, 10.0)
    assert "".join(seq.chars(np.array([0, 1.9, 2, 5, 7.9, 8, 10, np.nan]))) == "  ░▒▓██?"
    div = Scale(-8.0, 8.0)
    v = np.array([-8, -6, -4, -2, -0.9, 0, 0.9, 2, 4, 6, 8])
    assert "".join(div.chars(v)) == "≡=-·   ░▒▓█"  # |v| < limit / 8 is blank
    mirror = str.maketrans(SIGNED_RAMP, SIGNED_RAMP[::-1])
    assert "".join(div.chars(-v)).translate(mirror) == "".join(div.chars(v))
