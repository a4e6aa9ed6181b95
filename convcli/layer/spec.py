"""The one layer spec: what a conv layer is, before any array exists (numpy-free).

A :class:`ConvSpec` is a layer of one of :data:`KINDS` over ``ndim`` spatial axes (2 for the
Conv2D family; 1 and 3 are representable for Conv1D/Conv3D): its kernel, stride and dilation per
axis, its padding as the user spelt it, its channels, groups, depth multiplier and bias.
:meth:`ConvSpec.pads` turns the spelt padding into concrete zeros for one input size, and
:meth:`ConvSpec.geometry` into a whole :class:`~convcli.layer.geometry.Geometry`. What differs
between kinds lives in the kind's object, ``spec.kind_obj`` (:mod:`convcli.layer.kinds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from convcli.errors import ConfigError
from convcli.layer import geometry
from convcli.layer.kinds import KIND_OBJECTS, PADDING_MODES, ConvKind, check_whole, kind_of
from convcli.layer.kinds import (
    LayerConfigError as LayerConfigError,  # defined here first; callers import it here
)

#: "valid", "same" or symmetric zeros per axis (ph, pw)
Padding = str | tuple[int, ...]

#: The conv kinds by name (their objects: :data:`convcli.layer.kinds.KIND_OBJECTS`).
KINDS = tuple(KIND_OBJECTS)
#: The Keras class of each kind in 2-D (``spec.keras_name`` names it for the spec's axes).
KERAS_NAMES = {name: kind.keras_name(2) for name, kind in KIND_OBJECTS.items()}
#: Spatial dimensions a spec may have.
NDIMS = (1, 2, 3)
#: The largest size, count or step any one setting may have (2³¹ - 1, as an axis). Python's ints are unbounded
#: but numpy's indices and shapes are not: every setting is checked against this before anything is
#: allocated, and the products of settings (a kernel's weights, an output's values) are then
#: measured against the memory by the caller, in Python ints.
MAX_SIZE = geometry.MAX_SIZE


def group_of(filt: int, filters: int, groups: int) -> int:
    """The group whose input channels filter ``filt`` of ``filters`` reads (``groups`` equal groups)."""
    return filt // (filters // groups)


@dataclass(frozen=True)
class ConvSpec:
    """A conv layer of one of :data:`KINDS` with ``ndim`` spatial axes, on ``in_channels`` channels.

    ``filters`` is ``F`` (``None`` for ``depthwise``, whose outputs are ``C·M``); ``kernel``,
    ``stride`` and ``dilation`` have one entry per axis; ``padding`` is ``"valid"``, ``"same"``,
    ``"causal"`` (1-D: ``(k - 1)·d`` before) or symmetric pads per axis (not for ``transpose``);
    ``padding_mode`` what the pads hold, as PyTorch's (``zeros``, ``reflect``, ``replicate``, ``circular``).
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
    padding_mode: str = "zeros"
    #: a transposed layer's output padding per axis (``None``: the framework's default), see
    #: :func:`~convcli.layer.geometry.transpose_crop_1d`
    output_padding: tuple[int, ...] | None = None

    @property
    def kind_obj(self) -> ConvKind:
        """The object of :attr:`kind` (:mod:`convcli.layer.kinds`): its checks, shapes and counts."""
        return kind_of(self.kind)

    @property
    def out_channels(self) -> int:
        return self.kind_obj.out_channels(self)

    @property
    def keras_name(self) -> str:
        return self.kind_obj.keras_name(self.ndim)

    @property
    def torch_name(self) -> str:
        return self.kind_obj.torch_name(self.ndim)

    def geometry(self, in_size: Sequence[int]) -> geometry.Geometry:
        """Where the kernel reads an input of ``in_size`` (one length per axis): the one constructor
        of a spec's :class:`~convcli.layer.geometry.Geometry`. Not for ``transpose``."""
        return self.kind_obj.geometry(self, in_size)

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
        return self.kind_obj.kernel_shapes(self)


