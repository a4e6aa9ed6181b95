"""The separable convolution (``SeparableConv{1,2}D``): a depthwise conv, then a pointwise one, numpy only.

The depthwise step filters each input channel alone with ``M`` kernels (``depthwise_kernel
(*k, C, M)``: output ``c·M + j`` reads channel ``c``); the pointwise step is a ``1×…×1`` conv of
those ``C·M`` maps to ``F`` filters (``pointwise_kernel (1, …, 1, C·M, F)``)::

    dw[o, c, j] = Σ_t x[o·s + t·d, c] · depthwise_kernel[t, c, j]      (x zero-padded, cross-correlation)
    out[o, f]   = bias[f] + Σ_c Σ_j dw[o, c, j] · pointwise_kernel[..., c·M + j, f]

Input channel ``c``'s partial is its depthwise maps carried through the pointwise weights,
``partials[o, c, f] = Σ_j dw[o, c, j] · pointwise[c·M + j, f]``, so the partials ``(*S', C, F)``
sum over ``c`` to the pre-activation minus the bias, as a conv's do. Shapes: ``x (*S, C)`` with
1, 2 or 3 spatial axes (Keras has no 3-D separable class; the arithmetic is the same), output
``(*S', F)``. The depthwise step is one multiply-add per tap over strided slices of the padded
input; the pointwise step is one matmul.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from convcli.engine.bind import Layer, check_bias, resolve_dtype
from convcli.engine.conv import conv_region
from convcli.engine.transpose import per_axis, real_array, whole_numbers
from convcli.errors import ConfigError, ShapeError
from convcli.layer.geometry import Geometry
from convcli.layer.spec import ConvSpec


@dataclass(frozen=True)
class SeparableLayer:
    """A separable layer bound to one input: ``x (*S, C)``, ``depthwise (*k, C, M)`` and ``pointwise
    (C·M, F)`` (the 1×…×1 axes dropped) in the compute dtype, and the depthwise step's geometry."""

    x: np.ndarray
    depthwise: np.ndarray
    pointwise: np.ndarray
    geometry: Geometry

    @property
    def ndim(self) -> int:
        return self.x.ndim - 1

    @property
    def in_channels(self) -> int:
        return int(self.x.shape[-1])

    @property
    def depth_multiplier(self) -> int:
        return int(self.depthwise.shape[-1])

    @property
    def filters(self) -> int:
        return int(self.pointwise.shape[-1])


def bind_separable(
    x: np.ndarray,
    depthwise_kernel: np.ndarray,
    pointwise_kernel: np.ndarray,
    *,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[str | int] = "valid",
    dilation: int | Sequence[int] = 1,
    dtype: object = np.float32,
) -> SeparableLayer:
    """Check ``x (*S, C)`` against ``depthwise_kernel (*k, C, M)`` and ``pointwise_kernel
    (1, …, 1, C·M, F)`` (or ``(C·M, F)``) and bind the depthwise step's geometry.

    ``padding`` is ``"valid"``, ``"same"`` (Keras' rule) or a symmetric count of zeros, one for every
    axis or one per axis, as ``stride`` and ``dilation``.
    """
    dt = resolve_dtype(dtype)
    xa = real_array(x, "the input")
    dw = real_array(depthwise_kernel, "the depthwise kernel")
    pw = real_array(pointwise_kernel, "the pointwise kernel")
    n = xa.ndim - 1
    if n not in (1, 2, 3):
        raise ShapeError(f"the input must be (L, C), (H, W, C) or (D, H, W, C), got shape {xa.shape}")
    c = int(xa.shape[-1])
    if dw.ndim != n + 2 or dw.shape[-2] != c:
        raise ShapeError(f"the depthwise kernel must be (*k, C={c}, M) over {n} axes, got shape {dw.shape}",
                         field="kernel_shape")
    m = int(dw.shape[-1])
    if pw.ndim == n + 2:
        if any(v != 1 for v in pw.shape[:n]):
            raise ShapeError(f"the pointwise kernel must be 1×…×1 on its spatial axes, got shape {pw.shape}",
                             field="kernel_shape")
        pw = pw.reshape(pw.shape[-2:])
    if pw.ndim != 2 or pw.shape[0] != c * m:
        raise ShapeError(f"the pointwise kernel must be ({'1, ' * n}C·M={c * m}, F), got shape {pw.shape}",
                         field="kernel_shape")
    strides = whole_numbers(per_axis(stride, n, "stride"), 1, "stride", "the stride")
    dilations = whole_numbers(per_axis(dilation, n, "dilation"), 1, "dilation", "the dilation")
    pads = per_axis(padding, n, "padding")
    for p in pads:
        if isinstance(p, str):
            if p not in ("valid", "same", "causal"):
                raise ConfigError(f"padding is valid, same, causal (1-D) or a count of zeros, got {p!r}",
                                  field="padding")
        else:
            whole_numbers((p,), 0, "padding", "the padding")
    geometry = Geometry.build(xa.shape[:n], dw.shape[:n], strides, dilations,
                              tuple(p if isinstance(p, str) else int(p or 0) for p in pads))
    return SeparableLayer(xa.astype(dt, copy=False), dw.astype(dt, copy=False), pw.astype(dt, copy=False), geometry)


