"""Counting a conv layer: parameters, MACs, FLOPs and output size, for one layer or a stack.

Integer arithmetic in pure Python (no numpy), so that ``convcli params`` starts fast and the
numbers are exact at any size. Sizes use the engine's names: input ``(H, W, C)``, ``F`` filters,
kernel ``kh × kw``, ``g`` groups, ``M`` depth multiplier, output ``(H', W', F)``.

Four layer kinds (each an object in :mod:`convcli.layer.kinds` that holds its own terms), with the
counts Keras 3's ``count_params()`` gives (and PyTorch's, for groups); in 1-D and 3-D the kernel
factor is ``k`` or ``kd·kh·kw`` and the sizes ``L`` or ``D·H·W``::

    conv        Conv2D           weights kh·kw·(C/g)·F            biases F
    depthwise   DepthwiseConv2D  weights kh·kw·C·M                biases C·M
    separable   SeparableConv2D  weights kh·kw·C·M + C·M·F        biases F
    transpose   Conv2DTranspose  weights kh·kw·(F/g)·C            biases F

MACs (multiply-accumulates) count one per product of an input value and a weight::

    conv        H'·W'·kh·kw·(C/g)·F
    depthwise   H'·W'·kh·kw·C·M
    separable   H'·W'·kh·kw·C·M + H'·W'·C·M·F     (depthwise, then the 1×1 pointwise)
    transpose   H·W·kh·kw·C·(F/g)                 (every input value meets every tap, as fvcore counts)

**FLOPs = 2·MACs**: a multiply and an add per MAC. The bias adds and the activation are not
counted separately (with a bias, 2·MACs is exactly every multiply and every add of a layer; without
one it counts one add per output value too many). Counters differ: fvcore counts one fused
multiply-add as one "flop", so its "FLOPs" are MACs; thop's ``profile`` returns MACs (some versions
add one per output value for the bias); ptflops reports MACs and adds one per output value for the
bias. Compare their numbers with ``macs`` here, not ``flops``.

Output sizes: ``conv``, ``depthwise`` and ``separable`` follow :mod:`convcli.layer.geometry`
(``valid``, Keras/TensorFlow ``same``, or symmetric zeros), the same per-axis functions as the
engine's :func:`~convcli.layer.geometry.conv_geometry`; ``transpose`` follows Keras 3:
``valid`` gives ``(n - 1)·s + max(k, s)`` (``(n - 1)·s + k`` whenever ``k ≥ s``), ``same`` gives
``n·s``.

A model's listing and a ``--stack`` are walked by one function (:func:`convcli.layer.model.walk`)
into one report, :class:`Analysis` of :class:`LayerNumbers`; the layers that are not convolutions
(pooling, batch norm, dense, flatten, zero padding, ...) are counted by :mod:`convcli.layer.others`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING

from convcli.layer.geometry import check_size

# re-exported: the formulas' names and terms were defined here first
from convcli.layer.kinds import KERNEL_NAMES as KERNEL_NAMES
from convcli.layer.kinds import SIZE_NAMES as SIZE_NAMES
from convcli.layer.kinds import Term as Term
from convcli.layer.kinds import term_value as term_value
from convcli.layer.others import other_kind
from convcli.layer.receptive import effective_stride, receptive_field
from convcli.layer.spec import ConvSpec, check_spec

if TYPE_CHECKING:
    from convcli.layer.listing import Listing, ModelLayer

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]

FLOP_CONVENTION = (
    "FLOPs = 2·MACs (a multiply and an add per MAC; bias adds and activation not counted separately). "
    "fvcore, thop and ptflops report MACs under the name FLOPs (ptflops and some thop versions add "
    "one per output value for the bias)."
)


@dataclass(frozen=True)
class ParamCount:
    """Weights and biases of a layer, with the terms they are sums of (for formulas)."""

    weights: int
    biases: int
    weight_terms: tuple[Term, ...]
    bias_terms: tuple[Term, ...]

    @property
    def total(self) -> int:
        return self.weights + self.biases


def param_count(spec: ConvSpec) -> ParamCount:
    """The parameters of ``spec``: equal to Keras 3's ``count_params()`` (PyTorch's for groups)."""
    check_spec(spec)
    kind = spec.kind_obj
    weights = kind.weight_terms(spec)
    biases = kind.bias_term(spec)
    bias_terms = (biases,) if spec.use_bias else ()
    return ParamCount(
        sum(term_value(t) for t in weights), sum(term_value(t) for t in bias_terms), weights, bias_terms
    )


@dataclass(frozen=True)
class LayerShape:
    """Where a layer reads and what it writes for one input size.

    ``pads`` are the zeros ``(top, bottom, left, right)`` added to the input (``None`` for a
    transpose layer, which pads its output instead).
    """

    in_shape: tuple[int, ...]  # (H, W, C)
    out_shape: tuple[int, ...]  # (H', W', F)
    pads: tuple[int, ...] | None
    macs: int
    mac_terms: tuple[Term, ...]

    @property
    def flops(self) -> int:
        """2·MACs: see the module docstring for the convention."""
        return 2 * self.macs


def layer_shape(spec: ConvSpec, in_hw: Sequence[int]) -> LayerShape:
    """Output shape, pads and MACs of ``spec`` on an ``(H, W)`` input; :class:`ShapeError` if empty."""
    check_spec(spec)
    size = check_size(in_hw[: spec.ndim])
    kind = spec.kind_obj
    if kind.transposed:
        out = kind.out_size(spec, size)
        pads: tuple[int, ...] | None = None
    else:
        g = kind.geometry(spec, size)
        out, pads = g.out_size, tuple(p for pair in g.pad_width for p in pair)
    terms = kind.mac_terms(spec, size, out)
    return LayerShape((*size, spec.in_channels), (*out, spec.out_channels), pads, sum(term_value(t) for t in terms),
                      terms)


# ------------------------------------------------------------------------------------------------
# One layer or a stack, everything at once


@dataclass(frozen=True)
class LayerReport:
    """Everything ``convcli params`` says about one layer (``shape`` only with an input size)."""

    spec: ConvSpec
    params: ParamCount
    receptive_field: tuple[int, ...]
    effective_stride: tuple[Fraction, ...]
    shape: LayerShape | None = None
    text: str = ""  # the stack text the layer came from


def report(spec: ConvSpec, in_hw: Sequence[int] | None = None) -> LayerReport:
    """Parameters, receptive field and (with ``in_hw``) output shape and MACs of one layer."""
    return LayerReport(
        spec,
        param_count(spec),
        receptive_field([spec]),
        effective_stride([spec]),
        layer_shape(spec, in_hw) if in_hw is not None else None,
    )


def equivalent(spec: ConvSpec) -> ConvSpec | None:
    """The layer worth comparing ``spec`` with: a conv against its depthwise-separable twin and back,
    a depthwise against the full conv with the same outputs, a grouped conv against groups = 1."""
    changes = spec.kind_obj.twin(spec)
    return None if changes is None else replace(spec, **changes)


class Params(int):
    """A conv layer's parameter count: an ``int`` (as a listing totals it) that keeps its parts, the
    weights and biases with the terms they are sums of (:class:`ParamCount`)."""

    count: ParamCount

    def __new__(cls, count: ParamCount) -> Params:
        obj = super().__new__(cls, count.total)
        obj.count = count
        return obj

    @property
    def total(self) -> int:
        return int(self)

    @property
    def weights(self) -> int:
        return self.count.weights

    @property
    def biases(self) -> int:
        return self.count.biases

    @property
    def weight_terms(self) -> tuple[Term, ...]:
        return self.count.weight_terms

    @property
    def bias_terms(self) -> tuple[Term, ...]:
        return self.count.bias_terms


@dataclass(frozen=True)
class LayerNumbers:
    """What one walk along the layers (:func:`convcli.layer.model.walk`) says about one layer, of a
    model file's listing or of a ``--stack`` alike: ``params`` always (``None`` if unknown; a conv
    layer's are :class:`Params`, which know their weights and biases), the rest with an input size.

    A conv layer counted on a known input also holds its ``spec`` (with its input channels) and
    ``shape`` (:class:`LayerShape`, its MAC terms). ``effective_stride`` is ``None`` once every
    output depends on the whole input, and ``receptive_field`` is then the input's ``(H, W)``.
    """

    layer: ModelLayer
    params: int | None
    trainable: int | None
    in_shape: tuple[int, ...] | None = None
    out_shape: tuple[int, ...] | None = None
    pads: tuple[int, ...] | None = None
    macs: int | None = None
    receptive_field: tuple[int, ...] | None = None
    effective_stride: tuple[Fraction, ...] | None = None
    spec: ConvSpec | None = None
    shape: LayerShape | None = None

    @property
    def text(self) -> str:
        """The layer's name: in a ``--stack``, the text it was written as."""
        return self.layer.name

    @property
    def total(self) -> int:
        """All the parameters (Keras' ``count_params()``); 0 where unknown."""
        return self.params or 0

    def _parts(self) -> tuple[int | None, int | None]:
        if isinstance(self.params, Params):
            return self.params.weights, self.params.biases
        if self.params is None:
            return None, None
        return other_kind(self.layer.kind).weights_biases(self.layer, self.params)

    @property
    def weights(self) -> int | None:
        """The conv or dense kernel's parameters (0 for a layer without arrays, ``None`` for batch
        norm, whose γ, β, moving mean and variance are neither weights nor biases)."""
        return self._parts()[0]

    @property
    def biases(self) -> int | None:
        return self._parts()[1]

    @property
    def flops(self) -> int:
        return 2 * (self.macs or 0)


