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

from convcli.engine import LayerResult
from convcli.layer.spec import ConvSpec
from convcli.present.describe import (
    InputInfo,
    channel_list,
    fmt,
    index_range,
    input_shape_text,
    kernel_shape_text,
    output_shape_text,
    share_text,
)
from convcli.present.filtersum import FilterSum
from convcli.present.runview import Header, Summary
from convcli.present.selection import SUMMARY_FIRST, SUMMARY_LAST, SUMMARY_STRONGEST
from convcli.present.window import Window
from convcli.render.heatcells import Scale
from convcli.render.numbers import LABEL, Call, Flow, cell_style, joined, key_values, number_grid, sign_style
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
           semantics: str = "keras", precision: str | None = None, spec: ConvSpec | None = None,
           in_size: tuple[int, ...] = ()) -> Panel:
    """Input, layer, kernel, output shape and parameter count (:func:`header_panel` of its facts); ``spec``
    with ``in_size``: a layer of another kind or rank, named as it is (:meth:`Header.of`)."""
    return header_panel(Header.of(info, result, padding, kernel_source, semantics=semantics, spec=spec,
                                  in_size=in_size), precision=precision)


def header_panel(facts: Header, *, precision: str | None = None) -> Panel:
    """Input, layer, kernel, output shape and parameter count; shapes in ``facts.semantics``' order.
    ``precision``: what ``--precision`` emulates, in words (a last row)."""
    semantics = facts.semantics
    rows: list[tuple[str, RenderableType]] = [
        ("input", input_text(facts.info, semantics)),
        ("layer", Call.of(facts.call)),
        ("kernel", Text(f"{shown(facts.kernel_source)} · {kernel_shape_text(facts.kernel_shape, semantics)}")),
        (
            "output",
            Text(f"{output_shape_text(facts.output_shape, semantics)} · {facts.dtype} · "
                 f"activation {facts.activation} = {facts.formula}"),
        ),
        ("params", param_formula(facts.kernel_shape, facts.groups, facts.use_bias)),
    ]
    if facts.spec is not None:
        rows[2:] = kind_rows(facts)
    if precision is not None:
        rows.append(("precision", Text(precision)))
    return Panel(key_values(rows), title="convcli run", title_align="left", box=box.ROUNDED)


def kind_rows(facts: Header) -> list[tuple[str, RenderableType]]:
    """The kernel, output and params rows of a layer of another kind or rank (``facts.spec``), in its own
    axes: ``(k, C/g, F)``, ``(L', F)``, the kind's parameter terms (:class:`~convcli.present.kinds.KindTexts`)."""
    from convcli.present.kinds import KindTexts

    assert facts.spec is not None
    texts = KindTexts.of(facts.spec, facts.out_size)
    params = Text(texts.params)
    params.append(f"   ({texts.symbols})", style="dim")
    return [
        ("kernel", Text(f"{shown(facts.kernel_source)} · {texts.kernel}")),
        ("output", Text(f"{texts.output} · {facts.dtype} · activation {facts.activation} = {facts.formula}")),
        ("params", params),
    ]


#: Under the partial sums when ``--at`` was moved: a window asked for near the edge would run past it.
#: (English only: ``explain`` shows its own window and never takes ``--at``.)
SHIFTED = "--at {at} would run past the output's edge: the window starts at {start} instead"


@dataclass(frozen=True)
class PanelLabels:
    """The words of :func:`filter_panel`, English by default; ``explain --lang`` passes its own
    (:data:`convcli.render.explain_texts.PANEL_LABELS`). Placeholders in braces are filled in."""

    title: str = "filter {f} · bias {bias} · {activation}"
    group: str = " · group {g} (channels {first}–{last})"
    #: a group of one channel (a depthwise layer), never "channels 0–0"
    group_of_one: str = " · group {g} (channel {first})"
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
    """Filter ``f``: its kernel slices, then the ``window``'s partial sums adding up to the output
    (:func:`sum_panel` of its :class:`~convcli.present.filtersum.FilterSum`)."""
    return sum_panel(FilterSum.of(result, f, names), window=window, labels=labels)


