"""The fast paths (tiled GEMMs, per-tap GEMMs, depthwise multiply-adds and per-channel GEMMs,
space-to-depth for strides) against the oracle.

Tile sizes and the im2col threshold are forced small and large so that every path runs, tiles
split rows unevenly, and the last tile is a short one.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcli import engine
from convcli.engine.fast import dense, tuning
from convcli.engine.fast import stats as fast_stats

from oracle import naive_conv2d, naive_partials
from strategies import ConvCase, conv_cases, int_or_pair, paddings

stride1_cases = st.builds(
    lambda groups, cm, fm, h, w, kh, kw, dil, pad, seed: ConvCase(
        h=h, w=w, c=groups * cm, f=groups * fm, kh=kh, kw=kw, stride=1, dilation=dil, padding=pad,
        groups=groups, seed=seed,
    ),
    groups=st.sampled_from([1, 1, 2, 3, 4]),
    cm=st.sampled_from([1, 1, 2, 5, 17]),
    fm=st.integers(1, 3),
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    dil=int_or_pair(1, 2),
    pad=paddings,
    seed=st.integers(0, 2**32 - 1),
)


@pytest.mark.parametrize("tile_bytes", [1, 700, 1 << 19])
@pytest.mark.parametrize(("im2col_min", "planar_min"), [(1, 1), (1000, 1000), (16, 2)])
@settings(max_examples=60, deadline=None)
@given(case=stride1_cases)
def test_fast_path_matches_oracle(tile_bytes, im2col_min, planar_min, case: ConvCase):
    assume(not case.empty)
    x, k, b = case.arrays
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("convcli.engine.fast.tuning.TILE_BYTES", tile_bytes)
        mp.setattr("convcli.engine.fast.tuning.IM2COL_MIN_CHANNELS", im2col_min)
        mp.setattr("convcli.engine.fast.tuning.PLANAR_MIN_MULTIPLIER", planar_min)
        mp.setattr("convcli.engine.fast.tuning.MIN_GEMM_ROWS", 1 if tile_bytes == 1 else tuning.MIN_GEMM_ROWS)
        got = engine.conv2d(x, k, b, dtype=np.float64, **case.kwargs)
        partials = engine.partial_sums(x, k, dtype=np.float64, **case.kwargs)
    want = naive_conv2d(x, k, b, 1, case.pads, case.dilation, case.groups)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    want_p = naive_partials(x, k, 1, case.pads, case.dilation, case.groups)
    np.testing.assert_allclose(partials, want_p, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("tile_bytes", [1, 700, 1 << 19])
@settings(max_examples=80, deadline=None)
@given(case=conv_cases())
def test_strided_layers_match_oracle_with_small_tiles(tile_bytes, case: ConvCase):
    """Space-to-depth (stride > 1, dilation 1, groups 1) and the tap loop, tiles split unevenly."""
    assume(not case.empty)
    x, k, b = case.arrays
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("convcli.engine.fast.tuning.TILE_BYTES", tile_bytes)
        got = engine.conv2d(x, k, b, dtype=np.float64, **case.kwargs)
        partials = engine.partial_sums(x, k, dtype=np.float64, **case.kwargs)
    np.testing.assert_allclose(got, naive_conv2d(x, k, b, case.stride, case.pads, case.dilation, case.groups),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(partials, naive_partials(x, k, case.stride, case.pads, case.dilation, case.groups),
                               rtol=1e-10, atol=1e-10)


def test_space_to_depth_layout():
    """region'[y, x, (p, q, c)] = region[y·s + p, x·s + q, c]; kernel' zero past the kernel's edge."""
    rng = np.random.default_rng(3)
    region = rng.standard_normal((9, 11, 2))  # a 5×5 kernel, stride 2 -> 3×4 outputs
    kernel = rng.standard_normal((5, 5, 2, 3))
    x2, k2 = dense.space_to_depth(region, kernel, (2, 2), (3, 4))
    assert x2.shape == (5, 6, 8) and k2.shape == (3, 3, 8, 3)
    assert x2[1, 2, (1 * 2 + 0) * 2 + 1] == region[3, 4, 1]
    assert k2[1, 0, (0 * 2 + 1) * 2 + 0, 2] == kernel[2, 1, 0, 2]
    assert not k2[2, :, 4:].any() and not k2[:, 2, 2:4].any()  # u = 5 or v = 5 lies past the kernel


