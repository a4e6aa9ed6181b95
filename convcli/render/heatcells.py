"""One map as terminal cells: the terminal's :class:`Scale`, a :class:`Heatmap` and its :class:`Legend`.

A map ``(h, w)`` is reduced to ``k × k`` blocks (``--heatmap-stat``: mean, mean |value|, or the
largest-magnitude value) to fit the width, placed on a :class:`Scale` that always includes 0, and
drawn by :class:`Heatmap`:

- with colour, two map rows per text line with ``▀`` (foreground = upper row, background = lower
  row), so a cell is about square, in the one palette of :mod:`convcli.present.colour`: blue below
  0, white at 0, red above (a map ≥ 0 uses the white → red half), each value its nearest of the 9
  anchors, which are xterm 256-colour cube colours (the same in tmux's 256 colours as in truecolor).
- without colour (``NO_COLOR``, a pipe, ``color_system=None``), one character per cell, pairs of
  rows averaged to keep the same aspect and footprint: ``≡=-·`` below 0, blank about 0, ``░▒▓█``
  above 0 on a diverging scale; `` ░▒▓█`` from low to high on a sequential one.

Each renderable sizes itself from the width it is rendered in (``options.max_width``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len
from rich.color import Color
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from convcli.present import colour, describe
from convcli.present.colour import SEQUENTIAL_RAMP, SIGNED_RAMP
from convcli.present.maps import (
    BLOCK_WORDS,
    ArrayMap,
    BlockMap,
    MapSource,
    block_factor,
    block_mean,
)
from convcli.render import numbers

#: Maps narrower than this many columns are drawn with each value repeated (zoomed) up to it.
MIN_COLUMNS = 8


# ------------------------------------------------------------------------------------------------
# Values -> colours and characters


class Scale(colour.Scale):
    """:class:`convcli.present.colour.Scale` in the terminal's palettes (:data:`colour.TERMINAL`).

    The heatmaps take it :meth:`~colour.Scale.including_zero`: symmetric around 0
    when a value is negative, else sequential from 0. An all-negative map stays diverging, on its
    blue half: hue and characters then always say the sign; a ``≥ 0`` map goes white → red, the
    colours the same values have on a signed scale of the same limit.
    """

    palettes = colour.TERMINAL

    def color(self, value: float) -> Color | None:
        """One value's truecolor (rich downgrades it to what the terminal has); ``None`` for NaN."""
        if np.isnan(value):
            return None
        r, g, b = (int(c) for c in self.rgb(np.array(value)))
        return Color.from_rgb(r, g, b)


def range_text(lo: float, hi: float) -> str:
    """``lo … hi`` in one number format, so both ends show the same decimals."""
    lo, hi = lo + 0.0, hi + 0.0  # -0.0 (a zero weight times a pixel) reads as 0
    f = describe.number_format(np.array([lo, hi]))
    return f"{f(lo)} … {f(hi)}"


def uses_colour(console: Console) -> bool:
    """Whether colours reach the terminal: not with ``NO_COLOR`` (no_color) nor into a pipe (None)."""
    return not console.no_color and console.color_system is not None


# ------------------------------------------------------------------------------------------------
# Renderables


def _colour_lines(cells: np.ndarray, scale: Scale) -> Iterable[list[Segment]]:
    """``cells (h, w)`` as ``ceil(h / 2)`` lines of ``▀``: upper row in front, lower row behind."""
    rgb = scale.rgb(cells)
    nan = np.isnan(cells)
    styles: dict[tuple[object, object], Style] = {}

    def colour(i: int, j: int) -> Color | None:
        if i >= cells.shape[0] or nan[i, j]:
            return None
        return Color.from_rgb(*(int(c) for c in rgb[i, j]))

    for i in range(0, cells.shape[0], 2):
        line: list[Segment] = []
        for j in range(cells.shape[1]):
            top, bottom = colour(i, j), colour(i + 1, j)
            # a missing upper cell flips to the lower half-block, so no default foreground shows
            char, fg, bg = ("▀", top, bottom) if top is not None else ("▄" if bottom is not None else " ", bottom, None)
            key = (fg, bg)
            if key not in styles:
                styles[key] = Style(color=fg, bgcolor=bg)
            if line and line[-1].style is styles[key] and line[-1].text[-1] == char:
                line[-1] = Segment(line[-1].text + char, styles[key])
            else:
                line.append(Segment(char, styles[key]))
        yield line


def _char_lines(cells: np.ndarray, scale: Scale) -> Iterable[list[Segment]]:
    """``cells (h, w)`` as ``ceil(h / 2)`` lines of characters, each the mean of two rows.

    A terminal cell is about twice as tall as wide: averaging row pairs keeps the map's aspect and
    the footprint of the coloured version.
    """
    for row in scale.chars(block_mean(cells, 2, 1)):
        yield [Segment("".join(row.tolist()))]


@dataclass(frozen=True)
class Fit:
    """A map as drawn within some width: ``cells (h', w')`` are ``k × k`` block means, or each value
    repeated ``z × z`` times for a small map (one of ``k``, ``z`` is 1), coloured on ``scale``."""

    cells: np.ndarray
    k: int
    z: int
    scale: Scale


