"""A model file's layers as one neutral listing (numpy-free).

Every reader in :mod:`convcli.sources.models` turns its format into a :class:`Listing`: the layers
in file order, each a :class:`ModelLayer` holding only what the file says (a value the file does not
hold is ``None``, never a guess): a header every layer has (name, kind, class, inbound, weights,
params) and one small settings object for its kind (:class:`ConvSettings`, :class:`PoolSettings`,
:class:`DenseSettings`, ...). :mod:`convcli.layer.model` follows them along the graph; the
counts (:mod:`convcli.layer.counts`, :mod:`convcli.layer.others`) read them without importing it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from convcli.layer.kinds import KIND_OBJECTS, is_conv_kind
from convcli.layer.spec import ConvSpec

# ------------------------------------------------------------------------------------------------
# Each kind's settings: only what that kind of layer has (a value the file does not hold is None)


@dataclass(frozen=True)
class ConvSettings:
    """A conv kind's (conv, depthwise, separable, transpose). ``padding`` is as spelt (``"valid"``,
    ``"same"``, ``"same_lower"`` for ONNX's SAME_LOWER, a ``--stack``'s symmetric zeros per axis
    ``(ph, pw)``, or ``None`` when the file gives only pads); ``pads`` are the concrete zeros
    ``(top, bottom, left, right)`` when the file holds them; ``filters`` is ``None`` for depthwise."""

    kernel: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    padding: str | tuple[int, ...] | None = None
    pads: tuple[int, int, int, int] | None = None
    dilation: tuple[int, ...] | None = None
    groups: int | None = None
    depth_multiplier: int | None = None
    in_channels: int | None = None
    filters: int | None = None
    use_bias: bool | None = None
    activation: str | None = None
    output_padding: tuple[int, ...] | None = None  # a transposed layer's (Keras, PyTorch); None: the rule's own


@dataclass(frozen=True)
class PoolSettings:
    """A pooling window's (max, average): as a conv's geometry, and ONNX's ``ceil_mode``; an
    upsampling's size (``kernel`` = ``strides``) and ``interpolation``; a resize's output size (``kernel``)
    and ``interpolation``."""

    kernel: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    padding: str | tuple[int, ...] | None = None
    pads: tuple[int, int, int, int] | None = None
    dilation: tuple[int, ...] | None = None
    ceil_mode: bool = False
    interpolation: str | None = None  # an upsampling's ("nearest", "bilinear", ...; None: nearest)


@dataclass(frozen=True)
class GlobalPoolSettings:
    keepdims: bool | None = None


@dataclass(frozen=True)
class DenseSettings:
    """A dense layer's: ``units`` outputs from ``in_channels`` inputs (ONNX Gemm's ``transpose_b``)."""

    in_channels: int | None = None
    units: int | None = None
    use_bias: bool | None = None
    activation: str | None = None
    transpose_b: bool = False


@dataclass(frozen=True)
class ChannelSettings:
    """A batch or other normalisation's: the channels it holds statistics for."""

    in_channels: int | None = None


@dataclass(frozen=True)
class InputSettings:
    input_shape: tuple[int | None, ...] | None = None  # (H, W, C), None where free


@dataclass(frozen=True)
class RescalingSettings:
    """``x * scale + offset`` (one number, or one per channel)."""

    scale: float | tuple[float, ...] | None = None
    offset: float | tuple[float, ...] | None = None


@dataclass(frozen=True)
class ConcatSettings:
    axis: int | None = None


@dataclass(frozen=True)
class ReshapeSettings:
    """Keras' ``Reshape``: the output's shape without the batch axis, ``-1`` for the one size it infers."""

    target_shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class PadSettings:
    pads: tuple[int, ...] | None = None  # (top, bottom, left, right); (before, after) per axis in 1-D, 3-D


@dataclass(frozen=True)
class OtherSettings:
    """Any other layer's (an activation layer's name for its function)."""

    activation: str | None = None