@dataclass(frozen=True)
class Analysis:
    """A walk's report: every layer's :class:`LayerNumbers`, and the totals (``params`` and
    ``trainable`` ``None`` where a layer cannot be counted; ``macs`` only with an input size).

    ``weights`` and ``biases`` are those of the conv and dense layers; ``total`` adds batch norm's
    γ, β, moving mean and variance, of which the moving statistics are not ``trainable``.
    """

    listing: Listing
    layers: tuple[LayerNumbers, ...]
    input_size: tuple[int, ...] | None  # (H, W, C), or (L, C), (D, H, W, C)

    @property
    def params(self) -> int | None:
        values = [n.params for n in self.layers]
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)

    @property
    def trainable(self) -> int | None:
        values = [n.trainable for n in self.layers]
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)

    @property
    def macs(self) -> int | None:
        if self.input_size is None:
            return None
        return sum(n.macs or 0 for n in self.layers)

    @property
    def out_shape(self) -> tuple[int, ...] | None:
        return self.layers[-1].out_shape if self.layers else None

    # the totals a --stack shows (every layer counted there)

    @property
    def in_shape(self) -> tuple[int, ...]:
        assert self.input_size is not None
        return self.input_size

    @property
    def weights(self) -> int:
        return sum(n.weights or 0 for n in self.layers)

    @property
    def biases(self) -> int:
        return sum(n.biases or 0 for n in self.layers)

    @property
    def total(self) -> int:
        return sum(n.total for n in self.layers)

    @property
    def non_trainable(self) -> int:
        return self.total - (self.trainable or 0)

    @property
    def flops(self) -> int:
        return 2 * (self.macs or 0)


#: The names the stack's report types had when a stack and a listing were walked apart: one type now.
OtherReport = LayerNumbers
StackLayerReport = LayerNumbers
StackReport = Analysis


def layer_total(rep: LayerNumbers) -> int:
    """All the parameters of a layer (Keras' ``count_params()``)."""
    return rep.total


def layer_trainable(rep: LayerNumbers) -> int:
    """The trainable part of :func:`layer_total` (all of it but batch norm's moving statistics)."""
    return rep.trainable or 0


def layer_macs(rep: LayerNumbers) -> int:
    return rep.macs or 0
