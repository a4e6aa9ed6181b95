"""A layer's computation as one picture: a row per filter, from input channels to output.

Each row reads left to right as the sum it draws::

    input R  input G  input B  ⊛  partial R + partial G + partial B  =  pre-activation  →  output

- *inputs*: the channels the filter's group reads (``result.layer.x``, ``(H, W, C)``);
- *partials*: each channel cross-correlated with its kernel slice (``(H', W')`` each);
- *pre-activation*: their sum plus the bias; *output*: after the activation (no output panel for
  ``linear``, where it equals the pre-activation, as in the terminal view).

More than ``render.MAX_CHANNELS_SHOWN`` channels: the ``render.TOP_CHANNELS`` largest (by mean
``|partial|``) are drawn, and one more partial panel holds the sum of the others.

Colours: one scale per block of a row (inputs; partials; pre-activation with output), drawn as a
bar under the block with its end values, so panels in a block compare directly. Data with a
negative value get a diverging blue-white-red scale symmetric around 0 (ColorBrewer RdBu) that
ends at the 99th percentile of ``|value|`` (the bar then says ``≤ -m`` and ``≥ m``): a photo's
few strongest edges would otherwise leave every other value near-white. Non-negative data get a
black-to-white scale from their min to their max. Non-finite values are green. Under each panel:
its own exact value range.

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

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from convcli import engine, render
from convcli.engine import LayerResult
from convcli.errors import ConfigError, ResourceError, ShapeError

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

    Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

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
NONFINITE = (0, 190, 0)

# ColorBrewer RdBu (11 classes), reversed so that negative is blue and positive red.
DIVERGING_ANCHORS = (
    "#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
    "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f",
)  # fmt: skip
SEQUENTIAL_ANCHORS = ("#000000", "#ffffff")
LUT_SIZE = 256
#: Diverging scales end at this percentile of |value| (see :meth:`Scale.fit`).
CLIP_PERCENTILE = 99.0


def _lut(anchors: Sequence[str]) -> np.ndarray:
    """``LUT_SIZE × 3`` uint8 colours interpolated linearly between evenly spaced anchors."""
    rgb = np.array([[int(a[i : i + 2], 16) for i in (1, 3, 5)] for a in anchors], dtype=np.float64)
    at = np.linspace(0.0, 1.0, len(anchors))
    t = np.linspace(0.0, 1.0, LUT_SIZE)
    return np.rint(np.stack([np.interp(t, at, rgb[:, k]) for k in range(3)], axis=1)).astype(np.uint8)


DIVERGING = _lut(DIVERGING_ANCHORS)
SEQUENTIAL = _lut(SEQUENTIAL_ANCHORS)


# ------------------------------------------------------------------------------------------------
# Colour scales


@dataclass(frozen=True)
class Scale:
    """Values -> colours: ``lo`` maps to the palette's first colour, ``hi`` to its last.

    Diverging scales are ``[-m, m]`` with 0 in the (white) middle. ``clipped``: some values lie
    beyond the ends and are drawn in the end colours.
    """

    lo: float
    hi: float
    diverging: bool
    clipped: bool = False

    @classmethod
    def fit(cls, maps: Iterable[np.ndarray]) -> Scale:
        """The scale for maps drawn together: diverging if any finite value is negative.

        A diverging scale ends at the :data:`CLIP_PERCENTILE` th percentile of ``|value|`` (an
        actual value, never interpolated, so maps of under 100 values are not clipped): the
        few strongest edges of a photo would otherwise push everything else to near-white.
        A sequential one spans ``[min, max]``.
        """
        finite = []
        for a in maps:
            a = np.asarray(a).ravel()
            if a.size and not (np.isfinite(a.min()) and np.isfinite(a.max())):  # only then a masked copy
                a = a[np.isfinite(a)]
            if a.size:
                finite.append(a)
        if not finite:
            return cls(0.0, 0.0, False)
        lo, hi = min(float(a.min()) for a in finite), max(float(a.max()) for a in finite)
        if lo >= 0:
            return cls(lo, hi, False)
        magnitude = np.concatenate([np.abs(a) for a in finite])  # exact in the maps' own dtype
        top = float(magnitude.max())
        # np.percentile(..., method="higher") is the element at ceil(q·(n - 1)): one partition, no sort
        at = int(np.ceil(np.float64(CLIP_PERCENTILE) / 100 * (magnitude.size - 1)))
        m = float(np.partition(magnitude, at)[at]) or top
        return cls(-m, m, True, clipped=m < top)

    @property
    def lut(self) -> np.ndarray:
        return DIVERGING if self.diverging else SEQUENTIAL

    def unit(self, values: np.ndarray) -> np.ndarray:
        """Positions in ``[0, 1]`` along the palette (NaN stays NaN; a zero-width scale gives 0.5)."""
        v = np.asarray(values, dtype=np.float64)
        if self.hi <= self.lo:
            return np.where(np.isnan(v), np.nan, 0.5)
        with np.errstate(invalid="ignore"):
            return np.clip((v - self.lo) / (self.hi - self.lo), 0.0, 1.0)

    def colours(self, values: np.ndarray) -> np.ndarray:
        """``(..., 3)`` uint8 colours of ``values (...)``; non-finite values are :data:`NONFINITE`."""
        v = np.asarray(values, dtype=np.float64)
        return _colour_units(self.unit(v), ~np.isfinite(v), self.lut)


def _colour_units(t: np.ndarray, bad: np.ndarray, lut: np.ndarray) -> np.ndarray:
    idx = np.rint(np.nan_to_num(t, nan=0.0) * (LUT_SIZE - 1)).astype(np.intp)
    out = lut[idx]
    out[bad] = NONFINITE
    return out


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


def paint(values: np.ndarray, scale: Scale, size: tuple[int, int]) -> np.ndarray:
    """``values (H, W)`` as an ``(h, w, 3)`` uint8 picture of ``size = (h, w)`` in ``scale``'s colours.

    Enlarging repeats each value as an exact block (``size`` a whole multiple of ``(H, W)``);
    reducing averages the values over each output pixel's area (Pillow's BOX filter on 32-bit
    floats), then colours them, so that +m and -m neighbours average to white, not to purple.
    """
    from PIL import Image

    h, w = values.shape
    th, tw = size
    if th % h == 0 and tw % w == 0 and th // h == tw // w:
        k = th // h
        return np.repeat(np.repeat(scale.colours(values), k, axis=0), k, axis=1)
    bad = ~np.isfinite(values)
    with np.errstate(invalid="ignore"):
        t = np.where(bad, np.float32(0.5), _unit32(values, scale))
    bad32 = bad.astype(np.float32)
    # a map many times the panel is first averaged over k×k blocks, so that Pillow's BOX filter reads
    # a map at most twice the panel: the same picture up to rounding, without a full-size pass in Pillow
    k = min(h // th, w // tw)
    if k >= 2:
        t, bad32 = _block_means32(t, k), _block_means32(bad32, k)
    t_small = np.asarray(Image.fromarray(t).resize((tw, th), Image.Resampling.BOX))
    bad_small = np.asarray(Image.fromarray(bad32).resize((tw, th), Image.Resampling.BOX))
    return _colour_units(t_small.astype(np.float64), bad_small >= 0.5, scale.lut)


def _unit32(values: np.ndarray, scale: Scale) -> np.ndarray:
    """:meth:`Scale.unit` in float32 (what Pillow resizes), without a float64 copy of a photo-sized map."""
    v = np.asarray(values, dtype=np.float32)
    if scale.hi <= scale.lo:
        return np.full(v.shape, 0.5, dtype=np.float32)
    t = (v - np.float32(scale.lo)) * np.float32(1.0 / (scale.hi - scale.lo))
    return np.clip(t, np.float32(0.0), np.float32(1.0), out=t)


def _block_means32(a: np.ndarray, k: int) -> np.ndarray:
    """Means of the ``k × k`` blocks of ``a (h, w)`` float32, the last row and column of blocks short:
    ``(ceil(h / k), ceil(w / k))`` float32."""
    return (engine.block_sums(a, k, k) / engine.block_counts(a.shape, k, k)).astype(np.float32)


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
    text = render.value_range(values)
    bad = int((~np.isfinite(values)).sum()) if values.dtype.kind == "f" else 0
    return f"{text} · {bad} non-finite" if bad else text


def _row_maps(result: LayerResult, f: int, names: Sequence[str], partials: np.ndarray) -> list[list[_Map]]:
    """The blocks of filter ``f``'s row: inputs, partials, then pre-activation (and output)."""
    channels = render.group_channels(result, f)
    shown, others = render.shown_channels(result, f)
    x = result.layer.x
    inputs = [_Map("input", f"input {names[channels[c]]}", x[:, :, channels[c]]) for c in shown]
    parts = [_Map("partial", f"partial {names[channels[c]]}", partials[:, :, c]) for c in shown]
    if others:
        parts.append(_Map("others", f"Σ {len(others)} others", partials[:, :, others].sum(axis=2)))
    bias = f"Σ + bias {render.fmt(float(result.bias[f]))}" if result.use_bias else "Σ, no bias"
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
        for b, block in enumerate(row_blocks):
            scale = Scale.fit(m.values for m in block)
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
            channels = render.group_channels(result, f)
            heading += f" · group {f // (layer.filters // layer.groups)}, input channels {channels[0]}–{channels[-1]}"
        rows.append(RowPlan(f, heading, Box(MARGIN, y, width - MARGIN, y + HEAD_H), panels, bars, ops))
        y += row_h + ROW_GAP

    return FigurePlan(
        (width, height), (cell_w, cell_h), _title(result, title), LEGEND,
        Box(MARGIN, MARGIN, width - MARGIN, MARGIN + TITLE_H), rows,
    )  # fmt: skip


