"""A model file's layer of another rank or kind (Conv1D/3D, DepthwiseConv1D, Conv2DTranspose, SeparableConv2D):
its spec, padding and bound layer from its learned Keras-layout weights.

:mod:`convcli.pipeline.model_layer` merges the file's settings with the options; here they become the
layer's :class:`~convcli.layer.spec.ConvSpec` and the layer ``run --kind`` would bind
(:func:`convcli.pipeline.kinds.bind_kind`; the transposed and separable engines, shown as the conv
that computes them). ``*k`` below is the kernel's 1, 2 or 3 axes.
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING

from convcli.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from convcli.engine import Layer
    from convcli.layer.model import ModelLayer
    from convcli.layer.spec import ConvSpec


def kind_spec(ml: ModelLayer, kernel: np.ndarray, pointwise: np.ndarray | None, c: int, stride: tuple[int, ...],
              dilation: tuple[int, ...], padding: str | tuple[int, ...], groups: int, use_bias: bool) -> ConvSpec:
    """The layer's spec on ``c`` input channels from its Keras-layout kernel: conv ``(*k, C/g, F)``, depthwise
    ``(*k, C, M)``, transpose ``(*k, F/g, C)``, separable ``(*k, C, M)`` with ``pointwise (1, …, C·M, F)``."""
    from convcli.pipeline.binding import layer_spec

    n = kernel.ndim - 2
    filters: int | None = int(kernel.shape[-1])
    multiplier = 1
    if ml.kind == "depthwise":
        filters, multiplier = None, int(kernel.shape[-1])
    elif ml.kind == "transpose":
        filters = int(kernel.shape[-2]) * groups
    elif ml.kind == "separable":
        assert pointwise is not None
        filters, multiplier = int(pointwise.shape[-1]), int(kernel.shape[-1])
    return layer_spec(ml.kind, c, filters, tuple(int(v) for v in kernel.shape[:n]), stride=stride, dilation=dilation,
                      padding=padding, groups=groups, depth_multiplier=multiplier, use_bias=use_bias, ndim=n,
                      output_padding=ml.output_padding if ml.kind == "transpose" else None)


def bind_model_kind(spec: ConvSpec, x: np.ndarray, kernel: np.ndarray, pointwise: np.ndarray | None, *, flip: bool,
                    dtype: str) -> tuple[Layer, object, dict[str, np.ndarray] | None, tuple[str, ...]]:
    """``(layer, own, weights, notes)``: the conv that computes ``spec`` on ``x (*S, C)`` (a 1-D layer not yet
    as one row), the kind's own bound layer and Keras-layout weights (transpose, separable; else ``None``),
    and the header's notes. ``flip`` flips a conv's kernel along every axis (refused for the other kinds)."""
    from convcli.pipeline.kinds import bind_kind, kind_notes
    from convcli.pipeline.own_engine import separable_notes, transpose_notes

    n = spec.ndim
    if flip and spec.kind in ("transpose", "separable"):
        raise ConfigError(f"--flip flips a conv's kernel (true convolution); a {spec.kind} layer takes its kernel as "
                          "it is", field="flip")
    padding = spec.padding if isinstance(spec.padding, str) else tuple(spec.padding)
    if spec.kind == "transpose":
        from convcli.engine import transpose
        from convcli.layer.spec import check_spec
        from convcli.pipeline import memory

        check_spec(spec)
        own = transpose.bind_transpose(x, kernel, stride=spec.stride, padding=padding, dilation=spec.dilation,
                                       output_padding=spec.output_padding, groups=spec.groups, dtype=dtype)
        memory.ensure_fits(prod(transpose.spread_size(own)) * own.in_channels * own.x.dtype.itemsize,
                           "the spread input of the transposed layer", "use a smaller input")
        return transpose.as_conv(own), own, {"kernel": own.kernel}, transpose_notes(spec, own)
    if spec.kind == "separable":
        assert pointwise is not None
        from convcli.engine import separable

        sep = separable.bind_separable(x, kernel, pointwise, stride=spec.stride, padding=padding,
                                       dilation=spec.dilation, dtype=dtype)
        return (separable.as_conv(sep), sep, {"depthwise_kernel": kernel, "pointwise_kernel": pointwise},
                separable_notes(spec))
    layer = bind_kind(spec, x, kernel[(slice(None, None, -1),) * n].copy() if flip else kernel, dtype=dtype)
    return layer, None, None, kind_notes(spec, tuple(x.shape[:-1]))


def kind_padding(ml: ModelLayer, x: np.ndarray) -> tuple[str | tuple[int, ...], np.ndarray, str]:
    """``(padding, x, note)``: the file's padding of a layer of any rank (``valid``, ``same``, ``causal``, or
    pads per axis); a 1-D ONNX Conv's asymmetric pads ``(0, 0, before, after)`` added to ``x (L, C)`` as
    zeros, which the note says."""
    import numpy as np

    from convcli.text import shown

    n = x.ndim - 1
    if isinstance(ml.padding, str) and ml.padding in ("valid", "same", "causal"):
        return ml.padding, x, ""
    if isinstance(ml.padding, tuple) and len(ml.padding) == n:  # symmetric pads per axis (an ONNX 3-D Conv's)
        return (ml.padding if any(ml.padding) else "valid"), x, ""
    if ml.pads is None or not any(ml.pads):
        return "valid", x, ""
    if n != 1:
        raise ConfigError(f"{{field}} {shown(ml.name)!r}: convcli reads the pads {ml.pads} of a {n}-D layer only as "
                          "2-D pads", field="layer")
    before, after = ml.pads[2], ml.pads[3]
    if before == after:
        return (before,), x, ""
    return "valid", np.pad(x, ((before, after), (0, 0))), (
        f"the model pads ({before}, {after}) (before, after): the input is shown with those zeros added, and the "
        "layer pads no more")


def axes(value: tuple[int, ...] | None, n: int) -> tuple[int, ...]:
    """A per-axis setting as the file holds it, ``n`` values (one value: the same on every axis)."""
    if value is None:
        return (1,) * n
    return tuple(int(v) for v in value) if len(value) == n else (int(value[0]),) * n
