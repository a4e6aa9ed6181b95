"""Results -> rich renderables (tables, panels, flows) and JSON-ready dicts. Nothing here prints.

Every formatting choice of the project lives here: how numbers are shown, the Keras-style
one-liner of a layer, the parameter formula, the layout of a filter's sum.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from convcli import counts
from convcli.engine import ACTIVATION_FORMULAS, Geometry, LayerResult, Trace, param_count

#: Channels shown one by one in a filter's sum; beyond this the largest few and "Σ others".
MAX_CHANNELS_SHOWN = 6
TOP_CHANNELS = 4
#: Filters shown in detail when --filter is not given.
DEFAULT_DETAIL_FILTERS = 4

#: A grid's box: an outer border, no lines between cells (they cost width at 100 columns).
GRID_BOX = box.Box("╭──╮\n│  │\n├──┤\n│  │\n├──┤\n├──┤\n│  │\n╰──╯\n")

NEGATIVE = "red"
POSITIVE = "green"
OPERATOR = "bold cyan"
LABEL = "bold"


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
        return lambda v: f"{v:.0f}"
    decimals = 4 if m == 0 else max(0, min(4, 3 - math.floor(math.log10(m))))
    return lambda v: f"{v:.{decimals}f}"


def fmt(v: float) -> str:
    """A single number: integers plainly, others to four significant digits."""
    return number_format(np.array([v]))(float(v))


def _style(v: float) -> str:
    return NEGATIVE if v < 0 else ""


def pair_text(p: Sequence[int]) -> str:
    return f"({p[0]}, {p[1]})"


def shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape)


# ------------------------------------------------------------------------------------------------
# Building blocks


def number_grid(values: np.ndarray, title: str | None = None, *, dim: np.ndarray | None = None) -> Table:
    """An ``(h, w)`` array as a boxed grid of right-aligned numbers; ``dim`` marks cells (h, w) to grey."""
    f = number_format(values)
    t = Table(
        box=GRID_BOX,
        show_header=False,
        padding=(0, 1),
        collapse_padding=True,
        title=title,
        title_style="italic",
        min_width=cell_len(title) if title else None,  # a title wider than the numbers stays whole
    )
    for _ in range(values.shape[1]):
        t.add_column(justify="right")
    for i in range(values.shape[0]):
        t.add_row(
            *(
                Text(f(v), style="dim" if dim is not None and dim[i, j] else _style(v))
                for j, v in enumerate(values[i].tolist())
            )
        )
    return t


class Flow:
    """Renderables placed left to right and wrapped onto new lines when the width runs out."""

    def __init__(self, items: Iterable[RenderableType], gap: int = 1) -> None:
        self.items = list(items)
        self.gap = gap

    def _widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        return [Measurement.get(console, options, item).maximum for item in self.items]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines: list[list[RenderableType]] = []
        line: list[RenderableType] = []
        used = 0
        for item, width in zip(self.items, self._widths(console, options), strict=True):
            if line and used + self.gap + width > options.max_width:
                lines.append(line)
                line, used = [], 0
            used += width + (self.gap if line else 0)
            line.append(item)
        if line:
            lines.append(line)
        for cells in lines:
            grid = Table.grid(padding=(0, self.gap, 0, 0))  # gap on the right only: widths add up
            for _ in cells:
                grid.add_column(vertical="middle")
            grid.add_row(*cells)
            yield grid

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widths = self._widths(console, options) or [0]
        return Measurement(max(widths), sum(widths) + self.gap * (len(widths) - 1))


def joined(op: str, renderable: RenderableType) -> Table:
    """``op`` in front of ``renderable``, kept together when a :class:`Flow` wraps."""
    g = Table.grid(padding=(0, 1))
    g.add_column(vertical="middle")
    g.add_column(vertical="middle")
    g.add_row(Text(op, style=OPERATOR), renderable)
    return g


def key_values(rows: Iterable[tuple[str, RenderableType]]) -> Table:
    g = Table.grid(padding=(0, 2))
    g.add_column(style=LABEL, no_wrap=True)
    g.add_column()
    for k, v in rows:
        g.add_row(k, v)
    return g


# ------------------------------------------------------------------------------------------------
# The layer


def padding_text(padding: object) -> str:
    if isinstance(padding, str):
        return repr(padding.lower())
    return str(padding)


class Call:
    """``name(arg, arg, ...)`` that wraps only between arguments, continuing under the first one."""

    def __init__(self, name: str, args: Sequence[str]) -> None:
        self.name = name
        self.args = list(args)

    def text(self) -> str:
        return f"{self.name}({', '.join(self.args)})"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        indent = " " * (len(self.name) + 1)
        line = self.name + "("
        for n, arg in enumerate(self.args):
            piece = arg + (")" if n == len(self.args) - 1 else ",")
            if n and len(line) + 1 + len(piece) > options.max_width:
                yield Text(line)
                line = indent + piece
            else:
                line += (" " if n else "") + piece
        yield Text(line)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(len(self.name) + 1 + max(len(a) + 1 for a in self.args), len(self.text()))


def layer_call(result: LayerResult, padding: object) -> Call:
    """The layer as Keras would write it, with the concrete pads filled in."""
    g = result.layer.geometry
    pad = padding_text(padding)
    if not isinstance(padding, str):
        pad += " (PyTorch-style zeros)"
    return Call(
        "Conv2D",
        [
            f"filters={result.layer.filters}",
            f"kernel_size={pair_text(g.kernel_hw)}",
            f"strides={pair_text(g.stride)}",
            f"padding={pad} -> pads {g.pads}",
            f"dilation_rate={pair_text(g.dilation)}",
            f"groups={result.layer.groups}",
            f"activation={result.activation!r}",
            f"use_bias={result.use_bias}",
        ],
    )


def torch_call(result: LayerResult, padding: object) -> Call:
    """The layer as PyTorch writes it (``torch.nn.Conv2d``), with the concrete pads filled in."""
    layer = result.layer
    g = layer.geometry
    if isinstance(padding, str):
        pad = padding_text(padding)
        if padding == "same" and g.stride != (1, 1):
            pad += " (TensorFlow's rule: torch refuses 'same' with stride > 1)"
    else:
        pad = pair_text(padding if isinstance(padding, tuple) else (padding, padding))  # type: ignore[arg-type]
    return Call(
        "Conv2d",
        [
            f"in_channels={layer.cg * layer.groups}",
            f"out_channels={layer.filters}",
            f"kernel_size={pair_text(g.kernel_hw)}",
            f"stride={pair_text(g.stride)}",
            f"padding={pad} -> pads {g.pads}",
            f"dilation={pair_text(g.dilation)}",
            f"groups={layer.groups}",
            f"bias={result.use_bias}",
        ],
    )


def input_shape_text(hwc: Sequence[int], semantics: str = "keras") -> str:
    """An ``(H, W, C)`` shape in the order of ``semantics``: ``3×4×5 (H, W, C)`` or ``5×3×4 (C, H, W)``."""
    h, w, c = hwc
    return f"{c}×{h}×{w} (C, H, W)" if semantics == "torch" else f"{h}×{w}×{c} (H, W, C)"


def kernel_shape_text(shape: Sequence[int], semantics: str = "keras") -> str:
    """A Keras ``(kh, kw, C/g, F)`` kernel shape in the order of ``semantics``."""
    kh, kw, cg, f = shape
    return f"{f}×{cg}×{kh}×{kw} (F, C/g, kh, kw)" if semantics == "torch" else f"{kh}×{kw}×{cg}×{f} (kh, kw, C/g, F)"


def output_shape_text(hwf: Sequence[int], semantics: str = "keras") -> str:
    """An ``(H', W', F)`` output shape in the order of ``semantics``."""
    h, w, f = hwf
    return f"{f}×{h}×{w} (F, H', W')" if semantics == "torch" else f"{h}×{w}×{f} (H', W', F)"


def param_formula(kernel_shape: Sequence[int], groups: int, use_bias: bool = True) -> Text:
    """``kh·kw·C/g·F + F = total`` with the numbers filled in, and the symbols beside it."""
    kh, kw, cg, f = (int(v) for v in kernel_shape)
    weights, biases = param_count(kernel_shape, use_bias)
    cg_text = f"({cg * groups}/{groups})" if groups > 1 else str(cg)
    text = Text(f"{kh}·{kw}·{cg_text}·{f}")
    if use_bias:
        text.append(f" + {f}")
    text.append(f" = {weights + biases:,}", style="bold")
    symbols = "kh·kw·C/g·F weights" + (" + F biases" if use_bias else ", no bias")
    text.append(f"   ({symbols})", style="dim")
    return text


def value_range(a: np.ndarray) -> str:
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    if finite.size == 0:
        return "no finite values"
    return f"{fmt(float(finite.min()))} … {fmt(float(finite.max()))}"


@dataclass(frozen=True)
class InputInfo:
    """What the header says about the input."""

    path: str
    description: str
    shape: tuple[int, ...]
    dtype: str
    channel_names: tuple[str, ...]
    value_range: str


def header(info: InputInfo, result: LayerResult, padding: object, kernel_source: str, *,
           semantics: str = "keras") -> Panel:
    """Input, layer, kernel, output shape and parameter count; shapes in ``semantics``' order."""
    layer = result.layer
    g = layer.geometry
    ho, wo = g.out_hw
    rows: list[tuple[str, RenderableType]] = [
        (
            "input",
            Text(
                f"{info.path} · {info.description} · {input_shape_text(info.shape, semantics)} · "
                f"channels {channel_list(info.channel_names)} · values {info.value_range}"
            ),
        ),
        ("layer", torch_call(result, padding) if semantics == "torch" else layer_call(result, padding)),
        ("kernel", Text(f"{kernel_source} · {kernel_shape_text(layer.kernel.shape, semantics)}")),
        (
            "output",
            Text(f"{output_shape_text((ho, wo, layer.filters), semantics)} · {layer.x.dtype.name} · "
                 f"activation {result.activation} = {ACTIVATION_FORMULAS[result.activation]}"),
        ),
        ("params", param_formula(layer.kernel.shape, layer.groups, result.use_bias)),
    ]
    return Panel(key_values(rows), title="convcli run", title_align="left", box=box.ROUNDED)


