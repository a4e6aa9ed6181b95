"""The figure's plan, every box computed before anything is drawn (:func:`plan_figure`).

The figure is a layer's computation as one picture, the whole sum of each shown filter::

    input R  ⊛  kernel R  =  partial R
    input G  ⊛  kernel G  =  partial G  +  bias  =  pre-activation z  →  output = f(z)
    input B  ⊛  kernel B  =  partial B

- a line per input channel of the filter's group (``result.layer.x``, ``(H, W, C)``): the channel,
  its kernel slice (the weights written in up to 7×7) and its partial map (``(H', W')``);
- then the bias (a square with its value), the pre-activation (the partials' sum plus the bias) and,
  past the activation's name and formula, the output (none for ``linear``, as in the terminal);
- beside the channels' lines, or under them when ``--figure-width`` is too narrow (``wrapped``);
- filters identical to one before them (same weights and bias) are drawn once, with a note.

More than ``selection.MAX_CHANNELS_SHOWN`` channels: the ``selection.TOP_CHANNELS`` largest (by mean
``|partial|``) a line each, and one more line holds the sum of the others. A map of at most
:data:`~convcli.figure.layout.NUMBERS_MAX` values a side has its values written in its cells.

Colours (:func:`row_scales`): the inputs are a picture, black (min) to white (max). The partial
maps, the pre-activation and the output share ONE scale (the output when it is in their units,
:func:`convcli.present.filtersum.output_scale`; else it has a scale and a bar of its own), drawn as
a bar under each block, in the palette of the terminal (:data:`convcli.present.colour.SIGNED`): blue below 0,
white at 0, red above, symmetric around 0 and ending at the 99th percentile of ``|value|`` (the bar
then says ``≤ -m`` and ``≥ m``): a photo's few strongest edges would otherwise leave every other
value near-white. Maps all ≥ 0 go from white at 0 to red, so a value has one colour everywhere.
Non-finite values are green. Under each panel: its own exact value range.

Sizes (:func:`~convcli.figure.panels.display_size`, :mod:`convcli.figure.layout`): a map is drawn
pixel for pixel when its long side is between
``panel`` (default 256) and ``max_panel`` (default 1024). A smaller map is enlarged by the
smallest whole factor that reaches ``panel`` (one value is one visible block, a 3×3 map nine
squares); a larger one is drawn as the means of its ``k × k`` blocks, ``k`` whole, the smallest
bringing it to ``max_panel`` or less (values averaged, not colours; never made whole:
:mod:`convcli.figure.panels`). A figure wider than ``width`` gets lower limits, until it fits
or its panels reach ``LABEL_CELL`` (:func:`figure_layout`). Every cell of a figure has the
size of its largest drawn map (as wide as the limit when maps are block means: room for the
labels), and a map that would fill less than half of it (a strided output) is enlarged by a
further whole factor. The layout depends only on the maps' shapes and the
limits, never on the font, so :func:`plan_figure` can be checked against the picture.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from convcli.engine import ACTIVATION_FORMULAS, LayerResult
from convcli.errors import ConfigError, ResourceError, ShapeError
from convcli.figure import dominant, marks
from convcli.figure import panels as panel_maps
from convcli.figure.boxes import BarPlan, Box, FigurePlan, PanelPlan, RowPlan
from convcli.figure.layout import (
    ACT_GAP,
    BAR_H,
    BAR_LABEL_H,
    BIAS_COL,
    BIAS_PX,
    BLOCK_GAP,
    HEAD_H,
    KERNEL_COL,
    LABEL_H,
    LINE_GAP,
    MARGIN,
    NUMBERS_MAX,
    NUMBERS_MAX_KERNEL,
    RANGE_H,
    ROW_GAP,
    Layout,
    figure_layout,
    filter_height,
    title_height,
)
from convcli.figure.panels import MAX_PANEL, PANEL, PANEL_LIMITS
from convcli.figure.title import DepthSlice, figure_title
from convcli.layer.spec import ConvSpec
from convcli.present import colour, describe
from convcli.present.filtersum import FilterSum

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


# ------------------------------------------------------------------------------------------------
# The plan: every box of the figure, computed before anything is drawn


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


def identical_filters(result: LayerResult, filters: Sequence[int]) -> dict[int, tuple[int, ...]]:
    """``{first: (later, ...)}``: each filter of ``filters`` drawn, with those after it that have the
    same weights and bias (a preset such as ``--init sobel-x -f 2`` makes identical filters)."""
    layer = result.layer
    drawn: dict[int, list[int]] = {}
    for f in filters:
        twin = next((g for g in drawn if layer.groups == 1 and result.bias[g] == result.bias[f]
                     and np.array_equal(layer.kernel[..., g], layer.kernel[..., f])), None)
        if twin is None:
            drawn[f] = []
        else:
            drawn[twin].append(f)
    return {f: tuple(same) for f, same in drawn.items()}


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
    trace_at: tuple[int, int] | None = None,
    spec: ConvSpec | None = None,
    depth: DepthSlice | None = None,
) -> FigurePlan:
    """Where everything of :func:`figure_image` goes, and what each panel shows.

    ``maps[f]`` is ``engine.filter_partials(result.layer, f)``, ``(H', W', Cg)``, if the caller has
    it; else each panel's values are made at the size it is drawn (:mod:`convcli.figure.panels`).
    ``width``: the most pixels the figure may be wide (:func:`figure_layout`); ``None``: no limit.
    Filters identical to one before them (weights and bias) are drawn once, with a note.
    ``trace_at``: an output position whose window is marked on every panel (:mod:`.marks`).
    ``spec``: the layer as asked when it is not the classic Conv2D (its kind and axes name the title;
    a 1-D layer runs as one row of ``result``); ``depth``: the 3-D layer ``result`` is a depth slice of.
    """
    chosen = _check(result, filters, names, panel, max_panel, width)
    if trace_at is not None:
        marks.window(result.layer, trace_at)  # a position outside the output: refused before any map is made
    twins = identical_filters(result, chosen)
    layer = result.layer
    layout = figure_layout(layer, result.activation, len(twins), panel, max_panel, width)
    (fig_w, fig_h) = layout.size
    if fig_w * fig_h > MAX_FIGURE_PIXELS:  # before any map is made
        raise ResourceError(
            f"the figure would be {fig_w}×{fig_h} pixels ({fig_w * fig_h / 1e6:.0f} MP, limit "
            f"{MAX_FIGURE_PIXELS / 1e6:.0f} MP); draw fewer filters or smaller panels"
        )
    source = panel_maps.PanelMaps(result, layout.limit, maps)
    rows = []
    top = title_height(fig_w)
    y = MARGIN + top
    for f, same in twins.items():
        view = FilterSum.of(result, f, names)
        rows.append(_plan_filter(view, source.row(view), layout, y, same))
        y += filter_height(layout.blocks[1], layout.cell[1], layout.wrapped) + ROW_GAP
    plan = FigurePlan(
        layout.size, layout.cell, figure_title(result, title, spec, depth), LEGEND,
        Box(MARGIN, MARGIN, fig_w - MARGIN, MARGIN + top), rows, layout.wrapped,
    )  # fmt: skip
    return plan if trace_at is None else marks.with_trace(plan, layer, trace_at,
                                                          one_axis=spec is not None and spec.ndim == 1)


class _Placer:
    """Collects one filter's panels, in the layout's cells."""

    def __init__(self, layout: Layout, in_hw: tuple[int, int], out_hw: tuple[int, int]) -> None:
        self.layout = layout
        self.in_hw, self.out_hw = in_hw, out_hw
        self.panels: list[PanelPlan] = []

    def add(self, kind: str, title: str, note: str, values: np.ndarray, scale: Scale, x: int, top: int,
            cell_w: int, hw: tuple[int, int] | None = None, *, channel: int | None = None,
            numbers: bool | None = None) -> PanelPlan:
        """A panel centred in the cell ``[x, x + cell_w)`` whose title starts at ``top``."""
        cell_h = self.layout.cell[1]
        h, w = hw if hw is not None else self.layout.sizes[values.shape]
        map_y = top + LABEL_H
        x0, y0 = x + (cell_w - w) // 2, map_y + (cell_h - h) // 2
        if numbers is None:
            # block means of a larger map never get numbers: only a map drawn value for value
            numbers = max(values.shape) <= NUMBERS_MAX and values.shape == (self.in_hw if kind == "input" else self.out_hw)
        p = PanelPlan(kind, title, note, values, scale, Box(x0, y0, x0 + w, y0 + h), Box(x, top, x + cell_w, map_y),
                      Box(x, map_y + cell_h, x + cell_w, map_y + cell_h + RANGE_H), numbers, channel)
        self.panels.append(p)
        return p


def _plan_filter(view: FilterSum, blocks: list[list[panel_maps.Map]], layout: Layout, y: int,
                 same: tuple[int, ...]) -> RowPlan:
    inputs, parts, results = blocks
    layer = view.result.layer
    cell_w, cell_h = layout.cell
    line = LABEL_H + cell_h + RANGE_H
    kcol = max(KERNEL_COL, layout.kernel[1])
    scales = row_scales(blocks, view.output_shared)
    (h, w), (ho, wo) = layer.x.shape[:2], layer.geometry.out_hw
    placer = _Placer(layout, (int(h), int(w)), (int(ho), int(wo)))
    kernel = view.kernel
    kscale = Scale.clipped_at([kernel], 100.0, from_zero=True)  # a few weights: none clipped
    ops: list[tuple[str, int, int]] = []
    labels: list[tuple[str, int, int]] = []
    x_in = MARGIN
    x_k = x_in + cell_w + BLOCK_GAP
    x_p = x_k + kcol + BLOCK_GAP
    top0 = y + HEAD_H
    for i, part in enumerate(view.parts()):
        top = top0 + i * (line + LINE_GAP)
        mid = top + LABEL_H + cell_h // 2
        m = parts[i]
        if i:  # the partial maps add up, line after line
            ops.append(("+", x_p + cell_w // 2, top - LINE_GAP // 2 - 2))
        if not part.folded:
            c = part.positions[0]
            ch = view.channels[c]
            placer.add("input", inputs[i].title, inputs[i].note, inputs[i].values, scales[0][i], x_in, top, cell_w,
                       channel=ch)
            placer.add("kernel", f"kernel {part.label}", describe.value_range(kernel[:, :, c]), kernel[:, :, c],
                       kscale, x_k, top, kcol, layout.kernel, channel=ch,
                       numbers=max(kernel.shape[:2]) <= NUMBERS_MAX_KERNEL)
            ops += [("⊛", x_in + cell_w + BLOCK_GAP // 2, mid), ("=", x_k + kcol + BLOCK_GAP // 2, mid)]
            placer.add(m.kind, m.title, m.note, m.values, scales[1][i], x_p, top, cell_w, channel=ch)
        else:
            labels.append((f"{len(part.positions)} more channels", x_in + cell_w // 2, mid))
            labels.append((f"⊛ their {len(part.positions)} slices", x_k + kcol // 2, mid))
            ops.append(("=", x_k + kcol + BLOCK_GAP // 2, mid))
            placer.add(m.kind, m.title, m.note, m.values, scales[1][i], x_p, top, cell_w)
    lines = len(parts)
    channels_bottom = top0 + lines * line + (lines - 1) * LINE_GAP
    bars: list[BarPlan] = []

    def bar(scale: Scale, x0: int, x1: int, at: int) -> None:
        bars.append(BarPlan(scale, Box(x0, at, x1, at + BAR_H), Box(x0, at + BAR_H, x1, at + BAR_H + BAR_LABEL_H)))

    bar(scales[0][0], x_in, x_in + cell_w, channels_bottom)
    bar(kscale, x_k, x_k + kcol, channels_bottom)
    if layout.wrapped:
        rtop = channels_bottom + BAR_H + BAR_LABEL_H + LINE_GAP
        x = MARGIN + BLOCK_GAP
        ops.append(("+", MARGIN + BLOCK_GAP // 2, rtop + LABEL_H + cell_h // 2))
        bar_y = rtop + line
        bar(scales[1][0], x_p, x_p + cell_w, channels_bottom)  # the partials' scale, under them too
    else:  # centred on the channels' lines, with the dominant-channel map under them when there is room
        block = 2 * line + LINE_GAP if lines >= 2 else line
        rtop = top0 + (channels_bottom - top0 - block) // 2
        x = x_p + cell_w + BLOCK_GAP
        ops.append(("+", x - BLOCK_GAP // 2, rtop + LABEL_H + cell_h // 2))
        bar_y = channels_bottom
    mid = rtop + LABEL_H + cell_h // 2
    shared = scales[1][0]
    first_shared = x_p if not layout.wrapped else x
    bias = np.array([[view.bias if view.use_bias else 0.0]])
    placer.add("bias", "bias" if view.use_bias else "no bias", "everywhere", bias, shared, x, rtop, BIAS_COL, (BIAS_PX, BIAS_PX),
               numbers=True)
    x += BIAS_COL + BLOCK_GAP
    ops.append(("=", x - BLOCK_GAP // 2, mid))
    pre = results[0]
    placer.add("preactivation", "pre-activation z", pre.note, pre.values, scales[2][0], x, rtop, cell_w)
    if not layout.wrapped and lines >= 2:
        _add_dominant(placer, view, parts, x, rtop + line + LINE_GAP, cell_w)
    last_shared = x + cell_w
    x += cell_w
    if len(results) > 1:
        out = results[1]
        ops.append(("→", x + ACT_GAP // 2, mid))
        labels.append((view.activation, x + ACT_GAP // 2, mid - FONT_OP))
        x += ACT_GAP
        formula = ACTIVATION_FORMULAS.get(view.activation, f"{view.activation}(z)")
        placer.add("output", f"output = {formula}", out.note, out.values, scales[2][1], x, rtop, cell_w)
        if view.output_shared:
            last_shared = x + cell_w
    bar(shared, first_shared, last_shared, bar_y)
    if len(results) > 1 and not view.output_shared:  # an output in other units: a bar of its own, last
        bar(scales[2][1], x, x + cell_w, bar_y)
    heading = f"filter {view.index}"
    if view.grouped:
        first, last = view.group_channels
        heading += (f" · group {view.group}, input channels {first}–{last}" if last > first
                    else f" · group {view.group}, input channel {first}")  # depthwise: one channel
    if same:
        others = ", ".join(map(str, same))
        heading += (f" (filter{'s' if len(same) > 1 else ''} {others} identical: same weights and bias,"
                    " drawn once)")
    return RowPlan(view.index, heading, Box(MARGIN, y, layout.size[0] - MARGIN, y + HEAD_H), placer.panels, bars,
                   ops, labels, same)


def _add_dominant(placer: _Placer, view: FilterSum, parts: list[panel_maps.Map], x: int, top: int,
                  cell_w: int) -> None:
    """The categorical map of the part (channel, or Σ others) of largest ``|partial|`` at each position."""
    index = dominant.dominant([m.values for m in parts])
    labels = [p.label for p in view.parts()]
    colours = dominant.palette(labels)
    shares = dominant.shares(index, len(labels))
    legend = tuple((f"{label} {share:.0f}%", colour) for label, share, colour in zip(labels, shares, colours,
                                                                                      strict=True))
    placer.add("dominant", "dominant channel (largest |partial|)", "", index.astype(np.float64), Scale(0.0, 0.0, False), x, top, cell_w,
               numbers=False)
    p = placer.panels[-1]
    placer.panels[-1] = replace(p, categories=colours, legend=legend)


LEGEND = (
    "Each filter: every input channel ⊛ its kernel slice = its partial map; the partials + bias = the "
    "pre-activation z; the activation makes the output. Inputs in grey; values blue < 0 < red, white at 0; "
    "one colour bar per scale."
)
