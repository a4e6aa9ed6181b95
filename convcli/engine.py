"""The numbers of a 2-D convolution layer: padding, output shape, conv2d, partial sums, counts.

Everything here is **cross-correlation** (the kernel is not flipped), which is what Keras,
TensorFlow and PyTorch compute and call convolution.

Layouts are channels-last, as in Keras:

- ``x``: ``(H, W, C)``, the input image with ``C`` channels;
- ``kernel``: ``(kh, kw, C // groups, F)``, ``F`` filters of ``kh × kw × C // groups`` weights;
- ``bias``: ``(F,)``;
- results: ``(H', W', F)``; partial sums ``(H', W', C // groups, F)``.

For output position ``(i, j)`` and filter ``f`` in group ``g`` (``Cg = C // groups`` input
channels per group, ``s`` stride, ``d`` dilation, ``x`` zero-padded)::

    out[i, j, f] = bias[f] + Σ_c Σ_u Σ_v x[i·s + u·d, j·s + v·d, g·Cg + c] · kernel[u, v, c, f]

numpy only: this module prints nothing, touches no file and never exits.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import DTypeLike

from convcli import counts, fastconv
from convcli.counts import same_pads_1d, span
from convcli.errors import ConfigError, ShapeError

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

Pair = tuple[int, int]
PaddingSpec = str | int | Sequence[int]
Pads = tuple[int, int, int, int]

#: Output values per block when a whole-image result is computed piece by piece (bounded memory).
TILE_VALUES = 1 << 22
#: Threads that work on blocks side by side (1: none).
THREADS = min(2, os.cpu_count() or 1)


def as_pair(value: int | Sequence[int], name: str, *, minimum: int = 1) -> Pair:
    """``value`` as an ``(h, w)`` pair of ints ≥ ``minimum``; an int is used for both axes."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair: tuple[int, ...] = (int(value), int(value))
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{name} must be whole numbers, got {tuple(value)!r}")
        pair = (int(value[0]), int(value[1]))
    else:
        raise ConfigError(f"{name} must be an int or an (h, w) pair, got {value!r}")
    if min(pair) < minimum:
        raise ConfigError(f"{name} must be ≥ {minimum}, got {pair if pair[0] != pair[1] else pair[0]}")
    return pair[0], pair[1]


# span() and same_pads_1d(), the one-axis arithmetic, live in counts.py (numpy-free, shared with
# `convcli params`) and are re-exported here.


@dataclass(frozen=True)
class Geometry:
    """Where a layer's kernel reads its input: sizes, stride, dilation, pads and output size."""

    in_hw: Pair
    kernel_hw: Pair
    stride: Pair
    dilation: Pair
    pads: Pads  # (top, bottom, left, right)
    out_hw: Pair

    @property
    def padding_name(self) -> str:
        return "none" if not any(self.pads) else "zeros"


def pad_amounts(
    in_hw: Sequence[int],
    kernel_hw: Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: PaddingSpec = "valid",
    dilation: int | Sequence[int] = 1,
) -> Pads:
    """The concrete zero padding ``(top, bottom, left, right)`` that ``padding`` means here.

    ``padding`` is ``"valid"`` (none), ``"same"`` (Keras/TensorFlow rule, see
    :func:`same_pads_1d`), an int, or an ``(h, w)`` pair (symmetric, PyTorch style).
    """
    sh, sw = as_pair(stride, "stride")
    dh, dw = as_pair(dilation, "dilation")
    kh, kw = as_pair(tuple(kernel_hw), "kernel size")
    h, w = int(in_hw[0]), int(in_hw[1])
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0, 0, 0)
        if mode == "same":
            return (*same_pads_1d(h, kh, sh, dh), *same_pads_1d(w, kw, sw, dw))
        raise ConfigError(f"padding must be 'valid', 'same', an int or an (h, w) pair, got {padding!r}")
    ph, pw = as_pair(padding, "padding", minimum=0)
    return (ph, ph, pw, pw)