# ------------------------------------------------------------------------------------------------
# A filter, summed


def group_channels(result: LayerResult, f: int) -> np.ndarray:
    """Input channel indices (Cg,) that filter ``f`` reads."""
    layer = result.layer
    group = f // (layer.filters // layer.groups)
    return np.arange(group * layer.cg, (group + 1) * layer.cg)


def shown_channels(result: LayerResult, f: int) -> tuple[list[int], list[int]]:
    """Channel positions (within the group) shown one by one, and those folded into "Σ others"."""
    cg = result.layer.cg
    if cg <= MAX_CHANNELS_SHOWN:
        return list(range(cg)), []
    order = np.argsort(-result.mean_abs[:, f], kind="stable")
    top = sorted(order[:TOP_CHANNELS].tolist())
    return top, sorted(order[TOP_CHANNELS:].tolist())


def _range_text(lo: int, hi: int) -> str:
    return f"{lo}" if hi - lo == 1 else f"{lo}–{hi - 1}"


def filter_panel(result: LayerResult, f: int, names: Sequence[str]) -> Panel:
    """Filter ``f``: its kernel slices, then the window's partial sums adding up to the output."""
    layer = result.layer
    channels = group_channels(result, f)
    shown, others = shown_channels(result, f)
    kernel = layer.kernel[:, :, :, f]
    window = result.window_partials[:, :, :, f]
    (r0, r1), (c0, c1) = result.rows, result.cols
    pre = result.preactivation[r0:r1, c0:c1, f]
    out = result.output[r0:r1, c0:c1, f]

    kernel_items: list[RenderableType] = [number_grid(kernel[:, :, c], names[channels[c]]) for c in shown]
    sum_items: list[RenderableType] = []
    for n, c in enumerate(shown):
        grid = number_grid(window[:, :, c], names[channels[c]])
        sum_items.append(grid if n == 0 else joined("+", grid))
    if others:
        rest = window[:, :, others].sum(axis=2)
        sum_items.append(joined("+", number_grid(rest, f"Σ {len(others)} others")))
        kernel_items.append(Text(f"… and {len(others)} more channels", style="dim"))
    # the bias is added at every position: shown as a grid it adds up cell by cell like the rest
    sum_items.append(joined("+", number_grid(np.full(pre.shape, result.bias[f]), "bias")))
    sum_items.append(joined("=", number_grid(pre, "pre-activation")))
    if result.activation != "linear":
        sum_items.append(joined(f"{result.activation} →", number_grid(out, "output")))

    shares = result.shares()[:, f]
    stats = key_values(
        [
            ("whole output", Text(
                f"min {fmt(result.output_stats[f, 0])} · "
                f"mean {fmt(result.output_stats[f, 1])} · "
                f"max {fmt(result.output_stats[f, 2])}"
            )),
            ("channel shares", Text(share_text(shares, [names[c] for c in channels])
                                    + "  (of Σ mean |partial|)")),
        ]
    )
    kh, kw = layer.geometry.kernel_hw
    body = Group(
        Text(f"weights: a {kh}×{kw} slice per input channel", style=LABEL),
        Flow(kernel_items),
        Text(
            f"partial sums, output rows {_range_text(r0, r1)} × cols {_range_text(c0, c1)}: "
            "one per channel, then summed",
            style=LABEL,
        ),
        Flow(sum_items),
        stats,
    )
    title = f"filter {f} · bias {fmt(float(result.bias[f]))} · {result.activation}"
    if layer.groups > 1:
        title += f" · group {channels[0] // layer.cg} (channels {channels[0]}–{channels[-1]})"
    return Panel(body, title=title, title_align="left", box=box.ROUNDED)