#: Depthwise values computed per block of output rows (first axis), so that a block and its temporary
#: stay in cache while the taps add up (and the pointwise matmul reads it there).
BLOCK_VALUES = 1 << 16


def _padded(layer: SeparableLayer) -> np.ndarray:
    g = layer.geometry
    if any(p != (0, 0) for p in g.pad_width):
        return np.pad(layer.x, (*g.pad_width, (0, 0)))
    return layer.x


def _row_blocks(layer: SeparableLayer) -> range:
    g = layer.geometry
    per_row = max(1, int(np.prod(g.out_size[1:])) * layer.in_channels * layer.depth_multiplier)
    return range(0, g.out_size[0], max(1, BLOCK_VALUES // per_row))


def _depthwise_rows(layer: SeparableLayer, xpad: np.ndarray, r0: int, r1: int, out: np.ndarray,
                    tmp: np.ndarray) -> None:
    """Output rows ``[r0, r1)`` of the depthwise step into ``out (r1 - r0, *S'[1:], C, M)`` (zeroed here);
    ``tmp`` a scratch array at least that large."""
    g = layer.geometry
    m = layer.depth_multiplier
    acc = out[..., 0] if m == 1 else out
    scratch = tmp.reshape(-1)[:acc.size].reshape(acc.shape)
    acc[...] = 0
    for tap in itertools.product(*(range(k) for k in g.kernel)):
        first = slice(r0 * g.strides[0] + tap[0] * g.dilations[0], (r1 - 1) * g.strides[0] + tap[0] * g.dilations[0] + 1,
                      g.strides[0])
        rest = tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, s, o in
                     zip(tap[1:], g.dilations[1:], g.strides[1:], g.out_size[1:], strict=True))
        src = xpad[(first, *rest)]
        w = layer.depthwise[tap]  # (C, M)
        if m == 1:
            np.multiply(src, w[:, 0], out=scratch)
        else:
            np.multiply(src[..., None], w, out=scratch)
        acc += scratch


def depthwise_maps(layer: SeparableLayer) -> np.ndarray:
    """The depthwise step ``(*S', C, M)``: ``[o, c, j]`` is channel ``c`` cross-correlated with
    ``depthwise_kernel[..., c, j]``. 2-D layers take the engine's depthwise fast path (a grouped conv
    with groups = C, :func:`convcli.engine.conv.conv_region`); 1-D and 3-D ones a multiply-add per tap."""
    g = layer.geometry
    if layer.ndim == 2:
        c, m = layer.in_channels, layer.depth_multiplier
        grouped = Layer(layer.x, layer.depthwise.reshape(*g.kernel, 1, c * m), c, g)
        return conv_region(grouped, (0, g.out_size[0]), (0, g.out_size[1])).reshape(*g.out_size, c, m)
    xpad = _padded(layer)
    out = np.empty((*g.out_size, layer.in_channels, layer.depth_multiplier), dtype=layer.x.dtype)
    blocks = _row_blocks(layer)
    tmp = np.empty(out[: blocks.step].size, dtype=layer.x.dtype)
    for r0 in blocks:
        r1 = min(r0 + blocks.step, g.out_size[0])
        _depthwise_rows(layer, xpad, r0, r1, out[r0:r1], tmp)
    return out


def separable_partials(layer: SeparableLayer, maps: np.ndarray | None = None) -> np.ndarray:
    """Each input channel's contribution ``(*S', C, F)``: its depthwise maps through the pointwise
    weights. ``maps`` is :func:`depthwise_maps` when already computed."""
    dw = depthwise_maps(layer) if maps is None else maps
    pw = layer.pointwise.reshape(layer.in_channels, layer.depth_multiplier, layer.filters)
    parts: np.ndarray = np.einsum("...cm,cmf->...cf", dw, pw, optimize=True)
    return parts


def separable_preactivation(layer: SeparableLayer, bias: np.ndarray | Sequence[float] | float | None = None,
                            maps: np.ndarray | None = None) -> np.ndarray:
    """The pre-activation ``(*S', F)``: the pointwise matmul of the depthwise maps, plus ``bias (F,)``;
    block by block of output rows (each block's depthwise maps, then its matmul) unless ``maps`` is given."""
    g = layer.geometry
    cm = layer.in_channels * layer.depth_multiplier
    out = np.empty((*g.out_size, layer.filters), dtype=layer.x.dtype)
    if maps is None and layer.ndim == 2:
        maps = depthwise_maps(layer)
    if maps is not None:
        np.matmul(maps.reshape(-1, cm), layer.pointwise, out=out.reshape(-1, layer.filters))
    else:
        xpad = _padded(layer)
        blocks = _row_blocks(layer)
        block = np.empty((blocks.step, *g.out_size[1:], layer.in_channels, layer.depth_multiplier),
                         dtype=layer.x.dtype)
        tmp = np.empty(block.size, dtype=layer.x.dtype)
        for r0 in blocks:
            r1 = min(r0 + blocks.step, g.out_size[0])
            dw = block[: r1 - r0]
            _depthwise_rows(layer, xpad, r0, r1, dw, tmp)
            np.matmul(dw.reshape(-1, cm), layer.pointwise, out=out[r0:r1].reshape(-1, layer.filters))
    out += check_bias(bias, layer.filters, layer.x.dtype)
    return out


def separable_conv(
    x: np.ndarray,
    depthwise_kernel: np.ndarray,
    pointwise_kernel: np.ndarray,
    bias: np.ndarray | Sequence[float] | float | None = None,
    *,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[str | int] = "valid",
    dilation: int | Sequence[int] = 1,
    dtype: object = np.float32,
) -> np.ndarray:
    """Pre-activation ``(*S', F)`` of a separable layer (settings as :func:`bind_separable`)."""
    layer = bind_separable(x, depthwise_kernel, pointwise_kernel, stride=stride, padding=padding,
                           dilation=dilation, dtype=dtype)
    return separable_preactivation(layer, bias)


def as_conv(layer: SeparableLayer) -> Layer:
    """The ordinary conv that computes ``layer``: the same input and geometry, groups 1, and the
    kernel ``(*k, C, F)`` whose tap ``t`` is ``Σ_j depthwise[t, c, j] · pointwise[c·M + j, f]``. Its
    per-channel partials are exactly :func:`separable_partials` (channel ``c``'s depthwise maps
    through the pointwise weights), both being linear in channel ``c`` alone."""
    c, m, f = layer.in_channels, layer.depth_multiplier, layer.filters
    kernel = np.einsum("...cm,cmf->...cf", layer.depthwise, layer.pointwise.reshape(c, m, f))
    return Layer(layer.x, np.ascontiguousarray(kernel), 1, layer.geometry)


def bind(spec: ConvSpec, x: np.ndarray, kernel: Mapping[str, np.ndarray], *, dtype: object = np.float32) -> Layer:
    """A separable ``spec`` bound to ``x (*S, C)`` and its kernels ``{"depthwise_kernel": (*k, C, M),
    "pointwise_kernel": (1, …, 1, C·M, F)}``, as the conv that computes it (:func:`as_conv`): the
    ``convcli.pipeline.kinds.KIND_ENGINES`` seam."""
    padding = spec.padding if isinstance(spec.padding, str) else tuple(spec.padding)
    layer = bind_separable(x, kernel["depthwise_kernel"], kernel["pointwise_kernel"], stride=spec.stride,
                           padding=padding, dilation=spec.dilation, dtype=dtype)
    return as_conv(layer)
