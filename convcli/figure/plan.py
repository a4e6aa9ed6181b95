"""The figure's layout, every box computed before anything is drawn (:func:`plan_figure`).

The figure is a layer's computation as one picture: a row per filter, from input channels to output.

Each row reads left to right as the sum it draws::

    input R  input G  input B  ⊛  partial R + partial G + partial B  =  pre-activation  →  output

- *inputs*: the channels the filter's group reads (``result.layer.x``, ``(H, W, C)``);
- *partials*: each channel cross-correlated with its kernel slice (``(H', W')`` each);
- *pre-activation*: their sum plus the bias; *output*: after the activation (no output panel for
  ``linear``, where it equals the pre-activation, as in the terminal view).

More than ``selection.MAX_CHANNELS_SHOWN`` channels: the ``selection.TOP_CHANNELS`` largest (by mean
``|partial|``) are drawn, and one more partial panel holds the sum of the others.

Colours (:func:`row_scales`): the inputs are a picture, black (min) to white (max). The partial
maps, the pre-activation and the output share ONE scale (the output when it is in their units,
:func:`convcli.present.filtersum.output_scale`; else it has a scale and a bar of its own), drawn as
a bar under each block, in the palette of the terminal (:data:`convcli.present.colour.SIGNED`): blue below 0,
white at 0, red above, symmetric around 0 and ending at the 99th percentile of ``|value|`` (the bar
then says ``≤ -m`` and ``≥ m``): a photo's few strongest edges would otherwise leave every other
value near-white. Maps all ≥ 0 go from white at 0 to red, so a value has one colour everywhere.
Non-finite values are green. Under each panel: its own exact value range.

Sizes (:func:`display_size`): a map is drawn pixel for pixel when its long side is between
``panel`` (default 256) and ``max_panel`` (default 1024). A smaller map is enlarged by the
smallest whole factor that reaches ``panel`` (one value is one visible block, a 3×3 map nine
squares); a larger one is drawn as the means of its ``k × k`` blocks, ``k`` whole, the smallest
bringing it to ``max_panel`` or less (values averaged, not colours; never made whole:
:mod:`convcli.figure.panels`). A figure wider than ``width`` gets lower limits, until it fits
or its panels reach :data:`LABEL_CELL` (:func:`figure_layout`). Every cell of a figure has the
size of its largest drawn map (as wide as the limit when maps are block means: room for the
labels), and a map that would fill less than half of it (a strided output) is enlarged by a
further whole factor. The layout depends only on the maps' shapes and the
limits, never on the font, so :func:`plan_figure` can be checked against the picture.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from convcli.engine import Layer, LayerResult
from convcli.errors import ConfigError, ResourceError, ShapeError
from convcli.figure import panels as panel_maps
from convcli.figure.panels import MAX_PANEL, PANEL, PANEL_LIMITS, display_size
from convcli.present import colour, describe
from convcli.present.filtersum import FilterSum

# ------------------------------------------------------------------------------------------------
# Layout, in pixels

MARGIN = 24  #: around the whole figure
GAP = 32  #: between panels of one block (room for "+")
BLOCK_GAP = 56  #: between blocks (room for "⊛", "=", "→")
MIN_CELL = 170  #: narrowest cell, so a panel's title and range fit beside a narrow map
#: narrowest panel a width (``plan_figure(width=...)``) makes: room for "pre-activation = Σ + bias 0"
LABEL_CELL = 200
TITLE_H = 64  #: figure title and legend line
HEAD_H = 34  #: "filter k" above a row
LABEL_H = 24  #: panel title above a map
RANGE_H = 26  #: value range under a map
BAR_H = 14  #: colour bar under a block
BAR_LABEL_H = 22  #: numbers under the bar
ROW_GAP = 28  #: between filter rows (a rule is drawn in its middle)
#: Refuse figures beyond this many pixels (about 240 MB of RGB while drawing).
MAX_FIGURE_PIXELS = 80_000_000

FONT_TITLE, FONT_HEAD, FONT_LABEL, FONT_SMALL, FONT_OP = 18, 17, 14, 13, 26

BACKGROUND = (255, 255, 255)
INK = (25, 25, 25)
MUTED = (90, 90, 90)
RULE = (205, 205, 205)
BORDER = (160, 160, 160)
NONFINITE = colour.NONFINITE

#: Diverging scales end at this percentile of |value| (see :meth:`Scale.fit`).
CLIP_PERCENTILE = 99.0
LUT_SIZE = colour.FIGURE.lut_size
#: The palettes as ``(LUT_SIZE, 3)`` uint8 look-up tables (:data:`convcli.present.colour.FIGURE`).
DIVERGING = colour.lut_table(colour.FIGURE.diverging, LUT_SIZE)
SEQUENTIAL = colour.lut_table(colour.FIGURE.sequential, LUT_SIZE)


@dataclass(frozen=True)
class Scale(colour.Scale):
    """:class:`convcli.present.colour.Scale` in the figure's palettes (:data:`colour.FIGURE`).

    The figure takes it :meth:`fit`: data with a negative value get a diverging scale ``[-m, m]``
    clipped at the :data:`CLIP_PERCENTILE` th percentile of ``|value|``, others ``[min, max]``;
    a zero-width scale draws its value in the palette's middle (so ``flat`` is 0.5 by default).
    """

    flat: float = 0.5

    palettes = colour.FIGURE

    @classmethod
    def fit(cls, maps: Iterable[np.ndarray]) -> Scale:
        """The scale for maps drawn together (:meth:`~colour.Scale.clipped_at` :data:`CLIP_PERCENTILE`)."""
        return cls.clipped_at(maps, CLIP_PERCENTILE)

    @classmethod
    def of_values(cls, maps: Iterable[np.ndarray]) -> Scale:
        """:meth:`fit`, from 0 when every value is ≥ 0: a value's colour does not depend on its neighbours' sign."""
        return cls.clipped_at(maps, CLIP_PERCENTILE, from_zero=True)

    def unit(self, values: np.ndarray) -> np.ndarray:
        """Positions in ``[0, 1]`` along the palette (NaN stays NaN; a zero-width scale gives its ``flat``)."""
        return self.position(values)


@dataclass(frozen=True)
class ImageScale(Scale):
    """The input image's scale: grey, black (min) to white (max); it is a picture, not signed values."""

    palettes = colour.IMAGE


