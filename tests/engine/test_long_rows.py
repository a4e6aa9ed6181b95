"""The fast paths of 1-D and 3-D layers: a 1-D layer's one output row cut into pieces of columns (on the
threads, each piece in cache-sized tiles) and a stride-1 3-D layer on the flattened grid, against a tap
loop written here in float64 (every tap's shifted slice of the zero-padded input times its weights).
The tile and piece sizes are made tiny so that small layers cross every seam."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from convcli import engine
from convcli.engine import tiles
from convcli.engine.conv import conv_region, in_pieces
from convcli.engine.fast import tuning
from convcli.engine.fast.dense import grid_tiles
from convcli.layer.spec import ConvSpec

TIGHT = {"rtol": 1e-9, "atol": 1e-9}


def tap_loop_partials(x, kernel, stride, dilation, pad_width, groups):
    """``(*S', Cg, F)`` float64: for each tap, the strided slice of the padded input it reads, times
    its weights, accumulated channel by channel (no windows view, no grid, no GEMM over taps)."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    n = x.ndim - 1
    k, (cg, f) = kernel.shape[:n], kernel.shape[n:]
    fg = f // groups
    xpad = np.pad(x, (*pad_width, (0, 0)))
    out_size = [(xpad.shape[a] - (k[a] - 1) * dilation[a] - 1) // stride[a] + 1 for a in range(n)]
    out = np.zeros((*out_size, cg, f))
    for t in itertools.product(*(range(m) for m in k)):
        window = tuple(slice(t[a] * dilation[a], t[a] * dilation[a] + (out_size[a] - 1) * stride[a] + 1, stride[a])
                       for a in range(n))
        for filt in range(f):
            grp = filt // fg
            for c in range(cg):
                out[(..., c, filt)] += xpad[(*window, grp * cg + c)] * kernel[(*t, c, filt)]
    return out


@pytest.fixture(params=[1, 2], ids=["one-thread", "two-threads"])
def tiny_tiles(request, monkeypatch):
    """Pieces of a few dozen columns and tiles of a few positions, on one or two threads."""
    monkeypatch.setattr(tiles, "THREADS", request.param)
    monkeypatch.setattr(tiles, "TILE_VALUES", 256)
    monkeypatch.setattr(tuning, "TILE_BYTES", 512)
    monkeypatch.setattr(tuning, "MIN_GEMM_ROWS", 8)
    monkeypatch.setattr(tuning, "MIN_STATS_POSITIONS", 16)
    return request.param


# (C, F, k, stride, dilation, padding, groups): im2col (C ≥ 16) and per-tap, strided, causal, grouped
CASES_1D = [
    (16, 5, 9, 1, 1, "valid", 1),
    (16, 4, 9, 1, 8, "causal", 1),
    (3, 4, 3, 1, 2, "same", 1),
    (1, 3, 5, 1, 1, "causal", 1),
    (4, 6, 3, 2, 1, "same", 2),
    (2, 2, 4, 3, 1, "valid", 1),
    (3, 4, 3, 2, 2, "valid", 1),  # strided and dilated: partials through the depthwise layer, pieces inside pieces
]


def _one_d(case, length: int, seed: int = 0):
    c, f, k, s, d, padding, groups = case
    rng = np.random.default_rng(seed)
    spec = ConvSpec("conv", c, f, (k,), (s,), (d,), padding, groups=groups, ndim=1)
    x = rng.standard_normal((length, c))
    kernel = rng.standard_normal(spec.kernel_shapes()["kernel"])
    layer = engine.bind(spec, x, kernel, dtype=np.float64)
    expect = tap_loop_partials(x, kernel, (s,), (d,), layer.geometry.pad_width, groups)
    return engine.one_row(layer), expect


@pytest.mark.parametrize("case", CASES_1D, ids=[f"C{c[0]}-k{c[2]}-s{c[3]}-d{c[4]}-{c[5]}-g{c[6]}" for c in CASES_1D])
def test_a_long_row_in_pieces_equals_the_tap_loop(case, tiny_tiles):
    row, expect = _one_d(case, 301)
    wo = row.geometry.out_hw[1]
    assert in_pieces((0, 1), (0, wo))  # the cut under test, not the whole-row path
    bias = np.linspace(-1, 1, row.filters)
    np.testing.assert_allclose(conv_region(row, (0, 1), (0, wo), bias=bias)[0], expect.sum(axis=1) + bias, **TIGHT)
    # a window inside the row, starting mid-piece
    np.testing.assert_allclose(conv_region(row, (0, 1), (37, wo - 5))[0], expect[37 : wo - 5].sum(axis=1), **TIGHT)
    np.testing.assert_allclose(engine.layer_partials(row, (0, 1), (0, wo))[0], expect, **TIGHT)


@pytest.mark.parametrize("case", CASES_1D, ids=lambda c: f"C{c[0]}-s{c[3]}-d{c[4]}-{c[5]}-g{c[6]}")
def test_the_run_of_a_long_row_in_pieces(case, tiny_tiles):
    """run_layer: pre-activation, kept partials, mean |partial|, ranges and the sink's blocks, in order;
    the progress climbs to 1."""
    row, expect = _one_d(case, 257, seed=1)
    bias = np.arange(row.filters, dtype=np.float64)
    seen: list[float] = []
    kept = engine.run_layer(row, bias, "relu", keep_partials=True, ranges=True, progress=seen.append)
    np.testing.assert_allclose(kept.preactivation[0], expect.sum(axis=1) + bias, **TIGHT)
    np.testing.assert_allclose(kept.output[0], np.maximum(expect.sum(axis=1) + bias, 0), **TIGHT)
    np.testing.assert_allclose(kept.partials[0], expect, **TIGHT)
    np.testing.assert_allclose(kept.mean_abs, np.abs(expect).mean(axis=0), **TIGHT)
    np.testing.assert_allclose(kept.partial_low, expect.min(axis=0), **TIGHT)
    np.testing.assert_allclose(kept.partial_high, expect.max(axis=0), **TIGHT)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and len(seen) > 2
    blocks: list[tuple[tuple[int, int], np.ndarray]] = []
    engine.run_layer(row, bias, "linear", partials_sink=lambda b, p: blocks.append((b, p.copy())))
    assert len(blocks) > 1
    assert [b for b, _ in blocks] == sorted(b for b, _ in blocks) and blocks[-1][0][1] == expect.shape[0]
    np.testing.assert_allclose(np.concatenate([p[0] for _, p in blocks]), expect, **TIGHT)


def test_a_long_float32_row_keeps_float32_accuracy(monkeypatch):
    """The default tiles (no patching) on a row longer than one piece: float32 as close as float32 allows."""
    row, expect = _one_d((16, 8, 9, 1, 8, "causal", 1), 20_000, seed=2)
    row32 = engine.Layer(row.x.astype(np.float32), row.kernel.astype(np.float32), row.groups, row.geometry)
    assert in_pieces((0, 1), (0, row.geometry.out_hw[1]))
    got = conv_region(row32, (0, 1), (0, row.geometry.out_hw[1]))[0]
    assert got.dtype == np.float32
    scale = np.abs(expect).sum(axis=1).max()
    assert np.abs(got - expect.sum(axis=1)).max() < 1e-5 * scale


@pytest.mark.parametrize(("ho", "w_in", "valid"), [(1, 100, 92), (1, 9, 9), (3, 10, 28), (5, 7, 35)])
def test_grid_tiles_cover_the_grid_once(ho, w_in, valid, monkeypatch):
    monkeypatch.setattr(tuning, "TILE_BYTES", 40)
    cut = grid_tiles(ho, w_in, valid, 2, 4, 4)
    starts = [t[2] for t in cut]
    assert starts[0] == 0 and cut[-1][3] == valid
    assert all(a[3] == b[2] for a, b in itertools.pairwise(cut))
    if ho == 1 and valid > 10:  # more than one piece of 40 bytes / 4 per position
        assert all(r0 == r1 == -1 for r0, r1, _, _ in cut) and len(cut) == -(-valid // 10)
    else:
        assert [(r0, r1) for r0, r1, _, _ in cut] == [(r, min(r + 2, ho)) for r in range(0, ho, 2)]


# 3-D: (C, F, k, dilation, padding); stride 1 and one group take the flattened grid
CASES_3D = [
    (8, 4, (3, 3, 3), (1, 1, 1), "valid"),
    (3, 5, (2, 3, 2), (2, 1, 2), "same"),
    (1, 2, (3, 1, 2), (1, 1, 1), (1, 0, 2)),
    (20, 3, (1, 2, 2), (1, 2, 1), "valid"),
]


@pytest.mark.parametrize("case", CASES_3D, ids=[f"C{c[0]}-k{''.join(map(str, c[2]))}-{c[4]}" for c in CASES_3D])
def test_a_stride1_3d_layer_on_the_flattened_grid_equals_the_tap_loop(case, tiny_tiles):
    c, f, k, d, padding = case
    rng = np.random.default_rng(3)
    spec = ConvSpec("conv", c, f, k, (1, 1, 1), d, padding, ndim=3)
    x = rng.standard_normal((7, 9, 8, c))
    kernel = rng.standard_normal(spec.kernel_shapes()["kernel"])
    layer = engine.bind(spec, x, kernel, dtype=np.float64)
    expect = tap_loop_partials(x, kernel, (1, 1, 1), d, layer.geometry.pad_width, 1).sum(axis=-2)
    bias = rng.standard_normal(f)
    np.testing.assert_allclose(engine.layer_output(layer, bias), expect + bias, **TIGHT)
    # both ways of the tile: one GEMM over the taps side by side, and one per tap
    from convcli.engine import fast

    xpad = np.pad(layer.x, (*layer.geometry.pad_width, (0, 0)))
    for im2col in (True, False):
        out = np.empty_like(expect[2:5])
        fast.conv_planes(xpad, layer.kernel, d, (2, 5), out, im2col=im2col)
        np.testing.assert_allclose(out, expect[2:5], **TIGHT)


def test_the_memory_of_a_streamed_long_row_is_a_few_pieces(tiny_tiles):
    """run_bytes with streamed partials counts the pieces made ahead of the sink, never a row of rows."""
    row, _ = _one_d((16, 8, 9, 1, 8, "causal", 1), 20_000)
    streamed = engine.run_bytes(row, stream_partials=True) - engine.run_bytes(row)
    whole = engine.run_bytes(row, keep_partials=True) - engine.run_bytes(row)
    assert whole == 20_000 * 16 * 8 * 8  # every partial, float64
    assert 0 < streamed < whole / 10
