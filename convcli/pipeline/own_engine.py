"""The kinds with engines of their own, transposed and separable, as a request's built layer.

A transposed layer (:mod:`convcli.engine.transpose`) and a separable one
(:mod:`convcli.engine.separable`) are bound by their engines, then handed to every view as the
ordinary conv that computes them (their ``as_conv``): a transposed layer as the conv that gathers
what it spreads (its input spread with ``s - 1`` zeros between values and padded, its kernel
flipped), a separable one as the conv whose kernel is the depthwise kernel through the pointwise
weights. Both keep each input channel's contribution apart, so the partials, heatmaps, traces and
``--save`` of a conv serve them unchanged; ``built.weights`` holds the kind's own weights for the
archive and ``built.own`` the kind's bound layer for its own views (the transposed trace).
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import TYPE_CHECKING

from convcli.errors import ConfigError, ShapeError
from convcli.pipeline.built import BuiltLayer, nonfinite_warnings
from convcli.pipeline.request import Request

if TYPE_CHECKING:
    import numpy as np

    from convcli.engine.transpose import TransposeTrace
    from convcli.layer.spec import ConvSpec
    from convcli.sources.inputs import Loaded

#: ``make_kernel(request, spec, cg)``: the kernel in the kind's Keras layout and where it came from.
KernelMaker = Callable[[Request, "ConvSpec", int], "tuple[np.ndarray, str]"]
#: ``make_spec(request, in_channels, kernel, filters[, depth_multiplier])``: the spec of the request's kind.
SpecMaker = Callable[..., "ConvSpec"]


def build_own_engine_layer(request: Request, loaded: Loaded, bias_given: tuple[np.ndarray | None, str, str], *,
                           make_spec: SpecMaker, make_kernel: KernelMaker) -> BuiltLayer:
    """The request's transposed or separable layer on ``loaded`` ``(*S, C)``; ``make_spec`` and
    ``make_kernel`` are :mod:`convcli.pipeline.kinds`' (the spec of the request's kind, a kernel of its
    Keras layout from a file or a preset)."""
    from convcli import engine

    if request.flip:
        raise ConfigError(f"--flip flips a conv's kernel (true convolution); a {request.kind} layer takes its "
                          "kernel as it is", field="flip")
    x = loaded.array
    n, c = request.ndim, int(x.shape[-1])
    spec = make_spec(request, c, _axes(request.kernel_axes, n), request.filters)
    if request.kind == "transpose":
        k, source = make_kernel(request, spec, c)
        spec = make_spec(request, c, tuple(int(v) for v in k.shape[:n]), int(k.shape[-2]) * request.groups)
        own, layer, weights = _transposed(request, spec, x, k)
        notes = transpose_notes(spec, own)
    else:
        weights, source = _separable_weights(request, spec, c)
        dw = weights["depthwise_kernel"]
        spec = make_spec(request, c, tuple(int(v) for v in dw.shape[:n]), int(weights["pointwise_kernel"].shape[-1]),
                         int(dw.shape[-1]) if dw.ndim == n + 2 else None)
        own, layer = _separable(request, spec, x, weights)
        notes = separable_notes(spec)
    bias, bias_what, bias_source = bias_given
    if bias is not None:
        engine.check_bias(bias, layer.filters, layer.x.dtype)
    warned = nonfinite_warnings(request.input_name, x, layer,
                                (f"the kernel from {request.kernel}", next(iter(weights.values())))
                                if request.kernel is not None else None, (bias_what, bias))
    shown = engine.one_row(layer) if n == 1 else layer
    return BuiltLayer(loaded, shown, bias, source + bias_source, warned, padding="valid",
                      activation=str(request.activation), use_bias=not request.no_bias, notes=notes, spec=spec,
                      weights=weights, own=own)


def _axes(value: int | tuple[int, ...], n: int) -> tuple[int, ...]:
    return (value,) * n if isinstance(value, int) else tuple(value)


def _transposed(request: Request, spec: ConvSpec, x: np.ndarray, k: np.ndarray):  # type: ignore[no-untyped-def]
    from convcli.engine import transpose
    from convcli.layer.spec import check_spec

    check_spec(spec)
    padding = spec.padding if isinstance(spec.padding, str) else tuple(spec.padding)
    try:
        own = transpose.bind_transpose(x, k, stride=spec.stride, padding=padding, output_padding=spec.output_padding,
                                       dilation=spec.dilation, groups=spec.groups, dtype=request.dtype)
    except ShapeError as exc:
        raise kernel_misfit(exc, request, spec, k.shape, spec.in_channels) from None
    from convcli.pipeline import memory

    layer_bytes = prod(transpose.spread_size(own)) * own.in_channels * own.x.dtype.itemsize
    memory.ensure_fits(layer_bytes, "the spread input of the transposed layer", "use a smaller input or stride")
    return own, transpose.as_conv(own), {"kernel": own.kernel}


def _separable_weights(request: Request, spec: ConvSpec, c: int) -> tuple[dict[str, np.ndarray], str]:
    """``depthwise_kernel (*k, C, M)`` and ``pointwise_kernel (1, …, 1, C·M, F)``: from a ``.npz`` holding
    both (Keras layout), or presets (``random``: Keras' glorot_uniform for each, seeds ``seed`` and ``seed + 1``)."""
    import numpy as np

    shapes = spec.kernel_shapes()
    if request.kernel is not None:
        if request.used_kernel_layout != "keras":
            raise ConfigError("{field}: a separable layer's kernels are read in Keras layout (depthwise_kernel "
                              "(*k, C, M), pointwise_kernel (1, …, C·M, F))", field="kernel_layout")
        if not str(request.kernel).lower().endswith(".npz"):
            raise ConfigError(f"--kernel {request.kernel}: a separable layer reads a .npz holding depthwise_kernel "
                              "(*k, C, M) and pointwise_kernel (1, …, C·M, F)", field="kernel")
        from convcli.sources.inputs import load_array

        weights = {name: np.asarray(load_array(request.kernel, key=name, what=name, key_field="kernel_key"),
                                    dtype=np.float64) for name in ("depthwise_kernel", "pointwise_kernel")}
        return weights, f"{request.kernel} (depthwise_kernel, pointwise_kernel; keras layout)"
    init = request.init
    if init not in ("random", "ones", "box"):
        raise ConfigError(f"{{field}} {init} is a 2-D picture; a separable layer takes random, ones or box",
                          field="init")
    weights = {}
    for i, name in enumerate(("depthwise_kernel", "pointwise_kernel")):
        shape = shapes[name]
        if init == "random":
            rf = prod(shape[:-2])
            limit = np.sqrt(6.0 / (rf * shape[-2] + rf * shape[-1]))  # Keras' glorot_uniform fans
            weights[name] = np.random.default_rng(request.seed + i).uniform(-limit, limit, size=shape)
        else:
            taps = prod(shape[:-2]) if init == "box" and name == "depthwise_kernel" else 1
            weights[name] = np.ones(shape) / taps
    what = f"--init {init}" + (f" (seeds {request.seed}, {request.seed + 1})" if init == "random" else "")
    return weights, what


def _separable(request: Request, spec: ConvSpec, x: np.ndarray, weights: dict[str, np.ndarray]):  # type: ignore[no-untyped-def]
    from convcli.engine import separable
    from convcli.layer.spec import check_spec

    check_spec(spec)
    padding = spec.padding if isinstance(spec.padding, str) else tuple(spec.padding)
    own = separable.bind_separable(x, weights["depthwise_kernel"], weights["pointwise_kernel"], stride=spec.stride,
                                   padding=padding, dilation=spec.dilation, dtype=request.dtype)
    return own, separable.as_conv(own)


def transpose_notes(spec: ConvSpec, own: object) -> tuple[str, ...]:
    """The header's notes of a transposed layer: its output size rule per axis, and how it is computed."""
    from convcli.engine.transpose import TransposeLayer, spread_size

    assert isinstance(own, TransposeLayer)
    g = own.geometry
    rules = []
    for a, n in enumerate(g.in_size):
        s, kk, d = g.strides[a], g.kernel[a], g.dilations[a]
        big_k = (kk - 1) * d + 1
        before, after = g.crops[a]
        padding = spec.padding if isinstance(spec.padding, str) else spec.padding[a]
        op = None if spec.output_padding is None else spec.output_padding[a]
        if isinstance(padding, str):
            rule = (f"Keras {padding}: {n}·{s} = {g.out_size[a]}" if padding == "same" and op is None else
                    f"Keras {padding}: ({n} - 1)·{s} + max({big_k}, {s}) = {g.out_size[a]}" if op is None else
                    f"Keras {padding}, output padding {op}: ({n} - 1)·{s} + "
                    f"{big_k if padding == 'valid' else f'{big_k} mod 2'} + {op} = {g.out_size[a]}")
        else:
            rule = (f"PyTorch padding {padding}, output padding {op or 0}: ({n} - 1)·{s} - 2·{padding} + {big_k} + "
                    f"{op or 0} = {g.out_size[a]}")
        rules.append(f"{rule} (cut {before} before, {after} after)")
    names = ("positions",) if g.ndim == 1 else ("rows", "columns") if g.ndim == 2 else ("planes", "rows", "columns")
    size = "×".join(map(str, spread_size(own)))
    keras_refuses = isinstance(spec.padding, str) and max(g.strides) > 1 and max(g.dilations) > 1
    caveat = (("Keras' Conv*DTranspose refuses strides > 1 with dilation > 1: these are its valid/same rules "
               "applied anyway (PyTorch takes the pair with --padding P)",) if keras_refuses else ())
    return (
        f"{spec.keras_name} ({spec.torch_name}): every input value spreads a copy of the kernel, "
        f"{'×'.join(map(str, g.strides))} apart; "
        "output " + "; ".join(f"{name}: {rule}" for name, rule in zip(names, rules, strict=True)),
        f"computed as the conv that gathers what it spreads: the input spread ({size}, "
        f"stride - 1 zeros between values), padded by K - 1 - cut, read by the flipped kernel; each input "
        f"channel's partial is its own copies' sum (--trace shows which input positions and taps land there)",
        *caveat,
    )


def separable_notes(spec: ConvSpec) -> tuple[str, ...]:
    """The header's note of a separable layer: how its partials are made."""
    m = spec.depth_multiplier
    return (f"{spec.keras_name}: a depthwise conv ({m} map{'s' * (m > 1)} per channel), then a 1×1 conv to "
            f"{spec.filters} filters; channel c's partial is its depthwise map{'s' * (m > 1)} through the pointwise "
            "weights, computed as one conv whose kernel is depthwise_kernel · pointwise_kernel (the trace shows "
            "those products' weights)",)


def scatter_trace(built: BuiltLayer, at: tuple[int, int], filt: int) -> TransposeTrace | None:
    """The transposed trace (:func:`convcli.engine.transpose.trace_transposed`) of filter ``filt`` at the
    shown layer's ``(row, col)`` ``at`` (a 3-D layer's on the plane shown); ``None`` for another kind."""
    from convcli.engine.transpose import TransposeLayer, trace_transposed

    own = built.own
    if not isinstance(own, TransposeLayer):
        return None
    if own.ndim == 3:
        if built.plane is None:
            return None
        return trace_transposed(own, (built.plane, *at), filt)
    position = (at[1],) if own.ndim == 1 else at
    return trace_transposed(own, position, filt)


def input_channel_names(built: BuiltLayer) -> tuple[str, ...]:
    """The input's channel names as loaded (a depth slice names its channels ``z<plane>·<channel>``)."""
    names = built.loaded.channel_names
    if built.plane is None:
        return tuple(names)
    return tuple(dict.fromkeys(n.split("·", 1)[-1] for n in names))


def kernel_misfit(exc: ShapeError, request: Request, spec: ConvSpec, shape: tuple[int, ...], c: int) -> ShapeError:
    """``exc`` as it is, or, when the engine refused the kernel's shape (field ``kernel_shape``), the line that
    names the ``--kernel`` file, its ``shape`` (Keras layout) and the shape the ``spec`` on ``c`` channels needs."""
    if exc.field != "kernel_shape":
        return exc
    return ShapeError(f"{request.kernel}: the kernel {shape} (in Keras layout) does not fit a {spec.keras_name} on "
                      f"{request.input_name} ({c} channels): it needs {spec.kernel_shapes()['kernel']}")
