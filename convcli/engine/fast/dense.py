"""Stride-1 cross-correlation on the flattened grid (see :mod:`convcli.engine.fast`), and
space-to-depth, which turns a strided layer into a stride-1 one."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convcli.engine.fast import tuning
from convcli.engine.fast.depthwise import depthwise_planar, depthwise_taps


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
    if depthwise and (f // c >= tuning.PLANAR_MIN_MULTIPLIER or c < tuning.IM2COL_MIN_CHANNELS):
        depthwise_planar(flat, kernel, offsets, w_in, valid, out)
    elif depthwise:
        depthwise_taps(flat, kernel, offsets, w_in, valid, out)
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


def conv_planes(x: np.ndarray, kernel: np.ndarray, dilations: tuple[int, int, int], planes: tuple[int, int],
                out: np.ndarray, *, im2col: bool | None = None) -> None:
    """Output planes ``[p0, p1)`` of a stride-1, one-group 3-D cross-correlation, written into ``out``.

    ``x (D_in, H_in, W_in, C)`` is the padded input (read without padding), ``kernel (kd, kh, kw, C, F)``,
    ``out (p1 - p0, H', W', F)``. Output plane ``p`` is a 2-D layer whose input is the ``kd`` planes it
    reads side by side as channels (``(H_in, W_in, kd·C)``, channel ``a·C + c`` being channel ``c`` of
    plane ``p + a·dd``) and whose kernel is ``(kh, kw, kd·C, F)``: one call of the 2-D flattened grid
    (see :mod:`convcli.engine.fast`) per plane, an im2col of ``kh·kw·kd·C`` columns per tile by default,
    copied ``kh`` runs of ``kw·kd·C`` values a position instead of ``kd·kh`` runs of ``kw·C``.
    """
    kd, kh, kw, c, f = kernel.shape
    dd, dh, dw = dilations
    _, h_in, w_in, _ = x.shape
    ho, wo = out.shape[1:3]
    valid = ho * w_in - (kw - 1) * dw
    offsets = [u * dh * w_in + v * dw for u in range(kh) for v in range(kw)]
    taps = np.ascontiguousarray(kernel.transpose(1, 2, 0, 3, 4)).reshape(kh * kw, kd * c, f)
    wide = len(offsets) * kd * c >= tuning.IM2COL_MIN_CHANNELS if im2col is None else im2col
    stacked = np.empty((h_in, w_in, kd, c), dtype=x.dtype)
    for p in range(*planes):
        for a in range(kd):
            stacked[:, :, a] = x[p + a * dd]
        _dense(stacked.reshape(h_in * w_in, kd * c), taps, offsets, w_in, valid, out[p - planes[0]], kw, dw,
               im2col=wide)


def _dense(flat: np.ndarray, taps: np.ndarray, offsets: list[int], w_in: int, valid: int, out: np.ndarray,
           kw: int = 1, dw: int = 1, *, im2col: bool | None = None) -> None:
    """``out (H', W', F)`` from ``flat (h_in·w_in, C)`` and ``taps (kh·kw, C, F)``, tile by tile
    (``im2col``: one GEMM over the taps side by side, or one per tap; by default from the channels)."""
    ntaps, c, f = taps.shape
    kh = ntaps // kw
    # the kw taps of a kernel row read kw·C adjacent floats when the rows of `flat` are packed
    packed = flat.strides == (c * flat.itemsize, flat.itemsize)
    run = kw * c if dw == 1 and kw > 1 and packed else 0
    ho, wo, _ = out.shape
    dtype = out.dtype
    if im2col is None:
        im2col = c >= tuning.IM2COL_MIN_CHANNELS
    width = ntaps * c if im2col else c * 4
    rows = tuning.tile_rows(w_in, width, dtype.itemsize, ho)
    if im2col:  # a GEMM of a few hundred rows leaves BLAS's second core idle: keep tiles tall enough
        rows = min(ho, max(rows, -(-tuning.MIN_GEMM_ROWS // w_in)))
    tiles = grid_tiles(ho, w_in, valid, rows, tuning.MIN_GEMM_ROWS if im2col else 1, width * dtype.itemsize)
    pieces = tiles[0][0] < 0
    acc = np.empty((tiles[0][3] if pieces else rows * w_in, f), dtype=dtype)
    if im2col:
        buf = np.empty((acc.shape[0], ntaps * c), dtype=dtype)
        weights = taps.reshape(ntaps * c, f)
    else:
        tmp = np.empty_like(acc)
    for r0, r1, start, stop in tiles:
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
        if r1 < 0:  # a piece of the one output row
            out[0, start:stop] = acc[:m]
        else:  # grid positions past `valid` are discarded columns of the last row: never read below
            out[r0:r1] = acc[: (r1 - r0) * w_in].reshape(r1 - r0, w_in, f)[:, :wo]


def grid_tiles(ho: int, w_in: int, valid: int, rows: int, least: int, bytes_per_position: int,
               ) -> list[tuple[int, int, int, int]]:
    """The tiles of an ``ho``-row output on a ``w_in``-wide grid: ``(r0, r1, start, stop)``, the grid
    positions ``[start, stop)`` of output rows ``[r0, r1)`` (``rows`` a tile).

    A one-row output (a 1-D layer, :func:`convcli.engine.one_row`) is cut along its columns instead, into
    pieces of :data:`~convcli.engine.fast.tuning.TILE_BYTES` (at least ``least`` positions each), marked
    ``r0 = r1 = -1``: there ``start:stop`` are output columns too, and one row of a million samples
    never makes a buffer of a million positions that no cache holds.
    """
    if ho == 1 and valid > least:
        step = max(least, tuning.TILE_BYTES // max(1, bytes_per_position))
        if step < valid:
            return [(-1, -1, j, min(j + step, valid)) for j in range(0, valid, step)]
    return [(r0, min(r0 + rows, ho), r0 * w_in, min(min(r0 + rows, ho) * w_in, valid)) for r0 in range(0, ho, rows)]
