"""A conv layer bound to arrays: the checked input and kernel in the compute dtype, plus geometry.

:func:`bind` is the one link from a :class:`~convcli.layer.spec.ConvSpec` to numbers, for 1, 2 or 3
spatial axes; :func:`prepare` binds 2-D arrays and spelt settings on the same path. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from convcli.errors import ConfigError, ShapeError
from convcli.layer import counts as layer_counts
from convcli.layer.geometry import Geometry, PaddingSpec, conv_geometry
from convcli.layer.kinds import KIND_OBJECTS
from convcli.layer.spec import ConvSpec, check_spec


def resolve_dtype(dtype: object) -> np.dtype:
    """float32 or float64 (the frameworks' float32 is the default everywhere)."""
    try:
        dt: np.dtype = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError as exc:
        raise ConfigError(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ConfigError(f"dtype must be float32 or float64, got {dt.name}")
    return dt


@dataclass(frozen=True)
class Layer:
    """A checked conv layer bound to one input: arrays in the compute dtype plus geometry.

    ``x`` is ``(*S, C)`` and ``kernel`` ``(*k, C // groups, F)`` over ``geometry.ndim`` spatial
    axes: ``(H, W, C)`` and ``(kh, kw, C // groups, F)`` in 2-D, the rank every view and the
    tiled fast paths take; ``(L, C)`` or ``(D, H, W, C)`` otherwise (:mod:`convcli.engine.general`).
    """

    x: np.ndarray  # (*S, C)
    kernel: np.ndarray  # (*k, C // groups, F)
    groups: int
    geometry: Geometry

    @property
    def ndim(self) -> int:
        """The number of spatial axes."""
        return self.x.ndim - 1

    @property
    def cg(self) -> int:
        return int(self.kernel.shape[-2])

    @property
    def filters(self) -> int:
        return int(self.kernel.shape[-1])


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


#: The layer kinds bound as a grouped conv here (transpose and separable have engines of their own:
#: :mod:`convcli.engine.transpose`, :mod:`convcli.engine.separable`).
BINDS = tuple(name for name, kind in KIND_OBJECTS.items() if kind.computes and not kind.own_engine)

#: What the input of each rank holds, for messages.
INPUT_LAYOUTS = {1: "(L, C)", 2: "(H, W, C)", 3: "(D, H, W, C)"}


def bind(spec: ConvSpec, x: np.ndarray, kernel: np.ndarray, *, dtype: object = np.float32) -> Layer:
    """``spec`` bound to the input ``x`` and its Keras kernel: a :class:`Layer`.

    ``x`` is ``(L, C)``, ``(H, W, C)`` or ``(D, H, W, C)`` for a spec of 1, 2 or 3 axes; ``kernel``
    is ``spec.kernel_shapes()["kernel"]``: ``(*k, C // groups, F)`` for ``conv``, ``(*k, C, M)`` for
    ``depthwise`` (bound as ``C`` groups of ``M`` filters, filter ``c·M + j`` reading channel ``c``).
    :class:`ShapeError` when the arrays do not fit the spec (field ``kernel_shape`` when the kernel
    does not), then the checks of :func:`prepare` (the same path, in 2-D).
    """
    check_spec(spec)
    kind = spec.kind_obj
    grouped = kind.grouped(spec)
    if grouped is None:
        raise ConfigError(f"the engine computes {' and '.join(BINDS)} layers, not a {spec.ndim}-D {spec.kind}",
                          field="kind")
    x, kernel = np.asarray(x), np.asarray(kernel)
    if x.ndim == spec.ndim + 1 and x.shape[-1] != spec.in_channels:
        raise ShapeError(f"the input has {x.shape[-1]} channels but the layer has in_channels={spec.in_channels}")
    want = spec.kernel_shapes()["kernel"]
    if kernel.shape != want:
        raise ShapeError(f"the kernel has shape {kernel.shape} but the {spec.kind} layer needs {want}",
                         field="kernel_shape")
    shape, groups = grouped
    kernel = kernel.reshape(shape)
    if spec.ndim == 2 and spec.padding != "causal":
        layer = prepare(x, kernel, stride=spec.stride, padding=spec.padding, dilation=spec.dilation, groups=groups,
                        dtype=dtype)
    else:
        dt = resolve_dtype(dtype)
        _check_numeric(x, "the input")
        _check_numeric(kernel, "the kernel")
        if x.ndim != spec.ndim + 1:
            raise ShapeError(f"the input must be {INPUT_LAYOUTS[spec.ndim]}, got {x.ndim} dimensions {x.shape}")
        layer = Layer(np.asarray(x, dtype=dt), np.asarray(kernel, dtype=dt), groups, spec.geometry(x.shape[:-1]))
    return with_padding_mode(layer, spec.padding_mode)


def with_padding_mode(layer: Layer, mode: str) -> Layer:
    """``layer`` as PyTorch computes it with ``padding_mode`` ``mode``: for a mode other than zeros, its
    input padded with that mode (:func:`convcli.engine.padding.pad_input`) and read without padding;
    the same output, position for position."""
    if mode == "zeros":
        return layer
    from convcli.engine.padding import pad_input

    g = layer.geometry
    x = pad_input(layer.x, g.pad_width, mode)
    valid = Geometry.build(x.shape[:-1], g.kernel, g.strides, g.dilations, ("valid",) * g.ndim)
    return Layer(x, layer.kernel, layer.groups, valid)


def one_row(layer: Layer) -> Layer:
    """A 1-D layer ``x (L, C)``, ``kernel (k, Cg, F)`` as the 2-D layer of one row that computes it:
    ``x (1, L, C)``, ``kernel (1, k, Cg, F)``, its output ``(1, L', F)`` (views, no copies), so that the 2-D
    fast paths, views and traces serve it; the pads stay on the one axis (causal ones included)."""
    g = layer.geometry
    if g.ndim != 1:
        raise ValueError(f"one_row takes a 1-D layer, not a {g.ndim}-D one")
    rows = Geometry((1, *g.in_size), (1, *g.kernel), (1, *g.strides), (1, *g.dilations), ((0, 0), *g.pad_width),
                    (1, *g.out_size))
    return Layer(layer.x[None], layer.kernel[None], layer.groups, rows)


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


def param_count(kernel_shape: Sequence[int], use_bias: bool = True) -> tuple[int, int]:
    """``(weights, biases)`` of a Conv2D whose Keras kernel is ``(kh, kw, C // groups, F)``.

    Counted by :func:`convcli.layer.counts.param_count`, the one function ``convcli params`` uses too.
    """
    kh, kw, cg, f = (int(v) for v in kernel_shape)
    p = layer_counts.param_count(ConvSpec("conv", cg, f, (kh, kw), use_bias=use_bias))
    return p.weights, p.biases
