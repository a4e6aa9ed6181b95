"""The general path: a bound layer of any rank (1, 2 or 3 spatial axes) as one einsum over windows.

The tiled fast paths of :mod:`convcli.engine.conv` serve 2-D layers; this module serves every rank
with the textbook formula, written once for ``n`` axes: the input is zero-padded by the geometry's
``pad_width``, :func:`numpy.lib.stride_tricks.sliding_window_view` cuts out every receptive field
(a view, no copy), strided and dilated slicing keeps the taps, and :func:`numpy.einsum` contracts
them with the kernel, group by group::

    out[o, f] = Σ_c Σ_t xpad[o·s + t·d, g·Cg + c] · kernel[t, c, f]      (o, t: n-axis indices)

Cross-correlation, as everywhere in the engine. Shapes: ``x (*S, C)``, ``kernel (*k, Cg, F)``,
output ``(*S', F)``, partial sums ``(*S', Cg, F)``. numpy only.
"""

from __future__ import annotations

import itertools
from math import prod
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convcli.engine import fast, tiles
from convcli.engine.bind import Layer, check_bias
from convcli.layer.geometry import Geometry, span

if TYPE_CHECKING:
    from convcli.engine.passes import LayerResult

#: Receptive-field values materialised per block of the first output axis (bounded memory).
BLOCK_VALUES = 1 << 22

_OUT, _TAPS = "xyz", "uvw"  # einsum letters of up to three output axes and kernel axes (c, f: channel, filter)


def windows(layer: Layer) -> np.ndarray:
    """Every receptive field of ``layer``, taps only: a view ``(*S', C, *k)`` of the padded input."""
    g = layer.geometry
    n = g.ndim
    xpad = np.pad(layer.x, (*g.pad_width, (0, 0)))
    spans = tuple(span(k, d) for k, d in zip(g.kernel, g.dilations, strict=True))
    patches = sliding_window_view(xpad, spans, axis=tuple(range(n)))  # (*positions, C, *spans)
    outer = tuple(slice(None, None, s) for s in g.strides)
    taps = tuple(slice(None, None, d) for d in g.dilations)
    fields: np.ndarray = patches[(*outer, slice(None), *taps)]
    return fields