LEGEND = (
    "Each row: input channels ⊛ their kernel slices = partial sums; partials + bias = pre-activation. "
    "Colours: blue < 0 < red, black → white for data ≥ 0; one scale per group of panels (bar below it)."
)


def _title(result: LayerResult, source: str | None) -> str:
    layer = result.layer
    g = layer.geometry
    h, w, c = layer.x.shape
    ho, wo = g.out_hw
    parts = [
        f"Conv2D {g.kernel_hw[0]}×{g.kernel_hw[1]}",
        f"stride {render.shape_text(g.stride) if g.stride[0] != g.stride[1] else g.stride[0]}",
        f"pads {render.pair_text(g.pads[:2])} × {render.pair_text(g.pads[2:])}" if any(g.pads) else "no padding",
    ]
    if g.dilation != (1, 1):
        parts.append(f"dilation {render.shape_text(g.dilation)}")
    if layer.groups > 1:
        parts.append(f"groups {layer.groups}")
    parts.append(f"{layer.filters} filter{'s' if layer.filters != 1 else ''}, {result.activation}")
    text = ", ".join(parts) + f" · input {h}×{w}×{c} → output {ho}×{wo}×{layer.filters}"
    return f"{source} · {text}" if source else text


# ------------------------------------------------------------------------------------------------
# Drawing


