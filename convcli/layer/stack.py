"""The ``--stack`` syntax: ``"conv 32 k3 s2, dw k3 same, conv 64 k1"`` parsed and chained (numpy-free).

Besides the conv kinds, a stack takes the layers a linear network has between them (Keras' defaults)::

    maxpool K [sS] [same|valid]   MaxPooling2D      pool K×K (or KHxKW; default 2), stride = pool, valid
    avgpool K [sS] [same|valid]   AveragePooling2D  (``max`` and ``avg`` are short for them)
    gap, gmp                      GlobalAveragePooling2D, GlobalMaxPooling2D
    bn                            BatchNormalization: 4·C parameters, 2·C trainable (γ, β)
    flatten                       Flatten
    dense N [nobias] [ACT]        Dense with N units (on the last axis)
    pad P | PHxPW | T,B,L,R       ZeroPadding2D (default 1; T,B,L,R: top, bottom, left, right)

They are counted by :mod:`convcli.layer.others`, and the receptive field follows them as
:func:`convcli.layer.model.analyse` does: a pooling window adds a window of its size and stride,
batch norm and zero padding add nothing, and after a flatten, a global pooling or a dense layer on a
flat vector every output depends on the whole input.

A conv or dense layer may end in its activation's name (``conv 64 k1 relu``), as Keras writes
``activation=``: it is kept with the layer and changes no count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from convcli.errors import FIELD, ConfigError, ShapeError
from convcli.layer import others
from convcli.layer.counts import Analysis, LayerNumbers, layer_shape
from convcli.layer.geometry import MAX_SIZE, check_size
from convcli.layer.kinds import is_conv_kind
from convcli.layer.listing import Listing, ModelLayer
from convcli.layer.model import walk
from convcli.layer.spec import KERAS_NAMES, ConvSpec, LayerConfigError, check_spec

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
STACK_WORDS = "F (filters), kK or kKHxKW, sS, dD, gG, mM, same, valid, pP or pPHxPW, nobias, an activation (relu)"
#: The activation names a conv or dense layer may carry: the engine's (a test keeps them equal) and
#: softmax, which ends many a dense stack (counting needs only the name)
ACTIVATION_WORDS = frozenset({"linear", "relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid", "hard_sigmoid",
                              "tanh", "softplus", "softsign", "silu", "swish", "exponential", "softmax"})

#: The words of the layers that are not convolutions, and their kinds (as :mod:`convcli.layer.others`).
OTHER_KINDS = {
    "maxpool": "maxpool", "max": "maxpool", "avgpool": "avgpool", "avg": "avgpool",
    "gap": "globalavgpool", "gmp": "globalmaxpool", "bn": "batchnorm", "batchnorm": "batchnorm",
    "flatten": "flatten", "dense": "dense", "pad": "zeropad", "zeropad": "zeropad",
}
#: The stack word each of them is written with in a narrow table.
OTHER_WORDS = {"maxpool": "maxpool", "avgpool": "avgpool", "globalavgpool": "gap", "globalmaxpool": "gmp",
               "batchnorm": "bn", "flatten": "flatten", "dense": "dense", "zeropad": "pad"}
#: Keras' class for each.
CLASS_NAMES = {kind: others.other_kind(kind).keras_name for kind in OTHER_WORDS}
POOLS = tuple(kind for kind in OTHER_WORDS if others.other_kind(kind).pools)
_OTHER_TAKES = {
    "maxpool": "a pool size K or KHxKW (or kK), sS, same or valid",
    "dense": "the number of units N, nobias and an activation (relu)",
    "zeropad": "P, PHxPW or T,B,L,R (top, bottom, left, right)",
}
KIND_LIST = "conv, dw, sep, tconv, maxpool, avgpool, gap, gmp, bn, flatten, dense or pad"
_SIZE_WORD = re.compile(r"^k?(\d+)(?:x(\d+))?$")
_PADS_WORD = re.compile(r"^(\d+)(?:x(\d+)|,(\d+),(\d+),(\d+))?$")

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


def _items(text: str) -> list[str]:
    """The layers of ``text``, split at ``,`` and ``;``, a ``pad T,B,L,R`` kept whole."""
    parts = re.split(r"([,;])", text)
    items = [parts[0]]
    for sep, part in zip(parts[1::2], parts[2::2], strict=True):
        last = items[-1].split()
        if (sep == "," and last and last[0].lower() in ("pad", "zeropad") and items[-1][-1:].isdigit()
                and part[:1].isdigit() and items[-1].count(",") < 3):
            items[-1] += "," + part
        else:
            items.append(part)
    return items


def parse_stack(text: str) -> list[StackLayer]:
    """Parse ``"conv 32 k3 s2, dw k3 same, conv 64 k1"`` into layers (see :data:`STACK_WORDS`).

    Layers are separated by ``,`` or ``;``; each starts with its kind (``conv``, ``dw``, ``sep``,
    ``tconv``, or one of :data:`OTHER_KINDS`) followed by words in any order. Errors name the layer
    (1-based) and the word.
    """
    if not text.strip():
        raise ConfigError("{field} is empty; e.g. {also} 'conv 32 k3 s2, dw k3, conv 64 k1'", field="stack",
                          also="stack")
    layers = []
    for index, raw in enumerate(_items(text), start=1):
        part = " ".join(raw.split())
        if not part:
            raise ConfigError(f"{FIELD} layer {index} is empty (a stray ',' or ';'?)", field="stack")
        kind_word, *words = part.split(" ")
        if kind_word.lower() in OTHER_KINDS:
            layers.append(_parse_other(index, part, OTHER_KINDS[kind_word.lower()], kind_word, words))
            continue
        kind = STACK_KINDS.get(kind_word.lower())
        if kind is None:
            raise _stack_error(index, part, f"unknown layer kind {kind_word!r}; expected {KIND_LIST}")
        settings: dict[str, object] = {}
        given: dict[str, str] = {"kind": kind_word}
        for word in words:
            low = word.lower()
            value: object
            if low in ("same", "valid"):
                key, value = "padding", low
            elif low == "nobias":
                key, value = "use_bias", False
            elif low in ACTIVATION_WORDS:
                key, value = "activation", low
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


def _parse_other(index: int, part: str, kind: str, kind_word: str, words: list[str]) -> StackLayer:
    """A layer of :data:`OTHER_KINDS`: its words checked here (nothing about them needs the input)."""
    settings: dict[str, object] = {}
    given: dict[str, str] = {"kind": kind_word}
    takes = _OTHER_TAKES.get("maxpool" if kind in POOLS else kind)

    def count(word: str, name: str, *values: str | None, minimum: int = 1) -> tuple[int, ...]:
        out = tuple(int(v) for v in values if v is not None)
        for v in out:
            if not minimum <= v <= MAX_SIZE:
                bound = f"≥ {minimum}" if v < minimum else f"≤ {MAX_SIZE}"
                raise _stack_error(index, part, f"{word!r}: {name} must be {bound}, got {v}")
        return out

    for word in words:
        low = word.lower()
        key: str
        value: object
        if kind in POOLS and low in ("same", "valid"):
            key, value = "padding", low
        elif kind in POOLS and (m := _SIZE_WORD.match(low)):
            key, value = "kernel", count(word, "the pool size", m.group(1), m.group(2) or m.group(1))
        elif kind in POOLS and (m := _PAIR_WORD.match(low)) and m.group(1) == "s":
            key, value = "stride", count(word, "the stride", m.group(2), m.group(3) or m.group(2))
        elif kind == "dense" and low == "nobias":
            key, value = "use_bias", False
        elif kind == "dense" and low in ACTIVATION_WORDS:
            key, value = "activation", low
        elif kind == "dense" and low.isdigit() and low.isascii():
            key, value = "units", count(word, "the number of units", low)[0]
        elif kind == "zeropad" and (m := _PADS_WORD.match(low)):
            if m.group(3) is not None:
                t, b, le, r = count(word, "the padding", *m.group(1, 3, 4, 5), minimum=0)
            else:
                t, le = count(word, "the padding", m.group(1), m.group(2) or m.group(1), minimum=0)
                b, r = t, le
            key, value = "pads", (t, b, le, r)
        else:
            expected = f"{kind_word} takes {takes}" if takes else f"{kind_word} takes no words"
            raise _stack_error(index, part, f"unknown word {word!r}; {expected}")
        if key in given:
            what = {"kernel": "pool size", "pads": "padding", "use_bias": "nobias"}.get(key, key)
            raise _stack_error(index, part, f"{word!r} repeats the {what} given by {given[key]!r}")
        given[key] = word
        settings[key] = value
    if kind == "dense" and "units" not in settings:
        raise _stack_error(index, part, f"a dense layer needs the number of units, e.g. '{kind_word} 128'")
    return StackLayer(index, part, kind, settings, given)


def build_stack(layers: Sequence[StackLayer], in_shape: Sequence[int]) -> Analysis:
    """Chain parsed layers on an ``(H, W, C)`` input: each layer's channels are the previous output's.

    The stack is a chain of :class:`ModelLayer` walked as a model's listing is
    (:func:`convcli.layer.model.walk`), into the same report; each layer is first checked on the
    input it gets, so that a layer that does not fit is named by the words it was written with."""
    if len(in_shape) != 3:
        raise ConfigError(f"{FIELD} needs {{also}} H,W,C; got {','.join(str(v) for v in in_shape)}",
                          field="stack", also="input_size")
    h, w, c = (int(v) for v in in_shape)
    if c < 1:
        raise ConfigError(f"the input must have at least one channel, got C = {c}")
    listing = Listing("stack", "stack", tuple(_model_layer(layer) for layer in layers))
    walker = walk(listing, (h, w, c))
    numbers: list[LayerNumbers] = []
    shape: tuple[int, ...] = (h, w, c)
    for layer, model_layer in zip(layers, listing.layers, strict=True):
        if is_conv_kind(layer.kind):
            _check_conv(layer, shape)
        else:
            _check_other(layer, model_layer, shape)
        n = next(walker)
        assert n.out_shape is not None  # walked with an input size
        numbers.append(n)
        shape = n.out_shape
    return Analysis(listing, tuple(numbers), (h, w, c))


def _model_layer(layer: StackLayer) -> ModelLayer:
    """A stack layer as a listing holds it, with Keras' defaults where the words give no value (the
    input channels are the previous layer's, found by the walk)."""
    s = layer.settings
    if is_conv_kind(layer.kind):
        return ModelLayer(
            name=layer.text, kind=layer.kind, class_name=KERAS_NAMES[layer.kind],
            kernel=s.get("kernel", (3, 3)),  # type: ignore[arg-type]
            strides=s.get("stride", (1, 1)),  # type: ignore[arg-type]
            padding=s.get("padding", "valid"),  # type: ignore[arg-type]
            dilation=s.get("dilation", (1, 1)),  # type: ignore[arg-type]
            groups=s.get("groups", 1),  # type: ignore[arg-type]
            depth_multiplier=s.get("depth_multiplier", 1),  # type: ignore[arg-type]
            filters=s.get("filters"),  # type: ignore[arg-type]
            use_bias=bool(s.get("use_bias", True)),
            activation=s.get("activation"),  # type: ignore[arg-type]
        )
    kind = layer.kind
    pool = others.other_kind(kind).pools
    kernel = s.get("kernel", (2, 2)) if pool else None
    return ModelLayer(
        name=layer.text, kind=kind, class_name=CLASS_NAMES[kind],
        kernel=kernel, strides=s.get("stride", kernel) if pool else None,  # type: ignore[arg-type]
        padding=s.get("padding", "valid") if pool else None,  # type: ignore[arg-type]
        pads=s.get("pads", (1, 1, 1, 1)) if kind == "zeropad" else None,  # type: ignore[arg-type]
        units=s.get("units"),  # type: ignore[arg-type]
        use_bias=bool(s.get("use_bias", True)) if kind == "dense" else None,
        activation=s.get("activation"),  # type: ignore[arg-type]
    )


