"""Per-map statistics of results ``(H', W', F)``: min, mean, max, and whether a map is finite. numpy only."""

from __future__ import annotations

import warnings

import numpy as np

from convcli.engine import tiles
from convcli.engine.blocks import column_reduce


def map_stats(values: np.ndarray, *, finite: np.ndarray | None = None) -> np.ndarray:
    """Min, mean and max of each map of ``values (H', W', F)``, NaN ignored: ``(F, 3)`` float64.

    ``finite (F,)`` bool, when given, is set to :func:`finite_maps` of ``values`` from the same pass
    (its plain float64 sums, before NaN is set aside).

    One pass per statistic; only a map whose plain result is NaN takes the slower NaN-aware one.
    A large result is reduced in blocks of :data:`~convcli.engine.tiles.TILE_VALUES` values on the
    engine's threads, each block into its own row, so the numbers do not depend on the threads.
    """
    f = values.shape[-1]
    flat = values.reshape(-1, f)
    n = max(1, flat.shape[0])
    step = max(1, tiles.TILE_VALUES // max(1, f))
    if flat.shape[0] <= step:
        total = column_reduce(flat, np.add, np.float64)
        stats = np.stack([column_reduce(flat, np.minimum), total / n,
                          column_reduce(flat, np.maximum)], axis=1).astype(np.float64)
    else:
        blocks = [(r, min(r + step, flat.shape[0])) for r in range(0, flat.shape[0], step)]
        row = {b: i for i, b in enumerate(blocks)}
        low = np.empty((len(blocks), f), dtype=flat.dtype)
        high = np.empty((len(blocks), f), dtype=flat.dtype)
        sums = np.empty((len(blocks), f), dtype=np.float64)

        def block(b: tuple[int, int]) -> int:
            part, i = flat[b[0] : b[1]], row[b]
            low[i], sums[i], high[i] = (column_reduce(part, np.minimum), column_reduce(part, np.add, np.float64),
                                        column_reduce(part, np.maximum))
            return 0

        tiles._each(block, blocks, None)
        total = sums.sum(axis=0)
        stats = np.stack([np.minimum.reduce(low, axis=0), total / n, np.maximum.reduce(high, axis=0)],
                         axis=1).astype(np.float64)
    if finite is not None:
        finite[...] = np.isfinite(total)
    for i in np.flatnonzero(np.isnan(stats).any(axis=1)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN map: its stats are NaN
            col = flat[:, i]
            stats[i] = [np.nanmin(col), np.nanmean(col, dtype=np.float64), np.nanmax(col)]
    return stats


def finite_maps(values: np.ndarray) -> np.ndarray:
    """Whether every value of each map of ``values (H', W', F)`` is finite: ``(F,)`` bool.

    One float64 sum per map: NaN or ±Inf anywhere makes the sum non-finite. A float32 map cannot
    overflow that sum; a float64 map of values near 1e308 can, and is then reported too.
    """
    flat = values.reshape(-1, values.shape[-1])
    finite: np.ndarray = np.isfinite(column_reduce(flat, np.add, np.float64))
    return finite