def _per_axis(values: object, ndim: int, field: str, name: str) -> None:
    if not isinstance(values, (tuple, list)) or len(values) != ndim:
        raise LayerConfigError(field, f"{name} needs one value per spatial axis ({ndim}), got {values!r}")


def check_spec(spec: ConvSpec) -> ConvSpec:
    """``spec`` if its settings fit together; else :class:`LayerConfigError` naming the setting."""
    kind = kind_of(spec.kind)
    if spec.ndim not in NDIMS:
        raise LayerConfigError("ndim", f"a layer has 1, 2 or 3 spatial axes, got {spec.ndim!r}")
    check_whole(spec.in_channels, "in_channels", "the number of input channels")
    _per_axis(spec.kernel, spec.ndim, "kernel", "the kernel size")
    _per_axis(spec.stride, spec.ndim, "stride", "the stride")
    _per_axis(spec.dilation, spec.ndim, "dilation", "the dilation")
    for v in spec.kernel:
        check_whole(v, "kernel", "the kernel size")
    for v in spec.stride:
        check_whole(v, "stride", "the stride")
    for v in spec.dilation:
        check_whole(v, "dilation", "the dilation")
    check_whole(spec.groups, "groups", "groups")
    check_whole(spec.depth_multiplier, "depth_multiplier", "the depth multiplier")
    kind.check(spec)
    if spec.in_channels % spec.groups:
        raise LayerConfigError(
            "groups", f"groups {spec.groups} does not divide the {spec.in_channels} input channels",
            against="in_channels",
        )
    if spec.filters is not None and spec.filters % spec.groups:
        raise LayerConfigError("groups", f"groups {spec.groups} does not divide the {spec.filters} filters",
                               against="filters")
    if isinstance(spec.padding, str):
        if spec.padding not in ("valid", "same", "causal"):
            raise LayerConfigError("padding", f"padding must be valid, same, causal or (ph, pw), got {spec.padding!r}")
        if spec.padding == "causal" and (spec.ndim != 1 or kind.transposed):
            raise LayerConfigError("padding", f"padding causal is for 1-D conv and depthwise layers (Keras' Conv1D "
                                              f"rule), not a {spec.ndim}-D {spec.kind} layer")
    else:
        kind.check_padding(spec)
        for v in spec.padding:
            check_whole(v, "padding", "the padding", minimum=0)
        _per_axis(spec.padding, spec.ndim, "padding", "the padding")
    kind.check_dilation(spec)
    if spec.padding_mode not in PADDING_MODES:
        raise LayerConfigError("padding_mode", f"padding mode must be one of {', '.join(PADDING_MODES)}, "
                                               f"got {spec.padding_mode!r}")
    if spec.padding_mode != "zeros" and kind.transposed:
        raise LayerConfigError("padding_mode", "a transpose layer pads with zeros only (as PyTorch's)")
    if spec.padding_mode != "zeros" and spec.kind == "separable":
        raise LayerConfigError("padding_mode", f"padding mode {spec.padding_mode}: a separable layer pads with zeros "
                                               "only (as Keras' SeparableConv)")
    _check_output_padding(spec, kind)
    return spec


def _check_output_padding(spec: ConvSpec, kind: ConvKind) -> None:
    if spec.output_padding is None:
        return
    if not kind.transposed:
        raise LayerConfigError("output_padding", f"the output padding is for transpose layers, not {spec.kind}")
    _per_axis(spec.output_padding, spec.ndim, "output_padding", "the output padding")
    for a, op in enumerate(spec.output_padding):
        check_whole(op, "output_padding", "the output padding", minimum=0)
        padding = spec.padding if isinstance(spec.padding, str) else spec.padding[a]
        try:
            geometry.check_output_padding(op, spec.stride[a], spec.dilation[a], padding)
        except ConfigError as exc:
            raise LayerConfigError("output_padding", str(exc)) from None
