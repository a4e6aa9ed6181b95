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
:func:`convcli.present.colour.same_units`; else the results keep their own), drawn as a bar under
each block, in the palette of the terminal (:data:`convcli.present.colour.SIGNED`): blue below 0,
white at 0, red above, symmetric around 0 and ending at the 99th percentile of ``|value|`` (the bar
then says ``≤ -m`` and ``≥ m``): a photo's few strongest edges would otherwise leave every other
value near-white. Maps all ≥ 0 go from white at 0 to red, so a value has one colour everywhere.
Non-finite values are green. Under each panel: its own exact value range.

Sizes (:func:`display_size`): a map is drawn pixel for pixel when its long side is between
``panel`` (default 256) and ``max_panel`` (default 1024), so a photo keeps its fine detail. A
smaller map is enlarged by the smallest whole factor that reaches ``panel`` (one value is one
visible block, a 3×3 map nine squares); a larger one is reduced to ``max_panel`` by averaging
values (not colours). Every cell of a figure has the size of its largest drawn map, and a map
that would fill less than half of it (a strided output) is enlarged by a further whole factor.
The layout depends only on the maps' shapes and the two limits, never on the font, so
:func:`plan_figure` can be checked against the picture.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from convcli import engine
from convcli.engine import LayerResult
from convcli.errors import ConfigError, ResourceError, ShapeError
from convcli.layer.spec import group_of
from convcli.present import colour, describe, selection

# ------------------------------------------------------------------------------------------------
# Layout, in pixels

PANEL = 256  #: default minimum long side of a drawn map
MAX_PANEL = 1024  #: default maximum long side of a drawn map
PANEL_LIMITS = (16, 4096)
MARGIN = 24  #: around the whole figure
GAP = 32  #: between panels of one block (room for "+")
BLOCK_GAP = 56  #: between blocks (room for "⊛", "=", "→")
MIN_CELL = 170  #: narrowest cell, so a panel's title and range fit beside a narrow map
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


def row_scales(blocks: Sequence[Sequence[_Map]]) -> list[Scale]:
    """The scales of a row's blocks (inputs, partials, results): the inputs in grey; the partial maps,
    the pre-activation and the output on ONE scale so that the parts compare with their sum
    (:func:`convcli.present.colour.output_shares_scale` says when the output joins them: when the
    activation passes large values through). Otherwise (a sigmoid's 0 … 1 beside ±300) the
    results keep a scale of their own, as one block shares one bar."""
    inputs, parts, results = blocks
    image = ImageScale.fit(m.values for m in inputs)
    if len(results) == 1 or colour.output_shares_scale(results[0].values, results[1].values):
        shared = Scale.of_values([*(m.values for m in parts), *(m.values for m in results)])
        return [image, shared, shared]
    return [image, Scale.of_values(m.values for m in parts), Scale.of_values(m.values for m in results)]


