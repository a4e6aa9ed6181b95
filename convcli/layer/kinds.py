"""The conv layer kinds as objects: what each one checks, holds, counts and is called (numpy-free).

One object per kind, :data:`CONV`, :data:`DEPTHWISE`, :data:`SEPARABLE` and :data:`TRANSPOSE`,
looked up by name with :func:`kind_of` (``spec.kind_obj``). Each knows its checks, the shapes of its
weight arrays in Keras layout, its parameter and MAC terms, its output size and its Keras and
PyTorch class names, for 1, 2 or 3 spatial axes. Sizes are named as in :mod:`convcli.layer.counts`:
input ``(*S, C)`` (``S`` = ``L``, ``(H, W)`` or ``(D, H, W)``), kernel ``k`` per axis, ``F``
filters, ``g`` groups, ``M`` depth multiplier.

A new kind is a subclass of :class:`ConvKind` registered in :data:`KIND_OBJECTS`, plus its engine
path (:func:`convcli.engine.bind` binds the kinds whose :meth:`~ConvKind.grouped` is not ``None``).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Protocol, TypedDict

from convcli.errors import ConfigError, ShapeError
from convcli.layer.geometry import MAX_SIZE, Geometry, check_size, transpose_out_1d

#: A product of named factors, e.g. (("kh", 3), ("kw", 3), ("C/g", 64), ("F", 128)).
Term = tuple[tuple[str, int], ...]

#: The names of the input sizes and kernel sizes in formulas, by the number of spatial axes.
SIZE_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
KERNEL_NAMES = {1: ("k",), 2: ("kh", "kw"), 3: ("kd", "kh", "kw")}


def term_value(term: Term) -> int:
    return prod(v for _, v in term)


class LayerConfigError(ConfigError):
    """A layer setting that does not fit the others; ``field`` names the setting.

    ``against`` names the other setting of a relation that does not hold (``groups`` must divide
    ``in_channels``): a caller that took that setting from data words the error as a data error.
    """

    def __init__(self, field: str, message: str, *, against: str | None = None) -> None:
        super().__init__(message, field=field)
        self.against = against


def check_whole(value: int, field: str, name: str, minimum: int = 1) -> None:
    """:class:`LayerConfigError` unless ``value`` is an int from ``minimum`` to :data:`MAX_SIZE`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise LayerConfigError(field, f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise LayerConfigError(field, f"{name} must be ≥ {minimum}, got {value}")
    if value > MAX_SIZE:
        raise LayerConfigError(field, f"{name} must be ≤ {MAX_SIZE}, got {value}")


class SpecLike(Protocol):
    """What a kind reads of a spec (:class:`convcli.layer.spec.ConvSpec` is one)."""

    @property
    def in_channels(self) -> int: ...
    @property
    def filters(self) -> int | None: ...
    @property
    def kernel(self) -> tuple[int, ...]: ...
    @property
    def stride(self) -> tuple[int, ...]: ...
    @property
    def dilation(self) -> tuple[int, ...]: ...
    @property
    def padding(self) -> str | tuple[int, ...]: ...
    @property
    def groups(self) -> int: ...
    @property
    def depth_multiplier(self) -> int: ...
    @property
    def use_bias(self) -> bool: ...
    @property
    def ndim(self) -> int: ...


class Twin(TypedDict, total=False):
    """The settings that turn a spec into the layer worth comparing it with."""

    kind: str
    filters: int
    groups: int
    depth_multiplier: int


def _kernel_term(spec: SpecLike) -> Term:
    return tuple(zip(KERNEL_NAMES[spec.ndim], spec.kernel, strict=True))


def _c_over_g(c: int, g: int) -> tuple[str, int]:
    return ("C/g" if g > 1 else "C", c // g)


def _f_over_g(f: int, g: int) -> tuple[str, int]:
    return ("F/g" if g > 1 else "F", f // g)


class ConvKind:
    """One kind of conv layer. Subclasses set the names and override what differs."""

    #: the kind's name in a spec (``spec.kind``), the CLI and the JSON
    name: str = ""
    #: Keras' class stem: ``{stem}1D``/``2D``/``3D`` (with ``suffix`` after it)
    keras_stem: str = "Conv"
    keras_suffix: str = ""
    #: PyTorch's module (depthwise and separable layers are ``Conv{n}d``s with groups)
    torch_stem: str = "Conv"
    #: a transposed layer spreads its input: it pads its output, not its input, and its stride
    #: divides the effective stride
    transposed: bool = False
    #: a depthwise layer has no filter count (its outputs are C·M)
    has_filters: bool = True
    #: the settings this kind takes beyond kernel, stride, dilation and padding
    takes_groups: bool = True
    takes_depth_multiplier: bool = False
    #: the engine computes this kind (as the grouped conv :meth:`grouped` describes, or with an engine of its own)
    computes: bool = True
    #: the engine computes this kind with a module of its own (``engine.transpose``, ``engine.separable``),
    #: not as the grouped conv :func:`convcli.engine.bind` binds
    own_engine: bool = False

    def __repr__(self) -> str:
        return f"<kind {self.name}>"

    def keras_name(self, ndim: int = 2) -> str:
        """``Conv2D``, ``DepthwiseConv1D``, ``Conv3DTranspose``, ... (Keras 3 has no 3-D depthwise or
        separable class: those names say what the layer is, not a class to look up)."""
        return f"{self.keras_stem}{ndim}D{self.keras_suffix}"

    def torch_name(self, ndim: int = 2) -> str:
        """``Conv2d``, ``ConvTranspose3d``, ..."""
        return f"{self.torch_stem}{ndim}d"

    # -- checks ----------------------------------------------------------------------------------

    def check(self, spec: SpecLike) -> None:
        """The checks of this kind's own settings: filters, groups, depth multiplier."""
        if self.has_filters:
            if spec.filters is None:
                raise LayerConfigError("filters", f"a {self.name} layer needs a filter count")
            check_whole(spec.filters, "filters", "the number of filters")
        elif spec.filters is not None:
            raise LayerConfigError(
                "filters", "a depthwise layer has no filter count: it outputs C·M channels (set M, the depth multiplier)"
            )
        if not self.takes_groups and spec.groups != 1:
            raise LayerConfigError("groups",
                                   f"groups is for conv and transpose; {self.name} already works on each channel alone")
        if not self.takes_depth_multiplier and spec.depth_multiplier != 1:
            raise LayerConfigError("depth_multiplier",
                                   f"the depth multiplier is for depthwise and separable, not {self.name}")

    def check_padding(self, spec: SpecLike) -> None:
        """The checks of padding and dilation this kind adds to the general ones."""
        if self.transposed and not isinstance(spec.padding, str):
            raise LayerConfigError("padding", "a transpose layer takes padding valid or same (Keras), not zeros")

    def check_dilation(self, spec: SpecLike) -> None:
        if self.transposed and any(d != 1 for d in spec.dilation):
            raise LayerConfigError("dilation", "dilation is not supported for transpose layers")

    # -- shapes and counts -----------------------------------------------------------------------

    def out_channels(self, spec: SpecLike) -> int:
        assert spec.filters is not None  # checked by check
        return spec.filters

    def kernel_shapes(self, spec: SpecLike) -> dict[str, tuple[int, ...]]:
        """Every weight array in Keras layout (the names Keras gives them), the bias included."""
        shapes = self.weight_shapes(spec)
        if spec.use_bias:
            shapes["bias"] = (self.out_channels(spec),)
        return shapes

    def weight_shapes(self, spec: SpecLike) -> dict[str, tuple[int, ...]]:
        c, g = spec.in_channels, spec.groups
        return {"kernel": (*spec.kernel, c // g, self.out_channels(spec))}

    def grouped(self, spec: SpecLike) -> tuple[tuple[int, ...], int] | None:
        """``(kernel shape, groups)`` of the grouped conv the engine computes for this kind, whose
        kernel is ``kernel_shapes()["kernel"]`` reshaped; ``None`` when the engine does not compute it."""
        if not self.computes or self.own_engine:
            return None
        return self.weight_shapes(spec)["kernel"], spec.groups

    def weight_terms(self, spec: SpecLike) -> tuple[Term, ...]:
        c, g, f = spec.in_channels, spec.groups, self.out_channels(spec)
        return ((*_kernel_term(spec), _c_over_g(c, g), ("F", f)),)

    def bias_term(self, spec: SpecLike) -> Term:
        return (("F", self.out_channels(spec)),)

    def geometry(self, spec: SpecLike, in_size: Sequence[int]) -> Geometry:
        """Where the kernel reads an input of ``in_size`` (one length per axis); not for a transposed kind."""
        if self.transposed:
            raise ValueError(f"a {self.name} layer pads its output: it has no input geometry")
        padding = (spec.padding,) * spec.ndim if isinstance(spec.padding, str) else spec.padding
        return Geometry.build(in_size, spec.kernel, spec.stride, spec.dilation, padding)

    def out_size(self, spec: SpecLike, in_size: Sequence[int]) -> tuple[int, ...]:
        """The output's length per axis for an input of ``in_size``."""
        return self.geometry(spec, in_size).out_size

    def mac_terms(self, spec: SpecLike, in_size: Sequence[int], out_size: Sequence[int]) -> tuple[Term, ...]:
        """The products whose sum is the layer's MACs (see :mod:`convcli.layer.counts`)."""
        c, g, f = spec.in_channels, spec.groups, self.out_channels(spec)
        return ((*self._out_term(spec, out_size), *_kernel_term(spec), _c_over_g(c, g), ("F", f)),)

    @staticmethod
    def _out_term(spec: SpecLike, out_size: Sequence[int]) -> Term:
        return tuple(zip((f"{n}'" for n in SIZE_NAMES[spec.ndim]), out_size, strict=True))

    def twin(self, spec: SpecLike) -> Twin | None:
        """The settings that turn ``spec`` into the layer worth comparing it with (``None``: none)."""
        if spec.groups > 1:
            return {"groups": 1}
        if any(v != 1 for v in spec.kernel):
            return {"kind": "separable"}
        return None


class Conv(ConvKind):
    """``Conv{n}D``: ``F`` filters, each over ``C/g`` channels of its group."""

    name = "conv"


class Depthwise(ConvKind):
    """``DepthwiseConv{n}D``: ``M`` filters on each channel alone; outputs ``C·M``, filter ``c·M + j``
    reading channel ``c``."""

    name = "depthwise"
    keras_stem = "DepthwiseConv"
    has_filters = False
    takes_groups = False
    takes_depth_multiplier = True

    def out_channels(self, spec: SpecLike) -> int:
        return spec.in_channels * spec.depth_multiplier

    def weight_shapes(self, spec: SpecLike) -> dict[str, tuple[int, ...]]:
        return {"kernel": (*spec.kernel, spec.in_channels, spec.depth_multiplier)}

    def grouped(self, spec: SpecLike) -> tuple[tuple[int, ...], int] | None:
        c, m = spec.in_channels, spec.depth_multiplier
        return (*spec.kernel, 1, c * m), c

    def weight_terms(self, spec: SpecLike) -> tuple[Term, ...]:
        return ((*_kernel_term(spec), ("C", spec.in_channels), ("M", spec.depth_multiplier)),)

    def bias_term(self, spec: SpecLike) -> Term:
        return (("C", spec.in_channels), ("M", spec.depth_multiplier))

    def mac_terms(self, spec: SpecLike, in_size: Sequence[int], out_size: Sequence[int]) -> tuple[Term, ...]:
        out = self._out_term(spec, out_size)
        return ((*out, *_kernel_term(spec), ("C", spec.in_channels), ("M", spec.depth_multiplier)),)

    def twin(self, spec: SpecLike) -> Twin | None:
        return {"kind": "conv", "filters": self.out_channels(spec), "depth_multiplier": 1}


class Separable(ConvKind):
    """``SeparableConv{n}D``: a depthwise layer, then a pointwise (1×…×1) conv to ``F`` filters."""

    name = "separable"
    keras_stem = "SeparableConv"
    takes_groups = False
    takes_depth_multiplier = True
    own_engine = True  # a depthwise layer, then a pointwise conv (convcli.engine.separable)

    def weight_shapes(self, spec: SpecLike) -> dict[str, tuple[int, ...]]:
        c, m = spec.in_channels, spec.depth_multiplier
        ones = (1,) * len(spec.kernel)
        return {"depthwise_kernel": (*spec.kernel, c, m), "pointwise_kernel": (*ones, c * m, self.out_channels(spec))}

    def weight_terms(self, spec: SpecLike) -> tuple[Term, ...]:
        c, m, f = spec.in_channels, spec.depth_multiplier, self.out_channels(spec)
        return ((*_kernel_term(spec), ("C", c), ("M", m)), (("C", c), ("M", m), ("F", f)))

    def mac_terms(self, spec: SpecLike, in_size: Sequence[int], out_size: Sequence[int]) -> tuple[Term, ...]:
        c, m, f = spec.in_channels, spec.depth_multiplier, self.out_channels(spec)
        out = self._out_term(spec, out_size)
        return ((*out, *_kernel_term(spec), ("C", c), ("M", m)), (*out, ("C", c), ("M", m), ("F", f)))

    def twin(self, spec: SpecLike) -> Twin | None:
        return {"kind": "conv", "depth_multiplier": 1, "filters": self.out_channels(spec)}


class Transpose(ConvKind):
    """``Conv{n}DTranspose``: every input value spreads a kernel-sized patch, ``s`` apart; Keras'
    kernel is ``(*k, F/g, C)`` (groups as in PyTorch's ``(C, F/g, *k)``)."""

    name = "transpose"
    keras_suffix = "Transpose"
    torch_stem = "ConvTranspose"
    transposed = True
    own_engine = True  # convcli.engine.transpose

    def check_padding(self, spec: SpecLike) -> None:
        """Keras' ``valid``/``same`` or PyTorch's count ``P`` (removed from each end of the output)."""

    def check_dilation(self, spec: SpecLike) -> None:
        """Any dilation, as PyTorch's ``ConvTranspose`` and Keras' ``Conv*DTranspose`` take."""

    def weight_shapes(self, spec: SpecLike) -> dict[str, tuple[int, ...]]:
        return {"kernel": (*spec.kernel, self.out_channels(spec) // spec.groups, spec.in_channels)}

    def weight_terms(self, spec: SpecLike) -> tuple[Term, ...]:
        # in the order of Keras' kernel (*k, F, C)
        f, g = self.out_channels(spec), spec.groups
        return ((*_kernel_term(spec), _f_over_g(f, g), ("C", spec.in_channels)),)

    def out_size(self, spec: SpecLike, in_size: Sequence[int]) -> tuple[int, ...]:
        """:func:`~convcli.layer.geometry.transpose_out_1d` per axis: Keras 3's ``valid`` gives
        ``(n - 1)·s + max(K, s)``, ``same`` gives ``n·s`` (``K = (k - 1)·d + 1``); PyTorch's padding ``P``
        gives ``(n - 1)·s - 2·P + K + op``; a given output padding ``op`` as each framework adds it."""
        size = check_size(in_size)
        ops = getattr(spec, "output_padding", None)
        out = tuple(transpose_out_1d(n, spec.kernel[a], spec.stride[a],
                                     spec.padding if isinstance(spec.padding, str) else spec.padding[a],
                                     d=spec.dilation[a], output_padding=None if ops is None else ops[a])
                    for a, n in enumerate(size))
        if min(out) < 1:
            a = out.index(min(out))
            raise ShapeError(f"the transposed output would have {out[a]} positions on axis {a}: padding "
                             f"{spec.padding!r} cuts more than the {size[a]}-long input spreads")
        return out

    def mac_terms(self, spec: SpecLike, in_size: Sequence[int], out_size: Sequence[int]) -> tuple[Term, ...]:
        # every input value meets every tap, as fvcore counts
        f, g = self.out_channels(spec), spec.groups
        size = tuple(zip(SIZE_NAMES[spec.ndim], in_size, strict=True))
        return ((*size, *_kernel_term(spec), ("C", spec.in_channels), _f_over_g(f, g)),)

    def twin(self, spec: SpecLike) -> Twin | None:
        return None


CONV, DEPTHWISE, SEPARABLE, TRANSPOSE = Conv(), Depthwise(), Separable(), Transpose()

#: Every conv kind by its name, in the order the CLI lists them.
KIND_OBJECTS: dict[str, ConvKind] = {k.name: k for k in (CONV, DEPTHWISE, SEPARABLE, TRANSPOSE)}


def kind_of(name: str) -> ConvKind:
    """The kind object named ``name``; :class:`LayerConfigError` (field ``kind``) for an unknown one."""
    try:
        return KIND_OBJECTS[name]
    except (KeyError, TypeError):
        raise LayerConfigError("kind", f"unknown layer kind {name!r}; choose from {', '.join(KIND_OBJECTS)}") from None


#: PyTorch's ``padding_mode`` values (Keras pads with zeros only).
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def parse_kind(text: str) -> tuple[str, int | None]:
    """``(kind, ndim)`` of a kind as the CLI takes it, case-insensitive: a kind's name (``conv``: ndim
    ``None``, not said) or a Keras or PyTorch class name (``Conv1D``, ``ConvTranspose2d``,
    ``SeparableConv1D``, ``DepthwiseConv2D``, ...: both said). :class:`LayerConfigError` (field ``kind``)
    for another word."""
    word = text.strip().lower()
    if word in KIND_OBJECTS:
        return word, None
    for name, kind in KIND_OBJECTS.items():  # conv first: PyTorch's Conv{n}d is a conv (depthwise is its groups)
        for ndim in (1, 2, 3):
            if word in (kind.keras_name(ndim).lower(), kind.torch_name(ndim).lower()):
                return name, ndim
    examples = "Conv1D, Conv3D, Conv2DTranspose, ConvTranspose2d, DepthwiseConv2D, SeparableConv1D"
    raise LayerConfigError("kind", f"unknown layer kind {text!r}; choose from {', '.join(KIND_OBJECTS)} or a Keras "
                                   f"or PyTorch class name ({examples})")


def is_conv_kind(name: str) -> bool:
    """Whether ``name`` is a conv kind (a model listing's other layers have other kinds)."""
    return name in KIND_OBJECTS
