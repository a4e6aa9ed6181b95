"""The largest and smallest value of each block of positions of partial maps, made band by band.

A heatmap of ``max-abs`` cells (``--heatmap-stat``, the edge detectors' default) needs each
``k × k`` block's extremes, which, unlike block sums, no linear trick gives from the input. The
partial maps are computed here a band of block rows at a time and reduced at once, so a photo's
``H'·W'·Cg`` values per filter never exist together. numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from convcli.engine import fast, tiles
from convcli.engine.bind import Layer
from convcli.engine.blocks import block_edges
from convcli.engine.conv import filter_partials, input_region
from convcli.engine.fast import tuning
from convcli.errors import ShapeError
from convcli.layer.spec import group_of


def band_extremes(maps: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``maps (n, w, m)``, its first row a block's first: the max and the min of each ``k × k``
    block, ``(ceil(n / k), ceil(w / k), m)`` in ``maps``' dtype, the last row and column of blocks
    short. NaN is skipped (``fmax``/``fmin``); an all-NaN block is NaN.

    Whole groups of ``k`` rows are reduced through a reshape (numpy reduces row by row at full
    speed; ``reduceat`` along the first axis is many times slower), then the columns by ``reduceat``.
    """
    n, w = maps.shape[:2]
    flat = maps.reshape(n, -1)
    full = n - n % k
    starts = np.arange(0, w, k)
    result = []
    for op in (np.fmax, np.fmin):
        parts = [op.reduce(flat[:full].reshape(full // k, k, -1), axis=1)] if full else []
        if full < n:
            parts.append(op.reduce(flat[full:], axis=0, keepdims=True))
        rows = np.concatenate(parts).reshape(-1, w, *maps.shape[2:])
        result.append(op.reduceat(rows, starts, axis=1))
    return result[0], result[1]


def partial_block_extremes(layer: Layer, filters: Sequence[int], k: int,
                           progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The max and the min of each ``k × k`` block of the partial maps of each of ``filters``:
    ``(by, bx, Cg, len(filters))`` each, in the input's dtype (the last row and column of blocks
    short; NaN skipped, an all-NaN block NaN).

    The values are :func:`~convcli.engine.conv.filter_partials`' (the same one-filter computation,
    one band of rows at a time), so the extremes are theirs exactly. ``progress(rows_done)`` is
    called after each band, counting each filter's rows: ``H'·len(filters)`` in all.
    """
    bad = [f for f in filters if not 0 <= f < layer.filters]
    if bad:
        raise ShapeError(f"filter {bad[0]} does not exist: the layer has {layer.filters} (0..{layer.filters - 1})")
    ho, wo = layer.geometry.out_hw
    cg = layer.cg
    by, bx = len(block_edges(ho, k)) - 1, len(block_edges(wo, k)) - 1
    high = np.full((by, bx, cg, len(filters)), np.nan, dtype=layer.x.dtype)
    low = high.copy()
    # filter_partials' layers: the filter's group of channels with that filter alone; the filters
    # of one group share their channels' copy on the planar path (stride 1, few channels: a photo)
    grouped: dict[int, list[int]] = {}
    for i, f in enumerate(filters):
        grouped.setdefault(group_of(f, layer.filters, layer.groups), []).append(i)
    ones = {g: Layer(layer.x[:, :, g * cg : (g + 1) * cg], np.ascontiguousarray(layer.kernel[:, :, :, [filters[i] for i in idx]]),
                     1, layer.geometry) for g, idx in grouped.items()}
    if not (layer.geometry.stride == (1, 1) and cg < tuning.IM2COL_MIN_CHANNELS):
        # other paths: each filter's maps whole, as filter_partials makes them (their tiles round alike)
        for i, f in enumerate(filters):
            high[..., i], low[..., i] = band_extremes(filter_partials(layer, f), k)
            if progress is not None:
                progress(ho)
        return high, low
    # filter_partials' bands (conv_region's for its one-filter layer, Cg maps a row), so the same tiles
    bands = tiles.row_tiles((0, ho), wo * cg, parts=tiles.THREADS)
    found: dict[tuple[int, int], tuple[int, np.ndarray, np.ndarray]] = {}

    def band(b: tuple[int, int]) -> int:
        first, last = b[0] // k, -(-b[1] // k)
        for g, idx in grouped.items():
            one = ones[g]
            hi = np.full((last - first, bx, cg, len(idx)), np.nan, dtype=layer.x.dtype)
            lo = hi.copy()
            fast.planar_extremes(input_region(one, b, (0, wo)), one.kernel, layer.geometry.dilation,
                                 (b[1] - b[0], wo), k, b[0], high=hi, low=lo)
            found[b[0], g] = first, hi, lo
        return (b[1] - b[0]) * len(filters)

    tiles.each(band, bands, progress)
    # a block cut by a band's edge has extremes from both bands
    for (_, g), (first, hi, lo) in found.items():
        rows, idx = slice(first, first + hi.shape[0]), grouped[g]
        high[rows, :, :, idx] = np.fmax(high[rows, :, :, idx], hi)
        low[rows, :, :, idx] = np.fmin(low[rows, :, :, idx], lo)
    return high, low