def display_size(hw: Sequence[int], panel: int = PANEL, max_panel: int = MAX_PANEL) -> tuple[int, int]:
    """``(h, w)`` at which an ``(H, W)`` map is drawn.

    Long side under ``panel``: enlarged ``k`` times, ``k`` the smallest whole number reaching
    ``panel`` (so at most ``2·panel``). Up to ``max_panel``: as is. Beyond: reduced to ``max_panel``.
    """
    h, w = int(hw[0]), int(hw[1])
    long = max(h, w)
    if long > max_panel:
        r = max_panel / long
        return max(1, round(h * r)), max(1, round(w * r))
    k = max(1, -(-panel // long))
    return h * k, w * k


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
    """A colour bar under a block of panels that share ``scale``; its end values in ``label_box``."""

    scale: Scale
    box: Box
    label_box: Box


@dataclass(frozen=True)
class RowPlan:
    """One filter's row: its panels left to right, a bar per block, the operators between them."""

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


@dataclass(frozen=True)
class _Map:
    kind: str
    title: str
    values: np.ndarray


def _note(values: np.ndarray) -> str:
    text = describe.value_range(values)
    bad = int((~np.isfinite(values)).sum()) if values.dtype.kind == "f" else 0
    return f"{text} · {bad} non-finite" if bad else text


def _row_maps(result: LayerResult, f: int, names: Sequence[str], partials: np.ndarray) -> list[list[_Map]]:
    """The blocks of filter ``f``'s row: inputs, partials, then pre-activation (and output)."""
    channels = selection.group_channels(result, f)
    shown, others = selection.shown_channels(result, f)
    x = result.layer.x
    inputs = [_Map("input", f"input {names[channels[c]]}", x[:, :, channels[c]]) for c in shown]
    parts = [_Map("partial", f"partial {names[channels[c]]}", partials[:, :, c]) for c in shown]
    if others:
        parts.append(_Map("others", f"Σ {len(others)} others", partials[:, :, others].sum(axis=2)))
    bias = f"Σ + bias {describe.fmt(float(result.bias[f]))}" if result.use_bias else "Σ, no bias"
    results = [_Map("preactivation", f"pre-activation = {bias}", result.preactivation[:, :, f])]
    if result.activation != "linear":
        results.append(_Map("output", f"output = {result.activation}(pre-act.)", result.output[:, :, f]))
    return [inputs, parts, results]


def _check(result: LayerResult, filters: Sequence[int], names: Sequence[str], panel: int, max_panel: int) -> list[int]:
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


def plan_figure(
    result: LayerResult,
    filters: Sequence[int],
    names: Sequence[str],
    *,
    maps: Mapping[int, np.ndarray] | None = None,
    panel: int = PANEL,
    max_panel: int = MAX_PANEL,
    title: str | None = None,
) -> FigurePlan:
    """Where everything of :func:`figure_image` goes, and what each panel shows.

    ``maps[f]`` is ``engine.filter_partials(result.layer, f)``, ``(H', W', Cg)``; computed when missing.
    """
    chosen = _check(result, filters, names, panel, max_panel)
    layer = result.layer
    ho, wo = layer.geometry.out_hw
    rows_maps = []
    for f in chosen:
        partials = maps[f] if maps is not None and f in maps else engine.filter_partials(layer, f)
        if partials.shape != (ho, wo, layer.cg):
            raise ShapeError(f"partial maps for filter {f} are {partials.shape}, expected {(ho, wo, layer.cg)}")
        rows_maps.append(_row_maps(result, f, names, partials))

    sizes = {m.values.shape: display_size(m.values.shape, panel, max_panel) for blocks in rows_maps for b in blocks for m in b}
    cell_w = max(MIN_CELL, *(w for _, w in sizes.values()))
    cell_h = max(h for h, _ in sizes.values())
    # a map much smaller than the cell (a strided output beside its input) is enlarged further, by
    # a whole factor, so that every panel of a row covers about the same area as the input it reads
    for (h, w), (dh, dw) in list(sizes.items()):
        if dh % h == 0 and dw % w == 0:
            k = max(dh // h, min(cell_h // h, cell_w // w))
            sizes[(h, w)] = (h * k, w * k)
    blocks = [len(b) for b in rows_maps[0]]
    n_cells = sum(blocks)
    width = 2 * MARGIN + n_cells * cell_w + (n_cells - len(blocks)) * GAP + (len(blocks) - 1) * BLOCK_GAP
    row_h = HEAD_H + LABEL_H + cell_h + RANGE_H + BAR_H + BAR_LABEL_H
    height = 2 * MARGIN + TITLE_H + len(chosen) * row_h + (len(chosen) - 1) * ROW_GAP
    if width * height > MAX_FIGURE_PIXELS:
        raise ResourceError(
            f"the figure would be {width}×{height} pixels ({width * height / 1e6:.0f} MP, limit "
            f"{MAX_FIGURE_PIXELS / 1e6:.0f} MP); draw fewer filters or smaller panels"
        )

    rows = []
    y = MARGIN + TITLE_H
    for f, row_blocks in zip(chosen, rows_maps, strict=True):
        map_y = y + HEAD_H + LABEL_H
        mid_y = map_y + cell_h // 2
        panels: list[PanelPlan] = []
        bars: list[BarPlan] = []
        ops: list[tuple[str, int, int]] = []
        x = MARGIN
        scales = row_scales(row_blocks)
        for b, block in enumerate(row_blocks):
            scale = scales[b]
            first_x = x
            for i, m in enumerate(block):
                h, w = sizes[m.values.shape]
                x0, y0 = x + (cell_w - w) // 2, map_y + (cell_h - h) // 2
                box = Box(x0, y0, x0 + w, y0 + h)
                panels.append(PanelPlan(
                    m.kind, m.title, _note(m.values), m.values, scale, box,
                    Box(x, y + HEAD_H, x + cell_w, map_y), Box(x, map_y + cell_h, x + cell_w, map_y + cell_h + RANGE_H),
                ))  # fmt: skip
                x += cell_w
                if i < len(block) - 1:
                    # inputs stand side by side, partials add up, the pre-activation goes through the activation
                    if b:
                        ops.append((("+", "→")[b - 1], x + GAP // 2, mid_y))
                    x += GAP
            bar_y = map_y + cell_h + RANGE_H
            bars.append(BarPlan(scale, Box(first_x, bar_y, x, bar_y + BAR_H),
                                Box(first_x, bar_y + BAR_H, x, bar_y + BAR_H + BAR_LABEL_H)))
            if b < len(row_blocks) - 1:
                ops.append((("⊛", "=")[b], x + BLOCK_GAP // 2, mid_y))
                x += BLOCK_GAP
        heading = f"filter {f}"
        if layer.groups > 1:
            channels = selection.group_channels(result, f)
            heading += f" · group {group_of(f, layer.filters, layer.groups)}, input channels {channels[0]}–{channels[-1]}"
        rows.append(RowPlan(f, heading, Box(MARGIN, y, width - MARGIN, y + HEAD_H), panels, bars, ops))
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


