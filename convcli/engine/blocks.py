"""Sums over blocks of positions: column reductions, block sums and block means of partial maps.

The terminal heatmaps, the stacked maps and the figure's pre-reduction share these. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from convcli.engine.bind import Layer
from convcli.errors import ShapeError
from convcli.layer.spec import group_of


def column_reduce(a: np.ndarray, op: np.ufunc, dtype: DTypeLike | None = None) -> np.ndarray:
    """``op.reduce(a, axis=0)`` for a tall ``(N, k)`` array with few columns: ``(k,)``.

    numpy reduces such an array ``k`` values at a time, about 15× slower than along long rows;
    folding ``r`` rows into one row of ``r·k`` values gives it long rows to work on, then the
    ``(r, k)`` partial results are reduced. ``dtype`` is the accumulator (float64 for sums).
    """
    n, k = a.shape
    per = max(1, 4096 // max(1, k))
    head = n - n % per
    parts = []
    if head:
        folded = op.reduce(a[:head].reshape(-1, per * k), axis=0, dtype=dtype)
        parts.append(op.reduce(folded.reshape(per, k), axis=0))
    if head < n:
        parts.append(op.reduce(a[head:], axis=0, dtype=dtype))
    reduced: np.ndarray = op.reduce(np.stack(parts), axis=0)
    return reduced


def _offset_block_sums(a: np.ndarray, axis: int, edges: np.ndarray, step: int, offsets: Sequence[int]) -> np.ndarray:
    """For each offset ``o`` and each block ``[e_b, e_b+1)`` of ``edges``: the sum of ``a`` along
    ``axis`` at indices ``i·step + o`` for ``i`` in the block, indices outside ``a`` being zeros.

    Returns float64 with ``axis`` replaced by the blocks and a new leading axis for the offsets.
    Offset ``o`` reads the phase ``a[o % step::step]`` over ranges ``[e_b + o // step, e_b+1 + o // step)``;
    the ranges of all offsets of a phase cut it into segments that are summed once (one pass over
    ``a``), and every range is the sum of its own segments.
    """
    def at(i: int | slice | np.ndarray) -> tuple[int | slice | np.ndarray, ...]:
        return (slice(None),) * axis + (i,)

    phases: dict[int, list[int]] = {}
    for i, o in enumerate(offsets):
        phases.setdefault(o % step, []).append(i)
    shape = list(a.shape)
    shape[axis] = len(edges) - 1
    result = np.zeros((len(offsets), *shape), dtype=np.float64)
    for p, group in phases.items():
        phase = a[at(slice(p, None, step))]
        n = phase.shape[axis]
        ranges = {i: (np.clip(edges[:-1] + offsets[i] // step, 0, n), np.clip(edges[1:] + offsets[i] // step, 0, n))
                  for i in group}
        points = np.unique(np.concatenate([np.concatenate(r) for r in ranges.values()]))
        if len(points) < 2:  # every range empty: zeros
            continue
        # each segment between neighbouring points summed once; a range adds up its own segments only,
        # so values it does not read (a NaN, a 1e30 that a difference of totals would cancel badly) stay out
        segments = _segment_sums(phase, axis, points)
        for i, (lo, hi) in ranges.items():
            i_lo, i_hi = np.searchsorted(points, lo), np.searchsorted(points, hi)
            full = np.flatnonzero(i_hi > i_lo)  # an empty range stays 0
            if not len(full):
                continue
            if axis == 0:  # whole rows: a reduce per block, 4× faster than reduceat along axis 0
                for b in full:
                    np.add.reduce(segments[int(i_lo[b]) : int(i_hi[b])], axis=0, out=result[i, b])
                continue
            # the blocks' ranges follow each other (one ends where the next starts): one reduceat
            # over the segments they span, each range its own segments
            start = i_lo[full]
            spanned = segments[at(slice(int(start[0]), int(i_hi[full[-1]])))]
            result[i][at(full)] = np.add.reduceat(spanned, start - start[0], axis=axis)
    return result


def _segment_sums(a: np.ndarray, axis: int, points: np.ndarray) -> np.ndarray:
    """The float64 sums along ``axis`` of ``a`` over ``[points[j], points[j + 1])`` (``points`` increasing)."""
    if axis:  # short rows of float64 sums: one reduceat
        inside = a[(slice(None),) * axis + (slice(int(points[0]), int(points[-1])),)]
        return np.add.reduceat(inside, points[:-1] - points[0], axis=axis, dtype=np.float64)
    # whole rows of the input: a reduce per segment into its row (reduceat along axis 0 is slower)
    out = np.empty((len(points) - 1, *a.shape[1:]), dtype=np.float64)
    for j in range(len(points) - 1):
        np.add.reduce(a[int(points[j]) : int(points[j + 1])], axis=0, dtype=np.float64, out=out[j])
    return out


def block_edges(n: int, k: int) -> np.ndarray:
    """Where the ``k``-wide blocks of ``n`` positions start, and ``n``: ``(ceil(n / k) + 1,)``; the last may be short."""
    return np.append(np.arange(0, n, k), n)


def block_sums(a: np.ndarray, kh: int, kw: int, dtype: DTypeLike | None = None) -> np.ndarray:
    """Sums of the ``kh × kw`` blocks over the first two axes of ``a (h, w, ...)``, the last row and
    column of blocks short: ``(ceil(h / kh), ceil(w / kw), ...)``, accumulated in ``dtype``.

    Whole groups of rows are summed through a reshape, which numpy does row by row at full speed
    (``reduceat`` along axis 0 is about 6× slower on a photo); the short row of blocks on its own.
    """
    h, w = a.shape[:2]
    flat = a.reshape(h, -1)
    full = h - h % kh
    parts = [flat[:full].reshape(full // kh, kh, -1).sum(axis=1, dtype=dtype)] if full else []
    if full < h:
        parts.append(flat[full:].sum(axis=0, dtype=dtype, keepdims=True))
    rows = np.concatenate(parts).reshape(-1, w, *a.shape[2:])
    return np.add.reduceat(rows, np.arange(0, w, kw), axis=1)


def block_counts(hw: Sequence[int], kh: int, kw: int) -> np.ndarray:
    """How many positions each block of :func:`block_sums` holds: ``(ceil(h / kh), ceil(w / kw))``."""
    return np.outer(np.diff(block_edges(int(hw[0]), kh)), np.diff(block_edges(int(hw[1]), kw)))


def tap_block_sums(layer: Layer, k: int) -> np.ndarray:
    """For each kernel tap ``(u, v)``, each ``k × k`` block of output positions and each input
    channel: the sum of the (zero-padded) input values the tap reads there. ``(kh, kw, by, bx, C)``
    float64, ``by × bx`` the blocks (the last row and column of blocks may be short).

    By linearity, a partial map's block sum is ``Σ_uv kernel[u, v, c, f] · sums[u, v, .., ch]``:
    heatmaps get every filter's block means from one pass over the input, without the
    full-resolution partial maps. Exact up to float64 rounding (NaN/Inf spread to whole blocks
    and beyond: use the maps themselves for such inputs).

    Made a band of block rows at a time: the rows' sums (``kh`` per block row, a whole input row
    wide, float64) stay near :data:`BAND_VALUES` values instead of ``kh·8 / (k·itemsize)`` times the input.
    """
    g = layer.geometry
    (sh, sw), (dh, dw), (kh, kw) = g.stride, g.dilation, g.kernel_hw
    top, _, left, _ = g.pads
    ho, wo = g.out_hw
    row_edges, col_edges = block_edges(ho, k), block_edges(wo, k)
    by, bx, c = len(row_edges) - 1, len(col_edges) - 1, layer.x.shape[2]
    out = np.empty((kh, kw, by, bx, c), dtype=np.float64)
    band = max(1, BAND_VALUES // max(1, kh * layer.x.shape[1] * c))
    for b0 in range(0, by, band):
        b1 = min(by, b0 + band)
        rows = _offset_block_sums(layer.x, 0, row_edges[b0 : b1 + 1], sh, [u * dh - top for u in range(kh)])
        both = _offset_block_sums(rows, 2, col_edges, sw, [v * dw - left for v in range(kw)])
        out[:, :, b0:b1] = both.transpose(1, 0, 2, 3, 4)  # (kw, kh, ...) -> (kh, kw, ...)
    return out


#: Float64 values of one band of :func:`tap_block_sums`' row sums (2 MiB).
BAND_VALUES = 1 << 18


def partial_block_means(layer: Layer, filt: int, k: int, sums: np.ndarray | None = None) -> np.ndarray:
    """Mean of each ``k × k`` block of filter ``filt``'s partial maps: ``(by, bx, Cg)`` float64.

    Equals ``block means of filter_partials(layer, filt)`` up to rounding, from
    :func:`tap_block_sums` (pass ``sums`` to reuse them across filters).
    """
    if not 0 <= filt < layer.filters:
        raise ShapeError(f"filter {filt} does not exist: the layer has {layer.filters} (0..{layer.filters - 1})")
    t = tap_block_sums(layer, k) if sums is None else sums
    group = group_of(filt, layer.filters, layer.groups)
    channels = t[..., group * layer.cg : (group + 1) * layer.cg]
    total = np.einsum("uvyxc,uvc->yxc", channels, layer.kernel[:, :, :, filt].astype(np.float64))
    ho, wo = layer.geometry.out_hw
    means: np.ndarray = total / block_counts((ho, wo), k, k)[:, :, None]
    return means