def share_text(shares: np.ndarray, names: Sequence[str], top: int = TOP_CHANNELS) -> str:
    """``R 12% · G 30% · B 58%``; beyond six channels the ``top`` largest and the rest together."""
    if len(names) <= MAX_CHANNELS_SHOWN:
        return " · ".join(f"{n} {s:.1f}%" for n, s in zip(names, shares.tolist(), strict=True))
    order = np.argsort(-shares, kind="stable")
    head = [f"{names[i]} {shares[i]:.1f}%" for i in order[:top]]
    rest = float(shares[order[top:]].sum())
    return " · ".join([*head, f"{len(names) - top} others {rest:.1f}%"])


def channel_list(names: Sequence[str]) -> str:
    """All channel names, or the first and last few when there are many."""
    if len(names) <= 8:
        return " ".join(names)
    return f"{' '.join(names[:3])} … {' '.join(names[-2:])}"


def summary_table(result: LayerResult, names: Sequence[str]) -> Table:
    """Every filter over the whole output: bias, min / mean / max, and which channels drive it."""
    t = Table(title="all filters, whole output", box=box.SIMPLE_HEAD, title_justify="left", title_style=LABEL)
    t.add_column("filter", justify="right")
    t.add_column("bias", justify="right")
    t.add_column("min", justify="right")
    t.add_column("mean", justify="right")
    t.add_column("max", justify="right")
    t.add_column("channel share of Σ mean|partial|")
    shares = result.shares()
    for f in range(result.layer.filters):
        channels = group_channels(result, f)
        t.add_row(
            str(f),
            fmt(float(result.bias[f])),
            *(fmt(v) for v in result.output_stats[f].tolist()),
            share_text(shares[:, f], [names[c] for c in channels], top=2),
        )
    return t


