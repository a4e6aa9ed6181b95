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
    return op.reduce(np.stack(parts), axis=0)


def _offset_block_sums(a: np.ndarray, axis: int, edges: np.ndarray, step: int, offsets: Sequence[int]) -> np.ndarray:
    """For each offset ``o`` and each block ``[e_b, e_b+1)`` of ``edges``: the sum of ``a`` along
    ``axis`` at indices ``i·step + o`` for ``i`` in the block, indices outside ``a`` being zeros.

    Returns float64 with ``axis`` replaced by the blocks and a new leading axis for the offsets.
    Offset ``o`` reads the phase ``a[o % step::step]`` over ranges ``[e_b + o // step, e_b+1 + o // step)``;
    the ranges of all offsets of a phase cut it into segments that are summed once (one pass over
    ``a``), and every range is the sum of its own segments.
    """
    def at(i: int | slice) -> tuple[int | slice, ...]:
        return (slice(None),) * axis + (i,)

    phases: dict[int, list[int]] = {}
    for o in offsets:
        phases.setdefault(o % step, []).append(o)
    sums: dict[int, np.ndarray] = {}
    for p, group in phases.items():
        phase = a[at(slice(p, None, step))]
        n = phase.shape[axis]
        ranges = {o: (np.clip(edges[:-1] + o // step, 0, n), np.clip(edges[1:] + o // step, 0, n)) for o in group}
        points = np.unique(np.concatenate([np.concatenate(r) for r in ranges.values()]))
        # each segment between neighbouring points summed once; a range adds up its own segments only,
        # so values it does not read (a NaN, a 1e30 that a difference of totals would cancel badly) stay out
        segments = np.stack([np.add.reduce(phase[at(slice(int(points[j]), int(points[j + 1])))], axis=axis,
                                           dtype=np.float64) for j in range(len(points) - 1)], axis=axis) \
            if len(points) > 1 else None
        for o, (lo, hi) in ranges.items():
            i_lo, i_hi = np.searchsorted(points, lo), np.searchsorted(points, hi)
            shape = list(phase.shape)
            shape[axis] = len(lo)
            out = np.zeros(shape, dtype=np.float64)
            for b in range(len(lo)):
                if i_hi[b] > i_lo[b] and segments is not None:
                    out[at(b)] = np.add.reduce(segments[at(slice(int(i_lo[b]), int(i_hi[b])))], axis=axis)
            sums[o] = out
    return np.stack([sums[o] for o in offsets])


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
    """
    g = layer.geometry
    (sh, sw), (dh, dw), (kh, kw) = g.stride, g.dilation, g.kernel_hw
    top, _, left, _ = g.pads
    ho, wo = g.out_hw
    rows = _offset_block_sums(layer.x, 0, block_edges(ho, k), sh, [u * dh - top for u in range(kh)])
    both = _offset_block_sums(rows, 2, block_edges(wo, k), sw, [v * dw - left for v in range(kw)])
    return both.transpose(1, 0, 2, 3, 4)  # (kw, kh, by, bx, C) -> (kh, kw, by, bx, C)


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
    return total / block_counts((ho, wo), k, k)[:, :, None]
