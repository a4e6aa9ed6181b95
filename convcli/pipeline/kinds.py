"""Every kind the engine computes on every rank: a request's layer for ``--kind``/``--ndim``/``--padding-mode``.

The classic Conv2D keeps its own path (:func:`convcli.pipeline.build.build_layer`); here a request of
another kind, rank or padding mode becomes its :class:`~convcli.layer.spec.ConvSpec` (the one object
that says what the layer is: ``built.spec``), its kernel in the kind's Keras layout, and the bound
layer (:func:`convcli.engine.bind`: the kind object's grouped conv, pads of the padding mode). A 1-D
layer is computed and shown as the 2-D layer of one row (:func:`convcli.engine.one_row`); a 3-D
layer is bound whole (:mod:`convcli.pipeline.depth` shows it a depth slice at a time).

A kind that a future engine computes plugs in here by its kind object: its ``grouped`` bind, or
its own engine's layer in place of :func:`convcli.engine.bind`.
"""

from __future__ import annotations

import os
from math import prod
from typing import TYPE_CHECKING

from convcli.errors import ConfigError, ShapeError
from convcli.pipeline.built import FLIP_NOTE, BuiltLayer, nonfinite_warnings
from convcli.pipeline.request import Request

if TYPE_CHECKING:
    import numpy as np

    from convcli.engine import Layer
    from convcli.layer.spec import ConvSpec
    from convcli.sources.inputs import Loaded

#: What an input of each rank holds (channels-last), as messages and descriptions name it.
LAYOUTS = {1: ("(L, C)", "(L,)"), 2: ("(H, W, C)", "(H, W)"), 3: ("(D, H, W, C)", "(D, H, W)")}
#: The --init presets a kernel of any rank takes (the others are 2-D pictures; 1-D takes them as one row).
ANY_RANK_INITS = ("random", "ones", "box")


def load_signal(request: Request) -> Loaded:
    """A 1-D or 3-D input: an array ``(*S, C)`` (``(C, *S)`` channels-first), or ``S`` alone for one
    channel; text files give ``(L, C)`` columns as channels. ``(*S, C)`` as stored, or float64 if normalized."""
    import numpy as np

    from convcli.sources.inputs import Loaded, load_array

    n = request.ndim
    given = [name for name in ("color_mode", "resize", "max_pixels", "keep_orientation") if getattr(request, name)]
    if given:
        raise ConfigError(f"{{field}} is for images; a {n}-D layer reads an array {LAYOUTS[n][0]}", field=given[0])
    if isinstance(request.input, (str, os.PathLike)):
        arr = load_array(request.input, key=request.key, what="input")
        label = request.input_name
    else:
        if request.key is not None or request.layout is not None:
            raise ConfigError("{field} reads a file; the input is an array as it is",
                              field="key" if request.key is not None else "layout")
        arr, label = np.asarray(request.input), "array"
        if arr.dtype.kind not in "uif" or arr.size == 0:
            raise ConfigError(f"{{field}} must be a real, non-empty array; got shape {arr.shape} of {arr.dtype}",
                              field="input")
    layout = request.input_layout
    if arr.ndim == n + 1:
        x = np.moveaxis(arr, 0, -1) if layout == "channels-first" else arr
        form = LAYOUTS[n][0] if layout == "channels-last" else "(C, " + LAYOUTS[n][0][1:-4] + ") channels-first"
    elif arr.ndim == n:
        x, form = arr[..., None], f"{LAYOUTS[n][1]} -> 1 channel"
    else:
        raise ShapeError(f"{label}: a {n}-D layer reads {LAYOUTS[n][0]} (or {LAYOUTS[n][1]}, one channel); the "
                         f"array has {arr.ndim} dimensions {arr.shape}")
    if min(x.shape[:-1]) < 1:
        raise ShapeError(f"{label}: the input {arr.shape} has an empty axis")
    description = f"{'array' if label == 'array' else 'array file'}, {arr.dtype}, {form}"
    if request.normalize:
        x = x.astype(np.float64) / (float(np.iinfo(arr.dtype).max) if arr.dtype.kind in "ui" else 1.0)
        description += ", normalized" if arr.dtype.kind in "ui" else ", float values kept"
    names = tuple(f"c{i}" for i in range(x.shape[-1]))
    return Loaded(np.ascontiguousarray(x), names, request.input_name, description, tuple(arr.shape))