@functools.cache
def _font(size: int, bold: bool = False) -> Font:
    """DejaVu Sans where installed (it has Σ, ⊛, →, −), else Pillow's own font."""
    from PIL import ImageFont

    for name in ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf") if bold else ("DejaVuSans.ttf",):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            pass
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one small bitmap font
        return ImageFont.load_default()


_ASCII = {"Σ": "sum", "⊛": "*", "→": "->", "−": "-", "×": "x", "…": "...", "·": "-", "≥": ">=", "–": "-"}


@functools.cache
def _has_glyph(font: Font, ch: str) -> bool:
    # a font without a glyph draws its "missing" box, the same as for a private-use code point
    try:
        return bytes(font.getmask(ch)) != bytes(font.getmask("\U000f0000"))
    except UnicodeEncodeError:  # the bitmap font is latin-1 only
        return False


def _safe(font: Font, text: str) -> str:
    return "".join(_ASCII.get(ch, "?") if ord(ch) > 127 and not _has_glyph(font, ch) else ch for ch in text)


def _fit(font: Font, text: str, width: int) -> str:
    """``text`` cut (with an ellipsis) to at most ``width`` pixels."""
    text = _safe(font, text)
    if font.getlength(text) <= width:
        return text
    dots = _safe(font, "…")
    while text and font.getlength(text + dots) > width:
        text = text[:-1]
    return text.rstrip() + dots


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font: Font, width: int,
          *, fill: tuple[int, int, int] = INK, anchor: str = "la") -> None:
    draw.text(xy, _fit(font, text, width), font=font, fill=fill, anchor=anchor)