# ------------------------------------------------------------------------------------------------
# One position, tap by tap


def trace_panel(result: LayerResult, trace: Trace, row: int, col: int, f: int, names: Sequence[str]) -> Panel:
    """Each channel's receptive field ⊙ its kernel slice = products, Σ; then the total."""
    g: Geometry = result.layer.geometry
    h, w = g.in_hw
    outside = ~((trace.in_rows[:, None] >= 0) & (trace.in_rows[:, None] < h)
                & (trace.in_cols[None, :] >= 0) & (trace.in_cols[None, :] < w))
    rows_text = ", ".join(str(r) for r in trace.in_rows.tolist())
    cols_text = ", ".join(str(c) for c in trace.in_cols.tolist())
    parts: list[RenderableType] = [
        Text(f"output ({row}, {col}) reads input rows {rows_text} × cols {cols_text}"
             + (" (grey: zero padding)" if outside.any() else ""), style=LABEL)
    ]
    for c, ch in enumerate(trace.channels.tolist()):
        parts.append(
            Flow(
                [
                    number_grid(trace.patch[:, :, c], f"input {names[ch]}", dim=outside),
                    joined("⊙", number_grid(trace.weights[:, :, c], "weights")),
                    joined("=", number_grid(trace.products[:, :, c], "products")),
                    joined("Σ →", Text(fmt(float(trace.sums[c])), style="bold")),
                ]
            )
        )
    pre = float(result.preactivation[row, col, f])
    out = float(result.output[row, col, f])
    total = Text.assemble(
        ("Σ channels ", LABEL),
        " + ".join(fmt(float(s)) for s in trace.sums.tolist()),
        f" + bias {fmt(float(result.bias[f]))} = ",
        (fmt(pre), "bold"),
    )
    if result.activation != "linear":
        total.append(f"  {result.activation} → ")
        total.append(fmt(out), style="bold")
    parts.append(total)
    return Panel(Group(*parts), title=f"trace · output ({row}, {col}) · filter {f}", title_align="left")


