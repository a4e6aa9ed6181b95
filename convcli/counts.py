"""Counting a 2-D conv layer: parameters, MACs, FLOPs, output size, receptive field; the stack syntax.

Integer arithmetic in pure Python (no numpy), so that ``convcli params`` starts fast and the
numbers are exact at any size. Sizes use the engine's names: input ``(H, W, C)``, ``F`` filters,
kernel ``kh × kw``, ``g`` groups, ``M`` depth multiplier, output ``(H', W', F)``.

Four layer kinds, with the counts Keras 3's ``count_params()`` gives (and PyTorch's, for groups)::

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

Output sizes: ``conv``, ``depthwise`` and ``separable`` follow :func:`convcli.engine.conv_geometry`
(``valid``, Keras/TensorFlow ``same``, or symmetric zeros); ``transpose`` follows Keras 3:
``valid`` gives ``(n - 1)·s + max(k, s)`` (``(n - 1)·s + k`` whenever ``k ≥ s``), ``same`` gives
``n·s``.

The receptive field is the span of input pixels one output pixel depends on (padding included,
dilation gaps included), the largest over all output positions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from math import prod

from convcli.errors import ConfigError, ShapeError

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]
#: "valid", "same" or symmetric zeros (ph, pw)
Padding = str | Pair

KINDS = ("conv", "depthwise", "separable", "transpose")
KERAS_NAMES = {
    "conv": "Conv2D",
    "depthwise": "DepthwiseConv2D",
    "separable": "SeparableConv2D",
    "transpose": "Conv2DTranspose",
}
FLOP_CONVENTION = (
    "FLOPs = 2·MACs (a multiply and an add per MAC; bias adds and activation not counted separately). "
    "fvcore, thop and ptflops report MACs under the name FLOPs (ptflops and some thop versions add "
    "one per output value for the bias)."
)


# ------------------------------------------------------------------------------------------------
# One axis


def span(k: int, d: int) -> int:
    """How many input rows (or columns) a kernel of size ``k`` with dilation ``d`` covers."""
    return (k - 1) * d + 1


def same_pads_1d(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """Keras/TensorFlow 'same' padding along one axis of length ``n``: ``(before, after)``.

    ``out = ceil(n / s)``; ``total = max((out - 1)·s + (k - 1)·d + 1 - n, 0)``; the odd extra
    row or column goes after (bottom/right).
    """
    out = -(-n // s)
    total = max((out - 1) * s + span(k, d) - n, 0)
    return total // 2, total - total // 2


def transpose_out_1d(n: int, k: int, s: int, padding: str) -> int:
    """Keras 3 ``Conv2DTranspose`` output length for input length ``n`` (no output_padding)."""
    return n * s if padding == "same" else (n - 1) * s + max(k, s)


# ------------------------------------------------------------------------------------------------
# A layer


class LayerConfigError(ConfigError):
    """A layer setting that does not fit the others; ``field`` names the setting."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