def sum_panel(view: FilterSum, *, window: Window,
              labels: PanelLabels = PanelLabels()) -> Panel:  # noqa: B008 - frozen, never changed
    """A filter's sum laid out: its kernel slices, then the ``window``'s parts adding up to the output."""
    w = labels
    f, names = view.index, view.names
    kernel = view.kernel
    numbers = view.window(window)
    (r0, r1), (c0, c1) = window.rows, window.cols
    pre, out, bias = numbers.preactivation, numbers.output, numbers.bias
    parts = view.parts(w.others)

    # the weights share one scale; the parts, the bias and their sum another (ONE scale, so that
    # the colours add up like the numbers), with the output when the view model says it is in their units
    weights = Scale.including_zero(*(kernel[:, :, c] for c in view.shown))
    sums = Scale.including_zero(*numbers.parts, bias, pre, *([out] if view.output_shared else []))
    kernel_items: list[RenderableType] = [number_grid(kernel[:, :, c], names[c], scale=weights) for c in view.shown]
    if view.others:
        kernel_items.append(Text(w.more_channels.format(n=len(view.others)), style="dim"))

    def sum_items(a: int, b: int) -> list[RenderableType]:
        """The flow of the parts, the bias and their sum for window columns ``a:b`` (all on the scales above)."""
        items: list[RenderableType] = []
        for n, (part, values) in enumerate(zip(parts, numbers.parts, strict=True)):
            grid = number_grid(values[:, a:b], part.label, scale=sums, like=values)
            items.append(grid if n == 0 else joined("+", grid))
        # the bias is added at every position: shown as a grid it adds up cell by cell like the rest
        items.append(joined("+", number_grid(bias[:, a:b], w.bias, scale=sums, like=bias)))
        items.append(joined("=", number_grid(pre[:, a:b], w.preactivation, scale=sums, like=pre)))
        if view.output is not None:
            out_scale = sums if view.output.shared else Scale.including_zero(out)
            items.append(joined(f"{view.activation} →", number_grid(out[:, a:b], w.output, scale=out_scale, like=out)))
        return items

    lo, mean, hi = view.output_stats.tolist()
    stats = key_values(
        [
            (w.whole_output, Text(w.stats.format(min=fmt(lo), mean=fmt(mean), max=fmt(hi)))),
            (w.channel_shares, Text(share_text(view.shares, list(names)) + w.shares_of)),
        ]
    )
    kh, kw = kernel.shape[:2]
    body = Group(
        Text(w.weights.format(kh=kh, kw=kw), style=LABEL),
        Flow(kernel_items),
        ColumnBlocks(sum_items, c1 - c0, lambda a, b: Text(w.partial_sums.format(
            rows=index_range(r0, r1), cols=index_range(c0 + a, c0 + b),
            of=w.of_cols.format(cols=index_range(c0, c1)) if (a, b) != (0, c1 - c0) else ""), style=LABEL)),
        *([Text(SHIFTED.format(at=f"{window.asked[0]},{window.asked[1]}", start=f"{r0},{c0}"), style="dim")]
          if window.asked is not None else []),
        stats,
    )
    title = w.title.format(f=f, bias=fmt(view.bias), activation=view.activation)
    if view.grouped:
        first, last = view.group_channels
        title += (w.group if last > first else w.group_of_one).format(g=view.group, first=first, last=last)
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
    """Every filter over the whole output (:func:`summary_rows` of its
    :class:`~convcli.present.runview.Summary`)."""
    return summary_rows(Summary.of(result, names))


def summary_rows(summary: Summary) -> Table:
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
    stats = summary.stats
    finite = stats[np.isfinite(stats)]
    # min / mean / max stand on the colours the output heatmaps give the same values
    scale = Scale.including_zero(finite) if finite.size else None
    for row in summary.rows:
        if row.skipped:
            gap = row.skipped
            t.add_row("…", "", "", "", "", Text(f"{gap:,} filter{'s' * (gap > 1)}", style="dim"))
        t.add_row(
            str(row.filter),
            Text(fmt(row.bias), style=sign_style(row.bias)),
            *(Text(fmt(v), style=cell_style(v, scale) if scale is not None and np.isfinite(v) else "")
              for v in row.stats.tolist()),
            share_text(row.shares, list(row.names), top=2),
        )
    if not summary.complete:
        count = summary.count
        t.caption = (f"{len(summary.rows)} of {count:,} filters: the first {SUMMARY_FIRST}, the last {SUMMARY_LAST} "
                     f"and the {SUMMARY_STRONGEST} strongest (largest |output|); every filter's row is in "
                     f"--json --filter 0-{count - 1}")
        t.caption_justify = "left"
    return t