# ------------------------------------------------------------------------------------------------
# JSON


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _nested(a: np.ndarray) -> Any:
    if a.ndim == 0:
        return _num(float(a))
    return [_nested(s) for s in a]


def result_json(
    info: InputInfo, result: LayerResult, padding: object, filters: Sequence[int], trace: dict[int, Trace] | None,
    at: tuple[int, int] | None,
) -> dict[str, Any]:
    """The same numbers the tables show, as one JSON-ready dict (non-finite values become null)."""
    layer = result.layer
    g = layer.geometry
    weights, biases = param_count(layer.kernel.shape, result.use_bias)
    (r0, r1), (c0, c1) = result.rows, result.cols
    shares = result.shares()
    doc: dict[str, Any] = {
        "input": {
            "path": info.path,
            "description": info.description,
            "shape": list(info.shape),
            "dtype": info.dtype,
            "channels": list(info.channel_names),
        },
        "layer": {
            "filters": layer.filters,
            "kernel_size": list(g.kernel_hw),
            "strides": list(g.stride),
            "padding": padding if isinstance(padding, (str, int)) else list(padding),  # type: ignore[call-overload]
            "pads": list(g.pads),
            "dilation_rate": list(g.dilation),
            "groups": layer.groups,
            "activation": result.activation,
            "use_bias": result.use_bias,
            "dtype": layer.x.dtype.name,
        },
        "kernel_shape": list(layer.kernel.shape),
        "output_shape": [*g.out_hw, layer.filters],
        "params": {"weights": weights, "biases": biases, "total": weights + biases},
        "window": {"rows": [r0, r1], "cols": [c0, c1]},
        "filters": [],
    }
    for f in filters:
        channels = group_channels(result, f)
        lo, mean, hi = result.output_stats[f].tolist()
        entry: dict[str, Any] = {
            "index": f,
            "bias": _num(float(result.bias[f])),
            "output_min": _num(lo),
            "output_mean": _num(mean),
            "output_max": _num(hi),
            "channels": [int(c) for c in channels],
            "channel_share_percent": [_num(float(s)) for s in shares[:, f]],
            "kernel": _nested(layer.kernel[:, :, :, f].transpose(2, 0, 1)),
            "window_partials": _nested(result.window_partials[:, :, :, f].transpose(2, 0, 1)),
            "window_preactivation": _nested(result.preactivation[r0:r1, c0:c1, f]),
            "window_output": _nested(result.output[r0:r1, c0:c1, f]),
        }
        if trace is not None and at is not None:
            t = trace[f]
            entry["trace"] = {
                "position": list(at),
                "input_rows": t.in_rows.tolist(),
                "input_cols": t.in_cols.tolist(),
                "patch": _nested(t.patch.transpose(2, 0, 1)),
                "products": _nested(t.products.transpose(2, 0, 1)),
                "channel_sums": _nested(t.sums),
                "preactivation": _num(float(result.preactivation[at[0], at[1], f])),
                "output": _num(float(result.output[at[0], at[1], f])),
            }
        doc["filters"].append(entry)
    return doc