def kind_spec(request: Request, in_channels: int, kernel: tuple[int, ...], filters: int | None,
              depth_multiplier: int | None = None) -> ConvSpec:
    """The spec of the request's kind on ``in_channels`` channels, with the kernel's size and filters (and a
    kernel file's depth multiplier)."""
    from convcli.pipeline.binding import layer_spec

    return layer_spec(request.kind, in_channels, None if request.kind == "depthwise" else filters, kernel,
                      stride=request.stride, dilation=request.dilation, padding=request.padding,
                      groups=request.groups, depth_multiplier=depth_multiplier or request.depth_multiplier,
                      use_bias=not request.no_bias, ndim=request.ndim, padding_mode=request.padding_mode,
                      output_padding=request.output_padding)


def build_kind_layer(request: Request, loaded: Loaded, bias_given: tuple[np.ndarray | None, str, str]) -> BuiltLayer:
    """The request's layer of its kind and rank on ``loaded`` (``(*S, C)``), with ``bias_given`` (the bias,
    what names it, what the kernel's source adds: :func:`convcli.pipeline.build.bias_of`)."""
    from convcli import engine
    from convcli.layer.kinds import kind_of
    from convcli.layer.spec import LayerConfigError

    if kind_of(request.kind).own_engine:
        from convcli.pipeline.own_engine import build_own_engine_layer

        return build_own_engine_layer(request, loaded, bias_given, make_spec=kind_spec, make_kernel=_kernel)
    x = loaded.array
    n, c = request.ndim, int(x.shape[-1])
    groups = request.groups if c % request.groups == 0 else 1  # refused with its message by the spec's check
    spec = kind_spec(request, c, request.kernel_axes, request.filters)
    k, kernel_source = _kernel(request, spec, c // groups)
    if request.kind != "depthwise":
        spec = kind_spec(request, c, tuple(int(v) for v in k.shape[:n]), int(k.shape[-1]))
    else:  # a depthwise kernel (*k, C, M) gives M
        spec = kind_spec(request, c, tuple(int(v) for v in k.shape[:n]), None, int(k.shape[-1]))
    try:
        engine_kernel = k[(slice(None, None, -1),) * n].copy() if request.flip else k
        bound = bind_kind(spec, x, engine_kernel, dtype=request.dtype)
    except LayerConfigError as exc:
        if exc.against == "in_channels":
            raise ShapeError(f"--groups {spec.groups} does not divide the {c} input channels of "
                             f"{request.input_name}") from None
        raise
    except ShapeError as exc:
        from convcli.pipeline.own_engine import kernel_misfit

        raise kernel_misfit(exc, request, spec, k.shape, c) from None
    bias, bias_what, bias_source = bias_given
    if bias is not None:
        engine.check_bias(bias, bound.filters, bound.x.dtype)
    warned = nonfinite_warnings(request.input_name, x, bound,
                                (f"the kernel from {request.kernel}", k) if request.kernel is not None else None,
                                (bias_what, bias))
    layer = engine.one_row(bound) if n == 1 else bound
    notes = (*((FLIP_NOTE,) if request.flip else ()), *kind_notes(spec, tuple(x.shape[:-1])))
    return BuiltLayer(loaded, layer, bias, kernel_source + (", flipped (--flip)" if request.flip else "") + bias_source,
                      warned, padding=request.padding if n == 2 else "valid", activation=str(request.activation),
                      use_bias=not request.no_bias, notes=notes, spec=spec)


#: The engines of the kinds that are not a grouped conv, by kind: ``module:function`` taking
#: ``(spec, x, kernel, *, dtype)`` like :func:`convcli.engine.bind` (imported when such a layer is built).
KIND_ENGINES = {"transpose": "convcli.engine.transpose:bind", "separable": "convcli.engine.separable:bind"}


def bind_kind(spec: ConvSpec, x: np.ndarray, kernel: np.ndarray, *, dtype: str) -> Layer:
    """``spec`` bound to ``x (*S, C)`` and its Keras kernel: the seam where a kind plugs in by its kind object.

    A kind whose object describes a grouped conv (``kind.grouped(spec)``: conv, depthwise) is
    :func:`convcli.engine.bind`'s; another kind is its engine's (:data:`KIND_ENGINES`), once its object
    says it computes (``kind.computes``; :func:`convcli.pipeline.checks.check_request` refuses it until then).
    """
    from convcli import engine

    if spec.kind_obj.grouped(spec) is not None or spec.kind not in KIND_ENGINES:
        return engine.bind(spec, x, kernel, dtype=dtype)
    import importlib

    module, function = KIND_ENGINES[spec.kind].split(":")
    bound: Layer = getattr(importlib.import_module(module), function)(spec, x, kernel, dtype=dtype)
    return bound


def kind_notes(spec: ConvSpec, in_size: tuple[int, ...]) -> tuple[str, ...]:
    """What the header says about a layer that is not the classic Conv2D on an input of ``in_size``: how it
    is computed and shown."""
    notes = []
    g = spec.geometry(in_size)
    if spec.ndim == 1:
        pads = g.pad_width[0] if spec.padding_mode == "zeros" else None
        causal = " (causal: (k-1)·d zeros on the left, so output i reads no input after i)" \
            if spec.padding == "causal" else ""
        pad_text = f"; pads {pads[0]} before, {pads[1]} after{causal}" if pads else ""
        notes.append(f"{spec.keras_name}: the {g.in_size[0]}-position signal is shown as one row (row 0); "
                     f"positions are its columns{pad_text}")
    if spec.kind == "depthwise":
        notes.append(f"depthwise: each input channel has its own {spec.depth_multiplier} filter"
                     f"{'s' * (spec.depth_multiplier > 1)}; output channel c·M + j reads channel c alone "
                     f"(M = {spec.depth_multiplier}); computed as a conv with groups = C")
    if spec.padding_mode != "zeros":
        padded = tuple(n + b + a for n, (b, a) in zip(in_size, g.pad_width, strict=True))
        pad_text = ", ".join(f"{b} before and {a} after" for b, a in g.pad_width)
        notes.append(f"--padding-mode {spec.padding_mode} (PyTorch's padding_mode): the input is padded by "
                     f"{spec.padding_mode} first ({pad_text}), then read without padding: the input shown below is "
                     f"the padded {'×'.join(map(str, padded))}")
    return tuple(notes)


def _kernel(request: Request, spec: ConvSpec, cg: int) -> tuple[np.ndarray, str]:
    """The kernel in the kind's Keras layout (a file's, read in ``--kernel-layout``, or a preset) and its source."""
    import numpy as np

    from convcli.sources import kernels

    n = request.ndim
    if request.kernel is not None:
        key = request.kernel_key
        if key is None and kernels.saved_weights(request.kernel):
            key = kernels.GET_WEIGHTS[0]
        from convcli.sources.inputs import load_array

        a = np.asarray(load_array(request.kernel, key=key, what="kernel", key_field="kernel_key"), dtype=np.float64)
        layout = request.used_kernel_layout
        return _keras_layout(a, layout, spec, str(request.kernel)), f"{request.kernel} ({layout} layout)"
    shape = spec.kernel_shapes()["kernel"]
    from convcli.pipeline import memory

    memory.ensure_fits(prod(shape) * 8, f"{'×'.join(map(str, shape))} kernel",
                       "use fewer --filters or a smaller --kernel-size")
    init, taps = request.init, shape[:n]
    if init == "random":
        rf = prod(taps)
        limit = np.sqrt(6.0 / (rf * shape[-2] + rf * shape[-1]))  # Keras' glorot_uniform fans
        k = np.random.default_rng(request.seed).uniform(-limit, limit, size=shape)
        return k, f"--init random (seed {request.seed})"
    if init in ANY_RANK_INITS:
        k = np.ones(shape) / (prod(taps) if init == "box" else 1.0)
    elif n in (1, 2):
        one = kernels.PRESETS[init][0](*((1, *taps) if n == 1 else taps))
        k = np.broadcast_to(one.reshape((*taps, 1, 1)), shape).copy()
    else:
        raise ConfigError(f"{{field}} {init} is a 2-D picture; a 3-D kernel takes {', '.join(ANY_RANK_INITS)}",
                          field="init")
    return k, f"--init {init}"


def _keras_layout(a: np.ndarray, layout: str, spec: ConvSpec, name: str) -> np.ndarray:
    """A kernel file's array as the kind's Keras layout: conv ``(*k, C/g, F)`` (``(*k, C/g)``: one filter),
    depthwise ``(*k, C, M)``; from ``torch`` ``(F, C/g, *k)`` (depthwise ``(C·M, 1, *k)``)."""
    n = spec.ndim
    if a.ndim == n + 1 and spec.kind == "conv":  # one filter
        a = a[..., None] if layout == "keras" else a[None]
    if a.ndim != n + 2:
        want = spec.kernel_shapes()["kernel"]
        raise ShapeError(f"{name}: a {spec.keras_name} kernel has {n + 2} dimensions ({layout} layout, e.g. "
                         f"{want if layout == 'keras' else 'F, C/g, *k'}); got {a.ndim}: {a.shape}")
    if layout == "keras":
        return a
    k = a.transpose(*range(2, n + 2), 1, 0)  # (F, Cg, *k) -> (*k, Cg, F)
    if spec.kind == "depthwise":
        c = spec.in_channels
        if k.shape[-2] != 1 or k.shape[-1] % c:
            raise ShapeError(f"{name}: a depthwise kernel in torch layout is (C·M, 1, *k) with C = {c}; got {a.shape}")
        k = k.reshape(*k.shape[:n], c, k.shape[-1] // c)
    return k.copy()

