"""The explorer's rich renderables: the map with its cursor (:class:`MapPicture`, laid out by
:func:`map_layout`), the position's trace (:func:`trace_view`) and the status line (:func:`status_line`).

They lay out what :class:`~convcli.tui.state.Pointer` points at and never compute a map: the map's
cells are block statistics of the result's own map (made once per filter and size, kept by
:class:`MapCells`), the trace's numbers are :class:`~convcli.engine.Trace`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.style import Style
from rich.text import Text

from convcli.present.describe import fmt, number_format
from convcli.present.maps import block_factor, block_stat
from convcli.render.heatcells import Scale
from convcli.render.numbers import LABEL, Flow, cell_style, joined, number_grid
from convcli.tui.state import Pointer, TraceSum

#: Terminal columns of one number in the numbers view (right-aligned, a space before it).
NUMBER_COLUMNS = 8
#: Up to this many channels (C/g) the trace shows every channel's grids; beyond, the cursor's only.
ALL_GRIDS_UP_TO = 4


@dataclass(frozen=True)
class MapLayout:
    """Where the map's cells lie in a box: output rows ``r0:r0 + rows * k`` and columns
    ``c0:c0 + cols * k`` drawn as ``rows × cols`` cells, each ``k × k`` positions (``k`` 1 for numbers),
    ``cell_w`` columns wide and ``per_line`` map rows a text line (2 for the heatmap's half blocks),
    below ``top`` lines and right of ``left`` columns of labels."""

    k: int
    r0: int
    c0: int
    rows: int
    cols: int
    cell_w: int
    per_line: int
    top: int
    left: int

    def position(self, x: int, y: int) -> tuple[int, int] | None:
        """The output position under terminal cell ``(x, y)`` of the box, if any: the centre of the
        ``per_line · k × k`` positions it draws."""
        i, j = (y - self.top) * self.per_line, (x - self.left) // self.cell_w
        if x < self.left or not (0 <= i < self.rows and 0 <= j < self.cols):
            return None
        return self.r0 + i * self.k + self.per_line * self.k // 2, self.c0 + j * self.k + self.k // 2


def map_layout(pointer: Pointer, width: int, height: int) -> MapLayout:
    """The map of :meth:`Pointer.map` in a ``width × height`` box: heatmap cells of ``k × k`` positions
    (:func:`~convcli.present.maps.block_factor`), two map rows a line as ``run``'s heatmaps draw them,
    or in the numbers view the window of exact values around the position that fits."""
    h, w = pointer.out_hw
    width, height = max(width, 4), max(height, 3)
    if not pointer.numbers:
        k = block_factor((h, w), 2 * (height - 1), width)
        return MapLayout(k, 0, 0, -(-h // k), -(-w // k), 1, 2, 1, 0)
    left = len(str(h - 1)) + 1  # the row labels
    rows, cols = min(h, height - 1), min(w, max(1, (width - left) // NUMBER_COLUMNS))
    r0 = min(max(pointer.row - rows // 2, 0), h - rows)
    c0 = min(max(pointer.col - cols // 2, 0), w - cols)
    return MapLayout(1, r0, c0, rows, cols, NUMBER_COLUMNS, 1, 1, left)


class MapCells:
    """The block statistics a heatmap draws, made once per ``(filter, map, k)`` and kept: a move
    redraws from them, so a keypress on a 12 MP photo's maps costs no pass over them."""

    def __init__(self) -> None:
        self._cells: dict[tuple[int, bool, int], tuple[np.ndarray, Scale]] = {}

    def get(self, pointer: Pointer, k: int) -> tuple[np.ndarray, Scale]:
        """``(cells (ceil(H'/k), ceil(W'/k)), their scale)``: block means of the map the pointer shows."""
        key = (pointer.filter, pointer.pre, k)
        if key not in self._cells:
            cells = np.asarray(block_stat(pointer.map(), k, "mean"), dtype=np.float64)
            self._cells[key] = (cells, Scale.including_zero(cells))
        return self._cells[key]


class MapPicture:
    """The map of ``pointer`` laid out by ``layout``: coloured cells with the cursor's cell marked
    ``[]``, or the window's numbers on their colours with the cursor's reversed."""

    def __init__(self, pointer: Pointer, layout: MapLayout, cells: MapCells) -> None:
        self.pointer, self.layout, self.cells = pointer, layout, cells

    def __rich__(self) -> Text:
        return self._numbers() if self.pointer.numbers else self._heatmap()

    def _title(self) -> Text:
        p, lay = self.pointer, self.layout
        h, w = p.out_hw
        what = "pre-activation" if p.pre else "output"
        each = f" · cell = {lay.k}×{lay.k}" if lay.k > 1 else ""
        return Text(f"filter {p.filter} · {what} {h}×{w}{each}", style=LABEL, no_wrap=True, overflow="ellipsis")

    def _heatmap(self) -> Text:
        """Two map rows a line (``▀``: the upper cell in front, the lower behind); the cursor's cell in
        black or white, whichever its colour does not have."""
        p, lay = self.pointer, self.layout
        cells, scale = self.cells.get(p, lay.k)
        rgb = scale.rgb(cells)
        nan = np.isnan(cells)
        cur = (p.row // lay.k, p.col // lay.k)
        n_rows, n_cols = cells.shape
        text = self._title()
        styles: dict[tuple[str | None, str | None], Style] = {}

        def colour(i: int, j: int) -> str | None:
            if i >= n_rows or nan[i, j]:
                return None
            r, g, b = (int(c) for c in rgb[i, j])
            return f"rgb({r},{g},{b})"

        def ink(i: int, j: int) -> str:
            light = nan[i, j] or 0.299 * rgb[i, j, 0] + 0.587 * rgb[i, j, 1] + 0.114 * rgb[i, j, 2] > 128
            return "rgb(0,0,0)" if light else "rgb(255,255,255)"

        for i in range(0, n_rows, 2):
            text.append("\n")
            for j in range(n_cols):
                top, bottom = colour(i, j), colour(i + 1, j)
                if cur == (i, j):
                    char, fg, bg = "▀", ink(i, j), bottom
                elif cur == (i + 1, j):
                    char, fg, bg = "▄", ink(i + 1, j), top
                elif top is not None:
                    char, fg, bg = "▀", top, bottom
                else:  # a missing upper cell flips to the lower half block: no default colour shows
                    char, fg, bg = ("▄", bottom, None) if bottom is not None else (" ", None, None)
                style = styles.get((fg, bg))
                if style is None:
                    style = styles[(fg, bg)] = Style(color=fg, bgcolor=bg)
                text.append(char, style)
        return text

    def _numbers(self) -> Text:
        p, lay = self.pointer, self.layout
        values = p.map()[lay.r0:lay.r0 + lay.rows, lay.c0:lay.c0 + lay.cols]
        f = number_format(values)
        scale = self.cells.get(p, 1)[1] if values.size else Scale(0.0, 1.0)
        width = lay.cell_w - 1
        text = self._title()
        text.append("\n" + " " * lay.left, "dim")
        for c in range(lay.c0, lay.c0 + lay.cols):
            text.append(f" {c:>{width}}", "dim")
        for i, row in enumerate(values.tolist()):
            r = lay.r0 + i
            text.append(f"\n{r:>{lay.left - 1}} ", "dim")
            for j, v in enumerate(row):
                text.append(" ")
                style = cell_style(v, scale) if np.isfinite(v) else Style(dim=True)
                if (r, lay.c0 + j) == (p.row, p.col):
                    style += Style(reverse=True, bold=True)
                text.append(f"{f(v):>{width}}"[-width:], style)
        return text


class TraceView:
    """The position's trace (the numbers of ``run --trace``): the sum of the channels that are on, the
    bias and the activation first, then each channel's input window ⊙ its kernel slice = products, Σ.

    Laid out for the width it is drawn in: every channel's grids when there are at most
    :data:`ALL_GRIDS_UP_TO` and the line holds the three grids side by side, else one line per channel
    and the grids of the channel under the cursor only (so that a narrow terminal shows the total)."""

    def __init__(self, pointer: Pointer, names: Sequence[str]) -> None:
        self.pointer, self.names = pointer, names

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        p, names = self.pointer, self.names
        trace, s = p.trace(), p.trace_sum()
        h, w = p.result.layer.geometry.in_hw
        outside = ~((trace.in_rows[:, None] >= 0) & (trace.in_rows[:, None] < h)
                    & (trace.in_cols[None, :] >= 0) & (trace.in_cols[None, :] < w))
        rows, cols = trace.in_rows.tolist(), trace.in_cols.tolist()
        yield Text(f"output ({p.row}, {p.col}) · filter {p.filter}", style=LABEL)
        yield Text(f"reads input rows {rows[0]}…{rows[-1]} × cols {cols[0]}…{cols[-1]}"
                   + (" (grey: zero padding)" if outside.any() else ""), style="dim")
        yield total_text(s)
        if not s.complete:
            r = p.result
            all_on = Text.assemble(("with every channel ", "dim"), fmt(float(r.preactivation[p.row, p.col, p.filter])))
            if r.activation != "linear":
                all_on.append(f"  {r.activation} → {fmt(float(r.output[p.row, p.col, p.filter]))}")
            yield all_on

        def grids(i: int) -> Flow:
            return Flow([
                number_grid(trace.patch[:, :, i], f"input {names[trace.channels[i]]}", dim=outside),
                joined("⊙", number_grid(trace.weights[:, :, i], "weights")),
                joined("=", number_grid(trace.products[:, :, i], "products")),
            ])

        channels = trace.channels.tolist()
        # the Flow's own measure: Measurement.get would clamp it to the width it is asked about
        every = len(channels) <= ALL_GRIDS_UP_TO and all(
            grids(i).__rich_measure__(console, options).maximum <= options.max_width for i in range(len(channels)))
        for i, ch in enumerate(channels):
            on = bool(s.on[i])
            mark = ("▶ " if i == p.channel else "  ") + ("✓" if on else "✗")
            line = Text.assemble((mark, "bold" if i == p.channel else ""), f" {i + 1} ",
                                 (names[ch], LABEL if on else "dim strike"), "  Σ ",
                                 (fmt(float(trace.sums[i])), "bold" if on else "dim strike"))
            if not on:
                line.append("  (off)", "dim")
            yield line
            if every:
                yield grids(i)
        if not every:
            yield grids(p.channel)


def trace_view(pointer: Pointer, names: Sequence[str]) -> TraceView:
    """:class:`TraceView` of what ``pointer`` points at."""
    return TraceView(pointer, names)


def total_text(s: TraceSum) -> Text:
    """``Σ channels a + b + c + bias = pre  act → out``, the channels that are off left out."""
    shown = [fmt(float(v)) for v, on in zip(s.sums.tolist(), s.on.tolist(), strict=True) if on]
    text = Text.assemble(("Σ channels ", LABEL), " + ".join(shown) or "0",
                         f" + bias {fmt(s.bias)} = ", (fmt(s.total), "bold"))
    if s.activation != "linear":  # a line of its own: the panel is narrow
        text.append(f"\n{s.activation} → ")
        text.append(fmt(s.output), style="bold")
    return text


def status_line(pointer: Pointer, name: str) -> Text:
    """The line above the map: the input, the filter, the position and its value."""
    p = pointer
    value = float(p.map()[p.row, p.col])
    what = "pre-activation" if p.pre else "output"
    off = f" · {len(p.off)} channel{'s' * (len(p.off) != 1)} off" if p.off else ""
    return Text.assemble((name, LABEL), f" · filter {p.filter} (of {p.result.layer.filters}) · ",
                         f"({p.row}, {p.col}) {what} ", (fmt(value), "bold"), off, no_wrap=True, overflow="ellipsis")