Settings = (ConvSettings | PoolSettings | GlobalPoolSettings | DenseSettings | ChannelSettings | InputSettings
            | RescalingSettings | ConcatSettings | ReshapeSettings | PadSettings | OtherSettings)
#: The settings each kind of a listing has; a kind not named here has :class:`OtherSettings`.
SETTINGS_OF: dict[str, type[Settings]] = {
    **{kind: ConvSettings for kind in KIND_OBJECTS},
    "maxpool": PoolSettings, "avgpool": PoolSettings, "globalavgpool": GlobalPoolSettings,
    "globalmaxpool": GlobalPoolSettings, "dense": DenseSettings, "batchnorm": ChannelSettings,
    "normalization": ChannelSettings, "input": InputSettings, "rescaling": RescalingSettings,
    "concatenate": ConcatSettings, "zeropad": PadSettings, "crop": PadSettings, "upsample": PoolSettings,
    "resize": PoolSettings, "reshape": ReshapeSettings,
}
#: Every setting a kind may have, and its value where the kind has none.
SETTING_DEFAULTS: dict[str, object] = {
    "kernel": None, "strides": None, "padding": None, "pads": None, "dilation": None, "groups": None,
    "depth_multiplier": None, "in_channels": None, "filters": None, "units": None, "use_bias": None,
    "activation": None, "input_shape": None, "axis": None, "keepdims": None, "ceil_mode": False,
    "transpose_b": False, "scale": None, "offset": None, "output_padding": None, "interpolation": None,
    "target_shape": None,
}


_OWN: dict[type[Settings], frozenset[str]] = {cls: frozenset(f.name for f in fields(cls))
                                              for cls in set(SETTINGS_OF.values()) | {OtherSettings}}


def _settings(kind: str, base: Settings | None, given: Mapping[str, object]) -> Settings:
    """``kind``'s settings from ``given`` (over ``base``); a value given for a setting the kind does
    not have is a mistake of the reader (a default value, None or False, is no value)."""
    cls = SETTINGS_OF.get(kind, OtherSettings)
    own = _OWN[cls]
    stray = [k for k, v in given.items() if k not in own and v != SETTING_DEFAULTS[k]]
    if stray:
        raise TypeError(f"a {kind} layer has no {', '.join(stray)}")
    values: dict[str, Any] = {k: v for k, v in given.items() if k in own}  # each typed by the constructor
    if base is not None and type(base) is cls:
        return replace(base, **values)
    return cls(**values)


