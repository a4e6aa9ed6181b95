"""The explorer's rich renderables: the map with its cursor (:class:`MapPicture`, laid out by
:func:`map_layout`), the position's trace (:func:`trace_view`) and the status line (:func:`status_line`).

They lay out what :class:`~convcli.tui.state.Pointer` points at and never compute a map: the map's
cells are block statistics of the result's own map (made once per filter and size, kept by
:class:`MapCells`), the trace's numbers are :class:`~convcli.engine.Trace`'s.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from rich.color import Color
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from convcli.present.describe import fmt, number_format, signed_sum
from convcli.present.maps import block_factor, block_stat
from convcli.render.heatcells import Scale
from convcli.render.numbers import LABEL, cell_style
from convcli.tui.blocks import Block, Blocks, grid, joined
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
    # below the title and the column labels: two lines
    rows, cols = max(1, min(h, height - 2)), min(w, max(1, (width - left) // NUMBER_COLUMNS))
    r0 = min(max(pointer.row - rows // 2, 0), h - rows)
    c0 = min(max(pointer.col - cols // 2, 0), w - cols)
    return MapLayout(1, r0, c0, rows, cols, NUMBER_COLUMNS, 1, 2, left)


class MapCells:
    """The block statistics a heatmap draws and their lines, made once per ``(filter, map, k)`` and kept:
    a move redraws the cursor's line only, so a keypress on a 12 MP photo's maps costs no pass over them."""

    def __init__(self) -> None:
        self._cells: dict[tuple[int, bool, int], tuple[np.ndarray, Scale, np.ndarray]] = {}
        self._lines: dict[tuple[int, bool, int], list[list[Segment]]] = {}
        self._styles: dict[tuple[int, ...], Style] = {}
        self._scales: dict[tuple[int, bool, int], Scale] = {}

    def get(self, pointer: Pointer, k: int) -> tuple[np.ndarray, Scale]:
        """``(cells (ceil(H'/k), ceil(W'/k)), their scale)``: block means of the map the pointer shows."""
        cells, scale, _ = self._get(pointer, k)
        return cells, scale

    def _get(self, pointer: Pointer, k: int) -> tuple[np.ndarray, Scale, np.ndarray]:
        key = (pointer.filter, pointer.pre, k)
        if key not in self._cells:
            cells = np.asarray(block_stat(pointer.map(), k, "mean"), dtype=np.float64)
            scale = Scale.including_zero(cells)
            rgb = np.where(np.isnan(cells)[..., None], -1, scale.rgb(cells)).astype(np.int16)  # -1: no colour
            self._cells[key] = (cells, scale, rgb)
        return self._cells[key]

    def scale(self, pointer: Pointer) -> Scale:
        """The whole map's scale (its exact range, including 0), for the numbers view's colours."""
        key = (pointer.filter, pointer.pre, 0)
        if key not in self._scales:
            self._scales[key] = Scale.including_zero(pointer.map())
        return self._scales[key]

    def lines(self, pointer: Pointer, k: int) -> list[list[Segment]]:
        """The heatmap's lines, two map rows each (``▀``: the upper cell in front, the lower behind)."""
        key = (pointer.filter, pointer.pre, k)
        if key not in self._lines:
            rows = self._get(pointer, k)[0].shape[0]
            self._lines[key] = [self.line(pointer, k, n) for n in range(-(-rows // 2))]
        return self._lines[key]

    def line(self, pointer: Pointer, k: int, n: int, cursor: tuple[int, int] | None = None) -> list[Segment]:
        """Line ``n`` (map rows ``2n`` and ``2n + 1``); the ``cursor`` cell in black or white, whichever
        its colour does not have."""
        _, _, rgb = self._get(pointer, k)
        top = rgb[2 * n]
        # a map of one row (a 1-D layer's) fills its line: a half block would draw it as a hairline
        band = rgb.shape[0] == 1
        bottom = top if band else rgb[2 * n + 1] if 2 * n + 1 < rgb.shape[0] else np.full_like(top, -1)
        out: list[Segment] = []
        for j in range(top.shape[0]):
            t, b = tuple(top[j].tolist()), tuple(bottom[j].tolist())
            if band and cursor is not None and cursor[1] == j:  # the upper half in ink over the cell's colour
                light = t[0] < 0 or 0.299 * t[0] + 0.587 * t[1] + 0.114 * t[2] > 128
                char, style = "▀", self._style((0, 0, 0) if light else (255, 255, 255), t)
            elif cursor is not None and cursor[1] == j and cursor[0] in (2 * n, 2 * n + 1):
                lower = cursor[0] == 2 * n + 1
                own, other = (b, t) if lower else (t, b)
                light = own[0] < 0 or 0.299 * own[0] + 0.587 * own[1] + 0.114 * own[2] > 128
                ink = (0, 0, 0) if light else (255, 255, 255)
                char, style = ("▄" if lower else "▀"), self._style(ink, other)
            elif t[0] >= 0:
                char, style = "▀", self._style(t, b)
            else:  # a missing upper cell flips to the lower half block: no default colour shows
                char, style = ("▄", self._style(b, (-1, -1, -1))) if b[0] >= 0 else (" ", Style())
            if out and out[-1].style is style and out[-1].text[-1] == char:
                out[-1] = Segment(out[-1].text + char, style)
            else:
                out.append(Segment(char, style))
        return out

    def _style(self, fg: tuple[int, ...], bg: tuple[int, ...]) -> Style:
        key = (*fg, *bg)
        style = self._styles.get(key)
        if style is None:
            style = Style(color=Color.from_rgb(*fg) if fg[0] >= 0 else None,
                          bgcolor=Color.from_rgb(*bg) if bg[0] >= 0 else None)
            self._styles[key] = style
        return style


class MapPicture:
    """The map of ``pointer`` laid out by ``layout``: coloured half-block cells with the cursor's cell in
    black or white (:meth:`MapCells.line`), or the window's numbers on their colours with the cursor's reversed."""

    def __init__(self, pointer: Pointer, layout: MapLayout, cells: MapCells, *, cursor: bool = True) -> None:
        self.pointer, self.layout, self.cells = pointer, layout, cells
        self.cursor = cursor  # False: the heatmap without its cursor cell (a view draws it in itself)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.pointer.numbers:
            yield from self._numbers()
            return
        p, lay = self.pointer, self.layout
        yield self._title()
        lines = self.cells.lines(p, lay.k)
        cur_i, cur_j = p.row // lay.k, p.col // lay.k
        for n, line in enumerate(lines):
            yield from self.cells.line(p, lay.k, n, (cur_i, cur_j)) if self.cursor and n == cur_i // 2 else line
            yield Segment.line()

    def _title(self) -> Text:
        p, lay = self.pointer, self.layout
        h, w = p.out_hw
        what = "pre-activation" if p.pre else "output"
        each = f" · cell = {lay.k}×{lay.k}" if lay.k > 1 else ""
        return Text(f"filter {p.filter} · {what} {h}×{w}{each}", style=LABEL, no_wrap=True, overflow="ellipsis")

    def _numbers(self) -> Iterator[RenderableType | Segment]:
        """The title, then the window's numbers as segments: each cell on its colour
        (:func:`~convcli.render.numbers.cell_style`, the colours looked up for the window at once and each
        style made once), the cursor's reversed. Laid out directly: a rich ``Text`` of a few hundred
        styled numbers took a tenth of a second to wrap."""
        p, lay = self.pointer, self.layout
        values = p.map()[lay.r0:lay.r0 + lay.rows, lay.c0:lay.c0 + lay.cols]
        f = number_format(values)
        scale = self.cells.scale(p)
        width = lay.cell_w - 1
        base = Style.parse(LABEL)  # the whole view in the title's weight, as it has always been drawn
        dim = base + Style(dim=True)
        yield self._title()
        yield Segment(" " * lay.left, dim)
        yield Segment("".join(f" {c:>{width}}" for c in range(lay.c0, lay.c0 + lay.cols)), dim)
        yield Segment.line()
        finite = np.isfinite(values)
        rgb = scale.rgb(np.where(finite, values, 0.0)).astype(np.int64)
        styles: dict[tuple[int, int, int], Style] = {}
        cursor = Style(reverse=True, bold=True)
        for i, row in enumerate(values.tolist()):
            r = lay.r0 + i
            yield Segment(f"{r:>{lay.left - 1}} ", dim)
            for j, v in enumerate(row):
                yield Segment(" ", base)
                if finite[i, j]:
                    key = (int(rgb[i, j, 0]), int(rgb[i, j, 1]), int(rgb[i, j, 2]))
                    style = styles.get(key)
                    if style is None:  # one per colour: the value's colour decides its style
                        style = styles[key] = base + cell_style(v, scale)
                else:
                    style = dim
                if (r, lay.c0 + j) == (p.row, p.col):
                    style = style + cursor
                yield Segment(f"{f(v):>{width}}"[-width:], style)
            yield Segment.line()


class TraceView:
    """The position's trace (the numbers of ``run --trace``): the sum of the channels that are on, the
    bias and the activation first, then each channel's input window ⊙ its kernel slice = products, Σ.

    Laid out for the width it is drawn in: every channel's grids when there are at most
    :data:`ALL_GRIDS_UP_TO` and the line holds the three grids side by side, else one line per channel
    and the grids of the channel under the cursor only (so that a narrow terminal shows the total)."""

    def __init__(self, pointer: Pointer, names: Sequence[str],
                 weights: dict[tuple[int, int, int], Block] | None = None) -> None:
        self.pointer, self.names = pointer, names
        #: each (filter, channel, width)'s kernel slice as drawn: pass the same dict to each view to keep them
        self.weights = {} if weights is None else weights
        self._drawn: dict[int, list[list[Segment]]] = {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # drawn once per width: Textual draws a panel of auto height twice, to measure and to show
        width = options.max_width
        if width not in self._drawn:
            self._drawn[width] = console.render_lines(Group(*self._parts(console, options)), options, pad=False)
        for line in self._drawn[width]:
            yield from line
            yield Segment.line()

    def _parts(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
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

        def grids(i: int) -> list[Block]:
            name = names[trace.channels[i]]
            key = (p.filter, i, options.max_width)
            if key not in self.weights:  # the kernel slice is the same at every position
                self.weights[key] = joined("⊙", grid(trace.weights[:, :, i], "weights"))
            return [grid(trace.patch[:, :, i], f"input {name}", dim=outside), self.weights[key],
                    joined("=", grid(trace.products[:, :, i], "products"))]

        channels = trace.channels.tolist()
        drawn = {i: grids(i) for i in (range(len(channels)) if len(channels) <= ALL_GRIDS_UP_TO else [p.channel])}
        every = len(drawn) == len(channels) and all(
            sum(b.width for b in row) + len(row) - 1 <= options.max_width for row in drawn.values())
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
                yield Blocks(drawn[i])
        if not every:
            yield Blocks(drawn[p.channel])


def trace_view(pointer: Pointer, names: Sequence[str],
               weights: dict[tuple[int, int, int], Block] | None = None) -> TraceView:
    """:class:`TraceView` of what ``pointer`` points at (``weights``: kept kernel slices, see there)."""
    return TraceView(pointer, names, weights)


def total_text(s: TraceSum) -> Text:
    """``Σ channels a + b + c + bias = pre  act → out``, the channels that are off left out."""
    shown = [fmt(float(v)) for v, on in zip(s.sums.tolist(), s.on.tolist(), strict=True) if on]
    text = Text.assemble(("Σ channels ", LABEL), signed_sum(shown), f" + bias {fmt(s.bias)} = ",
                         (fmt(s.total), "bold"))
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
