"""Renderables drawn once and placed side by side: a keypress redraws the trace panel from these
instead of letting rich measure nested tables again at every level (a few ms, not a hundred).

A :class:`Block` is a renderable's lines at its own width; :func:`block` draws one, :func:`joined`
puts an operator in front of it (as :func:`convcli.render.numbers.joined` does), and
:class:`Blocks` lays blocks left to right, wrapped to the width, each line's blocks top-aligned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

from convcli.present.describe import number_format
from convcli.render.numbers import OPERATOR, sign_style


@dataclass(frozen=True)
class Block:
    """``lines`` of segments, each ``width`` cells wide."""

    lines: list[list[Segment]]
    width: int

    @property
    def height(self) -> int:
        return len(self.lines)


def block(console: Console, options: ConsoleOptions, renderable: RenderableType) -> Block:
    """``renderable`` drawn at its own width (at most the options' width)."""
    width = Measurement.get(console, options, renderable).maximum
    lines = console.render_lines(renderable, options.update_width(width), pad=True)
    return Block(lines, width)


def grid(values: np.ndarray, title: str, dim: np.ndarray | None = None) -> Block:
    """``values (h, w)`` as :func:`convcli.render.numbers.number_grid` draws them (a rounded box of
    right-aligned numbers, blue below 0 and red above, ``dim (h, w)`` cells grey, the title above in
    italics), drawn directly: a rich table takes milliseconds to measure, this a few microseconds."""
    f = number_format(values)
    texts = [[f(v) for v in row] for row in values.tolist()]
    widths = [max(len(row[j]) for row in texts) for j in range(values.shape[1])]
    inner = sum(widths) + 2 * len(widths)
    extra = max(0, len(title) - inner - 2)  # a title wider than the numbers widens the box
    inner += extra
    edge = Style()
    lines: list[list[Segment]] = [[Segment(title.center(inner + 2), Style(italic=True))],
                                  [Segment("╭" + "─" * inner + "╮", edge)]]
    for i, row in enumerate(texts):
        line = [Segment("│ " + " " * extra, edge)]
        for j, text in enumerate(row):
            if j:
                line.append(Segment("  "))
            grey = dim is not None and bool(dim[i, j])
            line.append(Segment(text.rjust(widths[j]), Style.parse("dim" if grey else sign_style(float(values[i, j])))))
        line.append(Segment(" │", edge))
        lines.append(line)
    lines.append([Segment("╰" + "─" * inner + "╯", edge)])
    return Block(lines, inner + 2)


def joined(op: str, inner: Block) -> Block:
    """``op`` and a space in front of ``inner``, on its middle line."""
    middle, pad = inner.height // 2, len(op) + 1
    style = Style.parse(OPERATOR)
    lines = [[Segment(op, style) if i == middle else Segment(" " * len(op)), Segment(" "), *line]
             for i, line in enumerate(inner.lines)]
    return Block(lines, inner.width + pad)


class Blocks:
    """``blocks`` left to right with ``gap`` columns between, a new line of blocks where the width runs out."""

    def __init__(self, blocks: Sequence[Block], gap: int = 1) -> None:
        self.blocks, self.gap = list(blocks), gap

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows: list[list[Block]] = []
        used = 0
        for b in self.blocks:
            if rows and rows[-1] and used + self.gap + b.width <= options.max_width:
                rows[-1].append(b)
                used += self.gap + b.width
            else:
                rows.append([b])
                used = b.width
        for row in rows:
            for i in range(max(b.height for b in row)):
                for n, b in enumerate(row):
                    if n:
                        yield Segment(" " * self.gap)
                    yield from b.lines[i] if i < b.height else [Segment(" " * b.width)]
                yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widths = [b.width for b in self.blocks] or [0]
        return Measurement(max(widths), sum(widths) + self.gap * (len(widths) - 1))