def draw_figure(plan: FigurePlan) -> Image.Image:
    """The RGB picture that ``plan`` describes."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", plan.size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    width = plan.title_box.width
    t = plan.title_box
    _text(draw, (t.x0, t.y0), plan.title, _font(FONT_TITLE, bold=True), width)
    _text(draw, (t.x0, t.y0 + FONT_TITLE + 12), plan.legend, _font(FONT_SMALL), width, fill=MUTED)

    cell_w = plan.cell[0]
    small, label = _font(FONT_SMALL), _font(FONT_LABEL)
    for r, row in enumerate(plan.rows):
        if r:  # a rule between rows, in the middle of the gap above this one
            y = row.heading_box.y0 - ROW_GAP // 2
            draw.line([(MARGIN, y), (plan.size[0] - MARGIN, y)], fill=RULE, width=1)
        h = row.heading_box
        _text(draw, (h.x0, h.y0 + 4), row.heading, _font(FONT_HEAD, bold=True), h.width)
        for p in row.panels:
            tile = paint(p.values, p.scale, (p.box.height, p.box.width))
            image.paste(Image.fromarray(tile), (p.box.x0, p.box.y0))
            draw.rectangle([p.box.x0 - 1, p.box.y0 - 1, p.box.x1, p.box.y1], outline=BORDER)
            tb, nb = p.title_box, p.note_box
            _text(draw, ((tb.x0 + tb.x1) // 2, tb.y1 - 6), p.title, label, cell_w, anchor="md")
            _text(draw, ((nb.x0 + nb.x1) // 2, nb.y0 + 6), p.note, small, cell_w, fill=MUTED, anchor="ma")
        for bar in row.bars:
            _draw_bar(draw, image, bar, small)
        op_font = _font(FONT_OP, bold=True)
        for symbol, x, y in row.operators:
            draw.text((x, y), _safe(op_font, symbol), font=op_font, fill=MUTED, anchor="mm")
    return image


def _draw_bar(draw: ImageDraw.ImageDraw, image: Image.Image, bar: BarPlan, font: Font) -> None:
    from PIL import Image

    b, s = bar.box, bar.scale
    constant = s.hi <= s.lo
    if constant:  # one value: no gradient to read, only the value's colour
        strip = np.broadcast_to(s.colours(np.array([s.lo])), (b.width, 3))
    else:
        strip = s.lut[np.rint(np.linspace(0, LUT_SIZE - 1, b.width)).astype(np.intp)]
    image.paste(Image.fromarray(np.repeat(strip[None], b.height, axis=0)), (b.x0, b.y0))
    draw.rectangle([b.x0 - 1, b.y0 - 1, b.x1, b.y1], outline=BORDER)
    y = bar.label_box.y0 + 4
    if constant:
        _text(draw, ((b.x0 + b.x1) // 2, y), f"all {render.fmt(s.lo)}", font, b.width, anchor="ma")
        return
    third = b.width // 3
    beyond = ("≤ ", "≥ ") if s.clipped else ("", "")
    _text(draw, (b.x0, y), beyond[0] + render.fmt(s.lo), font, third, anchor="la")
    _text(draw, (b.x1, y), beyond[1] + render.fmt(s.hi), font, third, anchor="ra")
    if s.diverging:
        mid = (b.x0 + b.x1) // 2
        draw.line([(mid, b.y0), (mid, b.y1 + 2)], fill=MUTED)
        _text(draw, (mid, y), "0", font, third, anchor="ma")


def figure_image(
    result: LayerResult,
    filters: Sequence[int],
    names: Sequence[str],
    *,
    maps: Mapping[int, np.ndarray] | None = None,
    panel: int = PANEL,
    max_panel: int = MAX_PANEL,
    title: str | None = None,
) -> Image.Image:
    """One RGB picture of ``filters``: per row the inputs, partial maps, pre-activation and output.

    Parameters
    ----------
    result : the computed layer (``result.layer.x`` is the ``(H, W, C)`` input, unpadded)
    filters : the filters to draw, one row each, in this order
    names : a name per input channel (``Loaded.channel_names``: "R", "G", "B", ...)
    maps : ``{f: engine.filter_partials(result.layer, f)}``, ``(H', W', Cg)`` each, if already
        computed; missing ones are computed
    panel, max_panel : a map's long side is drawn between these, in pixels (see :func:`display_size`)
    title : shown before the layer's description, e.g. the input file's name

    Save it with :func:`convcli.save.save_image`; :func:`plan_figure` gives every box's position.
    """
    return draw_figure(plan_figure(result, filters, names, maps=maps, panel=panel, max_panel=max_panel, title=title))