class Heatmap:
    """A map ``values (h, w)`` drawn as cells under ``title``, with its value range below.

    ``max_w`` in columns, ``max_h`` in text lines (two map rows each); a larger map is reduced to
    blocks by ``stat``, one narrower than :data:`MIN_COLUMNS` zoomed. ``lo``/``hi`` fix the scale
    (to share it); by default ``Scale.including_zero`` of the drawn cells. The caption gives the
    map's own min … max; ``legend`` adds what the colours or characters mean; ``show_factor`` adds
    the block size (``cell = k×k``) or zoom to the caption.
    """

    def __init__(
        self,
        values: np.ndarray | MapSource,
        title: str,
        *,
        lo: float | None = None,
        hi: float | None = None,
        max_w: int = 60,
        max_h: int = 16,
        legend: bool = True,
        show_factor: bool = True,
        stat: str = "mean",
    ) -> None:
        self.source: MapSource = values if isinstance(values, (ArrayMap, BlockMap)) else ArrayMap(np.asarray(values))
        self.title = title
        self.lo, self.hi = lo, hi
        self.max_w, self.max_h = max_w, max_h
        self.legend, self.show_factor = legend, show_factor
        self.stat = stat
        lo_v, hi_v = self.source.value_range()
        self.range = range_text(lo_v, hi_v) if np.isfinite(lo_v) else "no finite values"
        self.nans = self.source.nan_count()
        self._fits: dict[int, Fit] = {}

    def fit(self, max_w: int) -> Fit:
        """The map as drawn within ``max_w`` columns (cached: rich measures before it renders)."""
        if max_w not in self._fits:
            h, w = self.source.shape
            rows = 2 * self.max_h
            k = block_factor((h, w), rows, max_w)
            z = 1
            if k == 1 and w < MIN_COLUMNS:
                z = max(1, min(-(-MIN_COLUMNS // w), max_w // w, rows // h))
            cells = np.asarray(self.source.cells(k, self.stat), dtype=np.float64)
            own = Scale.including_zero(cells)
            scale = Scale(own.lo if self.lo is None else float(self.lo), own.hi if self.hi is None else float(self.hi))
            if z > 1:
                cells = np.repeat(np.repeat(cells, z, axis=0), z, axis=1)
            self._fits[max_w] = Fit(cells, k, z, scale)
        return self._fits[max_w]

    def caption(self, max_w: int) -> str:
        fit = self.fit(max_w)
        text = self.range
        if self.nans:
            text += f" · {self.nans} NaN"
        if self.show_factor and fit.k > 1:
            text += f" · cell = {fit.k}×{fit.k}"
        elif self.show_factor and fit.z > 1:
            text += f" · value = {fit.z}×{fit.z} cells"
        return text

    def _width(self, max_w: int) -> int:
        fit = self.fit(max_w)
        texts = [self.title, self.caption(max_w)]
        if self.legend:
            legend = Legend(fit.scale, means=fit.k > 1, stat=self.stat)
            texts += [line.plain for colour in (False, True) for line in legend.lines(colour)]
        return max(fit.cells.shape[1], min(max_w, max(cell_len(t) for t in texts)))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        max_w = max(1, min(self.max_w, options.max_width))
        fit = self.fit(max_w)
        opts = options.update_width(self._width(max_w))
        yield from console.render(Text(self.title, style=numbers.LABEL, no_wrap=True, overflow="ellipsis"), opts)
        draw = _colour_lines if uses_colour(console) else _char_lines
        for line in draw(fit.cells, fit.scale):
            yield from line
            yield Segment.line()
        yield from console.render(Text(self.caption(max_w), style="dim"), opts)
        if self.legend:
            yield from console.render(Legend(fit.scale, means=fit.k > 1, stat=self.stat), opts)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = self._width(max(1, min(self.max_w, options.max_width)))
        return Measurement(width, width)


class Legend:
    """What a scale's colours or characters mean: ``lo [ramp] hi``, then (``explain``) in words.

    ``means`` says the scale spans block statistics ``stat`` (so it may be narrower than the maps'
    min … max).
    """

    def __init__(self, scale: Scale, explain: bool = True, *, means: bool = False, stat: str = "mean") -> None:
        self.scale = scale
        self.explain = explain
        self.means = means
        self.stat = stat

    def lines(self, colour: bool) -> list[Text]:
        s = self.scale
        lo, hi = (-s.limit, s.limit) if s.diverging else (s.lo, s.hi)
        low, high = range_text(lo, hi).split(" … ")
        bar = Text(f"{low} [")
        if colour:
            for v in np.linspace(lo, hi, len(s.palette)).tolist():
                bar.append(" ", Style(bgcolor=s.color(v)))
        else:
            bar.append(s.ramp())
        bar.append(f"] {high}")
        if self.means:
            bar.append(f" of cells ({BLOCK_WORDS[self.stat]})", style="dim")
        return [bar, Text(note(s.diverging, colour), style="dim")] if self.explain else [bar]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.lines(uses_colour(console))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, Group(*self.lines(uses_colour(console))))


def note(diverging: bool | None, colour: bool) -> str:
    """The palette in words; ``diverging=None`` describes both kinds."""
    signed, one = ("blue < 0 < red, white ≈ 0", "white 0 → red high") if colour else (
        f"{SIGNED_RAMP[:4]} below 0, blank ≈ 0, {SIGNED_RAMP[5:]} above", f"'{SEQUENTIAL_RAMP}' low → high")
    if diverging is None:
        return f"{signed}; maps ≥ 0: {one}"
    return signed if diverging else one


class PaletteNote:
    """:func:`note` for both kinds of scale, in the console's colour mode."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(note(None, uses_colour(console)), style="dim")