# ------------------------------------------------------------------------------------------------
# Parameter counts (`convcli params`)


def stride_text(j: Any) -> str:
    """An effective stride: ``4``, or ``1/2`` after a transpose layer."""
    return str(j.numerator) if j.denominator == 1 else f"{j.numerator}/{j.denominator}"


def square_text(p: Sequence[Any], sep: str = "×") -> str:
    """``3`` for a square pair, ``3×5`` otherwise."""
    a, b = (stride_text(v) if hasattr(v, "denominator") else str(v) for v in p)
    return a if a == b else f"{a}{sep}{b}"


def terms_formula(terms: Sequence[counts.Term], *, numbers: bool = True) -> str:
    """``kh·kw·C·M + C·M·F`` (symbols) or ``3·3·64·1 + 64·1·128`` (numbers)."""
    return " + ".join("·".join(str(v) if numbers else name for name, v in term) for term in terms)


def count_line(terms: Sequence[counts.Term], total: int) -> Text:
    """``kh·kw·C·F = 3·3·64·128 = 73,728``; a single factor is just ``F = 128``."""
    text = Text(terms_formula(terms, numbers=False), style="dim")
    numbers = terms_formula(terms)
    if numbers != str(total):
        text.append(f" = {numbers}")
    text.append(" = ")
    text.append(f"{total:,}", style="bold")
    return text


def spec_call(spec: counts.ConvSpec) -> Call:
    """The layer as Keras would write it (``groups`` of a transpose layer is PyTorch's)."""
    args = [] if spec.kind == "depthwise" else [f"filters={spec.filters}"]
    args += [f"kernel_size={pair_text(spec.kernel)}", f"strides={pair_text(spec.stride)}"]
    if isinstance(spec.padding, str):
        args.append(f"padding={spec.padding!r}")
    else:
        args.append(f"padding={pair_text(spec.padding)} (PyTorch-style zeros)")
    if spec.kind != "transpose":
        args.append(f"dilation_rate={pair_text(spec.dilation)}")
    if spec.kind == "conv":
        args.append(f"groups={spec.groups}")
    if spec.kind in ("depthwise", "separable"):
        args.append(f"depth_multiplier={spec.depth_multiplier}")
    if spec.kind == "transpose" and spec.groups > 1:
        args.append(f"groups={spec.groups} (PyTorch ConvTranspose2d)")
    args.append(f"use_bias={spec.use_bias}")
    return Call(spec.keras_name, args)


def _times(this: int, other: int) -> str:
    if other == this:
        return "the same"
    if other < this:
        return f"{this / other:.1f}× fewer" if other else "none"
    return f"{other / this:.1f}× more" if this else "more"


def compare_rows(this: counts.LayerReport, other: counts.LayerReport) -> list[tuple[str, RenderableType]]:
    """The same job done by ``other`` (e.g. a 3×3 conv against its separable twin): what, then how much."""
    spec = other.spec
    what = {
        "separable": f"as SeparableConv2D: {shape_text(spec.kernel)} depthwise, then 1×1 to {spec.out_channels}",
        "conv": f"as a full Conv2D: {spec.in_channels} → {spec.out_channels}, groups=1",
    }[spec.kind]
    numbers = Text.assemble((f"{other.params.total:,}", "bold"),
                            f" parameters ({_times(this.params.total, other.params.total)})")
    if this.shape is not None and other.shape is not None:
        numbers.append(" · MACs ")
        numbers.append(f"{other.shape.macs:,}", style="bold")
        numbers.append(f" ({_times(this.shape.macs, other.shape.macs)})")
    return [("compare", Text(what)), ("", numbers)]


