"""The transposed convolution (``Conv{1,2,3}DTranspose``, ``ConvTranspose{1,2,3}d``), numpy only.

A transposed layer spreads its input instead of gathering it: input position ``i`` (one index per
spatial axis) puts a copy of the kernel, scaled by ``x[i, c]``, at ``i·s`` (dilated by ``d``), and
the copies that overlap are added. Along each axis the *full* output has ``(n - 1)·s + K``
positions (``K = (k - 1)·d + 1``); the layer's output is that cut by its padding
(:class:`~convcli.layer.geometry.TransposeGeometry`, :func:`~convcli.layer.geometry.transpose_crop_1d`:
PyTorch's ``padding``/``output_padding`` or Keras' ``valid``/``same``)::

    out[o, f] = bias[f] + Σ_c Σ_{i, t : i·s + t·d = o + before} x[i, g·Cg + c] · kernel[t, f - g·Fg, g·Cg + c]

for filter ``f`` of group ``g`` (``Cg = C/groups`` input channels and ``Fg = F/groups`` filters per
group). Shapes: ``x (*S, C)``, ``kernel (*k, F/g, C)`` (Keras' ``(*k, F, C)`` when groups = 1;
:func:`kernel_from_torch` reads PyTorch's ``(C, F/g, *k)``), ``bias (F,)``, output ``(*S', F)``,
partials ``(*S', Cg, F)``: ``[o, c, f]`` is channel ``g·Cg + c``'s contribution, so the partials
sum over ``c`` to the pre-activation minus the bias.

The work is a scatter-add over kernel taps: one matmul of the input with every tap's weights at
once, then one strided slice per tap (``o = i·s + t·d - before``), never a loop over positions.
:func:`trace_transposed` lists, for one output position, the input positions and taps that land
on it, per channel (the scatter view of Dumoulin and Visin's conv_arithmetic).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from convcli.engine.bind import Layer, check_bias, resolve_dtype
from convcli.errors import ConfigError, ShapeError
from convcli.layer.geometry import Geometry, TransposeGeometry
from convcli.layer.spec import ConvSpec

#: Values of the per-block matmul result ``(block, taps, Fg)`` materialised at once: bounded memory, and
#: blocks small enough to stay in the allocator's reused memory (2²¹ beat 2²³ by 1.3-2.5× on the
#: Conv2DTranspose bench row; 2²⁰ and 2²² were slower too).
BLOCK_VALUES = 1 << 21


@dataclass(frozen=True)
class TransposeLayer:
    """A transposed layer bound to one input: ``x (*S, C)`` and ``kernel (*k, F/g, C)`` in the compute
    dtype, ``groups`` and the geometry."""

    x: np.ndarray
    kernel: np.ndarray
    groups: int
    geometry: TransposeGeometry

    @property
    def ndim(self) -> int:
        return self.x.ndim - 1

    @property
    def in_channels(self) -> int:
        return int(self.x.shape[-1])

    @property
    def cg(self) -> int:
        """Input channels per group."""
        return self.in_channels // self.groups

    @property
    def fg(self) -> int:
        """Filters per group."""
        return int(self.kernel.shape[-2])

    @property
    def filters(self) -> int:
        return self.fg * self.groups


#: One setting of one axis as given: a size, a padding name, or ``None`` (the framework's default).
Setting = int | str | None


def per_axis(value: Setting | Sequence[Setting], n: int, field: str) -> tuple[Setting, ...]:
    """``value`` for each of ``n`` axes: one value is every axis'; a sequence must have ``n``
    (:class:`ConfigError` with ``field`` otherwise)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        values = tuple(value)
        if len(values) != n:
            raise ConfigError(f"{field} takes one value or {n} (one per axis), got {len(values)}", field=field)
        return values
    return (value,) * n


def whole_numbers(values: Sequence[Setting], minimum: int, field: str, name: str) -> tuple[int, ...]:
    """``values`` as ints ≥ ``minimum``; :class:`ConfigError` with ``field`` naming ``name`` otherwise."""
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise ConfigError(f"{name} must be whole numbers ≥ {minimum}, got {v!r}", field=field)
    return tuple(int(v) for v in values)  # type: ignore[arg-type]  # checked above


