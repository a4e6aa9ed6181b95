"""Terminal heatmaps of a filter's maps: coloured cells, or shaded characters without colour.

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

:class:`FilterHeatmaps` lays out one filter's sum (:class:`convcli.present.filtersum.FilterSum`):
each channel's partial map, the bias, the pre-activation and the output, the parts and their sum on
one shared scale; it measures its width when rendered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len
from rich.color import Color
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from convcli.engine import LayerResult
from convcli.present import colour, describe
from convcli.present.colour import SEQUENTIAL_RAMP, SIGNED_RAMP
from convcli.present.filtersum import FilterSum
from convcli.present.maps import (
    BLOCK_WORDS,
    STATS,
    ArrayMap,
    BlockMap,
    MapSource,
    ResultMaps,
    block_factor,
    block_mean,
)
from convcli.render import numbers

#: Maps narrower than this many columns are drawn with each value repeated (zoomed) up to it.
MIN_COLUMNS = 8
#: Text lines a map of :func:`filter_heatmaps` may take (two map rows each).
MAX_LINES = 24
#: Columns per map slot below which :func:`filter_heatmaps` puts fewer maps on a line.
SLOT_COLUMNS = 24
#: Columns the bias between the partial maps and the pre-activation takes ("+ bias -0.25").
BIAS_COLUMNS = 14


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


class _Note:
    """:func:`note` for both kinds of scale, in the console's colour mode."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(note(None, uses_colour(console)), style="dim")


# ------------------------------------------------------------------------------------------------
# A filter