def _check_conv(layer: StackLayer, shape: tuple[int, ...]) -> None:
    """A conv layer's settings on its input, each error naming the word that set the value."""
    if len(shape) != 3:
        raise _flat_error(layer, shape)
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
        layer_shape(spec, shape[:2])
    except LayerConfigError as exc:
        word = layer.words.get(exc.field or "")
        if exc.field == "filters" and word is None:
            hint = f", e.g. '{layer.words['kind']} 64'" if spec.kind_obj.has_filters else ""
            raise _stack_error(layer.index, layer.text, f"{exc}{hint}") from None
        at = f"{word!r}: " if word else ""
        raise _stack_error(layer.index, layer.text, f"{at}{exc}") from None
    except ShapeError as exc:
        word = repr(layer.words["kernel"]) if "kernel" in layer.words else "the default k3"
        raise ShapeError(
            f"{FIELD} layer {layer.index} ({layer.text!r}): {word}: {exc} "
            f"(its input is {shape[0]}×{shape[1]}×{shape[2]})", field="stack"
        ) from None


def _flat_error(layer: StackLayer, shape: tuple[int, ...]) -> ShapeError:
    return ShapeError(f"{FIELD} layer {layer.index} ({layer.text!r}): it needs an (H, W, C) input, but its input "
                      f"is a flat vector of {shape[0]} values", field="stack")


def _check_other(layer: StackLayer, model_layer: ModelLayer, shape: tuple[int, ...]) -> None:
    """A layer of :data:`OTHER_KINDS` on ``shape``, each error naming the word that set the value."""
    kind = layer.kind
    other = others.other_kind(kind)
    if other.reads_map and len(shape) != 3:
        raise _flat_error(layer, shape)
    pool = other.pools
    where = f"{FIELD} layer {layer.index} ({layer.text!r}): "
    try:
        if len(shape) == 3:
            check_size(shape[:2])
        out = others.flow(model_layer, shape)[0]
    except ShapeError as exc:
        at = f"{layer.words['kernel']!r}: " if "kernel" in layer.words else "the default pool 2×2: " if pool else ""
        message = str(exc).replace("kernel ", "the pool window ", 1) if pool else str(exc)
        raise ShapeError(f"{where}{at}{message} (its input is {'×'.join(str(v) for v in shape)})",
                         field="stack") from None
    if kind == "zeropad" and max(out[:2]) > MAX_SIZE:
        raise ShapeError(f"{where}the padded output is {out[0]}×{out[1]}; an axis may have at most {MAX_SIZE} "
                         "positions", field="stack")