def params_panel(rep: counts.LayerReport, other: counts.LayerReport | None = None) -> Panel:
    """One layer: the Keras call, weight shapes, each count with its formula filled in."""
    spec, p = rep.spec, rep.params
    shapes = spec.kernel_shapes()
    rows: list[tuple[str, RenderableType]] = [
        ("layer", spec_call(spec)),
        ("variables", Text(" · ".join(f"{name} {shape_text(s)}" for name, s in shapes.items())
                           + "   (Keras layouts)")),
        ("weights", count_line(p.weight_terms, p.weights)),
        ("biases", count_line(p.bias_terms, p.biases) if p.bias_terms else Text("none (use_bias=False)")),
        ("total", Text.assemble((f"{p.total:,}", "bold"), " parameters")),
    ]
    if rep.shape is not None:
        sh = rep.shape
        pads = f" · pads {sh.pads}" if sh.pads is not None else ""
        rows += [
            ("shape", Text(f"{shape_text(sh.in_shape)} (H, W, C) → {shape_text(sh.out_shape)} (H', W', F){pads}")),
            ("MACs", count_line(sh.mac_terms, sh.macs)),
            ("FLOPs", Text.assemble("2·MACs = ", (f"{sh.flops:,}", "bold"),
                                    ("   (a multiply and an add per MAC; bias adds not counted)", "dim"))),
            ("", Text("fvcore, thop and ptflops report MACs under the name \"FLOPs\"", style="dim")),
        ]
    rows.append(("receptive field", Text(f"{shape_text(rep.receptive_field)} input pixels per output pixel"
                                         + (f" · effective stride {square_text(rep.effective_stride)}"
                                            if rep.effective_stride != (1, 1) else ""))))
    if other is not None:
        rows += compare_rows(rep, other)
    return Panel(key_values(rows), title=f"convcli params · {spec.keras_name}", title_align="left",
                 box=box.ROUNDED)


class StackTable:
    """A stack like Keras' ``model.summary()``, plus kernel, stride, padding, MACs and receptive field.

    Numbers are never shortened. Layers are named as Keras names them (``SeparableConv2D 128``) when
    that fits the width, else as the stack syntax does (``sep 128``).
    """

    def __init__(self, stack: counts.StackReport) -> None:
        self.stack = stack

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = stack_table(self.stack)
        # measured without a limit: Measurement.get clamps the answer to the width it is given
        if Measurement.get(console, options.update_width(10_000), table).maximum > options.max_width:
            table = stack_table(self.stack, short_names=True)
        yield table


#: The stack syntax's name of each kind (the reverse of counts.STACK_KINDS' short forms).
SHORT_KINDS = {"conv": "conv", "depthwise": "dw", "separable": "sep", "transpose": "tconv"}


def stack_table(stack: counts.StackReport, *, short_names: bool = False) -> Table:
    """The table of :class:`StackTable`, with Keras' class names or the stack syntax's short ones."""
    last = stack.layers[-1]
    rows = [["0", "input", "", "", "", shape_text(stack.in_shape), "", "", "1", "1"]]
    for n, rep in enumerate(stack.layers, start=1):
        spec = rep.spec
        assert rep.shape is not None  # a stack always has an input size
        name = [SHORT_KINDS[spec.kind] if short_names else spec.keras_name]
        name += [] if spec.kind == "depthwise" else [str(spec.filters)]
        name += [f"g{spec.groups}"] if spec.groups > 1 else []
        name += [f"m{spec.depth_multiplier}"] if spec.depth_multiplier > 1 else []
        name += [f"d{square_text(spec.dilation, 'x')}"] if spec.dilation != (1, 1) else []
        name += ["nobias"] if not spec.use_bias else []
        rows.append([
            str(n),
            " ".join(name),
            square_text(spec.kernel),
            square_text(spec.stride),
            spec.padding if isinstance(spec.padding, str) else f"p{square_text(spec.padding, 'x')}",
            shape_text(rep.shape.out_shape),
            f"{rep.params.total:,}",
            f"{rep.shape.macs:,}",
            square_text(rep.receptive_field),
            square_text(rep.effective_stride),
        ])
    footer = ["", "total", "", "", "", shape_text(stack.out_shape), f"{stack.total:,}", f"{stack.macs:,}",
              square_text(last.receptive_field), square_text(last.effective_stride)]
    t = Table(
        title=f"stack on {shape_text(stack.in_shape)} (H, W, C)",
        title_justify="left",
        title_style=LABEL,
        caption="k kernel · s stride · RF receptive field (input pixels) · jump effective stride",
        caption_justify="left",
        caption_style="dim",
        box=box.SIMPLE_HEAD,
        show_footer=True,
        padding=(0, 1),
        pad_edge=False,
    )
    headers = ["#", "layer", "k", "s", "pad", "output", "params", "MACs", "RF", "jump"]
    for col, head in enumerate(headers):
        width = max(len(head), len(footer[col]), *(len(r[col]) for r in rows))
        fixed = head != "layer"
        t.add_column(head, footer=footer[col], justify="left" if col in (1, 4) else "right",
                     footer_style=LABEL if col in (1, 6, 7) else "", no_wrap=fixed,
                     min_width=width if fixed else None)
    for n, row in enumerate(rows):
        t.add_row(*row, style="dim" if n == 0 else None)
    return t