def conv_geometry(
    in_hw: Sequence[int],
    kernel_hw: Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: PaddingSpec = "valid",
    dilation: int | Sequence[int] = 1,
) -> Geometry:
    """Everything about where the kernel reads; raises :class:`ShapeError` for an empty output."""
    stride_p = as_pair(stride, "stride")
    dil_p = as_pair(dilation, "dilation")
    kernel_p = as_pair(tuple(kernel_hw), "kernel size")
    h, w = int(in_hw[0]), int(in_hw[1])
    if h < 1 or w < 1:
        raise ShapeError(f"the input is {h}×{w}; it needs at least one row and one column")
    pads = pad_amounts((h, w), kernel_p, stride=stride_p, padding=padding, dilation=dil_p)
    out = []
    for axis, n, k, s, d, (p0, p1) in (
        ("rows", h, kernel_p[0], stride_p[0], dil_p[0], pads[:2]),
        ("columns", w, kernel_p[1], stride_p[1], dil_p[1], pads[2:]),
    ):
        covered = span(k, d)
        padded = n + p0 + p1
        if covered > padded:
            dil = f" with dilation {d}" if d > 1 else ""
            raise ShapeError(
                f"kernel {kernel_p[0]}×{kernel_p[1]}{dil} spans {covered} {axis} "
                f"but the padded input has {padded}"
            )
        out.append((padded - covered) // s + 1)
    return Geometry((h, w), kernel_p, stride_p, dil_p, pads, (out[0], out[1]))


def output_shape(
    in_hw: Sequence[int],
    kernel_hw: Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: PaddingSpec = "valid",
    dilation: int | Sequence[int] = 1,
) -> Pair:
    """Output size ``(H', W')`` of a conv layer on an ``(H, W)`` input."""
    return conv_geometry(in_hw, kernel_hw, stride=stride, padding=padding, dilation=dilation).out_hw


def param_count(kernel_shape: Sequence[int], use_bias: bool = True) -> tuple[int, int]:
    """``(weights, biases)`` of a Conv2D whose Keras kernel is ``(kh, kw, C // groups, F)``.

    Counted by :func:`convcli.counts.param_count`, the one function ``convcli params`` uses too.
    """
    kh, kw, cg, f = (int(v) for v in kernel_shape)
    p = counts.param_count(counts.ConvSpec("conv", cg, f, (kh, kw), use_bias=use_bias))
    return p.weights, p.biases


# --------------------------------------------------------------------------------------------
# The computation


def resolve_dtype(dtype: object) -> np.dtype:
    """float32 or float64 (the frameworks' float32 is the default everywhere)."""
    try:
        dt = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError as exc:
        raise ConfigError(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ConfigError(f"dtype must be float32 or float64, got {dt.name}")
    return dt


@dataclass(frozen=True)
class Layer:
    """A checked conv layer bound to one input: arrays in the compute dtype plus geometry."""

    x: np.ndarray  # (H, W, C)
    kernel: np.ndarray  # (kh, kw, C // groups, F)
    groups: int
    geometry: Geometry

    @property
    def cg(self) -> int:
        return int(self.kernel.shape[2])

    @property
    def filters(self) -> int:
        return int(self.kernel.shape[3])


def _check_numeric(a: np.ndarray, what: str) -> None:
    # bool is rejected: True/False weights or pixels are almost always a loading mistake
    if a.dtype.kind not in "iuf":
        raise ShapeError(f"{what} must hold real numbers, got dtype {a.dtype}")
    if a.size == 0:
        raise ShapeError(f"{what} is empty (shape {a.shape})")


def prepare(
    x: np.ndarray,
    kernel: np.ndarray,
    *,
    stride: int | Sequence[int] = 1,
    padding: PaddingSpec = "valid",
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    dtype: object = np.float32,
) -> Layer:
    """Check ``x (H, W, C)`` against ``kernel (kh, kw, C // groups, F)`` and bind the geometry."""
    dt = resolve_dtype(dtype)
    x = np.asarray(x)
    kernel = np.asarray(kernel)
    _check_numeric(x, "the input")
    _check_numeric(kernel, "the kernel")
    if x.ndim != 3:
        raise ShapeError(f"the input must be (H, W, C), got {x.ndim} dimensions {x.shape}")
    if kernel.ndim != 4:
        raise ShapeError(
            f"the kernel must be (kh, kw, C // groups, F), got {kernel.ndim} dimensions {kernel.shape}"
        )
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ConfigError(f"groups must be a whole number ≥ 1, got {groups!r}")
    groups = int(groups)
    c = x.shape[2]
    kh, kw, cg, f = kernel.shape
    if c % groups:
        raise ShapeError(f"groups={groups} does not divide the input's {c} channels")
    if f % groups:
        raise ShapeError(f"groups={groups} does not divide the {f} filters")
    if cg * groups != c:
        per = f" ({cg} per group × {groups} groups)" if groups > 1 else ""
        raise ShapeError(f"the kernel expects {cg * groups} input channels{per} but the input has {c}")
    geometry = conv_geometry(x.shape[:2], (kh, kw), stride=stride, padding=padding, dilation=dilation)
    return Layer(np.asarray(x, dtype=dt), np.asarray(kernel, dtype=dt), groups, geometry)


def check_bias(bias: np.ndarray | Sequence[float] | float | None, filters: int, dtype: np.dtype) -> np.ndarray:
    """``bias`` as an ``(F,)`` array (``None`` is zeros; a scalar is used for every filter)."""
    if bias is None:
        return np.zeros(filters, dtype=dtype)
    b = np.asarray(bias)
    if b.dtype.kind not in "iuf":
        raise ShapeError(f"the bias must hold real numbers, got dtype {b.dtype}")
    if b.ndim == 0:
        return np.full(filters, b, dtype=dtype)
    if b.shape != (filters,):
        raise ShapeError(f"the bias has shape {b.shape} but the layer has {filters} filters: need ({filters},)")
    return b.astype(dtype)


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


def _conv(layer: Layer, rows: Pair, cols: Pair, progress: Callable[[int], None] | None = None,
          *, threads: bool = True, bias: np.ndarray | None = None) -> np.ndarray:
    """Pre-activation for output rows × cols: ``(r1 - r0, c1 - c0, F)``, plus ``bias (F,)`` if given
    (added block by block, while the block is still in cache).

    Computed in blocks of output rows, each padded on its own, so the memory beyond the result
    stays bounded for any image size; ``progress(rows_done)`` is called after each block.
    ``threads=False`` when the caller already runs this on a thread of its own.
    """
    (r0, r1), (c0, c1) = rows, cols
    out = np.empty((r1 - r0, c1 - c0, layer.filters), dtype=layer.x.dtype)
    per_row = (c1 - c0) * max(layer.filters, layer.x.shape[2] * layer.geometry.stride[0])
    # BLAS spreads a big im2col GEMM over the cores itself; depthwise multiply-adds and the small
    # per-tap GEMMs of a few-channel layer run on one core unless the blocks go to threads
    sh, sw = layer.geometry.stride
    few = (layer.cg == 1 and layer.groups > 1) or layer.cg * sh * sw < fastconv.IM2COL_MIN_CHANNELS
    parallel = threads and few

    def block(b: Pair) -> int:
        part = out[b[0] - r0 : b[1] - r0]
        _conv_block(layer, b, cols, part)
        if bias is not None:
            part += bias
        return b[1] - b[0]

    _each(block, _row_tiles(rows, per_row, parts=THREADS if parallel else 1), progress, parallel)
    return out


def _conv_block(layer: Layer, rows: Pair, cols: Pair, out: np.ndarray) -> None:
    out_hw = (rows[1] - rows[0], cols[1] - cols[0])
    region = input_region(layer, rows, cols)
    g = layer.geometry
    if g.stride == (1, 1):
        fastconv.conv_stride1(region, layer.kernel, g.dilation, layer.groups, out_hw, out=out)
    elif layer.groups == 1 and g.dilation == (1, 1):
        x2, k2 = fastconv.space_to_depth(region, layer.kernel, g.stride, out_hw)
        fastconv.conv_stride1(x2, k2, (1, 1), 1, out_hw, out=out)
    else:
        out[...] = _conv_taps(layer, region, out_hw)


_POOL_NAME = "convcli-block"
_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()
# a forked child has the parent's pool object but none of its threads: it makes its own
os.register_at_fork(after_in_child=_POOLS.clear)


def _pool() -> ThreadPoolExecutor:
    """One pool of :data:`THREADS` threads for the process: starting threads per call costs more
    than a small layer's whole convolution. A block never waits on the pool from inside it."""
    with _POOL_LOCK:
        if THREADS not in _POOLS:
            from concurrent.futures import ThreadPoolExecutor

            _POOLS[THREADS] = ThreadPoolExecutor(THREADS, thread_name_prefix=_POOL_NAME)
        return _POOLS[THREADS]


def _each(fn: Callable[[Pair], int], blocks: list[Pair], progress: Callable[[int], None] | None,
          parallel: bool = True) -> None:
    """``fn`` on every block, on :data:`THREADS` threads when ``parallel`` and there are several.

    numpy's ufuncs, copies and BLAS calls release the GIL, and the blocks write disjoint rows.
    """
    if parallel and THREADS > 1 and len(blocks) > 1 and not threading.current_thread().name.startswith(_POOL_NAME):
        for done in _pool().map(fn, blocks):
            if progress is not None:
                progress(done)
    else:
        for b in blocks:
            done = fn(b)
            if progress is not None:
                progress(done)


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


def _partials(layer: Layer, rows: Pair, cols: Pair, *, threads: bool = True) -> np.ndarray:
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
    flat = _conv(_as_depthwise(layer), rows, cols, threads=threads)  # (h, w, G·Cg·Fg), ordered (g, c, j)
    if groups == 1:
        return flat.reshape(h, w, cg, f)
    # (h, w, G, Cg, Fg) -> (h, w, Cg, G·Fg): filter index g·Fg + j
    return flat.reshape(h, w, groups, cg, f // groups).transpose(0, 1, 3, 2, 4).reshape(h, w, cg, f)


def filter_partials(layer: Layer, filt: int) -> np.ndarray:
    """Each input channel's partial map for one filter over the whole output: ``(H', W', Cg)``.

    ``[..., c]`` is channel ``g·Cg + c`` (``g`` the filter's group) cross-correlated with
    ``kernel[:, :, c, filt]``; their sum plus the bias is the filter's pre-activation. This costs
    ``Cg`` single-channel convolutions, never the ``Cg·F`` of all partials.
    """
    if not 0 <= filt < layer.filters:
        raise ShapeError(f"filter {filt} does not exist: the layer has {layer.filters} (0..{layer.filters - 1})")
    group = filt // (layer.filters // layer.groups)
    x = layer.x[:, :, group * layer.cg : (group + 1) * layer.cg]
    kernel = layer.kernel[:, :, :, filt : filt + 1]
    one = Layer(x, kernel, 1, layer.geometry)
    ho, wo = layer.geometry.out_hw
    return _partials(one, (0, ho), (0, wo))[:, :, :, 0]


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
    return _conv(layer, rows, cols, bias=b)


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
    return _partials(layer, rows, cols)


def _row_tiles(rows: Pair, values_per_row: int, parts: int = 1) -> list[Pair]:
    """Output rows ``[r0, r1)`` cut into blocks of at most :data:`TILE_VALUES` values, and into at
    least ``parts`` blocks when there are that many rows (one per thread)."""
    r0, r1 = rows
    step = max(1, min(TILE_VALUES // max(1, values_per_row), -(-(r1 - r0) // parts)))
    return [(r, min(r + step, r1)) for r in range(r0, r1, step)]


class PassResult(NamedTuple):
    """What :func:`partial_pass` measures over every partial sum ``(Cg, F)`` each (``partials``:
    ``(H', W', Cg, F)`` when kept; ``low``/``high``: each partial map's min / max when asked)."""

    mean_abs: np.ndarray
    partials: np.ndarray | None
    low: np.ndarray | None
    high: np.ndarray | None


def fuses_conv(layer: Layer) -> bool:
    """Whether :func:`run_layer` sums the partials into the pre-activation instead of convolving again.

    Where the convolution is memory-bound (stride 1, few channels: the per-tap GEMMs of a photo),
    adding the ``Cg`` partial maps that :func:`partial_pass` makes anyway costs much less than a
    second pass over the image; with many channels one im2col GEMM beats ``Cg·F`` additions.
    """
    return layer.geometry.stride == (1, 1) and layer.cg < fastconv.IM2COL_MIN_CHANNELS


def partial_pass(
    layer: Layer, *, keep: bool = False, progress: Callable[[int], None] | None = None,
    total: np.ndarray | None = None, bias: np.ndarray | None = None, ranges: bool = False,
) -> PassResult:
    """One pass over all partial sums: their mean ``|partial|`` ``(Cg, F)`` and, if ``keep``, the
    partials themselves ``(H', W', Cg, F)``; with ``ranges`` each partial map's min and max.
    ``total (H', W', F)``, if given (stride 1 only), is written with the pre-activation: the sum of
    the partials, plus ``bias (F,)`` if given.

    Computed block by block, so without ``keep`` a whole photo never holds all ``H'·W'·Cg·F``
    partials at once. The mean is accumulated in float64 so millions of values keep their digits
    (and float32 values near their limit do not overflow).
    """
    ho, wo = layer.geometry.out_hw
    cg, f = layer.cg, layer.filters
    g = layer.geometry
    if total is not None and g.stride != (1, 1):
        raise ValueError("partial_pass writes the pre-activation for stride-1 layers only")
    kept = np.empty((ho, wo, cg, f), dtype=layer.x.dtype) if keep else None
    stride1 = g.stride == (1, 1)
    # stride 1: the fused kernel keeps only its tile buffers; else each block's partials are made whole
    blocks = _row_tiles((0, ho), wo * (f if stride1 else cg * f), parts=THREADS)
    sums = np.zeros((len(blocks), cg, f), dtype=np.float64)  # one row per block: the same sum on any thread
    lows = np.full((len(blocks), cg, f), np.inf, dtype=layer.x.dtype) if ranges else None
    highs = np.full((len(blocks), cg, f), -np.inf, dtype=layer.x.dtype) if ranges else None

    def block(b: Pair) -> int:
        i = blocks.index(b)
        low, high = (lows[i], highs[i]) if lows is not None and highs is not None else (None, None)
        if stride1:
            fastconv.partial_stats(
                input_region(layer, b, (0, wo)), layer.kernel, g.dilation, (b[1] - b[0], wo),
                abs_sums=sums[i], low=low, high=high,
                total=None if total is None else total[b[0] : b[1]], bias=bias,
                kept=None if kept is None else kept[b[0] : b[1]])
            return b[1] - b[0]
        p = _partials(layer, b, (0, wo), threads=False)  # the blocks are already on the threads
        if kept is not None:
            kept[b[0] : b[1]] = p
        flat = p.reshape(-1, cg * f)
        sums[i] = column_reduce(np.abs(flat), np.add, np.float64).reshape(cg, f)
        if low is not None and high is not None:
            low[...] = column_reduce(flat, np.minimum).reshape(cg, f)
            high[...] = column_reduce(flat, np.maximum).reshape(cg, f)
        return b[1] - b[0]

    _each(block, blocks, progress)
    low_all = lows.min(axis=0) if lows is not None else None
    high_all = highs.max(axis=0) if highs is not None else None
    return PassResult(sums.sum(axis=0) / (ho * wo), kept, low_all, high_all)


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
    group = filt // (layer.filters // layer.groups)
    channels = t[..., group * layer.cg : (group + 1) * layer.cg]
    total = np.einsum("uvyxc,uvc->yxc", channels, layer.kernel[:, :, :, filt].astype(np.float64))
    ho, wo = layer.geometry.out_hw
    return total / block_counts((ho, wo), k, k)[:, :, None]


def mean_abs_partials(layer: Layer) -> np.ndarray:
    """Mean of ``|partial_sums|`` over every output position: ``(C // groups, F)``."""
    return partial_pass(layer)[0]


def run_bytes(layer: Layer, *, keep_partials: bool = False) -> int:
    """Bytes :func:`run_layer` allocates beyond the input: results, kept partials, block buffers."""
    ho, wo = layer.geometry.out_hw
    per_map = ho * wo * layer.x.itemsize
    total = 2 * per_map * layer.filters  # pre-activation and output
    if keep_partials:
        total += per_map * layer.cg * layer.filters
    return total + 4 * THREADS * TILE_VALUES * layer.x.itemsize


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
    region = input_region(layer, (row, row + 1), (col, col + 1))
    group = filt // (layer.filters // layer.groups)
    channels = np.arange(group * layer.cg, (group + 1) * layer.cg)
    patch = region[::dh, ::dw][:, :, channels]
    weights = layer.kernel[:, :, :, filt]
    products = patch * weights
    kh, kw = g.kernel_hw
    in_rows = row * g.stride[0] - g.pads[0] + np.arange(kh) * dh
    in_cols = col * g.stride[1] - g.pads[2] + np.arange(kw) * dw
    return Trace(patch, weights, products, products.sum(axis=(0, 1)), in_rows, in_cols, channels)



def choose_window(out_hw: Pair, at: Pair | None, size: int | None, *, default_size: int = 3) -> tuple[Pair, Pair]:
    """Output rows and cols ``((r0, r1), (c0, c1))`` to show: ``size × size`` starting at ``at``.

    Without ``at`` the window is centred on the output. A window that would run past the edge
    is shifted back inside; an explicit ``size`` larger than the whole output is an error.
    """
    ho, wo = out_hw
    if size is not None:
        if size < 1:
            raise ConfigError(f"--window must be ≥ 1, got {size}")
        if size > max(ho, wo):
            raise ShapeError(f"--window {size} is larger than the {ho}×{wo} output; use at most {max(ho, wo)}")
    n = default_size if size is None else size
    nh, nw = min(n, ho), min(n, wo)
    if at is None:
        r0, c0 = (ho - nh) // 2, (wo - nw) // 2
    else:
        r, c = at
        if not (0 <= r < ho and 0 <= c < wo):
            raise ShapeError(f"--at {r},{c} is outside the {ho}×{wo} output (rows 0..{ho - 1}, cols 0..{wo - 1})")
        r0, c0 = min(r, ho - nh), min(c, wo - nw)
    return (r0, r0 + nh), (c0, c0 + nw)


@dataclass(frozen=True)
class LayerResult:
    """One computed layer; the tables, the JSON and the saved file all read these arrays.

    ``preactivation`` and ``output`` are ``(H', W', F)``; ``window_partials`` is
    ``(r1 - r0, c1 - c0, Cg, F)`` for the display window ``rows × cols``; ``mean_abs`` is
    ``(Cg, F)``, the mean ``|partial|`` of each channel over the whole output.
    """

    layer: Layer
    bias: np.ndarray
    use_bias: bool
    activation: str
    preactivation: np.ndarray
    output: np.ndarray
    rows: Pair
    cols: Pair
    window_partials: np.ndarray
    mean_abs: np.ndarray
    partials: np.ndarray | None = None
    #: each partial map's min and max over the whole output ``(Cg, F)``, when ``run_layer(ranges=True)``
    partial_low: np.ndarray | None = None
    partial_high: np.ndarray | None = None

    def shares(self) -> np.ndarray:
        """Each channel's share of ``Σ_c mean |partial|`` per filter, in percent: ``(Cg, F)``."""
        total = self.mean_abs.sum(axis=0, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, 100.0 * self.mean_abs / total, 0.0)

    @cached_property
    def output_stats(self) -> np.ndarray:
        """Each filter's output min, mean and max over the whole map, NaN ignored: ``(F, 3)`` float64."""
        return map_stats(self.output)

    @cached_property
    def preactivation_stats(self) -> np.ndarray:
        """:attr:`output_stats` of the pre-activation (the same array for ``linear``)."""
        return self.output_stats if self.output is self.preactivation else map_stats(self.preactivation)

    def full_partials(self) -> np.ndarray:
        """All partial sums ``(H', W', Cg, F)``: kept by ``run_layer(keep_partials=True)`` or computed now."""
        if self.partials is not None:
            return self.partials
        ho, wo = self.layer.geometry.out_hw
        return _partials(self.layer, (0, ho), (0, wo))


def map_stats(values: np.ndarray) -> np.ndarray:
    """Min, mean and max of each map of ``values (H', W', F)``, NaN ignored: ``(F, 3)`` float64.

    One pass per statistic; only a map whose plain result is NaN takes the slower NaN-aware one.
    """
    f = values.shape[-1]
    flat = values.reshape(-1, f)
    n = max(1, flat.shape[0])
    stats = np.stack([column_reduce(flat, np.minimum), column_reduce(flat, np.add, np.float64) / n,
                      column_reduce(flat, np.maximum)], axis=1).astype(np.float64)
    for i in np.flatnonzero(np.isnan(stats).any(axis=1)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN map: its stats are NaN
            col = flat[:, i]
            stats[i] = [np.nanmin(col), np.nanmean(col, dtype=np.float64), np.nanmax(col)]
    return stats


def finite_maps(values: np.ndarray) -> np.ndarray:
    """Whether every value of each map of ``values (H', W', F)`` is finite: ``(F,)`` bool.

    One float64 sum per map: NaN or ±Inf anywhere makes the sum non-finite. A float32 map cannot
    overflow that sum; a float64 map of values near 1e308 can, and is then reported too.
    """
    flat = values.reshape(-1, values.shape[-1])
    return np.isfinite(column_reduce(flat, np.add, np.float64))


def channels_map(layer: Layer, filt: int, channels: Sequence[int]) -> np.ndarray:
    """The sum of filter ``filt``'s partial maps over ``channels`` (indices within its group): ``(H', W')``.

    One single-filter convolution over those channels, never the full partial maps.
    """
    group = filt // (layer.filters // layer.groups)
    picked = [group * layer.cg + int(c) for c in channels]
    one = Layer(layer.x[:, :, picked], layer.kernel[:, :, list(channels), filt : filt + 1], 1, layer.geometry)
    ho, wo = layer.geometry.out_hw
    return _conv(one, (0, ho), (0, wo))[:, :, 0]


def run_layer(
    layer: Layer,
    bias: np.ndarray | Sequence[float] | float | None,
    activation: str,
    rows: Pair,
    cols: Pair,
    *,
    use_bias: bool = True,
    keep_partials: bool = False,
    ranges: bool = False,
    progress: Callable[[float], None] | None = None,
) -> LayerResult:
    """Compute everything ``convcli run`` shows for ``layer`` with the display window rows × cols.

    ``keep_partials`` keeps all ``(H', W', Cg, F)`` partials (for saving) from the same pass that
    measures each channel's share; ``ranges`` measures each partial map's min and max in it too.
    ``progress(fraction)`` reports the work done, 0 to 1.
    """
    if bias is not None and not use_bias:
        raise ConfigError("a bias was given but the layer has use_bias=False (--no-bias)")
    _activation(activation)  # an unknown name fails before the work, not after it
    ho, wo = layer.geometry.out_hw
    b = check_bias(bias, layer.filters, layer.x.dtype)
    fused = fuses_conv(layer)
    # unless fused, the convolution and the partials are the same multiply-adds: each is half of the work
    done = [0]
    passes = 1 if fused else 2

    def step(rows_done: int) -> None:
        done[0] += rows_done
        if progress is not None:
            progress(min(1.0, done[0] / (passes * ho)))

    if fused:
        pre = np.empty((ho, wo, layer.filters), dtype=layer.x.dtype)
        measured = partial_pass(layer, keep=keep_partials, progress=step, total=pre, bias=b, ranges=ranges)
    else:
        pre = _conv(layer, (0, ho), (0, wo), step, bias=b)
        measured = partial_pass(layer, keep=keep_partials, progress=step, ranges=ranges)
    out = activate(pre, activation)
    window = _partials(layer, rows, cols)
    return LayerResult(layer, b, use_bias, activation, pre, out, rows, cols, window, measured.mean_abs,
                       measured.partials, measured.low, measured.high)


# --------------------------------------------------------------------------------------------
# Activations, by their Keras names

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of -|z| never overflows, and for z < 0 the form e / (1 + e) keeps the relative precision
    # of tiny results (sigmoid(-40) ≈ 4.2e-18) that 0.5·(1 + tanh(z/2)) rounds to 0
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "relu6": lambda z: np.clip(z, 0, 6),
    "leaky_relu": lambda z: np.where(z >= 0, z, z * z.dtype.type(0.2)),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "selu": lambda z: z.dtype.type(_SELU_SCALE)
    * np.where(z > 0, z, z.dtype.type(_SELU_ALPHA) * np.expm1(np.minimum(z, 0))),
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda z: np.clip(z + 3, 0, 6) / z.dtype.type(6),
    "tanh": np.tanh,
    "softplus": lambda z: np.logaddexp(z.dtype.type(0), z),
    "softsign": lambda z: z / (1 + np.abs(z)),
    "silu": lambda z: z * _sigmoid(z),
    "exponential": np.exp,
}
ACTIVATIONS["swish"] = ACTIVATIONS["silu"]

#: What each activation computes, for help texts and headers.
ACTIVATION_FORMULAS = {
    "linear": "z",
    "relu": "max(z, 0)",
    "relu6": "min(max(z, 0), 6)",
    "leaky_relu": "z if z ≥ 0 else 0.2·z",
    "elu": "z if z > 0 else exp(z) − 1",
    "selu": "1.0507·(z if z > 0 else 1.6733·(exp(z) − 1))",
    "sigmoid": "1 / (1 + exp(−z))",
    "hard_sigmoid": "relu6(z + 3) / 6",
    "tanh": "tanh(z)",
    "softplus": "log(1 + exp(z))",
    "softsign": "z / (1 + |z|)",
    "silu": "z · sigmoid(z)",
    "swish": "z · sigmoid(z)",
    "exponential": "exp(z)",
}


def _activation(name: str) -> Callable[[np.ndarray], np.ndarray]:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ConfigError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}") from None


def activate(z: np.ndarray, name: str) -> np.ndarray:
    """Apply the Keras activation ``name`` element-wise; the dtype of ``z`` is kept."""
    fn = _activation(name)
    z = np.asarray(z)
    with np.errstate(over="ignore"):
        return np.asarray(fn(z), dtype=z.dtype)
