"""The convolution and its partial sums, block by block: ``conv2d``, ``partial_sums``, a traced position.

Everything here is **cross-correlation** (the kernel is not flipped), which is what Keras,
TensorFlow and PyTorch compute and call convolution. numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from convcli.engine import fast, tiles
from convcli.engine.bind import Layer, check_bias, prepare
from convcli.engine.fast import tuning
from convcli.errors import ShapeError
from convcli.layer.geometry import PaddingSpec, span
from convcli.layer.spec import group_of

Pair = tuple[int, int]


def input_region(layer: Layer, rows: Pair, cols: Pair) -> np.ndarray:
    """The zero-padded input that output rows ``[r0, r1)`` × cols ``[c0, c1)`` read: ``(h, w, C)``.

    Output position ``(r0 + i, c0 + j)`` reads ``region[i·s + u·d, j·s + v·d]`` for kernel tap
    ``(u, v)``. Only this region is padded, so a window or a tile never copies the whole image.
    """
    g = layer.geometry
    (r0, r1), (c0, c1) = rows, cols
    (sh, sw), (dh, dw), (kh, kw) = g.stride, g.dilation, g.kernel_hw
    top, _, left, _ = g.pads
    y0, y1 = r0 * sh - top, (r1 - 1) * sh - top + span(kh, dh)
    x0, x1 = c0 * sw - left, (c1 - 1) * sw - left + span(kw, dw)
    h, w = g.in_hw
    if y0 >= 0 and x0 >= 0 and y1 <= h and x1 <= w:
        return layer.x[y0:y1, x0:x1]
    region = np.zeros((y1 - y0, x1 - x0, layer.x.shape[2]), dtype=layer.x.dtype)
    sy0, sy1, sx0, sx1 = max(y0, 0), min(y1, h), max(x0, 0), min(x1, w)
    if sy0 < sy1 and sx0 < sx1:
        region[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = layer.x[sy0:sy1, sx0:sx1]
    return region


def _taps(layer: Layer, region: np.ndarray, out_hw: Pair):  # type: ignore[no-untyped-def]
    """Yield ``(u, v, view)`` for each kernel tap; ``view (h', w', C)`` is what the tap multiplies."""
    g = layer.geometry
    (sh, sw), (dh, dw), (kh, kw) = g.stride, g.dilation, g.kernel_hw
    ho, wo = out_hw
    for u in range(kh):
        for v in range(kw):
            y, x = u * dh, v * dw
            yield u, v, region[y : y + (ho - 1) * sh + 1 : sh, x : x + (wo - 1) * sw + 1 : sw]


def _window(layer: Layer, window: Sequence[int] | None) -> tuple[Pair, Pair]:
    ho, wo = layer.geometry.out_hw
    if window is None:
        return (0, ho), (0, wo)
    r0, r1, c0, c1 = (int(v) for v in window)
    if not (0 <= r0 < r1 <= ho and 0 <= c0 < c1 <= wo):
        raise ShapeError(
            f"window rows {r0}:{r1}, cols {c0}:{c1} is not inside the {ho}×{wo} output"
        )
    return (r0, r1), (c0, c1)


def conv_region(layer: Layer, rows: Pair, cols: Pair, progress: Callable[[int], None] | None = None,
          *, threads: bool = True, bias: np.ndarray | None = None) -> np.ndarray:
    """Pre-activation for output rows × cols: ``(r1 - r0, c1 - c0, F)``, plus ``bias (F,)`` if given
    (added block by block, while the block is still in cache).

    Computed in blocks of output rows, each padded on its own, so the memory beyond the result
    stays bounded for any image size; ``progress(rows_done)`` is called after each block. One long
    row (:func:`in_pieces`: a 1-D layer) goes in pieces of columns instead, and ``progress`` counts columns.
    ``threads=False`` when the caller already runs this on a thread of its own.
    """
    (r0, r1), (c0, c1) = rows, cols
    out = np.empty((r1 - r0, c1 - c0, layer.filters), dtype=layer.x.dtype)
    per_row = (c1 - c0) * max(layer.filters, layer.x.shape[2] * layer.geometry.stride[0])
    # BLAS spreads a big im2col GEMM over the cores itself; depthwise multiply-adds and the small
    # per-tap GEMMs of a few-channel layer run on one core unless the blocks go to threads
    sh, sw = layer.geometry.stride
    few = (layer.cg == 1 and layer.groups > 1) or layer.cg * sh * sw < tuning.IM2COL_MIN_CHANNELS
    parallel = threads and few

    if in_pieces(rows, cols):
        # one row (a 1-D layer): pieces of it on the threads, BLAS on one thread in each (a loaded
        # machine makes OpenBLAS's own threads spin-wait on GEMMs this small)
        def piece(b: Pair) -> int:
            part = out[:, b[0] - c0 : b[1] - c0]
            _conv_block(layer, rows, b, part)
            if bias is not None:
                part += bias
            return b[1] - b[0]

        with tiles.blas_single_thread():  # on the pool or not: these GEMMs are too small for BLAS's threads
            tiles._each(piece, row_pieces(cols, max(layer.filters, layer.x.shape[2])), progress, threads)
        return out

    def block(b: Pair) -> int:
        part = out[b[0] - r0 : b[1] - r0]
        _conv_block(layer, b, cols, part)
        if bias is not None:
            part += bias
        return b[1] - b[0]

    tiles._each(block, tiles._row_tiles(rows, per_row, parts=tiles.THREADS if parallel else 1), progress, parallel)
    return out


def in_pieces(rows: Pair, cols: Pair) -> bool:
    """Whether output rows × cols are one row long enough to cut into pieces of columns (a 1-D layer as
    :func:`convcli.engine.one_row` makes it: blocks of whole rows would be one block, on one thread)."""
    return rows[1] - rows[0] == 1 and cols[1] - cols[0] >= tiles.THREADS * tuning.MIN_GEMM_ROWS


def row_pieces(cols: Pair, values_per_col: int) -> list[Pair]:
    """Output columns ``cols`` of one row cut into blocks of at most :data:`~convcli.engine.tiles.TILE_VALUES`
    values and into at least one per thread (:func:`~convcli.engine.tiles.row_tiles` along the row)."""
    return tiles.row_tiles(cols, values_per_col, parts=tiles.THREADS)


def _conv_block(layer: Layer, rows: Pair, cols: Pair, out: np.ndarray) -> None:
    out_hw = (rows[1] - rows[0], cols[1] - cols[0])
    region = input_region(layer, rows, cols)
    g = layer.geometry
    if g.stride == (1, 1):
        fast.conv_stride1(region, layer.kernel, g.dilation, layer.groups, out_hw, out=out)
    elif layer.groups == 1 and g.dilation == (1, 1) and _folds(g.stride, g.kernel_hw):
        x2, k2 = fast.space_to_depth(region, layer.kernel, g.stride, out_hw)
        fast.conv_stride1(x2, k2, (1, 1), 1, out_hw, out=out)
    else:
        out[...] = _conv_taps(layer, region, out_hw)


def _folds(stride: Pair, kernel_hw: Pair) -> bool:
    """Whether space-to-depth suits this stride: its copy has ``sh·sw·C`` channels (``sh·sw`` of
    them copied one by one), so a stride far past the kernel (10⁹) takes the strided taps instead."""
    return (stride[0] <= kernel_hw[0] and stride[1] <= kernel_hw[1]) or stride[0] * stride[1] <= 16


def _conv_taps(layer: Layer, region: np.ndarray, out_hw: Pair) -> np.ndarray:
    """The plain path: one strided view and one GEMM (or multiply-add) per kernel tap, accumulated."""
    groups, cg, f = layer.groups, layer.cg, layer.filters
    fg = f // groups
    out = np.zeros((*out_hw, f), dtype=layer.x.dtype)
    depthwise = cg == 1 and groups > 1
    for u, v, view in _taps(layer, region, out_hw):
        w = layer.kernel[u, v]  # (Cg, F)
        if groups == 1:
            out += view @ w
        elif depthwise:  # filter g·Fg + j reads channel g alone
            out.reshape(*out_hw, groups, fg)[...] += view[..., None] * w.reshape(groups, fg)
        else:
            for g in range(groups):
                out[..., g * fg : (g + 1) * fg] += view[..., g * cg : (g + 1) * cg] @ w[:, g * fg : (g + 1) * fg]
    return out


def _as_depthwise(layer: Layer) -> Layer:
    """The same layer as a depthwise one whose ``C·Fg`` outputs are its partial sums.

    Partial ``[.., c, g·Fg + j]`` is channel ``g·Cg + c`` cross-correlated with ``kernel[:, :, c, g·Fg + j]``:
    a depthwise layer (``groups = C``) with ``Fg`` filters per channel computes exactly those, and
    goes through the same tiled fast path as :func:`conv2d`.
    """
    kh, kw, cg, f = layer.kernel.shape
    groups, fg = layer.groups, f // layer.groups
    k = layer.kernel.reshape(kh, kw, cg, groups, fg).transpose(0, 1, 3, 2, 4).reshape(kh, kw, 1, groups * cg * fg)
    return Layer(layer.x, np.ascontiguousarray(k), groups * cg, layer.geometry)


def partials_region(layer: Layer, rows: Pair, cols: Pair, *, threads: bool = True) -> np.ndarray:
    """Per-channel contributions for output rows × cols: ``(r1 - r0, c1 - c0, C // groups, F)``."""
    h, w = rows[1] - rows[0], cols[1] - cols[0]
    groups, cg, f = layer.groups, layer.cg, layer.filters
    g = layer.geometry
    if g.stride != (1, 1) and g.dilation == (1, 1):
        # strided: each channel alone is a dense 1 -> Fg layer, which space-to-depth makes stride 1
        fg = f // groups
        out = np.empty((h, w, cg, f), dtype=layer.x.dtype)
        one = np.empty((h, w, fg), dtype=layer.x.dtype)
        for grp in range(groups):
            for c in range(cg):
                ch = grp * cg + c
                single = Layer(layer.x[:, :, ch : ch + 1], layer.kernel[:, :, c : c + 1, grp * fg : (grp + 1) * fg], 1, g)
                _conv_block(single, rows, cols, one)
                out[:, :, c, grp * fg : (grp + 1) * fg] = one
        return out
    flat = conv_region(_as_depthwise(layer), rows, cols, threads=threads)  # (h, w, G·Cg·Fg), ordered (g, c, j)
    if groups == 1:
        return flat.reshape(h, w, cg, f)
    # (h, w, G, Cg, Fg) -> (h, w, Cg, G·Fg): filter index g·Fg + j
    return flat.reshape(h, w, groups, cg, f // groups).transpose(0, 1, 3, 2, 4).reshape(h, w, cg, f)


def layer_partials(layer: Layer, rows: Pair, cols: Pair) -> np.ndarray:
    """Each input channel's contribution to each filter over output rows × cols of a bound layer:
    ``(r1 - r0, c1 - c0, C // groups, F)`` (:func:`partial_sums` takes the arrays instead)."""
    return partials_region(layer, rows, cols)


def filter_partials(layer: Layer, filt: int) -> np.ndarray:
    """Each input channel's partial map for one filter over the whole output: ``(H', W', Cg)``.

    ``[..., c]`` is channel ``g·Cg + c`` (``g`` the filter's group) cross-correlated with
    ``kernel[:, :, c, filt]``; their sum plus the bias is the filter's pre-activation. This costs
    ``Cg`` single-channel convolutions, never the ``Cg·F`` of all partials.
    """
    if not 0 <= filt < layer.filters:
        raise ShapeError(f"filter {filt} does not exist: the layer has {layer.filters} (0..{layer.filters - 1})")
    group = group_of(filt, layer.filters, layer.groups)
    x = layer.x[:, :, group * layer.cg : (group + 1) * layer.cg]
    kernel = layer.kernel[:, :, :, filt : filt + 1]
    one = Layer(x, kernel, 1, layer.geometry)
    ho, wo = layer.geometry.out_hw
    return partials_region(one, (0, ho), (0, wo))[:, :, :, 0]


def conv2d(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | Sequence[float] | float | None = None,
    *,
    stride: int | Sequence[int] = 1,
    padding: PaddingSpec = "valid",
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    dtype: object = np.float32,
    window: Sequence[int] | None = None,
) -> np.ndarray:
    """Pre-activation output of a Conv2D layer (cross-correlation): ``(H', W', F)``.

    Parameters
    ----------
    x : (H, W, C) array
    kernel : (kh, kw, C // groups, F) array, Keras layout
    bias : (F,) array, scalar or None (zeros)
    stride, dilation : int or (h, w) pair, ≥ 1
    padding : "valid", "same" (Keras/TensorFlow rule), int or (h, w) pair of zeros
    groups : divides C and F; filter f sees input channels of group ``f // (F // groups)``
    dtype : float32 (default, like the frameworks) or float64
    window : optional ``(r0, r1, c0, c1)``: compute only output rows ``[r0, r1)`` × cols ``[c0, c1)``

    Returns
    -------
    (H', W', F) array of ``dtype`` (or the window's ``(r1 - r0, c1 - c0, F)``)
    """
    layer = prepare(x, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, dtype=dtype)
    b = check_bias(bias, layer.filters, layer.x.dtype)
    rows, cols = _window(layer, window)
    return conv_region(layer, rows, cols, bias=b)


def partial_sums(
    x: np.ndarray,
    kernel: np.ndarray,
    *,
    stride: int | Sequence[int] = 1,
    padding: PaddingSpec = "valid",
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    dtype: object = np.float32,
    window: Sequence[int] | None = None,
) -> np.ndarray:
    """Each input channel's contribution to each filter: ``(H', W', C // groups, F)``.

    ``[i, j, c, f]`` is the cross-correlation of input channel ``g·Cg + c`` (``g`` the group of
    filter ``f``) with ``kernel[:, :, c, f]`` at output position ``(i, j)``, so that
    ``partial_sums(...).sum(axis=2) + bias == conv2d(...)`` up to float rounding.
    Arguments as in :func:`conv2d`.
    """
    layer = prepare(x, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, dtype=dtype)
    rows, cols = _window(layer, window)
    return partials_region(layer, rows, cols)


def channels_map(layer: Layer, filt: int, channels: Sequence[int]) -> np.ndarray:
    """The sum of filter ``filt``'s partial maps over ``channels`` (indices within its group): ``(H', W')``.

    One single-filter convolution over those channels, never the full partial maps.
    """
    group = group_of(filt, layer.filters, layer.groups)
    picked = [group * layer.cg + int(c) for c in channels]
    # a run of channels is a view; other lists copy the input (48 MB for 12 of a million 16-channel
    # samples), which np.take does 3x faster than an index list
    run = picked == list(range(picked[0], picked[0] + len(picked))) if picked else False
    x = layer.x[:, :, picked[0] : picked[-1] + 1] if run else np.take(layer.x, picked, axis=2)
    one = Layer(x, layer.kernel[:, :, list(channels), filt : filt + 1], 1, layer.geometry)
    ho, wo = layer.geometry.out_hw
    return conv_region(one, (0, ho), (0, wo))[:, :, 0]


@dataclass(frozen=True)
class Trace:
    """One output position of one filter, tap by tap.

    ``patch (kh, kw, Cg)`` is the zero-padded input the kernel sees, ``weights (kh, kw, Cg)`` the
    filter's kernel, ``products`` their element-wise product and ``sums (Cg,)`` its per-channel sum.
    ``in_rows (kh,)`` / ``in_cols (kw,)`` are input coordinates (outside ``[0, H)`` means padding);
    ``channels (Cg,)`` the input channel indices the filter's group reads.
    """

    patch: np.ndarray
    weights: np.ndarray
    products: np.ndarray
    sums: np.ndarray
    in_rows: np.ndarray
    in_cols: np.ndarray
    channels: np.ndarray


def trace_position(layer: Layer, row: int, col: int, filt: int) -> Trace:
    """Every product that makes output ``(row, col)`` of filter ``filt`` (before the bias)."""
    ho, wo = layer.geometry.out_hw
    if not (0 <= row < ho and 0 <= col < wo):
        raise ShapeError(f"position {row},{col} is outside the {ho}×{wo} output")
    if not 0 <= filt < layer.filters:
        raise ShapeError(f"filter {filt} does not exist: the layer has {layer.filters} (0..{layer.filters - 1})")
    g = layer.geometry
    (dh, dw) = g.dilation
    group = group_of(filt, layer.filters, layer.groups)
    channels = np.arange(group * layer.cg, (group + 1) * layer.cg)
    kh, kw = g.kernel_hw
    in_rows = row * g.stride[0] - g.pads[0] + np.arange(kh) * dh
    in_cols = col * g.stride[1] - g.pads[2] + np.arange(kw) * dw
    # the kh×kw taps themselves, zeros where they fall in the padding: never the dilated span between them
    h, w = g.in_hw
    rows_in, cols_in = (in_rows >= 0) & (in_rows < h), (in_cols >= 0) & (in_cols < w)
    patch = np.zeros((kh, kw, len(channels)), dtype=layer.x.dtype)
    patch[np.ix_(rows_in, cols_in)] = layer.x[np.ix_(in_rows[rows_in], in_cols[cols_in], channels)]
    weights = layer.kernel[:, :, :, filt]
    products = patch * weights
    return Trace(patch, weights, products, products.sum(axis=(0, 1)), in_rows, in_cols, channels)