@dataclass(frozen=True, init=False)
class ModelLayer:
    """One layer as the file holds it: a header every kind has, and its kind's :data:`Settings`.

    ``weights`` are the shapes of the arrays the file holds for the layer, by name, in its own
    layout; ``params`` is set by readers whose format has no geometry to count from (safetensors,
    state dicts), else counted by :func:`convcli.layer.model.analyse`; ``inbound`` names the layers
    it reads (``None``: the previous layer, a chain).

    Built as ``ModelLayer(name, kind, class_name, kernel=..., units=...)``: the settings given go to
    the kind's settings object, and each reads back as an attribute (``layer.kernel``; ``None``, or
    False, where the kind has no such setting).
    """

    name: str
    kind: str
    class_name: str
    inbound: tuple[str, ...] | None
    weights: dict[str, tuple[int, ...]]
    params: int | None
    trainable: int | None
    settings: Settings

    def __init__(self, name: str, kind: str, class_name: str, *, inbound: tuple[str, ...] | None = None,
                 weights: dict[str, tuple[int, ...]] | None = None, params: int | None = None,
                 trainable: int | None = None, settings: Settings | None = None,
                 kernel: tuple[int, ...] | None = None, strides: tuple[int, ...] | None = None,
                 padding: str | tuple[int, ...] | None = None, pads: tuple[int, int, int, int] | None = None,
                 dilation: tuple[int, ...] | None = None, groups: int | None = None,
                 depth_multiplier: int | None = None, in_channels: int | None = None, filters: int | None = None,
                 units: int | None = None, use_bias: bool | None = None, activation: str | None = None,
                 input_shape: tuple[int | None, ...] | None = None, axis: int | None = None,
                 keepdims: bool | None = None, ceil_mode: bool = False, transpose_b: bool = False,
                 scale: float | tuple[float, ...] | None = None,
                 offset: float | tuple[float, ...] | None = None,
                 output_padding: tuple[int, ...] | None = None, interpolation: str | None = None,
                 target_shape: tuple[int, ...] | None = None) -> None:
        given = {
            "kernel": kernel, "strides": strides, "padding": padding, "pads": pads, "dilation": dilation,
            "groups": groups, "depth_multiplier": depth_multiplier, "in_channels": in_channels,
            "filters": filters, "units": units, "use_bias": use_bias, "activation": activation,
            "input_shape": input_shape, "axis": axis, "keepdims": keepdims, "ceil_mode": ceil_mode,
            "transpose_b": transpose_b, "scale": scale, "offset": offset, "output_padding": output_padding,
            "interpolation": interpolation, "target_shape": target_shape,
        }
        if settings is not None:  # dataclasses.replace: the settings as they were, the ones named changed
            given = {k: v for k, v in given.items() if v != SETTING_DEFAULTS[k]}
        for key, value in (("name", name), ("kind", kind), ("class_name", class_name), ("inbound", inbound),
                           ("weights", {} if weights is None else weights), ("params", params),
                           ("trainable", trainable), ("settings", _settings(kind, settings, given))):
            object.__setattr__(self, key, value)

    def changed(self, **settings: object) -> ModelLayer:
        """This layer with some of its settings changed (``layer.changed(in_channels=3)``)."""
        return ModelLayer(self.name, self.kind, self.class_name, inbound=self.inbound, weights=self.weights,
                          params=self.params, trainable=self.trainable,
                          settings=_settings(self.kind, self.settings, settings))

    def _get(self, key: str) -> object:
        return getattr(self.settings, key, SETTING_DEFAULTS[key])

    # each setting, read from the kind's settings (None, or False, where the kind has none)

    @property
    def kernel(self) -> tuple[int, ...] | None:
        return self._get("kernel")  # type: ignore[return-value]

    @property
    def strides(self) -> tuple[int, ...] | None:
        return self._get("strides")  # type: ignore[return-value]

    @property
    def padding(self) -> str | tuple[int, ...] | None:
        return self._get("padding")  # type: ignore[return-value]

    @property
    def pads(self) -> tuple[int, int, int, int] | None:
        return self._get("pads")  # type: ignore[return-value]

    @property
    def dilation(self) -> tuple[int, ...] | None:
        return self._get("dilation")  # type: ignore[return-value]

    @property
    def groups(self) -> int | None:
        return self._get("groups")  # type: ignore[return-value]

    @property
    def depth_multiplier(self) -> int | None:
        return self._get("depth_multiplier")  # type: ignore[return-value]

    @property
    def in_channels(self) -> int | None:
        return self._get("in_channels")  # type: ignore[return-value]

    @property
    def filters(self) -> int | None:
        return self._get("filters")  # type: ignore[return-value]

    @property
    def output_padding(self) -> tuple[int, ...] | None:
        return self._get("output_padding")  # type: ignore[return-value]

    @property
    def interpolation(self) -> str | None:
        return self._get("interpolation")  # type: ignore[return-value]

    @property
    def units(self) -> int | None:
        return self._get("units")  # type: ignore[return-value]

    @property
    def use_bias(self) -> bool | None:
        return self._get("use_bias")  # type: ignore[return-value]

    @property
    def activation(self) -> str | None:
        return self._get("activation")  # type: ignore[return-value]

    @property
    def input_shape(self) -> tuple[int | None, ...] | None:
        return self._get("input_shape")  # type: ignore[return-value]

    @property
    def target_shape(self) -> tuple[int, ...] | None:
        return self._get("target_shape")  # type: ignore[return-value]

    @property
    def axis(self) -> int | None:
        return self._get("axis")  # type: ignore[return-value]

    @property
    def keepdims(self) -> bool | None:
        return self._get("keepdims")  # type: ignore[return-value]

    @property
    def ceil_mode(self) -> bool:
        return bool(self._get("ceil_mode"))

    @property
    def transpose_b(self) -> bool:
        return bool(self._get("transpose_b"))

    @property
    def scale(self) -> float | tuple[float, ...] | None:
        return self._get("scale")  # type: ignore[return-value]

    @property
    def offset(self) -> float | tuple[float, ...] | None:
        return self._get("offset")  # type: ignore[return-value]

    def spec(self) -> ConvSpec:
        """The conv spec of a conv kind (the pads, when explicit, are applied by :func:`analyse`)."""
        assert is_conv_kind(self.kind) and self.kernel is not None and self.in_channels is not None
        padding: str | tuple[int, ...]
        if isinstance(self.padding, str) and self.padding in ("valid", "same", "causal") \
                or isinstance(self.padding, tuple):
            padding = self.padding  # a tuple: symmetric zeros per axis, as a --stack's pPHxPW
        else:
            padding = "valid"
        ndim = len(self.kernel)
        return ConvSpec(
            kind=self.kind, in_channels=self.in_channels,
            filters=self.filters if KIND_OBJECTS[self.kind].has_filters else None,
            kernel=self.kernel, stride=self.strides or (1,) * ndim, dilation=self.dilation or (1,) * ndim,
            padding=padding, groups=self.groups or 1, depth_multiplier=self.depth_multiplier or 1,
            use_bias=bool(self.use_bias), ndim=ndim, output_padding=self.output_padding,
        )


