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
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

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


def header(info: InputInfo, result: LayerResult, padding: object, kernel_source: str) -> Panel:
    """Input, layer, kernel, output shape and parameter count."""
    layer = result.layer
    g = layer.geometry
    ho, wo = g.out_hw
    rows: list[tuple[str, RenderableType]] = [
        (
            "input",
            Text(
                f"{info.path} · {info.description} · {shape_text(info.shape)} (H, W, C) · "
                f"channels {channel_list(info.channel_names)} · values {info.value_range}"
            ),
        ),
        ("layer", layer_call(result, padding)),
        ("kernel", Text(f"{kernel_source} · {shape_text(layer.kernel.shape)} (kh, kw, C/g, F)")),
        (
            "output",
            Text(f"{ho}×{wo}×{layer.filters} (H', W', F) · {layer.x.dtype.name} · "
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
                f"min {fmt(float(np.nanmin(result.output[..., f])))} · "
                f"mean {fmt(float(np.nanmean(result.output[..., f], dtype=np.float64)))} · "
                f"max {fmt(float(np.nanmax(result.output[..., f])))}"
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
        o = result.output[..., f]
        channels = group_channels(result, f)
        t.add_row(
            str(f),
            fmt(float(result.bias[f])),
            fmt(float(np.nanmin(o))),
            fmt(float(np.nanmean(o, dtype=np.float64))),
            fmt(float(np.nanmax(o))),
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
        o = result.output[..., f]
        channels = group_channels(result, f)
        entry: dict[str, Any] = {
            "index": f,
            "bias": _num(float(result.bias[f])),
            "output_min": _num(float(np.nanmin(o))),
            "output_mean": _num(float(np.nanmean(o, dtype=np.float64))),
            "output_max": _num(float(np.nanmax(o))),
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
