"""Every stride-1 partial sum reduced as it is made: the fused pass of ``run`` (see
:mod:`convcli.engine.fast`)."""

from __future__ import annotations

import numpy as np

from convcli.engine.fast import tuning
from convcli.engine.fast.dense import grid_tiles


def partial_stats(region: np.ndarray, kernel: np.ndarray, dilation: tuple[int, int], out_hw: tuple[int, int],
                  *, abs_sums: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None,
                  total: np.ndarray | None = None, bias: np.ndarray | None = None,
                  kept: np.ndarray | None = None) -> None:
    """Every stride-1 partial sum of a padded ``region (h_in, w_in, C)`` with ``kernel (kh, kw, Cg, F)``,
    reduced as it is made, so a whole photo's ``H'·W'·Cg·F`` partials never exist at once.

    Partial ``(c, f)`` is channel ``g·Cg + c`` (``g`` the group of filter ``f``) cross-correlated
    with ``kernel[:, :, c, f]``: per tile and input channel, one ``(Fg, T) @ (T, m)`` GEMM over a
    planar copy gives that channel's ``Fg`` partial maps as contiguous rows, where reductions and
    sums run at full speed. Accumulated into the caller's arrays:

    - ``abs_sums (Cg, F)`` float64: ``+= Σ |partial|`` over the region's outputs;
    - ``low``/``high (Cg, F)``: the running min / max of each partial (start them at ±inf);
    - ``total (H', W', F)``: written with ``Σ_c partial`` (``+ bias (F,)`` if given): the pre-activation;
    - ``kept (H', W', Cg, F)``: written with the partials themselves.
    """
    kh, kw, cg, f = kernel.shape
    dh, dw = dilation
    ho, wo = out_hw
    region = np.ascontiguousarray(region)
    h_in, w_in, c = region.shape
    groups = c // cg
    fg = f // groups
    flat = region.reshape(h_in * w_in, c)
    offsets = [u * dh * w_in + v * dw for u in range(kh) for v in range(kw)]
    ntaps, reach = len(offsets), offsets[-1]
    valid = ho * w_in - (kw - 1) * dw
    dtype = region.dtype
    # per group and channel: (Fg, T) weights; filter g·Fg + j -> row j
    weights = np.ascontiguousarray(kernel.reshape(ntaps, cg, groups, fg).transpose(2, 1, 3, 0))
    width = ntaps + 2 * fg + (f if total is not None else 0)
    rows = max(tuning.tile_rows(w_in, width, dtype.itemsize, ho), min(ho, -(-tuning.MIN_STATS_POSITIONS // w_in)))
    tiles = grid_tiles(ho, w_in, valid, rows, tuning.MIN_STATS_POSITIONS, width * dtype.itemsize)
    pieces = tiles[0][0] < 0  # one long row, cut along its columns
    size = tiles[0][3] if pieces else rows * w_in
    plane = np.empty(size + reach, dtype=dtype)
    buf = np.empty((ntaps, size), dtype=dtype)
    res = np.empty((fg, size), dtype=dtype)
    mags = np.empty((fg, size if pieces else rows * wo), dtype=dtype)
    acc = np.empty((f, size), dtype=dtype) if total is not None else None
    for r0, r1, start, stop in tiles:
        m = stop - start
        n, w = (1, m) if pieces else (r1 - r0, w_in)
        kept_w = m if pieces else wo  # the output columns of the tile's rows
        at = (slice(0, 1), slice(start, stop)) if pieces else (slice(r0, r1), slice(None))
        for ch in range(c):
            g, cc = divmod(ch, cg)
            fs = slice(g * fg, (g + 1) * fg)
            plane[: m + reach] = flat[start : stop + reach, ch]
            for t, off in enumerate(offsets):
                buf[t, :m] = plane[off : off + m]
            # a group's first channel straight into the running sum (no copy), the others beside it
            first = acc is not None and cc == 0
            out = acc[fs] if first else res  # type: ignore[index]
            np.matmul(weights[g, cc], buf[:, :m], out=out[:, :m])
            # positions m.. are the last row's discarded columns: the view below never reads them
            maps = out[:, : n * w].reshape(fg, n, w)[:, :, :kept_w]
            mag = mags[:, : n * kept_w].reshape(fg, n, kept_w)
            np.abs(maps, out=mag)
            abs_sums[cc, fs] += mags[:, : n * kept_w].sum(axis=1, dtype=np.float64)  # float32 could overflow
            if low is not None and high is not None:
                np.minimum(low[cc, fs], maps.min(axis=(1, 2)), out=low[cc, fs])
                np.maximum(high[cc, fs], maps.max(axis=(1, 2)), out=high[cc, fs])
            if acc is not None and not first:
                acc[fs, :m] += res[:, :m]
            if kept is not None:
                kept[(*at, cc, fs)] = maps.transpose(1, 2, 0)
        if total is not None and acc is not None:
            if bias is not None:  # on the planar rows, where it is one long add per filter
                acc[:, :m] += bias[:, None]
            total[at] = acc[:, : n * w].reshape(f, n, w)[:, :, :kept_w].transpose(1, 2, 0)