@dataclass(frozen=True)
class Listing:
    """A model file's layers; ``format`` names the reader, ``notes`` what the listing cannot know."""

    model: str
    format: str
    layers: tuple[ModelLayer, ...]
    notes: tuple[str, ...] = ()
    graph: bool = True  # the file holds a graph (geometry, order, merges)
    #: the format's own shape inference (ONNX's): each layer's output shape, by name, on an input size
    #: ``(H, W, C)``; :func:`convcli.layer.model.analyse` takes these shapes over its own walk's
    shapes: Callable[[tuple[int, ...]], Mapping[str, tuple[int, ...]]] | None = field(default=None, compare=False,
                                                                                      repr=False)

    def input_channels(self) -> int | None:
        """The input's channels C where the file fixes them: its input layer's ``(H, W, C)`` (or
        ``(L, C)``, ``(D, H, W, C)``), else the first conv's input channels; None where the model takes any C."""
        for layer in self.layers:
            if layer.kind == "input" and layer.input_shape and 2 <= len(layer.input_shape) <= 4:
                return layer.input_shape[-1]
            if is_conv_kind(layer.kind) or layer.kind == "dense":
                return layer.in_channels
        return None

    def spatial_axes(self) -> int:
        """The spatial axes of the model's input (1 for ``(L, C)``, 2 for ``(H, W, C)``, 3 for
        ``(D, H, W, C)``): its input layer's rank where the file holds its shape, else the first conv
        or pooling window's; 2 where neither says."""
        for layer in self.layers:
            if layer.kind == "input" and layer.input_shape is not None:
                return len(layer.input_shape) - 1 if 2 <= len(layer.input_shape) <= 4 else 2
            if (is_conv_kind(layer.kind) or layer.kind in ("maxpool", "avgpool")) and layer.kernel is not None:
                return len(layer.kernel) if 1 <= len(layer.kernel) <= 3 else 2
            if layer.kind in ("dense", "flatten"):
                return 2
        return 2