@dataclass(frozen=True)
class ConvSpec:
    """A 2-D conv layer of one of :data:`KINDS`, on ``in_channels`` input channels.

    ``filters`` is ``F`` (``None`` for ``depthwise``, whose outputs are ``C·M``); ``padding`` is
    ``"valid"``, ``"same"`` or a symmetric ``(ph, pw)`` (not for ``transpose``).
    """

    kind: str
    in_channels: int
    filters: int | None
    kernel: Pair
    stride: Pair = (1, 1)
    dilation: Pair = (1, 1)
    padding: Padding = "valid"
    groups: int = 1
    depth_multiplier: int = 1
    use_bias: bool = True

    @property
    def out_channels(self) -> int:
        if self.kind == "depthwise":
            return self.in_channels * self.depth_multiplier
        assert self.filters is not None  # checked by check_spec
        return self.filters

    @property
    def keras_name(self) -> str:
        return KERAS_NAMES[self.kind]

    def kernel_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every weight array in Keras layout (the names Keras gives them)."""
        kh, kw = self.kernel
        c, g, m = self.in_channels, self.groups, self.depth_multiplier
        if self.kind == "conv":
            shapes: dict[str, tuple[int, ...]] = {"kernel": (kh, kw, c // g, self.out_channels)}
        elif self.kind == "depthwise":
            shapes = {"kernel": (kh, kw, c, m)}
        elif self.kind == "separable":
            shapes = {"depthwise_kernel": (kh, kw, c, m), "pointwise_kernel": (1, 1, c * m, self.out_channels)}
        else:  # Keras: (kh, kw, F, C); groups as in PyTorch, (C, F/g, kh, kw)
            shapes = {"kernel": (kh, kw, self.out_channels // g, c)}
        if self.use_bias:
            shapes["bias"] = (self.out_channels,)
        return shapes


def _positive(value: int, field: str, name: str, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LayerConfigError(field, f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise LayerConfigError(field, f"{name} must be ≥ {minimum}, got {value}")


def check_spec(spec: ConvSpec) -> ConvSpec:
    """``spec`` if its settings fit together; else :class:`LayerConfigError` naming the setting."""
    if spec.kind not in KINDS:
        raise LayerConfigError("kind", f"unknown layer kind {spec.kind!r}; choose from {', '.join(KINDS)}")
    _positive(spec.in_channels, "in_channels", "the number of input channels")
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
            "groups", f"groups {spec.groups} does not divide the {spec.in_channels} input channels"
        )
    if spec.filters is not None and spec.filters % spec.groups:
        raise LayerConfigError("groups", f"groups {spec.groups} does not divide the {spec.filters} filters")
    if isinstance(spec.padding, str):
        if spec.padding not in ("valid", "same"):
            raise LayerConfigError("padding", f"padding must be valid, same or (ph, pw), got {spec.padding!r}")
    else:
        if spec.kind == "transpose":
            raise LayerConfigError("padding", "a transpose layer takes padding valid or same (Keras), not zeros")
        for v in spec.padding:
            _positive(v, "padding", "the padding", minimum=0)
    if spec.kind == "transpose" and spec.dilation != (1, 1):
        raise LayerConfigError("dilation", "dilation is not supported for transpose layers")
    return spec


# ------------------------------------------------------------------------------------------------
# Counts

#: A product of named factors, e.g. (("kh", 3), ("kw", 3), ("C/g", 64), ("F", 128)).
Term = tuple[tuple[str, int], ...]


def term_value(term: Term) -> int:
    return prod(v for _, v in term)


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
    kh, kw = spec.kernel
    c, g, m, f = spec.in_channels, spec.groups, spec.depth_multiplier, spec.out_channels
    k: Term = (("kh", kh), ("kw", kw))
    if spec.kind == "conv":
        weights: tuple[Term, ...] = ((*k, ("C/g" if g > 1 else "C", c // g), ("F", f)),)
        biases: Term = (("F", f),)
    elif spec.kind == "depthwise":
        weights = ((*k, ("C", c), ("M", m)),)
        biases = (("C", c), ("M", m))
    elif spec.kind == "separable":
        weights = ((*k, ("C", c), ("M", m)), (("C", c), ("M", m), ("F", f)))
        biases = (("F", f),)
    else:  # in the order of Keras' kernel (kh, kw, F, C)
        weights = ((*k, ("F/g" if g > 1 else "F", f // g), ("C", c)),)
        biases = (("F", f),)
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

    in_shape: tuple[int, int, int]  # (H, W, C)
    out_shape: tuple[int, int, int]  # (H', W', F)
    pads: Pads | None
    macs: int
    mac_terms: tuple[Term, ...]

    @property
    def flops(self) -> int:
        """2·MACs: see the module docstring for the convention."""
        return 2 * self.macs


def _pads(spec: ConvSpec, in_hw: Pair) -> Pads:
    if not isinstance(spec.padding, str):
        ph, pw = spec.padding
        return (ph, ph, pw, pw)
    if spec.padding == "same":
        (h, w), (kh, kw), (sh, sw), (dh, dw) = in_hw, spec.kernel, spec.stride, spec.dilation
        return (*same_pads_1d(h, kh, sh, dh), *same_pads_1d(w, kw, sw, dw))
    return (0, 0, 0, 0)


def layer_shape(spec: ConvSpec, in_hw: Sequence[int]) -> LayerShape:
    """Output shape, pads and MACs of ``spec`` on an ``(H, W)`` input; :class:`ShapeError` if empty."""
    check_spec(spec)
    h, w = int(in_hw[0]), int(in_hw[1])
    if h < 1 or w < 1:
        raise ShapeError(f"the input is {h}×{w}; it needs at least one row and one column")
    c, f, g, m = spec.in_channels, spec.out_channels, spec.groups, spec.depth_multiplier
    kh, kw = spec.kernel
    if spec.kind == "transpose":
        ho = transpose_out_1d(h, kh, spec.stride[0], str(spec.padding))
        wo = transpose_out_1d(w, kw, spec.stride[1], str(spec.padding))
        terms: tuple[Term, ...] = (
            (("H", h), ("W", w), ("kh", kh), ("kw", kw), ("C", c), ("F/g" if g > 1 else "F", f // g)),
        )
        return LayerShape((h, w, c), (ho, wo, f), None, sum(term_value(t) for t in terms), terms)
    pads = _pads(spec, (h, w))
    out = []
    for axis, n, k, s, d, (p0, p1) in (
        ("rows", h, kh, spec.stride[0], spec.dilation[0], pads[:2]),
        ("columns", w, kw, spec.stride[1], spec.dilation[1], pads[2:]),
    ):
        covered, padded = span(k, d), n + p0 + p1
        if covered > padded:
            dil = f" with dilation {d}" if d > 1 else ""
            raise ShapeError(
                f"kernel {kh}×{kw}{dil} spans {covered} {axis} but the padded input has {padded}"
            )
        out.append((padded - covered) // s + 1)
    ho, wo = out
    hw: Term = (("H'", ho), ("W'", wo))
    if spec.kind == "conv":
        terms = ((*hw, ("kh", kh), ("kw", kw), ("C/g" if g > 1 else "C", c // g), ("F", f)),)
    elif spec.kind == "depthwise":
        terms = ((*hw, ("kh", kh), ("kw", kw), ("C", c), ("M", m)),)
    else:
        terms = ((*hw, ("kh", kh), ("kw", kw), ("C", c), ("M", m)), (*hw, ("C", c), ("M", m), ("F", f)))
    return LayerShape((h, w, c), (ho, wo, f), pads, sum(term_value(t) for t in terms), terms)


# ------------------------------------------------------------------------------------------------
# Receptive field


def _span_conv_only(layers: Sequence[ConvSpec], axis: int) -> int:
    """The textbook recursion ``r += (k_eff - 1)·jump``, exact when no layer is a transpose."""
    r, jump = 1, 1
    for spec in layers:
        r += (span(spec.kernel[axis], spec.dilation[axis]) - 1) * jump
        jump *= spec.stride[axis]
    return r


def _inputs_of(layers: Sequence[ConvSpec], axis: int, o: int) -> set[int]:
    """The input rows (axis 0) or cols (axis 1) that output ``o`` of the last layer depends on.

    Padding offsets shift every position alike, so they are left out: only the span matters.
    """
    positions = {o}
    for spec in reversed(layers):
        k, s, d = spec.kernel[axis], spec.stride[axis], spec.dilation[axis]
        if spec.kind == "transpose":
            # input i reaches outputs i·s .. i·s + k - 1 (and an output no input reaches has only the bias)
            positions = {i for p in positions for i in range(-(-(p - k + 1) // s), p // s + 1)}
        else:  # separable: its 1×1 pointwise part adds nothing
            positions = {p * s + t * d for p in positions for t in range(k)}
    return positions


def receptive_field(layers: Sequence[ConvSpec]) -> Pair:
    """The receptive field ``(rows, cols)`` of one output pixel of the last of ``layers``.

    For conv-like layers this is the textbook recursion ``r += (k_eff - 1)·jump``. A transpose
    layer spreads its inputs ``s`` apart, so the inputs an output depends on vary with its position
    (and can have gaps); they repeat with a period that divides the product of the transpose
    strides, so those positions are followed exactly and the widest span is returned.
    """
    result = []
    for axis in (0, 1):
        if all(spec.kind != "transpose" for spec in layers):
            result.append(_span_conv_only(layers, axis))
            continue
        period = prod(spec.stride[axis] for spec in layers if spec.kind == "transpose")
        largest = 0
        for o in range(period):
            inputs = _inputs_of(layers, axis, o)
            if inputs:
                largest = max(largest, max(inputs) - min(inputs) + 1)
        result.append(largest)
    return result[0], result[1]


def effective_stride(layers: Sequence[ConvSpec]) -> tuple[Fraction, Fraction]:
    """Input pixels between neighbouring output pixels of the last layer (a fraction after transposes)."""
    out = []
    for axis in (0, 1):
        j = Fraction(1)
        for spec in layers:
            j = j / spec.stride[axis] if spec.kind == "transpose" else j * spec.stride[axis]
        out.append(j)
    return out[0], out[1]


# ------------------------------------------------------------------------------------------------
# One layer or a stack, everything at once


@dataclass(frozen=True)
class LayerReport:
    """Everything ``convcli params`` says about one layer (``shape`` only with an input size)."""

    spec: ConvSpec
    params: ParamCount
    receptive_field: Pair
    effective_stride: tuple[Fraction, Fraction]
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
    if spec.kind == "conv" and spec.groups > 1:
        return replace(spec, groups=1)
    if spec.kind == "conv" and spec.kernel != (1, 1):
        return replace(spec, kind="separable")
    if spec.kind == "separable":
        return replace(spec, kind="conv", depth_multiplier=1, filters=spec.out_channels)
    if spec.kind == "depthwise":
        return replace(spec, kind="conv", filters=spec.out_channels, depth_multiplier=1)
    return None


@dataclass(frozen=True)
class StackReport:
    """A stack of layers on an ``(H, W, C)`` input, with running receptive field and totals."""

    in_shape: tuple[int, int, int]
    layers: tuple[LayerReport, ...]

    @property
    def weights(self) -> int:
        return sum(r.params.weights for r in self.layers)

    @property
    def biases(self) -> int:
        return sum(r.params.biases for r in self.layers)

    @property
    def total(self) -> int:
        return self.weights + self.biases

    @property
    def macs(self) -> int:
        return sum(r.shape.macs for r in self.layers if r.shape is not None)

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def out_shape(self) -> tuple[int, int, int]:
        last = self.layers[-1].shape
        return last.out_shape if last is not None else self.in_shape


# ------------------------------------------------------------------------------------------------
# The stack syntax: "conv 32 k3 s2, dw k3 same, conv 64 k1"

STACK_KINDS = {
    "conv": "conv",
    "dw": "depthwise",
    "depthwise": "depthwise",
    "sep": "separable",
    "separable": "separable",
    "tconv": "transpose",
    "transpose": "transpose",
}
STACK_WORDS = "F (filters), kK or kKHxKW, sS, dD, gG, mM, same, valid, pP or pPHxPW, nobias"

_PAIR_WORD = re.compile(r"^([ksdp])(\d+)(?:x(\d+))?$")
_INT_WORD = re.compile(r"^([fgm])?(\d+)$")
_FIELD_NAMES = {
    "k": ("kernel", "the kernel size"),
    "s": ("stride", "the stride"),
    "d": ("dilation", "the dilation"),
    "p": ("padding", "the padding"),
    "f": ("filters", "the filter count"),
    "": ("filters", "the filter count"),
    "g": ("groups", "groups"),
    "m": ("depth_multiplier", "the depth multiplier"),
}


@dataclass(frozen=True)
class StackLayer:
    """One parsed layer of a ``--stack``: its settings and the word that gave each one."""

    index: int  # 1-based
    text: str
    kind: str
    settings: dict[str, object]
    words: dict[str, str] = field(default_factory=dict)

    def where(self) -> str:
        return f"layer {self.index} ({self.text!r})"


def _stack_error(index: int, text: str, message: str) -> ConfigError:
    return ConfigError(f"--stack layer {index} ({text!r}): {message}")


def parse_stack(text: str) -> list[StackLayer]:
    """Parse ``"conv 32 k3 s2, dw k3 same, conv 64 k1"`` into layers (see :data:`STACK_WORDS`).

    Layers are separated by ``,`` or ``;``; each starts with its kind (``conv``, ``dw``, ``sep``,
    ``tconv``) followed by words in any order. Errors name the layer (1-based) and the word.
    """
    parts = re.split(r"[,;]", text)
    if not text.strip():
        raise ConfigError("--stack is empty; e.g. --stack 'conv 32 k3 s2, dw k3, conv 64 k1'")
    layers = []
    for index, raw in enumerate(parts, start=1):
        part = " ".join(raw.split())
        if not part:
            raise ConfigError(f"--stack layer {index} is empty (a stray ',' or ';'?)")
        kind_word, *words = part.split(" ")
        kind = STACK_KINDS.get(kind_word.lower())
        if kind is None:
            raise _stack_error(index, part, f"unknown layer kind {kind_word!r}; expected conv, dw, sep or tconv")
        settings: dict[str, object] = {}
        given: dict[str, str] = {"kind": kind_word}
        for word in words:
            low = word.lower()
            value: object
            if low in ("same", "valid"):
                key, value = "padding", low
            elif low == "nobias":
                key, value = "use_bias", False
            elif m := _PAIR_WORD.match(low):
                letter, a, b = m.group(1), int(m.group(2)), m.group(3)
                key = _FIELD_NAMES[letter][0]
                value = (a, int(b) if b is not None else a)
            elif m := _INT_WORD.match(low):
                key, value = _FIELD_NAMES[m.group(1) or ""][0], int(m.group(2))
            else:
                raise _stack_error(index, part, f"unknown word {word!r}; expected {STACK_WORDS}")
            if key in given:
                raise _stack_error(index, part, f"{word!r} repeats the {key.replace('_', ' ')} given by {given[key]!r}")
            given[key] = word
            settings[key] = value
        layers.append(StackLayer(index, part, kind, settings, given))
    return layers


def build_stack(layers: Sequence[StackLayer], in_shape: Sequence[int]) -> StackReport:
    """Chain parsed layers on an ``(H, W, C)`` input: each layer's channels are the previous output's."""
    if len(in_shape) != 3:
        raise ConfigError(f"--stack needs --input-size H,W,C; got {','.join(str(v) for v in in_shape)}")
    h, w, c = (int(v) for v in in_shape)
    if c < 1:
        raise ConfigError(f"the input must have at least one channel, got C = {c}")
    shape = (h, w, c)
    reports: list[LayerReport] = []
    specs: list[ConvSpec] = []
    for layer in layers:
        s = layer.settings
        spec = ConvSpec(
            kind=layer.kind,
            in_channels=shape[2],
            filters=s.get("filters"),  # type: ignore[arg-type]
            kernel=s.get("kernel", (3, 3)),  # type: ignore[arg-type]
            stride=s.get("stride", (1, 1)),  # type: ignore[arg-type]
            dilation=s.get("dilation", (1, 1)),  # type: ignore[arg-type]
            padding=s.get("padding", "valid"),  # type: ignore[arg-type]
            groups=s.get("groups", 1),  # type: ignore[arg-type]
            depth_multiplier=s.get("depth_multiplier", 1),  # type: ignore[arg-type]
            use_bias=s.get("use_bias", True),  # type: ignore[arg-type]
        )
        try:
            check_spec(spec)
            lshape = layer_shape(spec, shape[:2])
        except LayerConfigError as exc:
            word = layer.words.get(exc.field or "")
            if exc.field == "filters" and word is None:
                hint = f", e.g. '{layer.words['kind']} 64'" if spec.kind != "depthwise" else ""
                raise _stack_error(layer.index, layer.text, f"{exc}{hint}") from None
            at = f"{word!r}: " if word else ""
            raise _stack_error(layer.index, layer.text, f"{at}{exc}") from None
        except ShapeError as exc:
            word = repr(layer.words["kernel"]) if "kernel" in layer.words else "the default k3"
            raise ShapeError(
                f"--stack layer {layer.index} ({layer.text!r}): {word}: {exc} "
                f"(its input is {shape[0]}×{shape[1]}×{shape[2]})"
            ) from None
        specs.append(spec)
        reports.append(
            LayerReport(spec, param_count(spec), receptive_field(specs), effective_stride(specs), lshape, layer.text)
        )
        shape = lshape.out_shape
    return StackReport((h, w, c), tuple(reports))