def slots(width: int, maps: int | None = None, bias: bool = False, cap: int | None = None) -> tuple[int, int]:
    """``(maps per line, columns per map)`` for a panel ``width`` columns wide holding ``maps`` maps.

    A slot also holds the operator in front and a gap. As many maps a line as leave each
    :data:`SLOT_COLUMNS`, the lines balanced (5 maps: 3 + 2), each map as wide as its line allows up
    to ``cap`` (:func:`height_cap`), less the ``bias`` text when no line has room for it.
    """
    inner = width - 4  # the panel's border and padding
    if maps is None:
        per_line = min(4, max(2, inner // SLOT_COLUMNS))
        return per_line, max(4, inner // per_line - 3)
    fit = max(1, min(maps, inner // SLOT_COLUMNS))
    lines = -(-maps // fit)
    per_line = -(-maps // lines)
    full = maps % per_line == 0  # every line holds per_line maps: the bias has to share one
    room = inner - (BIAS_COLUMNS if bias and full else 0)
    max_w = max(4, room // per_line - 3)
    return per_line, max_w if cap is None else max(4, min(max_w, cap))


def height_cap(hw: tuple[int, int]) -> int:
    """The columns of an ``(h, w)`` map drawn :data:`MAX_LINES` lines tall (wider gains no cells),
    at least a slot's (:data:`SLOT_COLUMNS`, so that its title and range stay readable)."""
    h, w = hw
    k = max(1, -(-h // (2 * MAX_LINES)))
    return max(SLOT_COLUMNS - 3, -(-w // k))


def filter_heatmaps(
    result: LayerResult, f: int, names: Sequence[str], *, width: int | None = None, maps: np.ndarray | None = None,
    sources: ResultMaps | None = None, stat: str = "mean",
) -> FilterHeatmaps:
    """Filter ``f`` as heatmaps (:class:`FilterHeatmaps` of its :class:`~convcli.present.filtersum.FilterSum`)."""
    return FilterHeatmaps(FilterSum.of(result, f, names), width=width, maps=maps, sources=sources, stat=stat)


class FilterHeatmaps:
    """A filter's sum as heatmaps: each input channel's partial map + bias = pre-activation → output.

    Laid out when rendered, for the width it is given (``options.max_width``, or ``width`` when
    set), so that one object serves a terminal, an export and a resizing widget: maps are as wide
    as the panel allows (:func:`slots`). ``maps (H', W', Cg)`` are the filter's partial maps if
    already computed; otherwise ``sources`` (one :class:`ResultMaps` for every filter of the result,
    made with ``stat``) provides them, without full-resolution maps where it can. ``stat``: what a
    cell shows of its block (:data:`convcli.present.maps.STATS`). The parts and their sum share ONE
    scale (the output too when the view model says so: :func:`convcli.present.filtersum.output_scale`),
    so that colours compare across ``+``, ``=`` and ``→``.
    """

    def __init__(self, view: FilterSum, *, width: int | None = None, maps: np.ndarray | None = None,
                 sources: ResultMaps | None = None, stat: str = "mean") -> None:
        self.view = view
        self.width = width
        self.sources = ResultMaps(view.result, stat) if sources is None else sources
        channel_maps, others_map = self.sources.partials(view.index, maps, list(view.others))
        self.parts: list[tuple[str, MapSource]] = [(p.label, channel_maps[p.positions[0]]) for p in view.parts()
                                                   if not p.folded]
        if others_map is not None:
            self.parts.append((view.parts()[-1].label, others_map))
        self._panels: dict[int, Panel] = {}

    def panel(self, width: int) -> Panel:
        """The heatmaps laid out for a ``width``-column line (made once per width)."""
        if width not in self._panels:
            self._panels[width] = self._layout(width)
        return self._panels[width]

    def _layout(self, width: int) -> Panel:
        view, sources, partials = self.view, self.sources, self.parts
        stat = sources.stat
        ho, wo = view.result.layer.geometry.out_hw
        out_shared = view.output_shared
        n_maps = len(partials) + 1 + view.has_output
        _, max_w = slots(width, n_maps, view.use_bias, height_cap((ho, wo)))
        k = block_factor((ho, wo), 2 * MAX_LINES, max_w)
        pre_source = sources.preactivation(view.index)
        out_source = sources.output(view.index) if view.has_output else None
        # one scale for the parts and their sum: it spans the cells as drawn (block statistics)
        summed = [m.cells(k, stat) for _, m in partials] + [pre_source.cells(k, stat)]
        if out_source is not None and out_shared:
            summed.append(out_source.cells(k, stat))
        shared = Scale.including_zero(*summed)

        def heatmap(values: MapSource, title: str, scale: Scale | None = None) -> Heatmap:
            lo, hi = (scale.lo, scale.hi) if scale is not None else (None, None)
            return Heatmap(values, title, lo=lo, hi=hi, max_w=max_w, max_h=MAX_LINES, legend=False,
                           show_factor=False, stat=stat)

        items: list[RenderableType] = []
        for n, (title, m) in enumerate(partials):
            hm = heatmap(m, title, shared)
            items.append(hm if n == 0 else numbers.joined("+", hm))
        if view.use_bias:
            # the bias is one number added everywhere: a flat map would only repeat it
            items.append(numbers.joined("+", Text.assemble(("bias ", numbers.LABEL), describe.fmt(view.bias),
                                                          ("\nat every\nposition", "dim"))))
        pre = heatmap(pre_source, "pre-activation", shared)
        items.append(numbers.joined("=", pre))
        fit = pre.fit(max_w)
        means = fit.k > 1
        keys: list[tuple[str, RenderableType]] = [
            ("one scale", Group(Legend(shared, explain=False, means=means, stat=stat),
                                Text("the channels and their sum (pre-activation" + (", output" if out_shared else "")
                                     + "): their cells compare", style="dim"))),
        ]
        if out_source is not None and view.output is not None:
            out = heatmap(out_source, "output", shared if out_shared else None)
            items.append(numbers.joined(f"{view.activation} →", out))
            if not out_shared:
                legend: RenderableType = Legend(out.fit(max_w).scale, explain=False, means=means, stat=stat)
                if not view.output.same_units:  # say why its colours do not compare with the sum's
                    legend = Group(legend, Text(view.output.reason, style="dim"))
                keys.append(("output", legend))

        if fit.k > 1:
            cells = f"one cell = {STATS[stat]} of {fit.k}×{fit.k} output positions"
        elif fit.z > 1:
            cells = f"each value drawn as {fit.z}×{fit.z} cells"
        else:
            cells = "one cell per output position" + ("" if stat == "mean" else f" ({STATS[stat]})")
        body = Group(
            Text(f"{ho}×{wo} maps · {cells}", style=numbers.LABEL),
            numbers.Flow(items),
            numbers.key_values(keys),
            _Note(),
        )
        title = f"filter {view.index} · heatmaps · bias {describe.fmt(view.bias)} · {view.activation}"
        if view.grouped:
            title += f" · {view.group_title}"
        return Panel(body, title=title, title_align="left")

    def _width(self, options: ConsoleOptions) -> int:
        return self.width if self.width is not None else options.max_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.panel(self._width(options))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.panel(self._width(options)))
