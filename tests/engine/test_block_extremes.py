"""Block extremes of partial maps, made band by band: exactly those of ``filter_partials``' maps."""

from __future__ import annotations

import numpy as np
import pytest

from convcli import engine
from convcli.engine import tiles
from convcli.engine.fast import tuning


def naive_extremes(maps: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The oracle: a loop over the blocks of ``maps (h, w)``, NaN skipped, an all-NaN block NaN."""
    h, w = maps.shape
    hi = np.full((-(-h // k), -(-w // k)), np.nan)
    lo = hi.copy()
    for i in range(hi.shape[0]):
        for j in range(hi.shape[1]):
            b = maps[i * k : (i + 1) * k, j * k : (j + 1) * k].ravel()
            b = b[~np.isnan(b)]
            if b.size:
                hi[i, j], lo[i, j] = b.max(), b.min()
    return hi, lo


@pytest.mark.parametrize("k", [1, 3, 5])
def test_band_extremes_match_a_loop_over_the_blocks(k):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(13, 11)).astype(np.float32)
    a[0:3, 0:3] = np.nan  # one whole block NaN when k = 3
    a[7, 4] = np.nan
    hi, lo = engine.band_extremes(a, k)
    want_hi, want_lo = naive_extremes(a.astype(np.float64), k)
    np.testing.assert_array_equal(hi, want_hi)
    np.testing.assert_array_equal(lo, want_lo)


@pytest.mark.parametrize(
    "shape, kernel, options, k",
    [
        ((61, 47, 3), (3, 3, 3, 4), {"padding": "same"}, 7),  # the planar path, ragged blocks
        ((40, 50, 4), (3, 3, 2, 4), {"padding": "same", "groups": 2}, 6),  # groups: each its channels
        ((33, 29, 3), (3, 3, 3, 2), {"dilation": 2}, 4),  # dilation
        ((30, 31, 20), (3, 3, 20, 2), {"padding": "same"}, 5),  # many channels: one filter at a time
        ((41, 37, 3), (3, 3, 3, 3), {"stride": 2, "padding": 1}, 3),  # strided
    ],
)
def test_partial_block_extremes_are_those_of_filter_partials(shape, kernel, options, k, monkeypatch):
    monkeypatch.setattr(tiles, "TILE_VALUES", 600)  # several bands, on the threads
    monkeypatch.setattr(tuning, "TILE_BYTES", 4096)  # several tiles a band, cut inside blocks
    rng = np.random.default_rng(7)
    x = rng.normal(size=shape).astype(np.float32)
    x[5, 6, 0] = np.nan
    layer = engine.prepare(x, rng.normal(size=kernel), **options)
    filters = list(range(layer.filters))[::-1]  # any order
    hi, lo = engine.partial_block_extremes(layer, filters, k)
    for i, f in enumerate(filters):
        maps = engine.filter_partials(layer, f)
        for c in range(layer.cg):
            want_hi, want_lo = naive_extremes(maps[:, :, c].astype(np.float64), k)
            np.testing.assert_array_equal(hi[:, :, c, i], want_hi)
            np.testing.assert_array_equal(lo[:, :, c, i], want_lo)


def test_partial_block_extremes_report_every_filters_rows():
    rng = np.random.default_rng(0)
    layer = engine.prepare(rng.normal(size=(50, 40, 3)).astype(np.float32), rng.normal(size=(3, 3, 3, 4)))
    done = []
    engine.partial_block_extremes(layer, [1, 2], 8, done.append)
    assert sum(done) == 2 * layer.geometry.out_hw[0]


def test_partial_block_extremes_refuse_a_filter_the_layer_lacks():
    layer = engine.prepare(np.zeros((8, 8, 3), np.float32), np.ones((3, 3, 3, 2)))
    with pytest.raises(engine.ShapeError, match="filter 2 does not exist"):
        engine.partial_block_extremes(layer, [2], 4)
