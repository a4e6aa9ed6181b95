"""Tile sizes and thresholds of the fast paths, in one module.

Every fast-path module reads them as ``tuning.NAME`` at call time, so one assignment (a tuning
experiment, a test forcing tiny tiles) reaches them all.
"""

from __future__ import annotations

#: Bytes of input-side working set per tile (slab or im2col buffer): about half of a 1 MiB L2.
TILE_BYTES = 1 << 19
#: Grid positions an im2col GEMM gets at least, even when its buffer then outgrows the cache.
MIN_GEMM_ROWS = 1024
#: Below this many channels per group a per-tap GEMM beats building an im2col buffer.
IM2COL_MIN_CHANNELS = 16
#: From this many filters per channel, a depthwise layer (and so every partial-sum computation,
#: which is one) runs as one small GEMM per channel instead of multiply-adds per tap.
PLANAR_MIN_MULTIPLIER = 2
#: Grid positions a tile of :func:`partial_stats` gets at least: fewer numpy calls per value.
MIN_STATS_POSITIONS = 1 << 14


def tile_rows(w_in: int, width: int, itemsize: int, ho: int) -> int:
    """Grid rows per tile: :data:`TILE_BYTES` of ``w_in``-wide rows of ``width`` values, 1 to ``ho``."""
    return max(1, min(ho, TILE_BYTES // max(1, w_in * width * itemsize)))
