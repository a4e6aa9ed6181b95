"""Terminal heatmaps of a filter's maps: coloured cells, or shaded characters without colour.

A map ``(h, w)`` is block-averaged to fit the width (:func:`downsample`), placed on a
:class:`Scale` that always includes 0, and drawn by :class:`Heatmap`:

- with colour, two map rows per text line with ``▀`` (foreground = upper row, background = lower
  row), so a cell is about square. A scale reaching below 0 is diverging and centred on 0
  (ColorBrewer RdBu: blue below 0, near-white at 0, red above); a scale of values ≥ 0 is
  sequential (viridis, dark to bright). Both palettes are colour-blind safe; rich downgrades the
  truecolor to 256 or 16 colours when the terminal has fewer.
- without colour (``NO_COLOR``, a pipe, ``color_system=None``), one character per cell, pairs of
  rows averaged to keep the same aspect and footprint: ``≡=-·`` below 0, blank about 0, ``░▒▓█``
  above 0 on a diverging scale; `` ░▒▓█`` from low to high on a sequential one.

:func:`filter_heatmaps` lays out one filter: each channel's partial map on one shared scale, the
bias, the pre-activation and the output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import numpy as np
from rich.cells import cell_len
from rich.color import Color
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from convcli import engine, render
from convcli.engine import LayerResult

#: ColorBrewer RdBu (9 classes), blue (most negative) to red (most positive); the middle is 0.
DIVERGING = np.array(
    [(33, 102, 172), (67, 147, 195), (146, 197, 222), (209, 229, 240), (247, 247, 247),
     (253, 219, 199), (244, 165, 130), (214, 96, 77), (178, 24, 43)],
    dtype=np.float64,
)  # fmt: skip
#: viridis at 9 evenly spaced points: its lightness rises monotonically from dark violet to yellow.
SEQUENTIAL = np.array(
    [(68, 1, 84), (71, 45, 123), (59, 82, 139), (44, 114, 142), (33, 145, 140),
     (40, 174, 128), (94, 201, 98), (173, 220, 48), (253, 231, 37)],
    dtype=np.float64,
)  # fmt: skip

#: Characters without colour on a diverging scale, most negative to most positive; blank is 0.
SIGNED_RAMP = "≡=-· ░▒▓█"
#: Characters without colour on a sequential (all ≥ 0) scale, lowest to highest.
SEQUENTIAL_RAMP = " ░▒▓█"
#: A cell whose block holds only NaN, without colour (with colour it stays the terminal's own).
NAN_CHAR = "?"

#: Maps narrower than this many columns are drawn with each value repeated (zoomed) up to it.
MIN_COLUMNS = 8
#: Text lines a map of :func:`filter_heatmaps` may take (two map rows each).
MAX_LINES = 12
#: Columns per map slot below which :func:`filter_heatmaps` puts fewer maps on a line.
SLOT_COLUMNS = 24


# ------------------------------------------------------------------------------------------------
# Fitting a map to the terminal


def block_factor(shape: Sequence[int], max_h: int, max_w: int) -> int:
    """The block size ``k`` that :func:`downsample` uses on an ``(h, w)`` map: 1 when it fits."""
    if max_h < 1 or max_w < 1:
        raise ValueError(f"max_h and max_w must be ≥ 1, got {max_h} and {max_w}")
    h, w = int(shape[0]), int(shape[1])
    return max(1, -(-h // max_h), -(-w // max_w))


def block_mean(values: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Mean of each ``kh × kw`` block of ``values (h, w)``: ``(ceil(h / kh), ceil(w / kw))``, float64.

    A ragged last block averages the cells it has; NaN is skipped and an all-NaN block is NaN.
    """
    a = np.asarray(values)
    nan = np.isnan(a) if a.dtype.kind == "f" else None
    if nan is not None and nan.any():
        a = np.where(nan, 0.0, a)
        count = engine.block_sums(~nan, kh, kw)
    else:  # every cell counts: the block sizes, ragged at the end
        count = engine.block_counts(a.shape, kh, kw)
    # ragged last blocks are summed as they are, so nothing is padded to a multiple of k
    total = engine.block_sums(a, kh, kw, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def downsample(values: np.ndarray, max_h: int, max_w: int) -> np.ndarray:
    """``values (h, w)`` as block means ``(ceil(h / k), ceil(w / k))`` that fit ``max_h × max_w``.

    ``k`` (:func:`block_factor`) is the same on both axes, so the aspect ratio is kept. A map that
    already fits is returned unchanged (same array, same dtype).
    """
    a = np.asarray(values)
    if a.ndim != 2:
        raise ValueError(f"a heatmap needs an (h, w) map, got shape {a.shape}")
    k = block_factor(a.shape, max_h, max_w)
    return a if k == 1 else block_mean(a, k, k)


class MapSource(Protocol):
    """What a :class:`Heatmap` needs of a map ``(h, w)``: its size, its exact range and NaN count,
    and its ``k × k`` block means. A map need not exist at full resolution to be drawn."""

    @property
    def shape(self) -> tuple[int, int]: ...

    def value_range(self) -> tuple[float, float]:
        """The finite min and max (NaN, NaN when there is no finite value)."""
        ...

    def nan_count(self) -> int: ...

    def cells(self, k: int) -> np.ndarray:
        """``k × k`` block means ``(ceil(h / k), ceil(w / k))`` (``k = 1``: the values themselves)."""
        ...


class ArrayMap:
    """A map held as an array ``(h, w)``."""

    def __init__(self, values: np.ndarray) -> None:
        a = np.asarray(values)
        if a.ndim != 2 or a.size == 0:
            raise ValueError(f"a heatmap needs a non-empty (h, w) map, got shape {a.shape}")
        self.values = a

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.values.shape[0]), int(self.values.shape[1])

    def value_range(self) -> tuple[float, float]:
        a = self.values
        lo, hi = float(a.min()), float(a.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):  # only then pay for a masked copy
            finite = a[np.isfinite(a)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (np.nan, np.nan)
        return lo, hi

    def nan_count(self) -> int:
        return int(np.isnan(self.values).sum()) if self.values.dtype.kind == "f" else 0

    def cells(self, k: int) -> np.ndarray:
        return self.values if k == 1 else block_mean(self.values, k, k)


class BlockMap:
    """A finite map known by its shape, its range and a function giving its block means."""

    def __init__(self, shape: tuple[int, int], lo: float, hi: float, means: Callable[[int], np.ndarray]) -> None:
        self.shape = shape
        self._range = (float(lo), float(hi))
        self._means = means

    def value_range(self) -> tuple[float, float]:
        return self._range

    def nan_count(self) -> int:
        return 0

    def cells(self, k: int) -> np.ndarray:
        return self._means(k)


class ResultMaps:
    """Each filter's maps of one :class:`LayerResult` as :class:`MapSource` objects, for heatmaps.

    When the result carries each partial map's range (``run_layer(ranges=True)``) and they are
    finite, partial maps are never made at full resolution: their block means come from
    :func:`engine.partial_block_means` (one pass over the input per block size, shared by all
    filters), and the pre-activation's and output's from one pass over all filters at once.
    Otherwise (NaN or Inf, or no ranges) each map is computed and averaged as an array.
    """

    def __init__(self, result: LayerResult) -> None:
        self.result = result
        self._taps: dict[int, np.ndarray] = {}
        self._stacks: dict[tuple[str, int], np.ndarray] = {}

    def _blocks_ok(self, f: int) -> bool:
        low, high = self.result.partial_low, self.result.partial_high
        return low is not None and high is not None and bool(np.isfinite(low[:, f]).all() and np.isfinite(high[:, f]).all())

    def _partial_means(self, k: int, f: int, c: int) -> np.ndarray:
        layer = self.result.layer
        if k not in self._taps:
            self._taps[k] = engine.tap_block_sums(layer, k)
        return engine.partial_block_means(layer, f, k, self._taps[k])[:, :, c]

    def partials(self, f: int, maps: np.ndarray | None = None,
                 others: Sequence[int] = ()) -> tuple[list[MapSource], MapSource | None]:
        """Filter ``f``'s partial maps, one per channel of its group (``maps (H', W', Cg)`` if
        computed), and the sum of the ``others`` channels' maps (``None`` without others)."""
        r, layer = self.result, self.result.layer
        if maps is None and self._blocks_ok(f):
            assert r.partial_low is not None and r.partial_high is not None
            shape = layer.geometry.out_hw
            blocks: list[MapSource] = [
                BlockMap(shape, r.partial_low[c, f], r.partial_high[c, f], partial(self._partial_means, f=f, c=c))
                for c in range(layer.cg)]
            return blocks, ArrayMap(engine.channels_map(layer, f, others)) if others else None
        if maps is None:
            maps = engine.filter_partials(layer, f)
        rest = ArrayMap(maps[:, :, list(others)].sum(axis=2, dtype=np.float64)) if others else None
        return [ArrayMap(maps[:, :, c]) for c in range(maps.shape[2])], rest

    def _stack(self, name: str, f: int) -> MapSource:
        r = self.result
        values = r.preactivation if name == "pre" else r.output
        stats = r.preactivation_stats if name == "pre" else r.output_stats
        lo, hi = stats[f, 0], stats[f, 2]
        # finite partials leave no NaN to skip (the stats ignore NaN); an overflow shows as ±Inf here
        if not (self._blocks_ok(f) and np.isfinite(lo) and np.isfinite(hi)):
            return ArrayMap(values[..., f])

        def means(k: int) -> np.ndarray:
            if k == 1:
                return values[..., f]
            if (name, k) not in self._stacks:
                self._stacks[name, k] = stack_block_mean(values, k)
            return self._stacks[name, k][..., f]

        return BlockMap(r.layer.geometry.out_hw, lo, hi, means)

    def preactivation(self, f: int) -> MapSource:
        return self._stack("pre", f)

    def output(self, f: int) -> MapSource:
        return self._stack("out", f)


def stack_block_mean(values: np.ndarray, k: int) -> np.ndarray:
    """:func:`block_mean` of every map of a finite ``values (h, w, F)`` in one pass: ``(by, bx, F)`` float64."""
    return engine.block_sums(values, k, k, np.float64) / engine.block_counts(values.shape, k, k)[:, :, None]


# ------------------------------------------------------------------------------------------------
# Values -> colours and characters


def _interpolate(anchors: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``t`` in [0, 1] (any shape) -> RGB ``(..., 3)`` uint8, linear between evenly spaced anchors."""
    pos = np.clip(t, 0.0, 1.0) * (len(anchors) - 1)
    i = np.minimum(np.floor(pos).astype(np.int64), len(anchors) - 2)
    frac = (pos - i)[..., None]
    rgb = anchors[i] * (1 - frac) + anchors[i + 1] * frac
    return np.rint(rgb).astype(np.uint8)


@dataclass(frozen=True)
class Scale:
    """The value range ``lo … hi`` a palette spans: diverging (centred on 0) when ``lo < 0``, else
    sequential. An all-negative map stays diverging, on its blue half: hue and characters then
    always say the sign, and dark → bright always means low → high on a one-signed ``≥ 0`` map."""

    lo: float
    hi: float

    @classmethod
    def of(cls, *maps: np.ndarray) -> Scale:
        """The smallest scale holding every finite value of ``maps`` and 0.

        0 is always inside so that colour says how much a channel contributes, not how it
        compares with its own minimum, and a shared scale compares channels fairly.
        """
        lo, hi = 0.0, 0.0
        for m in maps:
            a = np.asarray(m, dtype=np.float64)
            finite = a[np.isfinite(a)]
            if finite.size:
                lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
        return cls(lo, hi)

    @property
    def diverging(self) -> bool:
        return self.lo < 0

    @property
    def limit(self) -> float:
        """The diverging scale's symmetric half-width ``max(|lo|, |hi|)``."""
        return max(abs(self.lo), abs(self.hi))

    def position(self, values: np.ndarray) -> np.ndarray:
        """Where ``values`` (any shape) fall on the palette, in [0, 1]; 0 is 0.5 on a diverging one."""
        v = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.diverging:
                t = 0.5 + 0.5 * v / self.limit
            elif self.hi > self.lo:
                t = (v - self.lo) / (self.hi - self.lo)
            else:  # an all-zero scale: the bottom of the palette
                t = np.zeros_like(v)
        return np.clip(t, 0.0, 1.0)

    def rgb(self, values: np.ndarray) -> np.ndarray:
        """The palette's RGB of ``values`` (any shape): ``(..., 3)`` uint8 (NaN: meaningless)."""
        return _interpolate(DIVERGING if self.diverging else SEQUENTIAL, np.nan_to_num(self.position(values)))

    def color(self, value: float) -> Color | None:
        """One value's truecolor (rich downgrades it to what the terminal has); ``None`` for NaN."""
        if np.isnan(value):
            return None
        r, g, b = (int(c) for c in self.rgb(np.array(value)))
        return Color.from_rgb(r, g, b)

    def chars(self, values: np.ndarray) -> np.ndarray:
        """One character per value of ``values`` (any shape), from :data:`SIGNED_RAMP` or
        :data:`SEQUENTIAL_RAMP`; NaN is :data:`NAN_CHAR`."""
        v = np.asarray(values, dtype=np.float64)
        if self.diverging:
            # by |v| / limit into 4 levels a side, so the blank zero band is symmetric
            level = np.minimum(np.rint(np.nan_to_num(np.abs(v)) / self.limit * 4), 4).astype(np.int64)
            index = 4 + np.sign(np.nan_to_num(v)).astype(np.int64) * level
            ramp = np.array(list(SIGNED_RAMP))
        else:
            n = len(SEQUENTIAL_RAMP)
            index = np.minimum(np.floor(np.nan_to_num(self.position(v)) * n), n - 1).astype(np.int64)
            ramp = np.array(list(SEQUENTIAL_RAMP))
        return np.where(np.isnan(v), NAN_CHAR, ramp[index])

    def ramp(self) -> str:
        return SIGNED_RAMP if self.diverging else SEQUENTIAL_RAMP


def range_text(lo: float, hi: float) -> str:
    """``lo … hi`` in one number format, so both ends show the same decimals."""
    lo, hi = lo + 0.0, hi + 0.0  # -0.0 (a zero weight times a pixel) reads as 0
    f = render.number_format(np.array([lo, hi]))
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

    ``max_w`` is in columns (one per map column), ``max_h`` in text lines (two map rows each, so
    cells come out about square); a larger map is block-averaged (:func:`downsample`), a map
    narrower than :data:`MIN_COLUMNS` is zoomed by repeating its values. ``lo``/``hi`` fix the
    scale (to share it between maps); by default it is ``Scale.of`` the drawn cells, so that block
    means still span the palette. The caption gives the map's own min … max (before averaging).
    ``legend`` adds a line saying what the colours or characters mean; ``show_factor`` adds
    ``(÷k)`` or ``(×z)`` to the caption.
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
    ) -> None:
        self.source: MapSource = values if isinstance(values, (ArrayMap, BlockMap)) else ArrayMap(np.asarray(values))
        self.title = title
        self.lo, self.hi = lo, hi
        self.max_w, self.max_h = max_w, max_h
        self.legend, self.show_factor = legend, show_factor
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
            cells = np.asarray(self.source.cells(k), dtype=np.float64)
            own = Scale.of(cells)
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
            text += f" (÷{fit.k})"
        elif self.show_factor and fit.z > 1:
            text += f" (×{fit.z})"
        return text

    def _width(self, max_w: int) -> int:
        fit = self.fit(max_w)
        texts = [self.title, self.caption(max_w)]
        if self.legend:
            legend = Legend(fit.scale, means=fit.k > 1)
            texts += [line.plain for colour in (False, True) for line in legend.lines(colour)]
        return max(fit.cells.shape[1], min(max_w, max(cell_len(t) for t in texts)))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        max_w = max(1, min(self.max_w, options.max_width))
        fit = self.fit(max_w)
        opts = options.update_width(self._width(max_w))
        yield from console.render(Text(self.title, style=render.LABEL, no_wrap=True, overflow="ellipsis"), opts)
        draw = _colour_lines if uses_colour(console) else _char_lines
        for line in draw(fit.cells, fit.scale):
            yield from line
            yield Segment.line()
        yield from console.render(Text(self.caption(max_w), style="dim"), opts)
        if self.legend:
            yield from console.render(Legend(fit.scale, means=fit.k > 1), opts)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = self._width(max(1, min(self.max_w, options.max_width)))
        return Measurement(width, width)


class Legend:
    """What a scale's colours or characters mean: ``lo [ramp] hi``, then (``explain``) in words.

    ``means`` says the scale spans block means (so it is narrower than the maps' min … max).
    """

    def __init__(self, scale: Scale, explain: bool = True, *, means: bool = False) -> None:
        self.scale = scale
        self.explain = explain
        self.means = means

    def lines(self, colour: bool) -> list[Text]:
        s = self.scale
        lo, hi = (-s.limit, s.limit) if s.diverging else (s.lo, s.hi)
        low, high = range_text(lo, hi).split(" … ")
        bar = Text(f"{low} [")
        if colour:
            for v in np.linspace(lo, hi, len(DIVERGING)).tolist():
                bar.append(" ", Style(bgcolor=s.color(v)))
        else:
            bar.append(s.ramp())
        bar.append(f"] {high}")
        if self.means:
            bar.append(" of block means", style="dim")
        return [bar, Text(note(s.diverging, colour), style="dim")] if self.explain else [bar]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.lines(uses_colour(console))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, Group(*self.lines(uses_colour(console))))


