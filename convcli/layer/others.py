"""The layers of a model that are not convolutions: their parameters, output shapes and MACs (numpy-free).

Counts equal Keras 3's ``count_params()``::

    dense          Dense                 in·units + units (bias)          MACs: positions·in·units
    batchnorm      BatchNormalization    4·C: γ, β trainable (2·C), moving mean and variance not
    maxpool, avgpool, globalavgpool, flatten, zeropad, add, concatenate, input, rescaling: 0

A layer whose arrays the file lists (``weights``) is counted from them when its geometry cannot
count it (``normalization``, ``other``). MACs count multiplies by a weight: conv kinds and dense
only (a batch norm folds into the conv before it; pooling and merges multiply by no weight).
Shapes are ``(H, W, C)`` channels-last, or ``(N,)`` once flat.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import TYPE_CHECKING

from convcli.errors import ShapeError
from convcli.layer.geometry import axis_pads, out_size_1d

if TYPE_CHECKING:
    from convcli.layer.model import ModelLayer

KINDS = ("dense", "batchnorm", "maxpool", "avgpool", "globalavgpool", "globalmaxpool", "flatten", "zeropad",
         "add", "concatenate", "input", "rescaling", "normalization", "other")

#: Layers (by the framework's class or op name) that keep their input's shape and hold no weights.
SHAPE_KEEPING = frozenset({
    "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Dropout", "SpatialDropout2D",
    "GaussianNoise", "GaussianDropout", "ActivityRegularization", "Identity",
    "Relu", "Sigmoid", "Tanh", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish", "Elu", "Selu", "Softplus",
    "Erf", "Gelu", "Mish", "Neg", "Sqrt", "Exp", "Abs", "Add", "Sum", "Mul", "Sub", "Div",
})


def _error(layer: ModelLayer, message: str) -> ShapeError:
    from convcli.text import shown

    return ShapeError(f"layer {shown(layer.name)!r} ({layer.class_name}): {message}")


def _sum_weights(layer: ModelLayer) -> int:
    return sum(prod(s) for s in layer.weights.values())


def params(layer: ModelLayer, in_shape: Sequence[int] | None = None) -> tuple[int | None, int | None]:
    """``(params, trainable)``: from the geometry when the kind has weights, else 0 (or the arrays
    the file lists). ``in_shape`` supplies the input channels a file may not hold."""
    kind = layer.kind
    c = layer.in_channels if layer.in_channels is not None else (in_shape[-1] if in_shape else None)
    if kind == "dense":
        if c is None or layer.units is None:
            return None, None
        n = c * layer.units + (layer.units if layer.use_bias else 0)
        return n, n
    if kind == "batchnorm":
        if layer.weights:  # center=False or scale=False drop β or γ: the arrays say which
            total = _sum_weights(layer)
            moving = sum(prod(s) for name, s in layer.weights.items() if "moving" in name or "running" in name)
            if not moving and len(layer.weights) >= 2:  # unnamed (Keras 3): γ, β, then moving mean and variance
                moving = sum(prod(s) for s in list(layer.weights.values())[-2:])
            return total, total - moving
        if c is None:
            return None, None
        return 4 * c, 2 * c
    if kind in ("normalization", "other"):
        total = _sum_weights(layer)
        return total, total if kind == "other" else 0
    return 0, 0


def merge_shape(layer: ModelLayer, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """The output of an ``add`` (equal shapes) or a ``concatenate`` (along ``axis``)."""
    if not shapes:
        raise _error(layer, "merges no inputs")
    if layer.kind == "add":
        if any(s != shapes[0] for s in shapes):
            raise _error(layer, f"adds inputs of different shapes {', '.join(str(s) for s in shapes)}")
        return shapes[0]
    axis = layer.axis if layer.axis is not None else -1
    rank = len(shapes[0])
    a = axis % rank if -rank <= axis < rank else None
    if a is None or any(len(s) != rank or any(s[i] != shapes[0][i] for i in range(rank) if i != a) for s in shapes):
        raise _error(layer, f"cannot join inputs of shapes {', '.join(str(s) for s in shapes)} on axis {axis}")
    return tuple(sum(s[a] for s in shapes) if i == a else shapes[0][i] for i in range(rank))


Window = tuple[tuple[int, ...], tuple[int, ...]]


def flow(layer: ModelLayer, shape: tuple[int, ...]) -> tuple[
        tuple[int, ...], tuple[int, int, int, int] | None, int, Window | None, bool]:
    """``(out_shape, pads, macs, window, whole)`` of a non-conv layer on ``shape``: ``window`` is the
    ``(kernel, strides)`` a pooling layer adds to the receptive field, ``whole`` says every output
    depends on the whole input (flatten, global pooling)."""
    kind = layer.kind
    if kind == "dense":
        c = shape[-1]
        if layer.in_channels is not None and layer.in_channels != c:
            raise _error(layer, f"the file says {layer.in_channels} inputs, its input has {c}")
        if layer.units is None:
            raise _error(layer, "the file does not say how many units")
        positions = prod(shape[:-1])
        return (*shape[:-1], layer.units), None, positions * c * layer.units, None, len(shape) == 1
    if kind == "batchnorm":
        if layer.in_channels is not None and layer.in_channels != shape[-1]:
            raise _error(layer, f"the file says {layer.in_channels} channels, its input has {shape[-1]}")
        return shape, None, 0, None, False
    if kind in ("maxpool", "avgpool"):
        return _pool(layer, shape)
    if kind in ("globalavgpool", "globalmaxpool"):
        if len(shape) != 3:
            raise _error(layer, f"global pooling needs an (H, W, C) input, got {shape}")
        return ((1, 1, shape[2]) if layer.keepdims else (shape[2],)), None, 0, None, True
    if kind == "flatten":
        return (prod(shape),), None, 0, None, True
    if kind == "zeropad":
        if len(shape) != 3 or layer.pads is None:
            raise _error(layer, f"zero padding needs an (H, W, C) input and its pads, got {shape}")
        t, b, le, r = layer.pads
        return (shape[0] + t + b, shape[1] + le + r, shape[2]), layer.pads, 0, None, False
    if kind in ("rescaling", "normalization", "input") or layer.class_name in SHAPE_KEEPING:
        return shape, None, 0, None, False
    raise _error(layer, "convcli does not know this layer's output shape; --input-size cannot go past it")


def _pool(layer: ModelLayer, shape: tuple[int, ...]) -> tuple[
        tuple[int, ...], tuple[int, int, int, int] | None, int, Window | None, bool]:
    if len(shape) != 3 or layer.kernel is None:
        raise _error(layer, f"2-D pooling needs an (H, W, C) input, got {shape}")
    k = layer.kernel
    s = layer.strides or k
    d = layer.dilation or (1, 1)
    if layer.pads is not None:
        pads = layer.pads
    elif layer.padding in ("valid", "same", None):
        p = layer.padding or "valid"
        (t, b), (le, r) = (axis_pads(shape[a], k[a], s[a], d[a], p) for a in range(2))
        pads = (t, b, le, r)
    else:  # same_lower
        (b, t), (r, le) = (axis_pads(shape[a], k[a], s[a], d[a], "same") for a in range(2))
        pads = (t, b, le, r)
    out = []
    for a in range(2):
        before, after = pads[2 * a], pads[2 * a + 1]
        if layer.ceil_mode:
            n = shape[a] + before + after - ((k[a] - 1) * d[a] + 1)
            size = -(-n // s[a]) + 1
            if (size - 1) * s[a] >= shape[a] + before:  # ONNX/PyTorch: the last window starts inside
                size -= 1
        else:
            size = out_size_1d(shape[a], k[a], s[a], d[a], (before, after), kernel=k)
        out.append(size)
    return (out[0], out[1], shape[2]), pads, 0, (k, s), False
