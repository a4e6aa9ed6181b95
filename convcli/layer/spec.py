"""The one layer spec: what a conv layer is, before any array exists (numpy-free).

A :class:`ConvSpec` is a layer of one of :data:`KINDS` over ``ndim`` spatial axes (2 for the
Conv2D family; 1 and 3 are representable for Conv1D/Conv3D): its kernel, stride and dilation per
axis, its padding as the user spelt it, its channels, groups, depth multiplier and bias.
:meth:`ConvSpec.pads` turns the spelt padding into concrete zeros for one input size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from convcli.errors import ConfigError
from convcli.layer import geometry

#: "valid", "same" or symmetric zeros per axis (ph, pw)
Padding = str | tuple[int, ...]

KINDS = ("conv", "depthwise", "separable", "transpose")
KERAS_NAMES = {
    "conv": "Conv2D",
    "depthwise": "DepthwiseConv2D",
    "separable": "SeparableConv2D",
    "transpose": "Conv2DTranspose",
}
#: Spatial dimensions a spec may have.
NDIMS = (1, 2, 3)
#: The largest size, count or step any one setting may have (2³¹ - 1, as an axis). Python's ints are unbounded
#: but numpy's indices and shapes are not: every setting is checked against this before anything is
#: allocated, and the products of settings (a kernel's weights, an output's values) are then
#: measured against the memory by the caller, in Python ints.
MAX_SIZE = geometry.MAX_SIZE


class LayerConfigError(ConfigError):
    """A layer setting that does not fit the others; ``field`` names the setting.

    ``against`` names the other setting of a relation that does not hold (``groups`` must divide
    ``in_channels``): a caller that took that setting from data words the error as a data error.
    """

    def __init__(self, field: str, message: str, *, against: str | None = None) -> None:
        super().__init__(message, field=field)
        self.against = against


def group_of(filt: int, filters: int, groups: int) -> int:
    """The group whose input channels filter ``filt`` of ``filters`` reads (``groups`` equal groups)."""
    return filt // (filters // groups)


@dataclass(frozen=True)
class ConvSpec:
    """A conv layer of one of :data:`KINDS` with ``ndim`` spatial axes, on ``in_channels`` channels.

    ``filters`` is ``F`` (``None`` for ``depthwise``, whose outputs are ``C·M``); ``kernel``,
    ``stride`` and ``dilation`` have one entry per axis; ``padding`` is ``"valid"``, ``"same"`` or
    symmetric zeros per axis (not for ``transpose``).
    """

    kind: str
    in_channels: int
    filters: int | None
    kernel: tuple[int, ...]
    stride: tuple[int, ...] = (1, 1)
    dilation: tuple[int, ...] = (1, 1)
    padding: Padding = "valid"
    groups: int = 1
    depth_multiplier: int = 1
    use_bias: bool = True
    ndim: int = 2

    @property
    def out_channels(self) -> int:
        if self.kind == "depthwise":
            return self.in_channels * self.depth_multiplier
        assert self.filters is not None  # checked by check_spec
        return self.filters

    @property
    def keras_name(self) -> str:
        return KERAS_NAMES[self.kind]

    def group_of(self, filt: int) -> int:
        """The group of filter ``filt`` (see :func:`group_of`)."""
        return group_of(filt, self.out_channels, self.groups)

    def pads(self, in_size: Sequence[int]) -> tuple[int, ...]:
        """The zeros added to an input of ``in_size`` (one length per axis), ``(before, after)`` per
        axis flattened: ``(top, bottom, left, right)`` in 2-D. Not for ``transpose`` (which pads its output)."""
        out: list[int] = []
        for axis, n in enumerate(in_size):
            p = self.padding if isinstance(self.padding, str) else self.padding[axis]
            out.extend(geometry.axis_pads(int(n), self.kernel[axis], self.stride[axis], self.dilation[axis], p))
        return tuple(out)

    def kernel_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every weight array in Keras layout (the names Keras gives them)."""
        k = tuple(self.kernel)
        c, g, m = self.in_channels, self.groups, self.depth_multiplier
        if self.kind == "conv":
            shapes: dict[str, tuple[int, ...]] = {"kernel": (*k, c // g, self.out_channels)}
        elif self.kind == "depthwise":
            shapes = {"kernel": (*k, c, m)}
        elif self.kind == "separable":
            ones = (1,) * len(k)
            shapes = {"depthwise_kernel": (*k, c, m), "pointwise_kernel": (*ones, c * m, self.out_channels)}
        else:  # Keras: (kh, kw, F, C); groups as in PyTorch, (C, F/g, kh, kw)
            shapes = {"kernel": (*k, self.out_channels // g, c)}
        if self.use_bias:
            shapes["bias"] = (self.out_channels,)
        return shapes


def _positive(value: int, field: str, name: str, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LayerConfigError(field, f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise LayerConfigError(field, f"{name} must be ≥ {minimum}, got {value}")
    if value > MAX_SIZE:
        raise LayerConfigError(field, f"{name} must be ≤ {MAX_SIZE}, got {value}")


def _per_axis(values: object, ndim: int, field: str, name: str) -> None:
    if not isinstance(values, (tuple, list)) or len(values) != ndim:
        raise LayerConfigError(field, f"{name} needs one value per spatial axis ({ndim}), got {values!r}")


def check_spec(spec: ConvSpec) -> ConvSpec:
    """``spec`` if its settings fit together; else :class:`LayerConfigError` naming the setting."""
    if spec.kind not in KINDS:
        raise LayerConfigError("kind", f"unknown layer kind {spec.kind!r}; choose from {', '.join(KINDS)}")
    if spec.ndim not in NDIMS:
        raise LayerConfigError("ndim", f"a layer has 1, 2 or 3 spatial axes, got {spec.ndim!r}")
    _positive(spec.in_channels, "in_channels", "the number of input channels")
    _per_axis(spec.kernel, spec.ndim, "kernel", "the kernel size")
    _per_axis(spec.stride, spec.ndim, "stride", "the stride")
    _per_axis(spec.dilation, spec.ndim, "dilation", "the dilation")
    for v in spec.kernel:
        _positive(v, "kernel", "the kernel size")
    for v in spec.stride:
        _positive(v, "stride", "the stride")
    for v in spec.dilation:
        _positive(v, "dilation", "the dilation")
    _positive(spec.groups, "groups", "groups")
    _positive(spec.depth_multiplier, "depth_multiplier", "the depth multiplier")
    name = spec.kind
    if spec.kind == "depthwise":
        if spec.filters is not None:
            raise LayerConfigError(
                "filters", "a depthwise layer has no filter count: it outputs C·M channels (set M, the depth multiplier)"
            )
    else:
        if spec.filters is None:
            raise LayerConfigError("filters", f"a {name} layer needs a filter count")
        _positive(spec.filters, "filters", "the number of filters")
    if spec.kind in ("depthwise", "separable") and spec.groups != 1:
        raise LayerConfigError("groups", f"groups is for conv and transpose; {name} already works on each channel alone")
    if spec.kind in ("conv", "transpose") and spec.depth_multiplier != 1:
        raise LayerConfigError("depth_multiplier", f"the depth multiplier is for depthwise and separable, not {name}")
    if spec.in_channels % spec.groups:
        raise LayerConfigError(
            "groups", f"groups {spec.groups} does not divide the {spec.in_channels} input channels",
            against="in_channels",
        )
    if spec.filters is not None and spec.filters % spec.groups:
        raise LayerConfigError("groups", f"groups {spec.groups} does not divide the {spec.filters} filters",
                               against="filters")
    if isinstance(spec.padding, str):
        if spec.padding not in ("valid", "same"):
            raise LayerConfigError("padding", f"padding must be valid, same or (ph, pw), got {spec.padding!r}")
    else:
        if spec.kind == "transpose":
            raise LayerConfigError("padding", "a transpose layer takes padding valid or same (Keras), not zeros")
        for v in spec.padding:
            _positive(v, "padding", "the padding", minimum=0)
        _per_axis(spec.padding, spec.ndim, "padding", "the padding")
    if spec.kind == "transpose" and any(d != 1 for d in spec.dilation):
        raise LayerConfigError("dilation", "dilation is not supported for transpose layers")
    return spec