def _contract(layer: Layer, per_channel: bool) -> np.ndarray:
    """The einsum of every window with the kernel, group by group, in blocks of the first output axis:
    ``(*S', F)``, or ``(*S', Cg, F)`` with ``per_channel`` (the channel axis kept, not summed)."""
    n = layer.ndim
    out_axes, taps = _OUT[:n], _TAPS[:n]
    groups, cg, f = layer.groups, layer.cg, layer.filters
    fg = f // groups
    fields = windows(layer)
    kept = "c" if per_channel else ""
    rule = f"{out_axes}c{taps},{taps}cf->{out_axes}{kept}f"
    out = np.empty((*fields.shape[:n], *((cg,) if per_channel else ()), f), dtype=layer.x.dtype)
    step = max(1, BLOCK_VALUES // max(1, fields[:1].size))
    for r in range(0, fields.shape[0], step):
        block = fields[r : r + step]
        for grp in range(groups):
            channels = (*(slice(None),) * n, slice(grp * cg, (grp + 1) * cg))
            out[r : r + step, ..., grp * fg : (grp + 1) * fg] = np.einsum(
                rule, block[channels], layer.kernel[..., grp * fg : (grp + 1) * fg], optimize=True
            )
    return out


def layer_output(layer: Layer, bias: np.ndarray | None = None) -> np.ndarray:
    """Pre-activation ``(*S', F)`` of a bound layer of any rank, plus ``bias (F,)`` (zeros if ``None``).

    Computed as matrix products, not the einsum of :func:`layer_partials_nd` (which keeps the channel
    axis): the last axis' ``k`` taps are gathered beside the channels (``(…, W', k·Cg)``, an im2col of
    one axis), then one product with the kernel ``(k·Cg, F/g)`` per tap of the other axes and group,
    in blocks of the first output axis: a third of the einsum's time on a Conv3D."""
    g = layer.geometry
    xpad = np.pad(layer.x, (*g.pad_width, (0, 0))) if any(b or a for b, a in g.pad_width) else layer.x
    out = np.empty((*g.out_size, layer.filters), dtype=layer.x.dtype)
    if g.ndim == 3 and g.strides == (1, 1, 1) and layer.groups == 1:
        _planes(xpad, layer, out)
        if bias is not None:  # no pass over the whole output to add zeros
            out += check_bias(bias, layer.filters, layer.x.dtype)
        return out
    s0, span0 = g.strides[0], span(g.kernel[0], g.dilations[0])
    per_row = max(1, prod(g.out_size[1:]) * g.kernel[-1] * layer.cg)
    step = max(1, BLOCK_VALUES // per_row)
    for r in range(0, g.out_size[0], step):
        stop = min(r + step, g.out_size[0])
        rows = xpad[r * s0 : (stop - 1) * s0 + span0]
        out[r:stop] = _tap_products(rows, layer, (stop - r, *g.out_size[1:]))
    out += check_bias(bias, layer.filters, layer.x.dtype)
    return out


def _planes(xpad: np.ndarray, layer: Layer, out: np.ndarray) -> None:
    """``out (D', H', W', F)`` of a stride-1, one-group 3-D layer from its padded input ``xpad``: the flattened
    grid's fast path (:func:`convcli.engine.fast.conv_planes`), blocks of output planes on the threads,
    BLAS on one thread."""
    xpad = np.ascontiguousarray(xpad)
    dilations = (layer.geometry.dilations[0], layer.geometry.dilations[1], layer.geometry.dilations[2])

    def block(planes: tuple[int, int]) -> int:
        fast.conv_planes(xpad, layer.kernel, dilations, planes, out[planes[0] : planes[1]])
        return planes[1] - planes[0]

    per_plane = prod(out.shape[1:])
    # GEMMs of a thousand rows: OpenBLAS's own threads cost more than they give (10x the CPU time on a
    # loaded machine), so BLAS is on one thread even where the blocks are not on the pool
    with tiles.blas_single_thread():
        tiles.each(block, tiles.row_tiles((0, out.shape[0]), per_plane, parts=4 * tiles.THREADS), None)


def _tap_products(x: np.ndarray, layer: Layer, out_size: tuple[int, ...]) -> np.ndarray:
    """``(*out_size, F)``: the padded block ``x (*S, C)`` read without padding by ``layer``'s kernel."""
    g = layer.geometry
    groups, cg, f = layer.groups, layer.cg, layer.filters
    fg = f // groups
    k_last, s_last, d_last, o_last = g.kernel[-1], g.strides[-1], g.dilations[-1], out_size[-1]
    out = np.zeros((*out_size, f), dtype=layer.x.dtype)
    for grp in range(groups):
        xg = x[..., grp * cg : (grp + 1) * cg]
        cols = np.concatenate([xg[..., t * d_last : t * d_last + (o_last - 1) * s_last + 1 : s_last, :]
                               for t in range(k_last)], axis=-1)  # (*S_other, W', k·Cg)
        weights = layer.kernel[..., grp * fg : (grp + 1) * fg].reshape(*g.kernel[:-1], k_last * cg, fg)
        for tap in itertools.product(*(range(k) for k in g.kernel[:-1])):
            window = tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                           for t, d, s, o in zip(tap, g.dilations[:-1], g.strides[:-1], out_size[:-1], strict=True))
            out[..., grp * fg : (grp + 1) * fg] += cols[window] @ weights[tap]
    return out


def layer_partials_nd(layer: Layer) -> np.ndarray:
    """Each input channel's contribution to each filter, ``(*S', Cg, F)``: ``[o, c, f]`` is channel
    ``g·Cg + c`` (``g`` the group of filter ``f``) cross-correlated with ``kernel[..., c, f]``, so that
    its sum over ``c`` plus the bias is :func:`layer_output`."""
    return _contract(layer, per_channel=True)


def depth_slice(layer: Layer, d: int) -> tuple[Layer, tuple[int, ...]]:
    """Output plane ``d`` of a 3-D layer as the 2-D layer that computes it, and the input planes it reads.

    The ``kd`` input planes the kernel reads for plane ``d`` (zeros where they fall in the depth padding)
    become channels: ``x (H, W, groups·kd·Cg)``, channel ``g·kd·Cg + t·Cg + c`` being channel ``g·Cg + c``
    of plane ``d·sd + t·dd - pad``; ``kernel (kh, kw, kd·Cg, F)``. Its output is the 3-D output's plane
    ``d`` ``(H', W', F)``, and its partials per (plane, channel) add up to the 3-D partials per channel."""
    g = layer.geometry
    if g.ndim != 3:
        raise ValueError(f"depth_slice takes a 3-D layer, not a {g.ndim}-D one")
    if not 0 <= d < g.out_size[0]:
        raise IndexError(f"plane {d} is outside the output's {g.out_size[0]} planes")
    depth, h, w, _ = layer.x.shape
    kd, kh, kw, cg, f = layer.kernel.shape
    groups = layer.groups
    planes = tuple(d * g.strides[0] + t * g.dilations[0] - g.pad_width[0][0] for t in range(kd))
    x2 = np.zeros((h, w, groups, kd, cg), dtype=layer.x.dtype)
    for t, p in enumerate(planes):
        if 0 <= p < depth:
            x2[:, :, :, t, :] = layer.x[p].reshape(h, w, groups, cg)
    kernel2 = np.ascontiguousarray(layer.kernel.transpose(1, 2, 0, 3, 4)).reshape(kh, kw, kd * cg, f)
    plane = Geometry(g.in_size[1:], g.kernel[1:], g.strides[1:], g.dilations[1:], g.pad_width[1:], g.out_size[1:])
    return Layer(x2.reshape(h, w, groups * kd * cg), kernel2, groups, plane), planes


def run_general(layer: Layer, bias: np.ndarray | None, activation: str, *, use_bias: bool = True) -> LayerResult:
    """Everything a run computes for a layer of any rank, on the general path: the output ``(*S', F)``, the
    pre-activation, the partials ``(*S', Cg, F)`` (kept) and each channel's mean ``|partial|`` ``(Cg, F)``."""
    from convcli.engine.activations import activate, activation_fn
    from convcli.engine.passes import LayerResult

    activation_fn(activation)
    b = check_bias(bias, layer.filters, layer.x.dtype)
    partials = layer_partials_nd(layer)
    pre = layer_output(layer, b)
    flat = partials.reshape(-1, layer.cg, layer.filters)
    mean_abs = np.abs(flat).mean(axis=0, dtype=np.float64)
    low, high = flat.min(axis=0), flat.max(axis=0)
    return LayerResult(layer, b, use_bias, activation, pre, activate(pre, activation), mean_abs, partials, low, high)
