"""Depthwise layers (``groups == C``) on the flattened grid: multiply-adds per tap, or one small
GEMM per channel (see :mod:`convcli.engine.fast`)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convcli.engine.fast import tuning


def depthwise_taps(flat: np.ndarray, kernel: np.ndarray, offsets: list[int], w_in: int, valid: int,
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
    rows = tuning.tile_rows(w_in, f, out.dtype.itemsize, ho)
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
    """:func:`depthwise_taps` with ``M = 1`` and packed ``flat``: one einsum per tile of output rows."""
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
    rows = tuning.tile_rows(w_in, c, item, ho)
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


def depthwise_planar(flat: np.ndarray, kernel: np.ndarray, offsets: list[int], w_in: int, valid: int,
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
    rows = tuning.tile_rows(w_in, ntaps + mult, out.dtype.itemsize, ho)
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
