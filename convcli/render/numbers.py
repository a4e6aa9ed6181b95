"""The building blocks of every screen: styles, a grid of numbers, a wrapping flow, key-value rows and
a layer call that wraps between its arguments. Nothing here prints."""


from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from rich import box
from rich.cells import cell_len
from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.table import Table
from rich.text import Text

from convcli.present import colour
from convcli.present.describe import LayerCall, number_format

#: A grid's box: an outer border, no lines between cells (they cost width at 100 columns).
GRID_BOX = box.Box("╭──╮\n│  │\n├──┤\n│  │\n├──┤\n├──┤\n│  │\n╰──╯\n")

#: A number's colour by its sign, without a scale: the one palette's third step a side (readable on
#: dark and light backgrounds), blue below 0, red above, as in the heatmaps and the figure.
NEGATIVE = "#{:02x}{:02x}{:02x}".format(*(int(c) for c in colour.SIGNED.anchors[1]))
POSITIVE = "#{:02x}{:02x}{:02x}".format(*(int(c) for c in colour.SIGNED.anchors[-2]))
OPERATOR = "bold cyan"
LABEL = "bold"


def sign_style(v: float) -> str:
    """The ink of a number shown without its heatmap colour: blue below 0, red above, none at 0."""
    return NEGATIVE if v < 0 else POSITIVE if v > 0 else ""


#: A cell colour this light (each of R, G, B at least this) is the palette's near-white middle:
#: the values near 0 (or the bottom of a scale ≥ 0).
NEAR_WHITE = 240


def cell_style(v: float, scale: colour.Scale) -> Style:
    """A number on ``scale``: its heatmap colour behind it, black or white text in front (by lightness).

    A value in the palette's near-white middle (near 0) gets no background and the terminal's own
    ink: on a dark terminal a white cell would make the least important numbers shine the most,
    and on a light one the terminal's background already reads as that white. (The heatmaps'
    blank character for the same values says the same.)
    """
    r, g, b = (int(c) for c in scale.rgb(np.array(v)))
    if min(r, g, b) >= NEAR_WHITE:
        return Style()
    ink = "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 128 else "#ffffff"
    return Style(color=ink, bgcolor=Color.from_rgb(r, g, b))


def number_grid(values: np.ndarray, title: str | None = None, *, dim: np.ndarray | None = None,
                scale: colour.Scale | None = None, like: np.ndarray | None = None,
                formats: Callable[[np.ndarray], Callable[[float], str]] = number_format) -> Table:
    """An ``(h, w)`` array as a boxed grid of right-aligned numbers; ``dim`` marks cells (h, w) to grey.

    With ``scale`` each number stands on its colour on that scale (the heatmaps' colour of the same
    value); without, its text is blue below 0 and red above. ``like``: the array whose number format
    is used (the whole window, when ``values`` is a block of its columns); ``formats`` makes that
    format from it.
    """
    f = formats(values if like is None else like)
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
                Text(f(v), style="dim" if dim is not None and dim[i, j] else
                     cell_style(v, scale) if scale is not None and np.isfinite(v) else sign_style(v))
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
    """A label column in bold, then the values."""
    g = Table.grid(padding=(0, 2))
    g.add_column(style=LABEL, no_wrap=True)
    g.add_column()
    for k, v in rows:
        g.add_row(k, v)
    return g


class Call:
    """``name(arg, arg, ...)`` that wraps only between arguments, continuing under the first one."""

    def __init__(self, name: str, args: Sequence[str]) -> None:
        self.name = name
        self.args = list(args)

    @classmethod
    def of(cls, call: LayerCall) -> Call:
        """The renderable of a described call (:mod:`convcli.present.describe`)."""
        return cls(call.name, call.arg_texts())

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
