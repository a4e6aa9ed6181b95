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
    # the products of several tiles land side by side and are reduced together: a tile is a few
    # rows, and numpy's calls per tile, not its arithmetic, would dominate
    held = max(rows, min(ho, STAGE_VALUES // max(1, nf * w_in)))
    stage = np.empty((nf, held + rows, w_in), dtype=dtype)
    starts = np.arange(0, wo, k)

    def reduce(ch: int, s0: int, filled: int) -> None:
        """Reduce the staged output rows ``s0 .. s0 + filled`` of channel ``ch`` into their blocks."""
        first = (row0 + s0) // k  # segment j, from staged row cuts[j] on, is in block first + j
        cuts = np.concatenate(([0], np.arange((first + 1) * k, row0 + s0 + filled, k) - (row0 + s0)))
        blocks = slice(first - row0 // k, first - row0 // k + len(cuts))
        ends = [*cuts[1:], filled]
        for op, into in ((np.fmax, high), (np.fmin, low)):
            # down the rows first (element-wise over whole rows, at full speed), then the few row-wide results
            rows_done = np.stack([op.reduce(stage[:, a:b, :wo], axis=1) for a, b in zip(cuts, ends, strict=True)], axis=1)
            cells = op.reduceat(rows_done, starts, axis=2).transpose(1, 2, 0)  # (segments, bx, m)
            op(into[blocks, :, ch], cells, out=into[blocks, :, ch])

    for ch in range(cg):
        s0, filled = 0, 0
        for r0 in range(0, ho, rows):
            r1 = min(r0 + rows, ho)
            n = r1 - r0
            start, stop = r0 * w_in, min(r1 * w_in, valid)
            m = stop - start
            plane[: m + reach] = flat[start : stop + reach, ch]
            for t, off in enumerate(offsets):
                buf[t, :m] = plane[off : off + m]
            for j in range(nf):
                # positions m.. are the last row's discarded columns: the reduction never reads them
                out = stage[j].reshape(1, -1)[:, filled * w_in : filled * w_in + m]
                np.matmul(weights[ch, j], buf[:, :m], out=out)
            filled += n
            if filled >= held or r1 == ho:
                reduce(ch, s0, filled)
                s0, filled = s0 + filled, 0


#: Values of the products held before they are reduced (per thread): 2 MiB of float32.
STAGE_VALUES = 1 << 19
