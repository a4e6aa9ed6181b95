"""map_stats(finite=...) gives finite_maps' answer from the same pass, small and in blocks."""

from __future__ import annotations

import numpy as np
import pytest

from convcli import engine
from convcli.engine import tiles


@pytest.mark.parametrize("blocks", [False, True])
def test_map_stats_finite_equals_finite_maps(monkeypatch, blocks):
    if blocks:
        monkeypatch.setattr(tiles, "TILE_VALUES", 64)
    rng = np.random.default_rng(0)
    values = rng.standard_normal((20, 9, 4)).astype(np.float32)
    values[3, 4, 1] = np.nan
    values[17, 0, 2] = np.inf
    finite = np.empty(4, dtype=bool)
    stats = engine.map_stats(values, finite=finite)
    assert finite.tolist() == [True, False, False, True] == engine.finite_maps(values).tolist()
    np.testing.assert_array_equal(stats, engine.map_stats(values))
    assert stats[1, 0] == np.nanmin(values[:, :, 1])  # NaN still set aside for the statistics
