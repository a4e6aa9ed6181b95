"""``run --view dominant``: a filter's dominant-channel map as terminal cells, with its legend.

Each cell is coloured by the input channel whose partial map is largest in ``|value|`` there
(:mod:`convcli.present.dominant`), two map rows per text line with ``▀`` as the heatmaps draw;
without colour each cell is its channel's letter (``R``, ``G``, ``B``) or digit. The map is laid
out for the width it is rendered at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from rich.color import Color
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from convcli.engine import LayerResult
from convcli.present.dominant import UNDECIDED, DominantMap, dominant_map
from convcli.present.filtersum import FilterSum
from convcli.present.maps import ResultMaps, block_factor
from convcli.render import numbers
from convcli.render.heatcells import MIN_COLUMNS, uses_colour
from convcli.render.heatmap import MAX_LINES

#: the character of a cell where no partial is finite
NONE_CHAR = "·"


def symbols(view: DominantMap) -> list[str]:
    """One character per category for a terminal without colour: a one-letter label's own (R, G, B),
    else a digit or a letter by position; the last is for undecided cells."""
    labels = [c.label for c in view.categories]
    if all(len(label) == 1 for label in labels) and len(set(labels)) == len(labels):
        chars = labels
    else:
        chars = list("0123456789abcdefghijklmnopqrstuvwxyz"[:len(labels)])
    return [*chars, NONE_CHAR]


class DominantPanel:
    """Filter ``index``'s dominant-channel map, laid out at the width it is drawn (cached per width)."""

    def __init__(self, result: LayerResult, f: int, names: Sequence[str], *, sources: ResultMaps | None = None,
                 width: int | None = None) -> None:
        self.result, self.f, self.names = result, f, list(names)
        self.sources = ResultMaps(result, "mean") if sources is None else sources
        self.width = width
        self._views: dict[int, DominantMap] = {}

    def view(self, width: int) -> DominantMap:
        """The map at the block size that fits ``width`` columns and :data:`MAX_LINES` lines."""
        k = block_factor(self.result.layer.geometry.out_hw, 2 * MAX_LINES, max(4, width - 4))
        if k not in self._views:
            self._views[k] = dominant_map(self.result, self.f, self.names, k, self.sources)
        return self._views[k]

    def panel(self, width: int, colour: bool) -> Panel:
        view = self.view(width)
        h, w = view.cells.shape
        z = max(1, min(-(-MIN_COLUMNS // w), (width - 4) // w, 2 * MAX_LINES // h)) if view.k == 1 and w < MIN_COLUMNS else 1
        cells = np.repeat(np.repeat(view.cells, z, axis=0), z, axis=1)
        ho, wo = view.out_hw
        how = (f"one cell = the block means of {view.k}×{view.k} output positions" if view.k > 1 else
               "one cell per output position" + (f" (drawn {z}×{z})" if z > 1 else ""))
        body = Group(
            Text(f"{f'{wo} positions' if ho == 1 else f'{ho}×{wo} map'} · the input channel of largest |partial| at each position · {how}",
                 style=numbers.LABEL),
            _Cells(cells, view, colour),
            *self._legend(view, colour),
        )
        title = f"filter {self.f} · dominant channel"
        if self.result.layer.groups > 1:  # the channels it chooses among: its group's
            title += f" · {FilterSum.of(self.result, self.f, self.names).group_title}"
        return Panel(body, title=title, title_align="left")

    @staticmethod
    def _legend(view: DominantMap, colour: bool) -> list[Text]:
        chars = symbols(view)
        lines = []
        for n, cat in enumerate(view.categories):
            swatch = Text("██", Style(color=Color.from_rgb(*cat.colour))) if colour else Text(f"{chars[n]} ")
            lines.append(Text.assemble(swatch, " ", (cat.label, numbers.LABEL),
                                       f"  {cat.share:.1f}% of the {'cells' if view.k > 1 else 'positions'}"))
        if (view.cells < 0).any():
            swatch = Text("██", Style(color=Color.from_rgb(*UNDECIDED))) if colour else Text(f"{NONE_CHAR} ")
            lines.append(Text.assemble(swatch, " no finite partial"))
        return lines

    def _width(self, options: ConsoleOptions) -> int:
        return self.width if self.width is not None else options.max_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.panel(self._width(options), uses_colour(console))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.panel(self._width(options), uses_colour(console)))


class _Cells:
    """``cells (h, w)`` category indices as lines: coloured ``▀`` pairs, or one character each."""

    def __init__(self, cells: np.ndarray, view: DominantMap, colour: bool) -> None:
        self.cells, self.view, self.colour = cells, view, colour

    def lines(self) -> Iterable[list[Segment]]:
        cells = self.cells
        if not self.colour:
            chars = np.array(symbols(self.view))
            for row in cells[::2]:  # every other row: a text line is about two cells tall
                yield [Segment("".join(chars[row].tolist()))]
            return
        table = [Color.from_rgb(*c.colour) for c in self.view.categories] + [Color.from_rgb(*UNDECIDED)]
        for i in range(0, cells.shape[0], 2):
            line: list[Segment] = []
            for j in range(cells.shape[1]):
                top = table[cells[i, j]]
                bottom = table[cells[i + 1, j]] if i + 1 < cells.shape[0] else None
                line.append(Segment("▀", Style(color=top, bgcolor=bottom)))
            yield list(Segment.simplify(line))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines():
            yield from line
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.cells.shape[1], self.cells.shape[1])