def note(diverging: bool | None, colour: bool) -> str:
    """The palette in words; ``diverging=None`` describes both kinds."""
    if colour:
        signed, one = "blue < 0 < red, white ≈ 0", "dark → bright"
    else:
        signed = f"{SIGNED_RAMP[:4]} below 0, blank ≈ 0, {SIGNED_RAMP[5:]} above"
        one = f"'{SEQUENTIAL_RAMP}' low → high"
    if diverging is None:
        return f"{signed}; maps ≥ 0: {one}"
    return signed if diverging else one


class _Note:
    """:func:`note` for both kinds of scale, in the console's colour mode."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(note(None, uses_colour(console)), style="dim")


# ------------------------------------------------------------------------------------------------
# A filter


def slots(width: int) -> tuple[int, int]:
    """``(maps per line, columns per map)`` for a panel ``width`` columns wide.

    Each slot also holds the operator in front (``+ ``) and the gap after it.
    """
    inner = width - 4  # the panel's border and padding
    per_line = min(4, max(2, inner // SLOT_COLUMNS))
    return per_line, max(4, inner // per_line - 3)


def filter_heatmaps(
    result: LayerResult, f: int, names: Sequence[str], *, width: int, maps: np.ndarray | None = None,
    sources: ResultMaps | None = None,
) -> Panel:
    """Filter ``f`` as heatmaps: each input channel's partial map + bias = pre-activation → output.

    ``maps (H', W', Cg)`` are the filter's partial maps if already computed
    (:func:`engine.filter_partials`); otherwise ``sources`` (one :class:`ResultMaps` shared by
    every filter of ``result``) provides them, without full-resolution maps where it can.
    ``names`` are the input's channel names. The partial maps share one scale so their colours
    compare; the pre-activation and the output have their own. Maps are sized so a line of the
    panel holds 3–4 of them at 100 columns (3 at 80).
    """
    layer = result.layer
    sources = ResultMaps(result) if sources is None else sources
    channels = render.group_channels(result, f)
    shown, others = render.shown_channels(result, f)
    channel_maps, others_map = sources.partials(f, maps, others)
    _, max_w = slots(width)
    ho, wo = layer.geometry.out_hw
    k = block_factor((ho, wo), 2 * MAX_LINES, max_w)

    partials: list[tuple[str, MapSource]] = [(names[channels[c]], channel_maps[c]) for c in shown]
    if others_map is not None:
        partials.append((f"Σ {len(others)} others", others_map))
    # the shared scale spans the cells as drawn (block means), like each map's own scale does
    shared = Scale.of(*(m.cells(k) for _, m in partials))

    def heatmap(values: MapSource, title: str, scale: Scale | None = None) -> Heatmap:
        lo, hi = (scale.lo, scale.hi) if scale is not None else (None, None)
        return Heatmap(values, title, lo=lo, hi=hi, max_w=max_w, max_h=MAX_LINES, legend=False,
                       show_factor=False)

    items: list[RenderableType] = []
    for n, (title, m) in enumerate(partials):
        hm = heatmap(m, title, shared)
        items.append(hm if n == 0 else render.joined("+", hm))
    if result.use_bias:
        # the bias is one number added everywhere: a flat map would only repeat it
        items.append(render.joined("+", Text.assemble(("bias ", render.LABEL), render.fmt(float(result.bias[f])),
                                                      ("\nat every\nposition", "dim"))))
    pre = heatmap(sources.preactivation(f), "pre-activation")
    items.append(render.joined("=", pre))
    fit = pre.fit(max_w)
    means = fit.k > 1
    keys: list[tuple[str, RenderableType]] = [
        ("channels", Group(Legend(shared, explain=False, means=means),
                           Text("one scale for every channel, so their cells compare", style="dim"))),
        ("pre-activation", Legend(fit.scale, explain=False, means=means)),
    ]
    if result.activation != "linear":
        out = heatmap(sources.output(f), "output")
        items.append(render.joined(f"{result.activation} →", out))
        keys.append(("output", Legend(out.fit(max_w).scale, explain=False, means=means)))

    if fit.k > 1:
        cells = f"one cell = mean of a {fit.k}×{fit.k} block (÷{fit.k})"
    elif fit.z > 1:
        cells = f"each value drawn as {fit.z}×{fit.z} cells"
    else:
        cells = "one cell per output position"
    body = Group(
        Text(f"{ho}×{wo} maps · {cells}", style=render.LABEL),
        render.Flow(items),
        render.key_values(keys),
        _Note(),
    )
    title = f"filter {f} · heatmaps · bias {render.fmt(float(result.bias[f]))} · {result.activation}"
    if layer.groups > 1:
        title += f" · group {channels[0] // layer.cg} (channels {channels[0]}–{channels[-1]})"
    return Panel(body, title=title, title_align="left")
