"""Block extremes of stride-1 partial maps, reduced as they are made (see :mod:`convcli.engine.fast`)."""

from __future__ import annotations

import numpy as np

from convcli.engine.fast import tuning


def planar_extremes(region: np.ndarray, kernels: np.ndarray, dilation: tuple[int, int], out_hw: tuple[int, int],
                    k: int, row0: int, *, high: np.ndarray, low: np.ndarray) -> None:
    """The max and the min over each ``k × k`` block of the stride-1 partial maps of a padded
    ``region (h_in, w_in, Cg)`` (one group's channels) with ``kernels (kh, kw, Cg, m)`` (``m``
    filters of that group), ``out_hw = (n, W')``: output rows ``row0 .. row0 + n`` of the layer.

    Each map is the one :func:`~convcli.engine.fast.depthwise.depthwise_planar` makes for a single
    filter (``filter_partials``) on the same region: per tile (the same tiles) and channel a
    ``(1, T) @ (T, rows)`` product over the same planar copy, which here serves all ``m`` filters.
    (BLAS may round an element differently at another place in a tile, hence the same tiles.)
    Written into ``high`` / ``low`` ``(by, ceil(W' / k), Cg, m)``, the blocks from the one holding
    ``row0`` on, which must start as NaN: ``fmax``/``fmin`` skip NaN, so an all-NaN block stays NaN.
    """
    kh, kw, cg, nf = kernels.shape
    dh, dw = dilation
    ho, wo = out_hw
    region = np.ascontiguousarray(region)
    h_in, w_in, _ = region.shape
    flat = region.reshape(h_in * w_in, cg)
    offsets = [u * dh * w_in + v * dw for u in range(kh) for v in range(kw)]
    ntaps, reach = len(offsets), offsets[-1]
    valid = ho * w_in - (kw - 1) * dw
    dtype = region.dtype
    # per channel and filter: the (1, T) weights depthwise_planar multiplies by for one filter
    weights = np.ascontiguousarray(kernels.reshape(ntaps, cg, nf).transpose(1, 2, 0))[:, :, None, :]
    rows = tuning.tile_rows(w_in, ntaps + 1, dtype.itemsize, ho)
    plane = np.empty(rows * w_in + reach, dtype=dtype)
    buf = np.empty((ntaps, rows * w_in), dtype=dtype)
    res = np.empty((1, rows * w_in), dtype=dtype)
    starts = np.arange(0, wo, k)
    for r0 in range(0, ho, rows):
        r1 = min(r0 + rows, ho)
        n = r1 - r0
        start, stop = r0 * w_in, min(r1 * w_in, valid)
        m = stop - start
        # the tile's rows by block: segment j, from row cuts[j] of the tile on, is in block first + j
        first = (row0 + r0) // k
        cuts = np.concatenate(([0], np.arange((first + 1) * k, row0 + r1, k) - (row0 + r0)))
        blocks = slice(first - row0 // k, first - row0 // k + len(cuts))
        for ch in range(cg):
            plane[: m + reach] = flat[start : stop + reach, ch]
            for t, off in enumerate(offsets):
                buf[t, :m] = plane[off : off + m]
            for j in range(nf):
                np.matmul(weights[ch, j], buf[:, :m], out=res[:, :m])
                # positions m.. are the last row's discarded columns: the view below never reads them
                maps = res[0, : n * w_in].reshape(n, w_in)[:, :wo]
                for op, into in ((np.fmax, high), (np.fmin, low)):
                    cells = op.reduceat(op.reduceat(maps, starts, axis=1), cuts, axis=0)
                    op(into[blocks, :, ch, j], cells, out=into[blocks, :, ch, j])
