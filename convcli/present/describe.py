"""A layer and its numbers in words: number formats, shape texts and the Keras / PyTorch one-liners.

Every view (tables, heatmaps, figures, JSON) takes its texts from here, so a number or a shape reads
the same everywhere. Plain strings and data only: numpy, no rich, no Pillow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convcli.engine import LayerResult
from convcli.layer.spec import ConvSpec
from convcli.present.selection import MAX_CHANNELS_SHOWN, TOP_CHANNELS

# ------------------------------------------------------------------------------------------------
# Numbers


def number_format(values: np.ndarray) -> Callable[[float], str]:
    """One format for a whole grid, so its columns line up: integers stay integers, others get
    four significant digits for the largest magnitude, huge or tiny magnitudes go scientific.
    (Exact values: ``--json`` or ``--save``.)"""
    a = np.asarray(values, dtype=np.float64)
    finite = a[np.isfinite(a)]
    m = float(np.abs(finite).max()) if finite.size else 0.0
    if m >= 1e7 or 0 < m < 1e-3:
        return lambda v: f"{v:.3e}"
    if finite.size and np.all(finite == np.round(finite)):
        return lambda v: _unsigned_zero(f"{v:.0f}")
    decimals = 4 if m == 0 else max(0, min(4, 3 - math.floor(math.log10(m))))
    return lambda v: _unsigned_zero(f"{v:.{decimals}f}")


def nonzero_format(values: np.ndarray) -> Callable[[float], str]:
    """:func:`number_format`, unless it would show a non-zero value of ``values`` (any shape) as a
    zero (``0.0000`` beside ``0.5000``): then the whole grid goes scientific, one style for all."""
    f = number_format(values)
    a = np.asarray(values, dtype=np.float64)
    shown = a[np.isfinite(a) & (a != 0)]
    if any(not f(v).strip("-0.") for v in shown.tolist()):
        return lambda v: f"{v:.3e}"
    return f


def _unsigned_zero(text: str) -> str:
    """``-0.0000`` (a tiny negative, or -0.0, rounded away) reads as ``0.0000``: no sign on a shown zero."""
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def fmt(v: float) -> str:
    """A single number: integers plainly, others to four significant digits."""
    return number_format(np.array([v]))(float(v))


def value_range(a: np.ndarray) -> str:
    """``min … max`` of the finite values of ``a`` (any shape), each end in its own format."""
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    if finite.size == 0:
        return "no finite values"
    return f"{fmt(float(finite.min()))} … {fmt(float(finite.max()))}"


def range_text(lo: float, hi: float) -> str:
    """``lo … hi`` in one number format, so both ends show the same decimals."""
    lo, hi = lo + 0.0, hi + 0.0  # -0.0 (a zero weight times a pixel) reads as 0
    f = number_format(np.array([lo, hi]))
    return f"{f(lo)} … {f(hi)}"


def index_range(lo: int, hi: int) -> str:
    """The indices ``lo .. hi - 1`` (a half-open range): ``3``, or ``3–5``."""
    return f"{lo}" if hi - lo == 1 else f"{lo}–{hi - 1}"


# ------------------------------------------------------------------------------------------------
# Shapes


def pair_text(p: Sequence[Any]) -> str:
    """``(3, 5)``: a pair (or any tuple) as Python writes it (``(5,)`` for one value)."""
    if len(p) == 1:
        return f"({p[0]},)"
    return f"({', '.join(str(v) for v in p)})"


def shape_text(shape: Sequence[int]) -> str:
    """``224×224×3``; a flat vector ``(16384,)`` as ``16,384``."""
    if len(shape) == 1:
        return f"{shape[0]:,}"
    return "×".join(str(s) for s in shape)


def stride_text(j: Any) -> str:
    """An effective stride (a Fraction): ``4``, or ``1/2`` after a transpose layer."""
    return str(j.numerator) if j.denominator == 1 else f"{j.numerator}/{j.denominator}"


def square_text(p: Sequence[Any], sep: str = "×") -> str:
    """``3`` for a square pair, ``3×5`` otherwise (ints or Fractions; any number of axes)."""
    texts = [stride_text(v) if hasattr(v, "denominator") else str(v) for v in p]
    return texts[0] if len(set(texts)) == 1 else sep.join(texts)


def input_shape_text(hwc: Sequence[int], semantics: str = "keras") -> str:
    """An ``(H, W, C)`` shape in the order of ``semantics``: ``3×4×5 (H, W, C)`` or ``5×3×4 (C, H, W)``;
    ``(L, C)`` and ``(D, H, W, C)`` likewise."""
    if len(hwc) != 3:
        names = SPATIAL_NAMES.get(len(hwc) - 1, ("?",) * (len(hwc) - 1))
        if semantics == "torch":
            return f"{'×'.join(map(str, (hwc[-1], *hwc[:-1])))} (C, {', '.join(names)})"
        return f"{'×'.join(map(str, hwc))} ({', '.join(names)}, C)"
    h, w, c = hwc
    return f"{c}×{h}×{w} (C, H, W)" if semantics == "torch" else f"{h}×{w}×{c} (H, W, C)"


#: The names of the spatial axes by their number.
SPATIAL_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def kernel_shape_text(shape: Sequence[int], semantics: str = "keras") -> str:
    """A Keras ``(kh, kw, C/g, F)`` kernel shape in the order of ``semantics``."""
    kh, kw, cg, f = shape
    return f"{f}×{cg}×{kh}×{kw} (F, C/g, kh, kw)" if semantics == "torch" else f"{kh}×{kw}×{cg}×{f} (kh, kw, C/g, F)"


def output_shape_text(hwf: Sequence[int], semantics: str = "keras") -> str:
    """An ``(H', W', F)`` output shape in the order of ``semantics``."""
    h, w, f = hwf
    return f"{f}×{h}×{w} (F, H', W')" if semantics == "torch" else f"{h}×{w}×{f} (H', W', F)"


def padding_text(padding: object) -> str:
    """``'same'`` for a named padding (as Python quotes it), else the number or pair as given."""
    if isinstance(padding, str):
        return repr(padding.lower())
    return str(padding)


# ------------------------------------------------------------------------------------------------
# Channels


def percent(share: float) -> str:
    """A share in %: one decimal from 1 % up, two significant digits below (``0.0099%``), so that a
    channel that adds little never reads ``0.0%`` as if it added nothing; ``0%`` only for nothing."""
    if not np.isfinite(share):
        return f"{share}%"
    if share == 0:
        return "0%"
    if abs(share) >= 1:
        return f"{share:.1f}%"
    if abs(share) < 1e-4:
        return "<0.0001%"
    return np.format_float_positional(share, precision=2, unique=False, fractional=False, trim="-") + "%"


def share_text(shares: np.ndarray, names: Sequence[str], top: int = TOP_CHANNELS) -> str:
    """``R 12.0% · G 30.0% · B 58.0%`` for ``shares (Cg,)`` (:func:`percent`); beyond six channels the ``top``
    largest and the rest."""
    if len(names) <= MAX_CHANNELS_SHOWN:
        return " · ".join(f"{n} {percent(s)}" for n, s in zip(names, shares.tolist(), strict=True))
    order = np.argsort(-shares, kind="stable")
    head = [f"{names[i]} {percent(float(shares[i]))}" for i in order[:top]]
    rest = float(shares[order[top:]].sum())
    return " · ".join([*head, f"{len(names) - top} others {percent(rest)}"])


def channel_list(names: Sequence[str]) -> str:
    """All channel names, or the first and last few when there are many."""
    if len(names) <= 8:
        return " ".join(names)
    return f"{' '.join(names[:3])} … {' '.join(names[-2:])}"


@dataclass(frozen=True)
class InputInfo:
    """What the header (and the JSON) says about the input."""

    path: str
    description: str
    shape: tuple[int, ...]
    dtype: str
    channel_names: tuple[str, ...]
    value_range: str


# ------------------------------------------------------------------------------------------------
# The layer as one line of Keras or PyTorch


@dataclass(frozen=True)
class LayerCall:
    """``name(key=value, ...)``: a layer as a framework writes it; values are already texts."""

    name: str
    args: tuple[tuple[str, str], ...]

    def arg_texts(self) -> list[str]:
        return [f"{key}={value}" for key, value in self.args]

    def text(self) -> str:
        return f"{self.name}({', '.join(self.arg_texts())})"


def keras_call(result: LayerResult, padding: object) -> LayerCall:
    """The layer as Keras would write it (``Conv2D``), with the concrete pads filled in."""
    g = result.layer.geometry
    pad = padding_text(padding)
    if not isinstance(padding, str):
        pad += " (PyTorch-style zeros)"
    return LayerCall("Conv2D", (
        ("filters", str(result.layer.filters)),
        ("kernel_size", pair_text(g.kernel_hw)),
        ("strides", pair_text(g.stride)),
        ("padding", f"{pad} -> pads {g.pads}"),
        ("dilation_rate", pair_text(g.dilation)),
        ("groups", str(result.layer.groups)),
        ("activation", repr(result.activation)),
        ("use_bias", str(result.use_bias)),
    ))  # fmt: skip


def torch_call(result: LayerResult, padding: object) -> LayerCall:
    """The layer as PyTorch writes it (``torch.nn.Conv2d``), with the concrete pads filled in."""
    layer = result.layer
    g = layer.geometry
    if isinstance(padding, str):
        pad = padding_text(padding)
        if padding == "same" and g.stride != (1, 1):
            pad += " (TensorFlow's rule: torch refuses 'same' with stride > 1)"
    else:
        pad = pair_text(padding if isinstance(padding, tuple) else (padding, padding))
    return LayerCall("Conv2d", (
        ("in_channels", str(layer.cg * layer.groups)),
        ("out_channels", str(layer.filters)),
        ("kernel_size", pair_text(g.kernel_hw)),
        ("stride", pair_text(g.stride)),
        ("padding", f"{pad} -> pads {g.pads}"),
        ("dilation", pair_text(g.dilation)),
        ("groups", str(layer.groups)),
        ("bias", str(result.use_bias)),
    ))  # fmt: skip


def semantics_call(result: LayerResult, padding: object, semantics: str = "keras") -> LayerCall:
    """:func:`torch_call` for ``semantics`` ``"torch"``, else :func:`keras_call`."""
    return torch_call(result, padding) if semantics == "torch" else keras_call(result, padding)


def spec_call(spec: ConvSpec) -> LayerCall:
    """A spec as Keras would write it (``groups`` of a transpose layer is PyTorch's)."""
    args: list[tuple[str, str]] = [] if spec.kind == "depthwise" else [("filters", str(spec.filters))]
    args += [("kernel_size", pair_text(spec.kernel)), ("strides", pair_text(spec.stride))]
    if isinstance(spec.padding, str):
        args.append(("padding", repr(spec.padding)))
    elif spec.kind == "transpose":
        args.append(("padding", f"{pair_text(spec.padding)} (PyTorch's: cut from each end of the output)"))
    else:
        args.append(("padding", f"{pair_text(spec.padding)} (PyTorch-style zeros)"))
    if spec.kind == "transpose" and spec.output_padding is not None:
        args.append(("output_padding", pair_text(spec.output_padding)))
    args.append(("dilation_rate", pair_text(spec.dilation)))
    if spec.kind == "conv":
        args.append(("groups", str(spec.groups)))
    if spec.kind in ("depthwise", "separable"):
        args.append(("depth_multiplier", str(spec.depth_multiplier)))
    if spec.kind == "transpose" and spec.groups > 1:
        args.append(("groups", f"{spec.groups} (PyTorch ConvTranspose2d)"))
    args.append(("use_bias", str(spec.use_bias)))
    return LayerCall(spec.keras_name, tuple(args))


def kind_call(spec: ConvSpec, pad_width: Sequence[tuple[int, int]], semantics: str = "keras") -> LayerCall:
    """A layer of any kind and rank as its framework writes it (Keras ``Conv1D(...)``, PyTorch
    ``Conv1d(...)``), with the concrete pads ``((before, after), ...)`` filled in."""
    pads = tuple(p for pair in pad_width for p in pair)
    pad = repr(spec.padding) if isinstance(spec.padding, str) else pair_text(spec.padding)
    if spec.kind == "transpose":  # its "pads" are what it cuts from its output
        return _transpose_call(spec, pads, pad, semantics)
    if semantics == "torch":
        args = [("in_channels", str(spec.in_channels)), ("out_channels", str(spec.out_channels)),
                ("kernel_size", pair_text(spec.kernel)), ("stride", pair_text(spec.stride)),
                ("padding", f"{pad} -> pads {pads}"), ("dilation", pair_text(spec.dilation)),
                ("groups", str(spec.in_channels if spec.kind == "depthwise" else spec.groups)),
                ("bias", str(spec.use_bias)), ("padding_mode", repr(spec.padding_mode))]
        return LayerCall(spec.torch_name, tuple(args))
    call = spec_call(spec)
    args = [(k, f"{v} -> pads {pads}" if k == "padding" else v) for k, v in call.args]
    if spec.padding_mode != "zeros":  # the pads hold the mode's values, not zeros
        args = [(k, v.replace("PyTorch-style zeros", "PyTorch-style pads")) for k, v in args]
    if spec.padding_mode != "zeros":
        args.append(("padding_mode", f"{spec.padding_mode!r} (PyTorch's; Keras pads with zeros)"))
    return LayerCall(call.name, tuple(args))


def _transpose_call(spec: ConvSpec, cuts: tuple[int, ...], pad: str, semantics: str) -> LayerCall:
    if semantics == "torch":
        op = pair_text(spec.output_padding) if spec.output_padding is not None else "0"
        args = [("in_channels", str(spec.in_channels)), ("out_channels", str(spec.out_channels)),
                ("kernel_size", pair_text(spec.kernel)), ("stride", pair_text(spec.stride)),
                ("padding", f"{pad} -> cuts {cuts}"), ("output_padding", op), ("groups", str(spec.groups)),
                ("bias", str(spec.use_bias)), ("dilation", pair_text(spec.dilation))]
        return LayerCall(spec.torch_name, tuple(args))
    call = spec_call(spec)
    return LayerCall(call.name, tuple((k, f"{v} -> cuts {cuts}" if k == "padding" else v) for k, v in call.args))


def signed_sum(texts: Sequence[str]) -> str:
    """``a + b - c``: the numbers' texts joined, a negative one after a minus rather than ``+ -c``."""
    out = texts[0] if texts else "0"
    for t in texts[1:]:
        out += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
    return out
