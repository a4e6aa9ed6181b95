"""The engine's fast paths for stride-1 layers: tiled GEMMs over a flattened input, no big temporaries.

The idea: flatten the (already zero-padded) input region ``(h_in, w_in, C)`` to ``(h_in·w_in, C)``.
For kernel tap ``(u, v)`` the input row of grid position ``m = i·w_in + j`` is ``m + u·dh·w_in + v·dw``,
so every tap reads one **contiguous** slab of rows. Computing on the full-width grid (``w_in``
columns instead of ``W'``) wastes ``(kw - 1)·dw`` columns per row and buys contiguous GEMMs with no
im2col of the whole image. Work goes in tiles of whole grid rows sized to stay in cache:

- many channels: an im2col buffer of the tile only, ``(m, kh·kw·C)``, and one GEMM per tile
  (:mod:`.dense`);
- few channels: one small GEMM per tap, accumulated in the tile (:mod:`.dense`);
- depthwise (``groups == C``): element-wise multiply-adds per tap, or per-channel GEMMs
  (:mod:`.depthwise`);
- every partial sum reduced as it is made (:mod:`.stats`), or to block extremes (:mod:`.extremes`).

The tile sizes and thresholds live in :mod:`.tuning`, read at call time (one place to tune or patch).
The result equals the reference tap loop up to float summation order; the same oracle tests cover it.
numpy only.
"""

from convcli.engine.fast.dense import conv_planes, conv_stride1, space_to_depth
from convcli.engine.fast.extremes import planar_extremes
from convcli.engine.fast.stats import partial_stats

__all__ = ["conv_planes", "conv_stride1", "partial_stats", "planar_extremes", "space_to_depth"]