def row_scales(blocks: Sequence[Sequence[panel_maps.Map]], output_shared: bool = True) -> list[list[Scale]]:
    """Each panel's scale, block by block (inputs, partials, results): the inputs in grey; the partial maps
    and the pre-activation on ONE scale, so that the parts compare with their sum; the output too when
    ``output_shared`` (:class:`~convcli.present.filtersum.FilterSum`), else a scale of its own."""
    inputs, parts, results = blocks
    image = ImageScale.fit([*(m.values for m in inputs), *(np.array(m.ends) for m in inputs if m.ends is not None)])
    joined = results if output_shared else results[:1]
    shared = Scale.of_values([*(m.values for m in parts), *(m.values for m in joined)])
    # an output 0 everywhere (a relu of a map below 0) is white, the colour 0 has on every other scale
    own = [replace(s, flat=0.0) if s.lo == s.hi == 0 else s for s in (Scale.of_values([m.values])
                                                                       for m in results[len(joined):])]
    return [[image] * len(inputs), [shared] * len(parts), [shared] * len(joined) + own]


def panel_limits(counts: Sequence[int], panel: int = PANEL, max_panel: int = MAX_PANEL,
                 width: int | None = None) -> tuple[int, int]:
    """``(panel, max_panel)`` for a figure at most ``width`` pixels wide whose rows have ``counts``
    panels per block: the largest long side that fits, never under :data:`LABEL_CELL` (the labels'
    room), so a figure too narrow for its panels is as narrow as its labels allow."""
    if width is None:
        return panel, max_panel
    n = sum(counts)
    room = width - 2 * MARGIN - (n - len(counts)) * GAP - (len(counts) - 1) * BLOCK_GAP
    limit = min(max_panel, max(LABEL_CELL, room // n))
    return min(panel, limit), limit


# ------------------------------------------------------------------------------------------------
# The plan: every box of the figure, computed before anything is drawn


@dataclass(frozen=True)
class Box:
    """A rectangle of the figure: columns ``[x0, x1)`` × rows ``[y0, y1)``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def crop(self, pixels: np.ndarray) -> np.ndarray:
        """This box of an ``(H, W, ...)`` picture array."""
        return pixels[self.y0 : self.y1, self.x0 : self.x1]


@dataclass(frozen=True)
class PanelPlan:
    """One map: ``values (h, w)`` drawn into ``box`` in ``scale``; ``title`` above, ``note`` (its range) below."""

    kind: str  # "input", "partial", "others", "preactivation", "output"
    title: str
    note: str
    values: np.ndarray
    scale: Scale
    box: Box
    title_box: Box
    note_box: Box


@dataclass(frozen=True)
class BarPlan:
    """A colour bar under the panels of a block that share ``scale`` (an output on a scale of its own
    has its own bar); its end values in ``label_box``."""

    scale: Scale
    box: Box
    label_box: Box


@dataclass(frozen=True)
class RowPlan:
    """One filter's row: its panels left to right, a bar per block (and per own scale), the operators between them."""

    filter: int
    heading: str
    heading_box: Box
    panels: list[PanelPlan]
    bars: list[BarPlan]
    operators: list[tuple[str, int, int]]  # (symbol, x centre, y centre)


@dataclass(frozen=True)
class FigurePlan:
    """Every box of the figure; :func:`draw_figure` paints it, tests read the boxes to check the pixels."""

    size: tuple[int, int]  # (width, height) of the picture
    cell: tuple[int, int]  # (width, height) of every map's cell
    title: str
    legend: str
    title_box: Box
    rows: list[RowPlan]

    @property
    def columns(self) -> int:
        return len(self.rows[0].panels) if self.rows else 0


def _check(result: LayerResult, filters: Sequence[int], names: Sequence[str], panel: int, max_panel: int,
           width: int | None) -> list[int]:
    if width is not None and (isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1):
        raise ConfigError(f"the figure width must be a whole number of pixels ≥ 1, got {width!r}")
    lo, hi = PANEL_LIMITS
    for what, v in (("panel size", panel), ("largest panel size", max_panel)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
            raise ConfigError(f"the {what} must be {lo}..{hi} pixels, got {v!r}")
    if max_panel < panel:
        raise ConfigError(f"the largest panel size ({max_panel}) is smaller than the panel size ({panel})")
    chosen = [int(f) for f in filters]
    if not chosen:
        raise ConfigError("a figure needs at least one filter")
    n = result.layer.filters
    for f in chosen:
        if not 0 <= f < n:
            raise ShapeError(f"filter {f} does not exist: the layer has {n} (0..{n - 1})")
    c = result.layer.x.shape[2]
    if len(names) < c:
        raise ShapeError(f"{len(names)} channel names for an input with {c} channels")
    return chosen


@dataclass(frozen=True)
class Layout:
    """A figure's sizes, from its maps' shapes alone (:func:`figure_layout`)."""

    blocks: tuple[int, int, int]  # panels per block of a row: inputs, partial maps, results
    limit: int  # the longest side a map's values are drawn at (a larger map: its block means)
    sizes: dict[tuple[int, int], tuple[int, int]]  # the shape of a map's drawn values -> its box (h, w)
    cell: tuple[int, int]  # (width, height) of every map's cell
    size: tuple[int, int]  # (width, height) of the picture


def figure_layout(layer: Layer, activation: str, rows: int, panel: int = PANEL, max_panel: int = MAX_PANEL,
                  width: int | None = None) -> Layout:
    """The sizes of a figure of ``rows`` filters of ``layer`` (:func:`plan_figure`, and the memory a
    figure needs before the layer is computed). A figure that fits ``width`` as it is keeps its
    layout; a wider one gets :func:`panel_limits` and cells at least :data:`LABEL_CELL` wide."""
    blocks = panel_maps.row_counts(layer, activation)
    natural = _layout(layer, blocks, rows, panel, max_panel, MIN_CELL)
    if width is None or natural.size[0] <= width:
        return natural
    return _layout(layer, blocks, rows, *panel_limits(blocks, panel, max_panel, width), LABEL_CELL)


def _layout(layer: Layer, blocks: tuple[int, int, int], rows: int, panel: int, limit: int, narrowest: int) -> Layout:
    full = {(int(hw[0]), int(hw[1])) for hw in (layer.x.shape[:2], layer.geometry.out_hw)}
    shapes = {panel_maps.drawn_shape(hw, limit) for hw in full}
    sizes = {hw: display_size(hw, panel, limit) for hw in shapes}
    # maps drawn as block means fill the room they were reduced for (a portrait photo's too)
    cell_w = max(narrowest, *(w for _, w in sizes.values()), limit if shapes != full else 0)
    cell_h = max(h for h, _ in sizes.values())
    # a map much smaller than the cell (a strided output beside its input) is enlarged further, by
    # a whole factor, so that every panel of a row covers about the same area as the input it reads
    for (h, w), (dh, dw) in list(sizes.items()):
        if dh % h == 0 and dw % w == 0:
            k = max(dh // h, min(cell_h // h, cell_w // w))
            sizes[(h, w)] = (h * k, w * k)
    n_cells = sum(blocks)
    fig_w = 2 * MARGIN + n_cells * cell_w + (n_cells - len(blocks)) * GAP + (len(blocks) - 1) * BLOCK_GAP
    row_h = HEAD_H + LABEL_H + cell_h + RANGE_H + BAR_H + BAR_LABEL_H
    fig_h = 2 * MARGIN + TITLE_H + rows * row_h + (rows - 1) * ROW_GAP
    return Layout(blocks, limit, sizes, (cell_w, cell_h), (fig_w, fig_h))


def plan_figure(
    result: LayerResult,
    filters: Sequence[int],
    names: Sequence[str],
    *,
    maps: Mapping[int, np.ndarray] | None = None,
    panel: int = PANEL,
    max_panel: int = MAX_PANEL,
    title: str | None = None,
    width: int | None = None,
) -> FigurePlan:
    """Where everything of :func:`figure_image` goes, and what each panel shows.

    ``maps[f]`` is ``engine.filter_partials(result.layer, f)``, ``(H', W', Cg)``, if the caller has
    it; else each panel's values are made at the size it is drawn (:mod:`convcli.figure.panels`).
    ``width``: the most pixels the figure may be wide (:func:`panel_limits`); ``None``: no limit.
    """
    chosen = _check(result, filters, names, panel, max_panel, width)
    layer = result.layer
    layout = figure_layout(layer, result.activation, len(chosen), panel, max_panel, width)
    (width, height), (cell_w, cell_h), sizes = layout.size, layout.cell, layout.sizes
    row_h = HEAD_H + LABEL_H + cell_h + RANGE_H + BAR_H + BAR_LABEL_H
    if width * height > MAX_FIGURE_PIXELS:  # before any map is made
        raise ResourceError(
            f"the figure would be {width}×{height} pixels ({width * height / 1e6:.0f} MP, limit "
            f"{MAX_FIGURE_PIXELS / 1e6:.0f} MP); draw fewer filters or smaller panels"
        )
    source = panel_maps.PanelMaps(result, layout.limit, maps)
    views = [FilterSum.of(result, f, names) for f in chosen]
    rows_maps = [source.row(view) for view in views]

    rows = []
    y = MARGIN + TITLE_H
    for view, row_blocks in zip(views, rows_maps, strict=True):
        map_y = y + HEAD_H + LABEL_H
        mid_y = map_y + cell_h // 2
        panels: list[PanelPlan] = []
        bars: list[BarPlan] = []
        ops: list[tuple[str, int, int]] = []
        x = MARGIN
        scales = row_scales(row_blocks, view.output_shared)
        for b, block in enumerate(row_blocks):
            first_x = x
            bar_y = map_y + cell_h + RANGE_H
            for i, m in enumerate(block):
                scale = scales[b][i]
                h, w = sizes[m.values.shape]
                x0, y0 = x + (cell_w - w) // 2, map_y + (cell_h - h) // 2
                box = Box(x0, y0, x0 + w, y0 + h)
                panels.append(PanelPlan(
                    m.kind, m.title, m.note, m.values, scale, box,
                    Box(x, y + HEAD_H, x + cell_w, map_y), Box(x, map_y + cell_h, x + cell_w, map_y + cell_h + RANGE_H),
                ))  # fmt: skip
                x += cell_w
                if i == len(block) - 1 or scales[b][i + 1] is not scale:
                    # one bar under the panels that share a scale (an output on its own: a bar of its own)
                    bars.append(BarPlan(scale, Box(first_x, bar_y, x, bar_y + BAR_H),
                                        Box(first_x, bar_y + BAR_H, x, bar_y + BAR_H + BAR_LABEL_H)))
                    first_x = x + GAP
                if i < len(block) - 1:
                    # inputs stand side by side, partials add up, the pre-activation goes through the activation
                    if b:
                        ops.append((("+", "→")[b - 1], x + GAP // 2, mid_y))
                    x += GAP
            if b < len(row_blocks) - 1:
                ops.append((("⊛", "=")[b], x + BLOCK_GAP // 2, mid_y))
                x += BLOCK_GAP
        heading = f"filter {view.index}"
        if view.grouped:
            first, last = view.group_channels
            heading += (f" · group {view.group}, input channels {first}–{last}" if last > first
                        else f" · group {view.group}, input channel {first}")  # depthwise: one channel
        rows.append(RowPlan(view.index, heading, Box(MARGIN, y, width - MARGIN, y + HEAD_H), panels, bars, ops))
        y += row_h + ROW_GAP

    return FigurePlan(
        (width, height), (cell_w, cell_h), _title(result, title), LEGEND,
        Box(MARGIN, MARGIN, width - MARGIN, MARGIN + TITLE_H), rows,
    )  # fmt: skip


LEGEND = (
    "Each row: input channels ⊛ their kernel slices = partial sums; partials + bias = pre-activation. "
    "Inputs in grey (black → white); values blue < 0 < red, white at 0; the partial maps and their sum "
    "share one scale (bar below them)."
)


def _title(result: LayerResult, source: str | None) -> str:
    layer = result.layer
    g = layer.geometry
    h, w, c = layer.x.shape
    ho, wo = g.out_hw
    parts = [
        f"Conv2D {g.kernel_hw[0]}×{g.kernel_hw[1]}",
        f"stride {describe.square_text(g.stride)}",
        f"pads {describe.pair_text(g.pads[:2])} × {describe.pair_text(g.pads[2:])}" if any(g.pads) else "no padding",
    ]
    if g.dilation != (1, 1):
        parts.append(f"dilation {describe.shape_text(g.dilation)}")
    if layer.groups > 1:
        parts.append(f"groups {layer.groups}")
    parts.append(f"{layer.filters} filter{'s' if layer.filters != 1 else ''}, {result.activation}")
    text = ", ".join(parts) + f" · input {h}×{w}×{c} → output {ho}×{wo}×{layer.filters}"
    return f"{source} · {text}" if source else text
