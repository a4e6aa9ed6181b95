"""The ``--stack`` syntax: ``"conv 32 k3 s2, dw k3 same, conv 64 k1"`` parsed and chained (numpy-free)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from convcli.errors import FIELD, ConfigError, ShapeError
from convcli.layer.counts import LayerReport, StackReport, layer_shape, param_count
from convcli.layer.receptive import effective_stride, receptive_field
from convcli.layer.spec import ConvSpec, LayerConfigError, check_spec

#: The layer kinds by the words the syntax takes for them.
#: The stack word a layer kind is written with (its shortest spelling in :data:`STACK_KINDS`).
SHORT_KINDS: dict[str, str] = {}

STACK_KINDS = {
    "conv": "conv",
    "dw": "depthwise",
    "depthwise": "depthwise",
    "sep": "separable",
    "separable": "separable",
    "tconv": "transpose",
    "transpose": "transpose",
}
for _word, _kind in STACK_KINDS.items():
    if _kind not in SHORT_KINDS or len(_word) < len(SHORT_KINDS[_kind]):
        SHORT_KINDS[_kind] = _word
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
    return ConfigError(f"{FIELD} layer {index} ({text!r}): {message}", field="stack")


def parse_stack(text: str) -> list[StackLayer]:
    """Parse ``"conv 32 k3 s2, dw k3 same, conv 64 k1"`` into layers (see :data:`STACK_WORDS`).

    Layers are separated by ``,`` or ``;``; each starts with its kind (``conv``, ``dw``, ``sep``,
    ``tconv``) followed by words in any order. Errors name the layer (1-based) and the word.
    """
    parts = re.split(r"[,;]", text)
    if not text.strip():
        raise ConfigError("{field} is empty; e.g. {also} 'conv 32 k3 s2, dw k3, conv 64 k1'", field="stack",
                          also="stack")
    layers = []
    for index, raw in enumerate(parts, start=1):
        part = " ".join(raw.split())
        if not part:
            raise ConfigError(f"{FIELD} layer {index} is empty (a stray ',' or ';'?)", field="stack")
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
        raise ConfigError(f"{FIELD} needs {{also}} H,W,C; got {','.join(str(v) for v in in_shape)}",
                          field="stack", also="input_size")
    h, w, c = (int(v) for v in in_shape)
    if c < 1:
        raise ConfigError(f"the input must have at least one channel, got C = {c}")
    shape: tuple[int, ...] = (h, w, c)
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
                f"{FIELD} layer {layer.index} ({layer.text!r}): {word}: {exc} "
                f"(its input is {shape[0]}×{shape[1]}×{shape[2]})", field="stack"
            ) from None
        specs.append(spec)
        reports.append(
            LayerReport(spec, param_count(spec), receptive_field(specs), effective_stride(specs), lshape, layer.text)
        )
        shape = lshape.out_shape
    return StackReport((h, w, c), tuple(reports))