@pytest.mark.parametrize("tile_bytes", [1, 5000])
def test_fast_path_windows_and_float32(monkeypatch, tile_bytes):
    monkeypatch.setattr("convcli.engine.fast.tuning.TILE_BYTES", tile_bytes)
    # the same tile heights for the window and the whole image: BLAS then sums in the same order
    monkeypatch.setattr("convcli.engine.fast.tuning.MIN_GEMM_ROWS", 1)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((23, 19, 20)).astype(np.float32)
    k = rng.standard_normal((3, 5, 20, 7)).astype(np.float32)
    full = engine.conv2d(x, k, padding="same")
    assert full.dtype == np.float32
    want = naive_conv2d(x.astype(np.float64), k.astype(np.float64), None, 1,
                        engine.pad_amounts((23, 19), (3, 5), padding="same"))
    np.testing.assert_allclose(full, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(engine.conv2d(x, k, padding="same", window=(5, 17, 3, 11)), full[5:17, 3:11])


def test_depthwise_multiplier_filter_order():
    """Filter g·M + j of a depthwise layer reads channel g only."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((6, 7, 3))
    k = rng.standard_normal((3, 3, 1, 6))  # C = 3, M = 2
    got = engine.conv2d(x, k, groups=3, dtype=np.float64)
    for f in range(6):
        single = naive_conv2d(x[:, :, f // 2 : f // 2 + 1], k[:, :, :, f : f + 1])
        np.testing.assert_allclose(got[:, :, f], single[:, :, 0], rtol=1e-12)


@pytest.mark.parametrize("tile_bytes", [1, 3000, 1 << 19])
@pytest.mark.parametrize(("channels", "mult"), [(20, 1), (20, 2), (3, 1), (3, 4)])
def test_both_depthwise_kernels_match_oracle(monkeypatch, tile_bytes, channels, mult):
    """Multiply-adds (many channels, M = 1) and per-channel GEMMs (few channels or M ≥ 2)."""
    monkeypatch.setattr("convcli.engine.fast.tuning.TILE_BYTES", tile_bytes)
    rng = np.random.default_rng(channels * 10 + mult)
    x = rng.standard_normal((9, 13, channels))
    k = rng.standard_normal((3, 2, 1, channels * mult))
    got = engine.conv2d(x, k, groups=channels, padding="same", dilation=(1, 2), dtype=np.float64)
    pads = engine.pad_amounts((9, 13), (3, 2), padding="same", dilation=(1, 2))
    want = naive_conv2d(x, k, None, 1, pads, (1, 2), channels)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("tile_bytes", "min_positions"), [(1, 1), (700, 5), (1 << 19, 1 << 14)])
@settings(max_examples=50, deadline=None)
@given(case=stride1_cases, dtype=st.sampled_from([np.float64, np.float32]))
def test_partial_stats_reduces_exactly_the_oracle_partials(tile_bytes, min_positions, case, dtype):
    """Σ|p|, min, max, Σ_c p + bias and the kept partials, with tiles of one row up to the whole map."""
    assume(not case.empty)
    x, kernel, bias = case.arrays
    ho, wo = case.out_hw
    layer = engine.prepare(x, kernel, dtype=dtype, **case.kwargs)
    cg, f = layer.cg, layer.filters
    region = engine.input_region(layer, (0, ho), (0, wo))
    abs_sums = np.zeros((cg, f))
    low, high = np.full((cg, f), np.inf, dtype=dtype), np.full((cg, f), -np.inf, dtype=dtype)
    total = np.full((ho, wo, f), np.nan, dtype=dtype)
    kept = np.full((ho, wo, cg, f), np.nan, dtype=dtype)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("convcli.engine.fast.tuning.TILE_BYTES", tile_bytes)
        mp.setattr("convcli.engine.fast.tuning.MIN_STATS_POSITIONS", min_positions)
        fast_stats.partial_stats(region, layer.kernel, layer.geometry.dilation, (ho, wo), abs_sums=abs_sums,
                               low=low, high=high, total=total, bias=bias.astype(dtype), kept=kept)
    p = naive_partials(x, kernel, case.stride, case.pads, case.dilation, case.groups)
    tol = {"rtol": 1e-10, "atol": 1e-10} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-5}
    np.testing.assert_allclose(kept, p, **tol)
    np.testing.assert_allclose(abs_sums, np.abs(p).sum(axis=(0, 1)), **tol)
    np.testing.assert_allclose(low, p.min(axis=(0, 1)), **tol)
    np.testing.assert_allclose(high, p.max(axis=(0, 1)), **tol)
    np.testing.assert_allclose(total, naive_conv2d(x, kernel, bias, case.stride, case.pads, case.dilation, case.groups),
                               **tol)


@pytest.mark.parametrize("tile_bytes", [1, 3000, 1 << 19])
def test_depthwise_into_any_out(monkeypatch, tile_bytes):
    """The depthwise multiply-adds write packed ``out`` rows in place and any other ``out``
    (strided columns, another dtype) through a buffer; taps of one kernel row or column too."""
    monkeypatch.setattr("convcli.engine.fast.tuning.TILE_BYTES", tile_bytes)
    rng = np.random.default_rng(13)
    region = rng.standard_normal((11, 14, 20))
    for kernel_hw, dil in [((3, 2), (2, 3)), ((1, 4), (1, 2)), ((4, 1), (2, 1))]:
        kernel = rng.standard_normal((*kernel_hw, 1, 20))
        out_hw = (11 - (kernel_hw[0] - 1) * dil[0], 14 - (kernel_hw[1] - 1) * dil[1])
        want = naive_conv2d(region, kernel, None, 1, (0, 0, 0, 0), dil, 20)
        np.testing.assert_allclose(dense.conv_stride1(region, kernel, dil, 20, out_hw), want,
                                   rtol=1e-12, atol=1e-12)
        wide = np.full((out_hw[0], 2 * out_hw[1], 20), 7.0)
        dense.conv_stride1(region, kernel, dil, 20, out_hw, out=wide[:, ::2])
        np.testing.assert_allclose(wide[:, ::2], want, rtol=1e-12, atol=1e-12)
        assert (wide[:, 1::2] == 7.0).all()
        single = np.empty((*out_hw, 20), dtype=np.float32)
        dense.conv_stride1(region, kernel, dil, 20, out_hw, out=single)
        np.testing.assert_allclose(single, want, rtol=1e-5, atol=1e-5)