def stack_totals(stack: counts.StackReport) -> Table:
    """The totals under a stack table, with the FLOP convention."""
    return key_values(
        [
            ("parameters", Text.assemble((f"{stack.total:,}", "bold"),
                                         f" = {stack.weights:,} weights + {stack.biases:,} biases")),
            ("MACs", Text.assemble((f"{stack.macs:,}", "bold"), "   FLOPs = 2·MACs = ", (f"{stack.flops:,}", "bold"))),
            ("receptive field", Text(
                f"{shape_text(stack.layers[-1].receptive_field)} input pixels per output pixel, "
                f"effective stride {square_text(stack.layers[-1].effective_stride)}")),
            ("", Text("FLOPs: a multiply and an add per MAC, bias adds not counted; fvcore, thop and ptflops "
                      "report MACs under the name \"FLOPs\"", style="dim")),
        ]
    )


def _json_number(j: Any) -> int | float:
    return int(j) if j.denominator == 1 else float(j)


def params_json(rep: counts.LayerReport, other: counts.LayerReport | None = None) -> dict[str, Any]:
    """One layer's counts as a JSON-ready dict: ``weights``, ``biases``, ``total`` and, with an input
    size, ``input_shape``, ``output_shape``, ``pads``, ``macs``, ``flops``."""
    spec, p = rep.spec, rep.params
    doc: dict[str, Any] = {
        "kind": spec.kind,
        "layer": spec.keras_name,
        "config": {
            "in_channels": spec.in_channels,
            "filters": spec.filters,
            "kernel_size": list(spec.kernel),
            "strides": list(spec.stride),
            "padding": spec.padding if isinstance(spec.padding, str) else list(spec.padding),
            "dilation_rate": list(spec.dilation),
            "groups": spec.groups,
            "depth_multiplier": spec.depth_multiplier,
            "use_bias": spec.use_bias,
        },
        "out_channels": spec.out_channels,
        "variables": {name: list(s) for name, s in spec.kernel_shapes().items()},
        "weights": p.weights,
        "biases": p.biases,
        "total": p.total,
        "receptive_field": list(rep.receptive_field),
        "effective_stride": [_json_number(j) for j in rep.effective_stride],
    }
    if rep.text:
        doc["text"] = rep.text
    if rep.shape is not None:
        doc |= {
            "input_shape": list(rep.shape.in_shape),
            "output_shape": list(rep.shape.out_shape),
            "pads": list(rep.shape.pads) if rep.shape.pads is not None else None,
            "macs": rep.shape.macs,
            "flops": rep.shape.flops,
        }
    if other is not None:
        doc["compare"] = {
            "layer": other.spec.keras_name,
            "kind": other.spec.kind,
            "weights": other.params.weights,
            "biases": other.params.biases,
            "total": other.params.total,
            **({"macs": other.shape.macs} if other.shape is not None else {}),
        }
    return doc


def stack_json(stack: counts.StackReport) -> dict[str, Any]:
    """A stack: ``layers`` (one :func:`params_json` object each) and ``totals``."""
    last = stack.layers[-1]
    return {
        "input_shape": list(stack.in_shape),
        "layers": [{"index": n, **params_json(rep)} for n, rep in enumerate(stack.layers, start=1)],
        "totals": {
            "weights": stack.weights,
            "biases": stack.biases,
            "total": stack.total,
            "macs": stack.macs,
            "flops": stack.flops,
            "output_shape": list(stack.out_shape),
            "receptive_field": list(last.receptive_field),
            "effective_stride": [_json_number(j) for j in last.effective_stride],
        },
        "flop_convention": counts.FLOP_CONVENTION,
    }
