"""The engine's fast path for stride-1 layers: tiled GEMMs over a flattened input, no big temporaries.

The idea: flatten the (already zero-padded) input region ``(h_in, w_in, C)`` to ``(h_in·w_in, C)``.
For kernel tap ``(u, v)`` the input row of grid position ``m = i·w_in + j`` is ``m + u·dh·w_in + v·dw``,
so every tap reads one **contiguous** slab of rows. Computing on the full-width grid (``w_in``
columns instead of ``W'``) wastes ``(kw - 1)·dw`` columns per row and buys contiguous GEMMs with no
im2col of the whole image. Work goes in tiles of whole grid rows sized to stay in cache:

- many channels: an im2col buffer of the tile only, ``(m, kh·kw·C)``, and one GEMM per tile;
- few channels: one small GEMM per tap, accumulated in the tile;
- depthwise (``groups == C``): element-wise multiply-adds per tap, no GEMM.

The result equals the reference tap loop up to float summation order; the same oracle tests cover it.
numpy only.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

#: Bytes of input-side working set per tile (slab or im2col buffer): about half of a 1 MiB L2.
TILE_BYTES = 1 << 19
#: Grid positions an im2col GEMM gets at least, even when its buffer then outgrows the cache.
MIN_GEMM_ROWS = 1024
#: Below this many channels per group a per-tap GEMM beats building an im2col buffer.
IM2COL_MIN_CHANNELS = 16
#: From this many filters per channel, a depthwise layer (and so every partial-sum computation,
#: which is one) runs as one small GEMM per channel instead of multiply-adds per tap.
PLANAR_MIN_MULTIPLIER = 2


def _tile_rows(w_in: int, width: int, itemsize: int, ho: int) -> int:
    return max(1, min(ho, TILE_BYTES // max(1, w_in * width * itemsize)))


def conv_stride1(region: np.ndarray, kernel: np.ndarray, dilation: tuple[int, int], groups: int,
                 out_hw: tuple[int, int], *, out: np.ndarray | None = None) -> np.ndarray:
    """Stride-1 cross-correlation of a padded ``region (h_in, w_in, C)`` with ``kernel (kh, kw, Cg, F)``.

    ``out_hw`` is ``(H', W')`` with ``h_in = H' + (kh - 1)·dh`` and ``w_in = W' + (kw - 1)·dw``.
    Returns ``(H', W', F)`` without bias, in the region's dtype (written into ``out`` if given).
    """
    kh, kw, cg, f = kernel.shape
    dh, dw = dilation
    ho, wo = out_hw
    region = np.ascontiguousarray(region)
    h_in, w_in, c = region.shape
    flat = region.reshape(h_in * w_in, c)
    offsets = [u * dh * w_in + v * dw for u in range(kh) for v in range(kw)]
    valid = ho * w_in - (kw - 1) * dw  # grid positions the last tap can still read
    if out is None:
        out = np.empty((ho, wo, f), dtype=region.dtype)
    depthwise = groups == c and cg == 1
    # numpy's element-wise loops are slow over a short channel axis: few channels go planar too
    if depthwise and (f // c >= PLANAR_MIN_MULTIPLIER or c < IM2COL_MIN_CHANNELS):
        _depthwise_planar(flat, kernel, offsets, w_in, valid, out)
    elif depthwise:
        _depthwise(flat, kernel, offsets, w_in, valid, out)
    elif groups == 1:
        _dense(flat, kernel.reshape(kh * kw, c, f), offsets, w_in, valid, out, kw, dw)
    else:
        fg = f // groups
        for g in range(groups):
            part = np.empty((ho, wo, fg), dtype=region.dtype)
            _dense(np.ascontiguousarray(flat[:, g * cg : (g + 1) * cg]), kernel[:, :, :, g * fg : (g + 1) * fg].reshape(kh * kw, cg, fg),
                   offsets, w_in, valid, part, kw, dw)
            out[:, :, g * fg : (g + 1) * fg] = part
    return out


def space_to_depth(region: np.ndarray, kernel: np.ndarray, stride: tuple[int, int],
                   out_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A stride-``s`` layer as a stride-1 one: ``(region', kernel')`` for :func:`conv_stride1`.

    Output ``(i, j)`` reads ``region[i·sh + u, j·sw + v]``; writing ``u = a·sh + p`` and
    ``v = b·sw + q`` this is ``region'[i + a, j + b, (p, q, c)]`` with
    ``region'[y, x, (p, q, c)] = region[y·sh + p, x·sw + q, c]`` and
    ``kernel'[a, b, (p, q, c), f] = kernel[a·sh + p, b·sw + q, c, f]`` (zero past the kernel's edge).
    ``region (h, w, C)`` is padded as for the strided layer (dilation 1, groups 1);
    returns ``region' (H' + ah - 1, W' + aw - 1, sh·sw·C)`` and ``kernel' (ah, aw, sh·sw·C, F)``
    with ``ah = ⌈kh / sh⌉``, ``aw = ⌈kw / sw⌉``.
    """
    sh, sw = stride
    kh, kw, c, f = kernel.shape
    ah, aw = -(-kh // sh), -(-kw // sw)
    ho, wo = out_hw
    h2, w2 = ho + ah - 1, wo + aw - 1
    x2 = np.empty((h2, w2, sh * sw * c), dtype=region.dtype)
    for p in range(sh):
        for q in range(sw):
            src = region[p::sh, q::sw][:h2, :w2]
            dst = x2[:, :, (p * sw + q) * c : (p * sw + q + 1) * c]
            dst[: src.shape[0], : src.shape[1]] = src
            # rows/cols that only the kernel's zero taps read lie past the region: zeros
            dst[src.shape[0] :] = 0
            dst[:, src.shape[1] :] = 0
    k = np.zeros((ah * sh, aw * sw, c, f), dtype=kernel.dtype)
    k[:kh, :kw] = kernel
    k2 = k.reshape(ah, sh, aw, sw, c, f).transpose(0, 2, 1, 3, 4, 5).reshape(ah, aw, sh * sw * c, f)
    return x2, k2


def _dense(flat: np.ndarray, taps: np.ndarray, offsets: list[int], w_in: int, valid: int, out: np.ndarray,
           kw: int = 1, dw: int = 1) -> None:
    """``out (H', W', F)`` from ``flat (h_in·w_in, C)`` and ``taps (kh·kw, C, F)``, tile by tile."""
    ntaps, c, f = taps.shape
    kh = ntaps // kw
    # the kw taps of a kernel row read kw·C adjacent floats when the rows of `flat` are packed
    packed = flat.strides == (c * flat.itemsize, flat.itemsize)
    run = kw * c if dw == 1 and kw > 1 and packed else 0
    ho, wo, _ = out.shape
    dtype = out.dtype
    im2col = c >= IM2COL_MIN_CHANNELS
    rows = _tile_rows(w_in, ntaps * c if im2col else c * 4, dtype.itemsize, ho)
    if im2col:  # a GEMM of a few hundred rows leaves BLAS's second core idle: keep tiles tall enough
        rows = min(ho, max(rows, -(-MIN_GEMM_ROWS // w_in)))
    acc = np.empty((rows * w_in, f), dtype=dtype)
    if im2col:
        buf = np.empty((rows * w_in, ntaps * c), dtype=dtype)
        weights = taps.reshape(ntaps * c, f)
    else:
        tmp = np.empty_like(acc)
    for r0 in range(0, ho, rows):
        r1 = min(r0 + rows, ho)
        start, stop = r0 * w_in, min(r1 * w_in, valid)
        m = stop - start
        if im2col:
            if run:  # one copy per kernel row instead of one per tap
                for u in range(kh):
                    buf[:m, u * run : (u + 1) * run] = as_strided(
                        flat[start + offsets[u * kw] :], shape=(m, run), strides=flat.strides)
            else:
                for t, off in enumerate(offsets):
                    buf[:m, t * c : (t + 1) * c] = flat[start + off : stop + off]
            np.matmul(buf[:m], weights, out=acc[:m])
        else:
            np.matmul(flat[start + offsets[0] : stop + offsets[0]], taps[0], out=acc[:m])
            for t in range(1, ntaps):
                off = offsets[t]
                np.matmul(flat[start + off : stop + off], taps[t], out=tmp[:m])
                acc[:m] += tmp[:m]
        # grid positions past `valid` are discarded columns of the last row: never read below
        out[r0:r1] = acc[: (r1 - r0) * w_in].reshape(r1 - r0, w_in, f)[:, :wo]


def _depthwise(flat: np.ndarray, kernel: np.ndarray, offsets: list[int], w_in: int, valid: int,
               out: np.ndarray) -> None:
    """``groups == C``: filter ``g·M + j`` sees only channel ``g``; multiply-adds, no GEMM.

    With ``M = 1`` (the usual case) one ``np.einsum`` per tile of rows does all taps: for tap
    ``(u, v)`` an output row's ``W'·C`` values are one contiguous run of ``flat`` (the tap's shifted
    input row), so a strided ``(kh, kw, rows, W'·C)`` view times the tap weights repeated along a row
    ``(kh, kw, W'·C)``, summed over the taps, is the tile. einsum fuses each tap's multiply and add
    (``out += x·w``, one pass where ``np.multiply`` + ``np.add`` take two plus a temporary), reads
    only the ``W'`` columns kept and writes straight into ``out``.
    """
    kh, kw, _, f = kernel.shape
    c = flat.shape[1]
    mult = f // c
    ho, wo, _ = out.shape
    if mult == 1 and flat.strides == (c * flat.itemsize, flat.itemsize):
        _depthwise_rows(flat, kernel, offsets, w_in, out)
        return
    # filter index g·M + j -> (g, j); with M = 1, plain 2-D arrays keep numpy's loops long
    taps = kernel.reshape(kh * kw, c) if mult == 1 else kernel.reshape(kh * kw, c, mult)
    rows = _tile_rows(w_in, f, out.dtype.itemsize, ho)
    acc = np.empty((rows * w_in, *taps.shape[1:]), dtype=out.dtype)
    tmp = np.empty_like(acc)
    for r0 in range(0, ho, rows):
        r1 = min(r0 + rows, ho)
        start, stop = r0 * w_in, min(r1 * w_in, valid)
        m = stop - start

        def src(off: int, start: int = start, stop: int = stop) -> np.ndarray:
            view = flat[start + off : stop + off]
            return view if mult == 1 else view[:, :, None]

        np.multiply(src(offsets[0]), taps[0], out=acc[:m])
        for t in range(1, len(offsets)):
            np.multiply(src(offsets[t]), taps[t], out=tmp[:m])
            acc[:m] += tmp[:m]
        out[r0:r1] = acc[: (r1 - r0) * w_in].reshape(r1 - r0, w_in, f)[:, :wo]


def _depthwise_rows(flat: np.ndarray, kernel: np.ndarray, offsets: list[int], w_in: int, out: np.ndarray) -> None:
    """:func:`_depthwise` with ``M = 1`` and packed ``flat``: one einsum per tile of output rows."""
    kh, kw, _, c = kernel.shape
    ho, wo, _ = out.shape
    dtype = flat.dtype
    item = flat.itemsize
    n = wo * c  # an output row, (W', C) flattened
    # tap (u, v) weights repeated along an output row: (kh, kw, W'·C)
    weights = np.ascontiguousarray(
        np.broadcast_to(kernel.reshape(kh, kw, 1, c).astype(dtype, copy=False), (kh, kw, wo, c))).reshape(kh, kw, n)
    step_u = offsets[kw] if kh > 1 else 0  # grid positions between kernel rows (dh·w_in) and columns (dw)
    step_v = offsets[1] if kw > 1 else 0
    base = flat.reshape(-1)
    # output rows of packed (W', F) rows are (rows, W'·F) views: einsum writes into them directly
    direct = out.dtype == dtype and out.strides[1:] == (c * out.itemsize, out.itemsize)
    rows = _tile_rows(w_in, c, item, ho)
    acc = None if direct else np.empty((rows, n), dtype=dtype)
    for r0 in range(0, ho, rows):
        r1 = min(r0 + rows, ho)
        # src[u, v, i, j·C + g] = flat[(r0 + i + u·dh)·w_in + j + v·dw, g]: the last read is
        # flat[(r1 - 1 + (kh - 1)·dh)·w_in + (kw - 1)·dw + W' - 1, C - 1], inside the region
        src = as_strided(base[r0 * w_in * c :], shape=(kh, kw, r1 - r0, n),
                         strides=(step_u * c * item, step_v * c * item, w_in * c * item, item), writeable=False)
        if acc is None:
            np.einsum("uvin,uvn->in", src, weights, out=out[r0:r1].reshape(r1 - r0, n))
        else:
            np.einsum("uvin,uvn->in", src, weights, out=acc[: r1 - r0])
            out[r0:r1] = acc[: r1 - r0].reshape(r1 - r0, wo, c)


def _depthwise_planar(flat: np.ndarray, kernel: np.ndarray, offsets: list[int], w_in: int, valid: int,
                      out: np.ndarray) -> None:
    """``groups == C`` (``M`` filters per channel): per tile and channel, one ``(M, T) @ (T, m)`` GEMM.

    Used when ``M ≥ 2`` (every partial-sum computation) or when there are few channels, where
    numpy's element-wise loops over the short channel axis are slow.

    The tile's channel ``g`` is copied out as one contiguous row, so the ``T = kh·kw`` taps are
    contiguous slices of it (a cheap im2col); the GEMM yields that channel's ``M`` maps at once.
    """
    kh, kw, _, f = kernel.shape
    c = flat.shape[1]
    mult = f // c
    ntaps = len(offsets)
    ho, wo, _ = out.shape
    # per channel: (M, T) weights, filter g·M + j -> row j
    weights = np.ascontiguousarray(kernel.reshape(ntaps, c, mult).transpose(1, 2, 0))
    rows = _tile_rows(w_in, ntaps + mult, out.dtype.itemsize, ho)
    reach = offsets[-1]
    plane = np.empty(rows * w_in + reach, dtype=out.dtype)
    buf = np.empty((ntaps, rows * w_in), dtype=out.dtype)
    res = np.empty((mult, rows * w_in), dtype=out.dtype)
    acc = np.empty((rows * w_in, c, mult), dtype=out.dtype)
    for r0 in range(0, ho, rows):
        r1 = min(r0 + rows, ho)
        start, stop = r0 * w_in, min(r1 * w_in, valid)
        m = stop - start
        for g in range(c):
            plane[: m + reach] = flat[start : stop + reach, g]
            for t, off in enumerate(offsets):
                buf[t, :m] = plane[off : off + m]
            np.matmul(weights[g], buf[:, :m], out=res[:, :m])
            acc[:m, g, :] = res[:, :m].T
        out[r0:r1] = acc[: (r1 - r0) * w_in].reshape(r1 - r0, w_in, f)[:, :wo]


#: Grid positions a tile of :func:`partial_stats` gets at least: fewer numpy calls per value.
MIN_STATS_POSITIONS = 1 << 14


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
    rows = max(_tile_rows(w_in, width, dtype.itemsize, ho), min(ho, -(-MIN_STATS_POSITIONS // w_in)))
    plane = np.empty(rows * w_in + reach, dtype=dtype)
    buf = np.empty((ntaps, rows * w_in), dtype=dtype)
    res = np.empty((fg, rows * w_in), dtype=dtype)
    mags = np.empty((fg, rows * wo), dtype=dtype)
    acc = np.empty((f, rows * w_in), dtype=dtype) if total is not None else None
    for r0 in range(0, ho, rows):
        r1 = min(r0 + rows, ho)
        n = r1 - r0
        start, stop = r0 * w_in, min(r1 * w_in, valid)
        m = stop - start
        for ch in range(c):
            g, cc = divmod(ch, cg)
            fs = slice(g * fg, (g + 1) * fg)
            plane[: m + reach] = flat[start : stop + reach, ch]
            for t, off in enumerate(offsets):
                buf[t, :m] = plane[off : off + m]
            np.matmul(weights[g, cc], buf[:, :m], out=res[:, :m])
            # positions m.. are the last row's discarded columns: the view below never reads them
            maps = res[:, : n * w_in].reshape(fg, n, w_in)[:, :, :wo]
            mag = mags[:, : n * wo].reshape(fg, n, wo)
            np.abs(maps, out=mag)
            abs_sums[cc, fs] += mags[:, : n * wo].sum(axis=1, dtype=np.float64)  # float32 could overflow
            if low is not None and high is not None:
                np.minimum(low[cc, fs], maps.min(axis=(1, 2)), out=low[cc, fs])
                np.maximum(high[cc, fs], maps.max(axis=(1, 2)), out=high[cc, fs])
            if acc is not None:
                if cc == 0:
                    acc[fs, :m] = res[:, :m]
                else:
                    acc[fs, :m] += res[:, :m]
            if kept is not None:
                kept[r0:r1, :, cc, fs] = maps.transpose(1, 2, 0)
        if total is not None and acc is not None:
            if bias is not None:  # on the planar rows, where it is one long add per filter
                acc[:, :m] += bias[:, None]
            total[r0:r1] = acc[:, : n * w_in].reshape(f, n, w_in)[:, :, :wo].transpose(1, 2, 0)
