"""`convcli run` on the terminal: the header, one panel per filter (its sum laid out), the summary table.

Nothing here prints.
"""


from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from convcli.engine import ACTIVATION_FORMULAS, LayerResult
from convcli.layer.spec import group_of
from convcli.present.colour import same_units
from convcli.present.describe import (
    InputInfo,
    channel_list,
    fmt,
    index_range,
    input_shape_text,
    kernel_shape_text,
    output_shape_text,
    semantics_call,
    share_text,
)
from convcli.present.selection import (
    SUMMARY_FIRST,
    SUMMARY_LAST,
    SUMMARY_STRONGEST,
    group_channels,
    shown_channels,
    summary_filters,
)
from convcli.present.window import Window, window_partials
from convcli.render.heatmap import Scale
from convcli.render.numbers import LABEL, Call, Flow, _style, cell_style, joined, key_values, number_grid
from convcli.render.params import param_formula
from convcli.text import shown


def input_text(info: InputInfo, semantics: str) -> Flow:
    """The header's input row: path, what it is (format, alpha dropped, EXIF turned ...), shape, channels,
    values; wrapped between those parts, not inside one."""
    # path, description and names come from the user and the file: escaped, never markup
    parts = [shown(info.path), shown(info.description), input_shape_text(info.shape, semantics),
             f"channels {shown(channel_list(info.channel_names))}", f"values {info.value_range}"]
    return Flow([Text(p if i == 0 else f"· {p}") for i, p in enumerate(parts)])


def header(info: InputInfo, result: LayerResult, padding: object, kernel_source: str, *,
           semantics: str = "keras") -> Panel:
    """Input, layer, kernel, output shape and parameter count; shapes in ``semantics``' order."""
    layer = result.layer
    g = layer.geometry
    ho, wo = g.out_hw
    rows: list[tuple[str, RenderableType]] = [
        ("input", input_text(info, semantics)),
        ("layer", Call.of(semantics_call(result, padding, semantics))),
        ("kernel", Text(f"{shown(kernel_source)} · {kernel_shape_text(layer.kernel.shape, semantics)}")),
        (
            "output",
            Text(f"{output_shape_text((ho, wo, layer.filters), semantics)} · {layer.x.dtype.name} · "
                 f"activation {result.activation} = {ACTIVATION_FORMULAS[result.activation]}"),
        ),
        ("params", param_formula(layer.kernel.shape, layer.groups, result.use_bias)),
    ]
    return Panel(key_values(rows), title="convcli run", title_align="left", box=box.ROUNDED)


@dataclass(frozen=True)
class PanelLabels:
    """The words of :func:`filter_panel`, English by default; ``explain --lang`` passes its own
    (:data:`convcli.render.explain_texts.PANEL_LABELS`). Placeholders in braces are filled in."""

    title: str = "filter {f} · bias {bias} · {activation}"
    group: str = " · group {g} (channels {first}–{last})"
    weights: str = "weights: a {kh}×{kw} slice per input channel"
    partial_sums: str = "partial sums, output rows {rows} × cols {cols}{of}: one per channel, then summed"
    of_cols: str = " (of {cols})"
    bias: str = "bias"
    preactivation: str = "pre-activation"
    output: str = "output"
    others: str = "Σ {n} others"
    more_channels: str = "… and {n} more channels"
    whole_output: str = "whole output"
    stats: str = "min {min} · mean {mean} · max {max}"
    channel_shares: str = "channel shares"
    shares_of: str = "  (of Σ mean |partial|)"


def filter_panel(result: LayerResult, f: int, names: Sequence[str], *, window: Window,
                 labels: PanelLabels = PanelLabels()) -> Panel:  # noqa: B008 - frozen, never changed
    """Filter ``f``: its kernel slices, then the ``window``'s partial sums adding up to the output."""
    w = labels
    layer = result.layer
    channels = group_channels(result, f)
    shown, others = shown_channels(result, f)
    kernel = layer.kernel[:, :, :, f]
    partials = window_partials(result, window)[:, :, :, f]
    (r0, r1), (c0, c1) = window.rows, window.cols
    pre = result.preactivation[r0:r1, c0:c1, f]
    out = result.output[r0:r1, c0:c1, f]

    # the weights share one scale; the parts, the bias and their sum another (ONE scale, so that
    # the colours add up like the numbers), with the output when it is in their units
    # (colour.same_units, as in the heatmaps and the figure)
    weights = Scale.including_zero(*(kernel[:, :, c] for c in shown))
    rest = partials[:, :, others].sum(axis=2) if others else None
    bias = np.full(pre.shape, result.bias[f])
    pre_stats, out_stats = result.preactivation_stats[f], result.output_stats[f]
    out_shared = result.activation != "linear" and same_units(float(pre_stats[2]), float(out_stats[2]))
    summed = [partials[:, :, c] for c in shown] + ([rest] if rest is not None else []) + [bias, pre]
    sums = Scale.including_zero(*summed, *([out] if out_shared else []))
    kernel_items: list[RenderableType] = [number_grid(kernel[:, :, c], names[channels[c]], scale=weights)
                                          for c in shown]
    if rest is not None:
        kernel_items.append(Text(w.more_channels.format(n=len(others)), style="dim"))

    def sum_items(a: int, b: int) -> list[RenderableType]:
        """The flow of the parts, the bias and their sum for window columns ``a:b`` (all on the scales above)."""
        items: list[RenderableType] = []
        for n, c in enumerate(shown):
            grid = number_grid(partials[:, a:b, c], names[channels[c]], scale=sums, like=partials[:, :, c])
            items.append(grid if n == 0 else joined("+", grid))
        if rest is not None:
            items.append(joined("+", number_grid(rest[:, a:b], w.others.format(n=len(others)), scale=sums, like=rest)))
        # the bias is added at every position: shown as a grid it adds up cell by cell like the rest
        items.append(joined("+", number_grid(bias[:, a:b], w.bias, scale=sums, like=bias)))
        items.append(joined("=", number_grid(pre[:, a:b], w.preactivation, scale=sums, like=pre)))
        if result.activation != "linear":
            out_scale = sums if out_shared else Scale.including_zero(out)
            items.append(joined(f"{result.activation} →", number_grid(out[:, a:b], w.output, scale=out_scale, like=out)))
        return items

    shares = result.shares()[:, f]
    stats = key_values(
        [
            (w.whole_output, Text(w.stats.format(
                min=fmt(result.output_stats[f, 0]), mean=fmt(result.output_stats[f, 1]),
                max=fmt(result.output_stats[f, 2])))),
            (w.channel_shares, Text(share_text(shares, [names[c] for c in channels]) + w.shares_of)),
        ]
    )
    kh, kw = layer.geometry.kernel_hw
    body = Group(
        Text(w.weights.format(kh=kh, kw=kw), style=LABEL),
        Flow(kernel_items),
        ColumnBlocks(sum_items, c1 - c0, lambda a, b: Text(w.partial_sums.format(
            rows=index_range(r0, r1), cols=index_range(c0 + a, c0 + b),
            of=w.of_cols.format(cols=index_range(c0, c1)) if (a, b) != (0, c1 - c0) else ""), style=LABEL)),
        stats,
    )
    title = w.title.format(f=f, bias=fmt(float(result.bias[f])), activation=result.activation)
    if layer.groups > 1:
        title += w.group.format(g=group_of(f, layer.filters, layer.groups), first=channels[0], last=channels[-1])
    return Panel(body, title=title, title_align="left", box=box.ROUNDED)


