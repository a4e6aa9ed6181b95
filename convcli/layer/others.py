"""The layers of a model that are not convolutions: their parameters, output shapes and MACs (numpy-free).

Counts equal Keras 3's ``count_params()``::

    dense          Dense                 in·units + units (bias)          MACs: positions·in·units
    batchnorm      BatchNormalization    4·C: γ, β trainable (2·C), moving mean and variance not
    maxpool, avgpool, globalavgpool, flatten, zeropad, add, concatenate, input, rescaling: 0

A layer whose arrays the file lists (``weights``) is counted from them when its geometry cannot
count it (``normalization``, ``other``). MACs count multiplies by a weight: conv kinds and dense
only (a batch norm folds into the conv before it; pooling and merges multiply by no weight).
Shapes are ``(H, W, C)`` channels-last, or ``(N,)`` once flat.

Each kind is one small object (:data:`OTHER_KIND_OBJECTS`, looked up with :func:`other_kind`), as the
conv kinds are in :mod:`convcli.layer.kinds`: it counts its parameters (:meth:`OtherKind.params`),
says its output shape, pads, MACs and window (:meth:`OtherKind.flow`) and names its Keras class.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import TYPE_CHECKING

from convcli.errors import ShapeError
from convcli.layer.geometry import axis_pads, out_size_1d

if TYPE_CHECKING:
    from convcli.layer.listing import ModelLayer

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


Window = tuple[tuple[int, ...], tuple[int, ...]]
#: ``(out_shape, pads, macs, window, whole)``: see :meth:`OtherKind.flow`.
Flow = tuple[tuple[int, ...], tuple[int, ...] | None, int, Window | None, bool]


class OtherKind:
    """A listed layer that is not a convolution. Subclasses override what differs."""

    #: the kind's name in a listing (``ModelLayer.kind``)
    name: str = ""
    #: Keras' class ("" where the kind gathers several)
    keras_name: str = ""
    #: it reads an (H, W, C) map, not a flat vector
    reads_map: bool = False
    #: it slides a window (whose pads are known without an input size where they are 'valid')
    pools: bool = False
    #: its parameters depend on the input's channels (a file may not hold them)
    counts_channels: bool = False
    #: it merges several inputs (add, concatenate)
    merges: bool = False
    #: it is a model's input (where a walk along the graph starts)
    starts: bool = False
    #: its window spreads each input over ``strides`` outputs (an upsampling: a transposed window)
    spreads: bool = False
    #: it samples its input at other positions (an upsampling, a resize): by its ``interpolation``
    resamples: bool = False

    def __init__(self, name: str, keras_name: str = "") -> None:
        self.name, self.keras_name = name, keras_name

    def __repr__(self) -> str:
        return f"<kind {self.name}>"

    def params(self, layer: ModelLayer, channels: int | None) -> tuple[int | None, int | None]:
        """``(params, trainable)`` on ``channels`` input channels (``None``: unknown)."""
        return 0, 0

    def weights_biases(self, layer: ModelLayer, total: int) -> tuple[int | None, int | None]:
        """Its ``total`` parameters as ``(weights, biases)`` (``None``: neither, as batch norm's)."""
        return 0, 0

    def flow(self, layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
        """``(out_shape, pads, macs, window, whole)`` on ``shape``: ``window`` is the ``(kernel,
        strides)`` a pooling layer adds to the receptive field, ``whole`` says every output depends
        on the whole input (flatten, global pooling)."""
        if layer.class_name in SHAPE_KEEPING:
            return shape, None, 0, None, False
        raise _error(layer, "convcli does not know this layer's output shape; --input-size cannot go past it")


class Dense(OtherKind):
    counts_channels = True

    def params(self, layer: ModelLayer, channels: int | None) -> tuple[int | None, int | None]:
        if channels is None or layer.units is None:
            return None, None
        n = channels * layer.units + (layer.units if layer.use_bias else 0)
        return n, n

    def weights_biases(self, layer: ModelLayer, total: int) -> tuple[int | None, int | None]:
        biases = (layer.units or 0) if layer.use_bias else 0
        return total - biases, biases

    def flow(self, layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
        c = shape[-1]
        if layer.in_channels is not None and layer.in_channels != c:
            raise _error(layer, f"the file says {layer.in_channels} inputs, its input has {c}")
        if layer.units is None:
            raise _error(layer, "the file does not say how many units")
        positions = prod(shape[:-1])
        return (*shape[:-1], layer.units), None, positions * c * layer.units, None, len(shape) == 1


class BatchNorm(OtherKind):
    counts_channels = True

    def params(self, layer: ModelLayer, channels: int | None) -> tuple[int | None, int | None]:
        if layer.weights:  # center=False or scale=False drop β or γ: the arrays say which
            total = _sum_weights(layer)
            moving = sum(prod(s) for name, s in layer.weights.items() if "moving" in name or "running" in name)
            if not moving and len(layer.weights) >= 2:  # unnamed (Keras 3): γ, β, then moving mean and variance
                moving = sum(prod(s) for s in list(layer.weights.values())[-2:])
            return total, total - moving
        if channels is None:
            return None, None
        return 4 * channels, 2 * channels

    def weights_biases(self, layer: ModelLayer, total: int) -> tuple[int | None, int | None]:
        return None, None  # γ, β, moving mean and variance: see convcli.layer.counts.OtherReport

    def flow(self, layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
        if layer.in_channels is not None and layer.in_channels != shape[-1]:
            raise _error(layer, f"the file says {layer.in_channels} channels, its input has {shape[-1]}")
        return shape, None, 0, None, False


class Pool(OtherKind):
    reads_map = True
    pools = True

    def flow(self, layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
        return _pool(layer, shape)


class GlobalPool(OtherKind):
    reads_map = True

    def flow(self, layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
        ndim = _class_axes(layer)
        if len(shape) != ndim + 1:
            raise _error(layer, f"{ndim}-D global pooling needs an {_SHAPE_NAMES[ndim]} input, got {shape}")
        return (((1,) * ndim + (shape[-1],)) if layer.keepdims else (shape[-1],)), None, 0, None, True


class Flatten(OtherKind):
    def flow(self, layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
        return (prod(shape),), None, 0, None, True


class ZeroPad(OtherKind):
    reads_map = True

    def flow(self, layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
        pads = layer.pads
        if pads is not None and len(pads) != 4 and len(pads) == 2 * (len(shape) - 1):  # 1-D, 3-D: per axis
            out = tuple(n + pads[2 * a] + pads[2 * a + 1] for a, n in enumerate(shape[:-1]))
            return (*out, shape[-1]), pads, 0, None, False
        if len(shape) != 3 or layer.pads is None:
            raise _error(layer, f"zero padding needs an (H, W, C) input and its pads, got {shape}")
        t, b, le, r = layer.pads
        return (shape[0] + t + b, shape[1] + le + r, shape[2]), layer.pads, 0, None, False


class Crop(OtherKind):
    """Keras' Cropping1D/3D: ``pads`` holds the rows cut ``(before, after)`` per axis."""

    reads_map = True

    def flow(self, layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
        cuts = layer.pads
        if cuts is None or len(cuts) != 2 * (len(shape) - 1):
            raise _error(layer, f"cropping needs an input with {len(cuts or ()) // 2} axes and C, got {shape}")
        out = tuple(n - cuts[2 * a] - cuts[2 * a + 1] for a, n in enumerate(shape[:-1]))
        if min(out) < 1:
            raise _error(layer, f"cropping {cuts} leaves nothing of {shape}")
        return (*out, shape[-1]), None, 0, None, False


class Upsample(OtherKind):
    """Keras' UpSampling1D/3D (nearest): each value repeated ``size`` times per axis (``kernel`` = ``strides``
    = ``size``): as a window, a transposed one whose kernel equals its stride."""

    reads_map = True
    spreads = True
    resamples = True

    def flow(self, layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
        size = layer.kernel
        if size is None or len(shape) != len(size) + 1:
            raise _error(layer, f"upsampling needs an input with {len(size or ())} axes and C, got {shape}")
        return (*(n * s for n, s in zip(shape, size, strict=False)), shape[-1]), None, 0, (size, size), False


class Resize(OtherKind):
    """Keras' Resizing: the map resampled to ``kernel`` = ``(height, width)`` by its ``interpolation``."""

    reads_map = True
    resamples = True

    def flow(self, layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
        size = layer.kernel
        if size is None or len(size) != 2 or len(shape) != 3:
            raise _error(layer, f"a resize to {size} needs an (H, W, C) input, got {shape}")
        if min(size) < 1:
            raise _error(layer, f"resizes to {size[0]}×{size[1]}: nothing is left")
        return (*size, shape[-1]), None, 0, None, False


#: Keras' element-wise merges other than Add, which broadcast their inputs (kinds: their names in lower case).
ELEMENTWISE_CLASSES = ("Multiply", "Subtract", "Average", "Maximum", "Minimum")
ELEMENTWISE = frozenset(name.lower() for name in ELEMENTWISE_CLASSES)


class Merge(OtherKind):
    merges = True

    def merge_shape(self, layer: ModelLayer, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
        """The output of an ``add`` (equal shapes), an element-wise merge (broadcast) or a ``concatenate``."""
        if not shapes:
            raise _error(layer, "merges no inputs")
        if self.name == "add":
            if any(s != shapes[0] for s in shapes):
                raise _error(layer, f"adds inputs of different shapes {', '.join(str(s) for s in shapes)}")
            return shapes[0]
        if self.name in ELEMENTWISE:  # broadcast, as Keras' Multiply: a squeeze-excite's (1, 1, C) scales each map
            rank = len(shapes[0])
            if any(len(s) != rank for s in shapes) or any(len({s[i] for s in shapes} - {1}) > 1 for i in range(rank)):
                raise _error(layer, f"cannot {self.name} inputs of shapes {', '.join(str(s) for s in shapes)}")
            return tuple(max(s[i] for s in shapes) for i in range(rank))
        axis = layer.axis if layer.axis is not None else -1
        rank = len(shapes[0])
        a = axis % rank if -rank <= axis < rank else None
        if a is None or any(len(s) != rank or any(s[i] != shapes[0][i] for i in range(rank) if i != a)
                            for s in shapes):
            raise _error(layer, f"cannot join inputs of shapes {', '.join(str(s) for s in shapes)} on axis {axis}")
        return tuple(sum(s[a] for s in shapes) if i == a else shapes[0][i] for i in range(rank))


class Reshape(OtherKind):
    def flow(self, layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
        """Keras' ``Reshape``: its ``target_shape``, the one ``-1`` the size that keeps every value."""
        target = layer.target_shape
        if target is None:
            return super().flow(layer, shape)
        size, known = prod(shape), prod(v for v in target if v != -1)
        if -1 in target and known > 0 and size % known == 0:
            target = tuple(size // known if v == -1 else v for v in target)
        if prod(target) != size or any(v <= 0 for v in target):
            raise _error(layer, f"cannot reshape {shape} to {layer.target_shape}")
        return target, None, 0, None, target[:-1] != shape[:-1]


class ShapeKeeping(OtherKind):
    def flow(self, layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
        return shape, None, 0, None, False


class Input(ShapeKeeping):
    starts = True


class Normalization(ShapeKeeping):
    def params(self, layer: ModelLayer, channels: int | None) -> tuple[int | None, int | None]:
        return _sum_weights(layer), 0  # its mean and variance are not trained


class Other(OtherKind):
    def params(self, layer: ModelLayer, channels: int | None) -> tuple[int | None, int | None]:
        total = _sum_weights(layer)
        return total, total


#: Every kind of a listing that is not a convolution, by name.
OTHER_KIND_OBJECTS: dict[str, OtherKind] = {k.name: k for k in (
    Dense("dense", "Dense"), BatchNorm("batchnorm", "BatchNormalization"),
    Pool("maxpool", "MaxPooling2D"), Pool("avgpool", "AveragePooling2D"),
    GlobalPool("globalavgpool", "GlobalAveragePooling2D"), GlobalPool("globalmaxpool", "GlobalMaxPooling2D"),
    Flatten("flatten", "Flatten"), ZeroPad("zeropad", "ZeroPadding2D"),
    Crop("crop", "Cropping1D"), Upsample("upsample", "UpSampling1D"), Resize("resize", "Resizing"),
    Reshape("reshape", "Reshape"),
    Merge("add", "Add"), *(Merge(name.lower(), name) for name in ELEMENTWISE_CLASSES),
    Merge("concatenate", "Concatenate"),
    Input("input", "InputLayer"), ShapeKeeping("rescaling", "Rescaling"),
    Normalization("normalization", "Normalization"), Other("other"),
)}
KINDS = tuple(OTHER_KIND_OBJECTS)


def other_kind(name: str) -> OtherKind:
    """The object of a non-conv kind (:data:`KINDS`); a kind no listing has gets one that holds no
    weights and keeps the shape of the classes in :data:`SHAPE_KEEPING` only."""
    return OTHER_KIND_OBJECTS.get(name) or OtherKind(name)


def params(layer: ModelLayer, in_shape: Sequence[int] | None = None) -> tuple[int | None, int | None]:
    """``(params, trainable)``: from the geometry when the kind has weights, else 0 (or the arrays
    the file lists). ``in_shape`` supplies the input channels a file may not hold."""
    c = layer.in_channels if layer.in_channels is not None else (in_shape[-1] if in_shape else None)
    return other_kind(layer.kind).params(layer, c)


def merge_shape(layer: ModelLayer, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """The output of an ``add`` (equal shapes) or a ``concatenate`` (along ``axis``)."""
    kind = other_kind(layer.kind)
    assert isinstance(kind, Merge)
    return kind.merge_shape(layer, shapes)


def flow(layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
    """``(out_shape, pads, macs, window, whole)`` of a non-conv layer on ``shape`` (see :meth:`OtherKind.flow`)."""
    return other_kind(layer.kind).flow(layer, shape)


#: An input of each spatial rank, as an error names it.
_SHAPE_NAMES = {1: "(L, C)", 2: "(H, W, C)", 3: "(D, H, W, C)"}


def _class_axes(layer: ModelLayer) -> int:
    """The spatial axes a pooling layer's class slides over: its window's, else its name's ``1D``/``3D``
    (Keras' ``GlobalAveragePooling1D``), else 2."""
    if layer.kernel is not None:
        return len(layer.kernel)
    return 1 if "1D" in layer.class_name else 3 if "3D" in layer.class_name else 2


def _pool_nd(layer: ModelLayer, shape: tuple[int, ...], k: tuple[int, ...]) -> Flow:
    """A 1-D or 3-D pooling window (Keras' ``valid``/``same``): out per axis, pads ``(before, after)`` per axis."""
    n = len(k)
    if len(shape) != n + 1:
        raise _error(layer, f"{n}-D pooling needs an {_SHAPE_NAMES[n]} input, got {shape}")
    s = layer.strides or k
    d = layer.dilation or (1,) * n
    p = layer.padding if layer.padding in ("valid", "same") else "valid"
    assert isinstance(p, str)
    pad_width = [axis_pads(shape[a], k[a], s[a], d[a], p) for a in range(n)]
    out = tuple(out_size_1d(shape[a], k[a], s[a], d[a], pad_width[a], kernel=k) for a in range(n))
    return (*out, shape[-1]), tuple(v for pair in pad_width for v in pair), 0, (k, s), False


def _pool(layer: ModelLayer, shape: tuple[int, ...]) -> Flow:
    if layer.kernel is not None and len(layer.kernel) != 2 and layer.pads is None and not layer.ceil_mode:
        return _pool_nd(layer, shape, layer.kernel)
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