def real_array(a: object, what: str) -> np.ndarray:
    """``a`` as an array of real numbers (ints or floats, not empty); :class:`ShapeError` naming ``what``."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "iuf":
        raise ShapeError(f"{what} must hold real numbers, got dtype {arr.dtype}")
    if arr.size == 0:
        raise ShapeError(f"{what} is empty (shape {arr.shape})")
    return arr


def bind_transpose(
    x: np.ndarray,
    kernel: np.ndarray,
    *,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[str | int] = "valid",
    output_padding: int | Sequence[int] | None = None,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    dtype: object = np.float32,
) -> TransposeLayer:
    """Check ``x (*S, C)`` against ``kernel (*k, F/g, C)`` and bind the geometry.

    Every setting is one value or one per axis. ``padding``: ``"valid"`` or ``"same"`` (Keras 3's
    rules) or PyTorch's count ``P``; ``output_padding``: ``None`` (the framework's default) or
    per axis, smaller than the stride (Keras) or than the stride or dilation (PyTorch).
    """
    dt = resolve_dtype(dtype)
    xa, ka = real_array(x, "the input"), real_array(kernel, "the kernel")
    n = xa.ndim - 1
    if n not in (1, 2, 3):
        raise ShapeError(f"the input must be (L, C), (H, W, C) or (D, H, W, C), got shape {xa.shape}")
    if ka.ndim != n + 2:
        raise ShapeError(f"a {n}-D transposed kernel is {n + 2}-D (*k, F/groups, C), got shape {ka.shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ConfigError(f"groups must be a whole number ≥ 1, got {groups!r}", field="groups")
    c = int(xa.shape[-1])
    if c % groups:
        raise ConfigError(f"groups={groups} does not divide the input's {c} channels", field="groups")
    if ka.shape[-1] != c:
        raise ShapeError(f"the kernel {ka.shape} is for {ka.shape[-1]} input channels but the input has {c}",
                         field="kernel_shape")
    strides = whole_numbers(per_axis(stride, n, "stride"), 1, "stride", "the stride")
    dilations = whole_numbers(per_axis(dilation, n, "dilation"), 1, "dilation", "the dilation")
    pads = per_axis(padding, n, "padding")
    for p in pads:
        if isinstance(p, str):
            if p not in ("valid", "same"):
                raise ConfigError(f"a transposed layer's padding is valid, same or a count, got {p!r}",
                                  field="padding")
        else:
            whole_numbers((p,), 0, "padding", "the padding")
    ops = None if output_padding is None else whole_numbers(per_axis(output_padding, n, "output_padding"), 0,
                                                            "output_padding", "the output padding")
    geometry = TransposeGeometry.build(xa.shape[:n], ka.shape[:n], strides, dilations,
                                       tuple(p if isinstance(p, str) else int(p or 0) for p in pads), ops)
    return TransposeLayer(xa.astype(dt, copy=False), ka.astype(dt, copy=False), int(groups), geometry)


def kernel_from_torch(weight: np.ndarray) -> np.ndarray:
    """PyTorch's transposed weight ``(C, F/g, *k)`` in Keras' layout ``(*k, F/g, C)``."""
    w = np.asarray(weight)
    return np.ascontiguousarray(np.moveaxis(w, (0, 1), (-1, -2)))


def kernel_to_torch(kernel: np.ndarray) -> np.ndarray:
    """Keras' transposed kernel ``(*k, F/g, C)`` in PyTorch's layout ``(C, F/g, *k)``."""
    k = np.asarray(kernel)
    return np.ascontiguousarray(np.moveaxis(k, (-1, -2), (0, 1)))


def _landing(n: int, out: int, s: int, d: int, before: int, t: int, lo: int = 0, hi: int | None = None
             ) -> tuple[slice, slice] | None:
    """The input positions ``i`` in ``[lo, hi)`` whose tap ``t`` lands inside the output along one
    axis, and where they land (``o = i·s + t·d - before``): ``(input slice, output slice)``."""
    hi = n if hi is None else min(hi, n)
    shift = t * d - before
    first = max(lo, -(shift // s))  # smallest i with i·s + shift ≥ 0
    last = min(hi - 1, (out - 1 - shift) // s)  # largest i with i·s + shift ≤ out - 1
    if first > last:
        return None
    o0 = first * s + shift
    return slice(first, last + 1), slice(o0, o0 + (last - first) * s + 1, s)


def _tap_slices(layer: TransposeLayer, lo: int = 0, hi: int | None = None
                ) -> Iterator[tuple[int, tuple[slice, ...], tuple[slice, ...]]]:
    """For every kernel tap (C order) that lands anywhere: ``(tap index, input slices, output slices)``,
    input positions of the first axis restricted to ``[lo, hi)``."""
    g = layer.geometry
    for flat, tap in enumerate(itertools.product(*(range(k) for k in g.kernel))):
        ins, outs = [], []
        for a, t in enumerate(tap):
            got = _landing(g.in_size[a], g.out_size[a], g.strides[a], g.dilations[a], g.crops[a][0], t,
                           *((lo, hi) if a == 0 else (0, None)))
            if got is None:
                break
            ins.append(got[0])
            outs.append(got[1])
        else:
            yield flat, tuple(ins), tuple(outs)


def transpose_preactivation(layer: TransposeLayer, bias: np.ndarray | Sequence[float] | float | None = None
                            ) -> np.ndarray:
    """The pre-activation ``(*S', F)``: every input value's kernel copy added where it lands, plus
    ``bias (F,)`` (zeros if ``None``)."""
    g, n = layer.geometry, layer.ndim
    cg, fg = layer.cg, layer.fg
    taps = int(np.prod(g.kernel))
    out = np.zeros((*g.out_size, layer.filters), dtype=layer.x.dtype)
    # (*k, Fg, C) -> per group (Cg, taps·Fg): one matmul gives every tap's contribution of a position
    k2 = layer.kernel.reshape(taps, fg, layer.in_channels)
    row_values = int(np.prod(g.in_size[1:])) * taps * fg
    step = max(1, BLOCK_VALUES // max(1, row_values))
    for grp in range(layer.groups):
        w = np.ascontiguousarray(k2[:, :, grp * cg:(grp + 1) * cg].transpose(2, 0, 1).reshape(cg, taps * fg))
        fs = slice(grp * fg, (grp + 1) * fg)
        for r in range(0, g.in_size[0], step):
            block = layer.x[r:r + step, ..., grp * cg:(grp + 1) * cg]
            y = (block.reshape(-1, cg) @ w).reshape(*block.shape[:n], taps, fg)
            for flat, ins, outs in _tap_slices(layer, r, r + step):
                local = (slice(ins[0].start - r, ins[0].stop - r), *ins[1:])
                out[(*outs, fs)] += y[(*local, flat)]
    out += check_bias(bias, layer.filters, layer.x.dtype)
    return out


def transpose_partials(layer: TransposeLayer) -> np.ndarray:
    """Each input channel's contribution ``(*S', Cg, F)``: ``[o, c, f]`` is what channel ``g·Cg + c``
    (``g`` the group of filter ``f``) spreads onto ``o``; its sum over ``c`` plus the bias is
    :func:`transpose_preactivation`."""
    g = layer.geometry
    cg, fg = layer.cg, layer.fg
    taps = int(np.prod(g.kernel))
    k2 = layer.kernel.reshape(taps, fg, layer.in_channels)
    parts = np.zeros((*g.out_size, cg, layer.filters), dtype=layer.x.dtype)
    for grp in range(layer.groups):
        cs, fs = slice(grp * cg, (grp + 1) * cg), slice(grp * fg, (grp + 1) * fg)
        for flat, ins, outs in _tap_slices(layer):
            w = k2[flat, :, cs].T  # (Cg, Fg)
            parts[(*outs, slice(None), fs)] += layer.x[(*ins, cs)][..., None] * w
    return parts


def conv_transpose(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | Sequence[float] | float | None = None,
    *,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[str | int] = "valid",
    output_padding: int | Sequence[int] | None = None,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    dtype: object = np.float32,
) -> np.ndarray:
    """Pre-activation ``(*S', F)`` of a transposed layer on ``x (*S, C)`` with ``kernel (*k, F/g, C)``
    (settings as :func:`bind_transpose`)."""
    layer = bind_transpose(x, kernel, stride=stride, padding=padding, output_padding=output_padding,
                           dilation=dilation, groups=groups, dtype=dtype)
    return transpose_preactivation(layer, bias)


@dataclass(frozen=True)
class TransposeTrace:
    """What lands on one output position of one filter, per input channel.

    ``landings`` lists the ``(input position, kernel tap)`` pairs whose copy lands on ``position``
    (``input position·s + tap·d = position + before`` on every axis), in C order of the taps;
    ``values``, ``weights`` and ``products`` are ``(len(landings), Cg)``: the input value, the weight
    ``kernel[tap, f - g·Fg, channel]`` and their product for each landing and each channel of the
    filter's group (``channels (Cg,)``, absolute indices). ``sums (Cg,)`` is each channel's total
    (its partial at this position), ``total`` their sum (the pre-activation minus the bias).
    ``full_position`` is where ``position`` lies in the uncut output.
    """

    position: tuple[int, ...]
    full_position: tuple[int, ...]
    filter: int
    group: int
    channels: np.ndarray
    landings: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]
    values: np.ndarray
    weights: np.ndarray
    products: np.ndarray
    sums: np.ndarray
    total: float


def _axis_landings(o: int, n: int, k: int, s: int, d: int, before: int) -> list[tuple[int, int]]:
    """``(input position, tap)`` pairs along one axis that land on output ``o``."""
    full = o + before
    pairs = []
    for t in range(k):
        rest = full - t * d
        if rest >= 0 and rest % s == 0 and rest // s < n:
            pairs.append((rest // s, t))
    return pairs


def trace_transposed(layer: TransposeLayer, position: Sequence[int], filt: int) -> TransposeTrace:
    """Every product that lands on output ``position`` (one index per axis) of filter ``filt``."""
    g = layer.geometry
    pos = tuple(int(v) for v in position)
    if len(pos) != layer.ndim or not all(0 <= p < n for p, n in zip(pos, g.out_size, strict=True)):
        shape = "×".join(map(str, g.out_size))
        raise ShapeError(f"position {','.join(map(str, pos))} is outside the {shape} output")
    if not 0 <= filt < layer.filters:
        raise ShapeError(f"filter {filt} does not exist: the layer has {layer.filters} (0..{layer.filters - 1})")
    group = filt // layer.fg
    channels = np.arange(group * layer.cg, (group + 1) * layer.cg)
    per_axis = [_axis_landings(pos[a], g.in_size[a], g.kernel[a], g.strides[a], g.dilations[a], g.crops[a][0])
                for a in range(layer.ndim)]
    landings = tuple((tuple(p[0] for p in combo), tuple(p[1] for p in combo))
                     for combo in itertools.product(*per_axis))
    dt = layer.x.dtype
    values = np.array([layer.x[i][channels] for i, _ in landings], dtype=dt).reshape(len(landings), layer.cg)
    j = filt - group * layer.fg
    weights = np.array([layer.kernel[t][j, channels] for _, t in landings], dtype=dt).reshape(len(landings),
                                                                                               layer.cg)
    products = values * weights
    sums = products.sum(axis=0)
    full = tuple(p + c[0] for p, c in zip(pos, g.crops, strict=True))
    return TransposeTrace(pos, full, filt, group, channels, landings, values, weights, products, sums,
                          float(sums.sum()))


def spread_size(layer: TransposeLayer) -> tuple[int, ...]:
    """The size of :func:`as_conv`'s input, the spread and padded input: ``out + K - 1`` per axis."""
    g = layer.geometry
    return tuple(o + (k - 1) * d for o, k, d in zip(g.out_size, g.kernel, g.dilations, strict=True))


def as_conv(layer: TransposeLayer) -> Layer:
    """The ordinary (gathering) conv that computes ``layer``: its input spread (``s - 1`` zeros between
    neighbours along each axis), padded by ``K - 1 - before`` and ``K - 1 - after`` (a negative pad cuts),
    read with stride 1, the same dilation and groups, by the kernel flipped along every axis and laid
    out ``(*k, Cg, F)``. Its output, pre-activation and per-channel partials are ``layer``'s: the zeros
    add nothing, and input channel ``c`` stays channel ``c``."""
    g, n = layer.geometry, layer.ndim
    spread_size = tuple((v - 1) * s + 1 for v, s in zip(g.in_size, g.strides, strict=True))
    spread = np.zeros((*spread_size, layer.in_channels), dtype=layer.x.dtype)
    spread[tuple(slice(None, None, s) for s in g.strides)] = layer.x
    widths = [(span_ - 1 - b, span_ - 1 - a) for span_, (b, a) in
              zip(((k - 1) * d + 1 for k, d in zip(g.kernel, g.dilations, strict=True)), g.crops, strict=True)]
    cut = tuple(slice(max(0, -b), v - max(0, -a)) for (b, a), v in zip(widths, spread_size, strict=True))
    x = np.pad(spread[cut], (*((max(0, b), max(0, a)) for b, a in widths), (0, 0)))
    cg, fg = layer.cg, layer.fg
    flipped = layer.kernel[(slice(None, None, -1),) * n]  # (*k, Fg, C)
    kernel = np.empty((*g.kernel, cg, layer.filters), dtype=layer.x.dtype)
    for grp in range(layer.groups):
        # (*k, Fg, Cg) of this group -> (*k, Cg, Fg)
        kernel[..., grp * fg:(grp + 1) * fg] = np.swapaxes(flipped[..., grp * cg:(grp + 1) * cg], -1, -2)
    geometry = Geometry.build(x.shape[:n], g.kernel, (1,) * n, g.dilations, (0,) * n)
    return Layer(np.ascontiguousarray(x), kernel, layer.groups, geometry)


def bind(spec: ConvSpec, x: np.ndarray, kernel: np.ndarray, *, dtype: object = np.float32) -> Layer:
    """A transposed ``spec`` bound to ``x (*S, C)`` and its Keras kernel ``(*k, F/g, C)``, as the conv that
    computes it (:func:`as_conv`): the ``convcli.pipeline.kinds.KIND_ENGINES`` seam."""
    padding = spec.padding if isinstance(spec.padding, str) else tuple(spec.padding)
    layer = bind_transpose(x, kernel, stride=spec.stride, padding=padding, output_padding=spec.output_padding,
                           dilation=spec.dilation, groups=spec.groups, dtype=dtype)
    return as_conv(layer)