class ColumnBlocks:
    """A label and a :class:`Flow` of grids over ``cols`` window columns; where one grid is wider than
    the line, the columns are split into blocks that fit (the same scales, each block with its label),
    so that every number stays whole at any width (``--window 20`` at 80 columns)."""

    def __init__(self, items: Callable[[int, int], list[RenderableType]], cols: int,
                 label: Callable[[int, int], RenderableType]) -> None:
        self.items, self.cols, self.label = items, cols, label

    def _widest(self, console: Console, options: ConsoleOptions, a: int, b: int) -> int:
        wide = options.update_width(10**6)  # Measurement.get clips to the width: measure unclipped
        return max(Measurement.get(console, wide, item).maximum for item in self.items(a, b))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        step, widest = self.cols, self._widest(console, options, 0, self.cols)
        if widest > options.max_width:  # a first guess by proportion, then one column less until it fits
            step = max(1, self.cols * options.max_width // widest)
            while step > 1 and self._widest(console, options, 0, step) > options.max_width:
                step -= 1
            step = -(-self.cols // -(-self.cols // step))  # blocks of even size: 10 + 10, not 14 + 6
        blocks = [(a, min(a + step, self.cols)) for a in range(0, self.cols, step)]
        for a, b in blocks:
            yield self.label(a, b)
            yield Flow(self.items(a, b))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, Flow(self.items(0, self.cols)))


def summary_table(result: LayerResult, names: Sequence[str]) -> Table:
    """Every filter over the whole output: bias, min / mean / max, and which channels drive it.

    Beyond :data:`~convcli.present.selection.SUMMARY_ALL_UP_TO` filters, the rows of
    :func:`~convcli.present.selection.summary_filters`, a row saying how many each gap leaves out,
    and a caption saying where every row is (``--json --filter 0-F``: each filter's whole-output
    min, mean, max, bias and channel shares).
    """
    t = Table(title="all filters, whole output", box=box.SIMPLE_HEAD, title_justify="left", title_style=LABEL)
    t.add_column("filter", justify="right")
    t.add_column("bias", justify="right")
    t.add_column("min", justify="right")
    t.add_column("mean", justify="right")
    t.add_column("max", justify="right")
    t.add_column("channel share of Σ mean|partial|")
    shares = result.shares()
    count = result.layer.filters
    listed = summary_filters(result.output_stats)
    stats = np.asarray(result.output_stats[listed], dtype=np.float64)
    finite = stats[np.isfinite(stats)]
    # min / mean / max stand on the colours the output heatmaps give the same values
    scale = Scale.including_zero(finite) if finite.size else None
    previous = -1
    for f in listed:
        if f > previous + 1:
            gap = f - previous - 1
            t.add_row("…", "", "", "", "", Text(f"{gap:,} filter{'s' * (gap > 1)}", style="dim"))
        previous = f
        channels = group_channels(result, f)
        t.add_row(
            str(f),
            Text(fmt(float(result.bias[f])), style=_style(float(result.bias[f]))),
            *(Text(fmt(v), style=cell_style(v, scale) if scale is not None and np.isfinite(v) else "")
              for v in result.output_stats[f].tolist()),
            share_text(shares[:, f], [names[c] for c in channels], top=2),
        )
    if len(listed) < count:
        t.caption = (f"{len(listed)} of {count:,} filters: the first {SUMMARY_FIRST}, the last {SUMMARY_LAST} and "
                     f"the {SUMMARY_STRONGEST} strongest (largest |output|); every filter's row is in "
                     f"--json --filter 0-{count - 1}")
        t.caption_justify = "left"
    return t
