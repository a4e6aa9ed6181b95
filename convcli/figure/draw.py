"""Drawing the figure that :func:`convcli.figure.plan.plan_figure` lays out: maps painted in their
scale's colours, text fitted to its box in the fonts at hand, colour bars, operators.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from convcli.engine import LayerResult
from convcli.figure.layout import title_lines
from convcli.figure.marks import MARK
from convcli.figure.plan import (
    FONT_HEAD,
    FONT_LABEL,
    FONT_OP,
    FONT_SMALL,
    FONT_TITLE,
    INK,
    LUT_SIZE,
    MARGIN,
    MAX_PANEL,
    PANEL,
    ROW_GAP,
    BarPlan,
    FigurePlan,
    PanelPlan,
    plan_figure,
)
from convcli.figure.theme import LIGHT, RGB, Theme
from convcli.present import colour, describe
from convcli.present.colour import lut_colours
from convcli.present.maps import block_mean32

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

    Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def paint(values: np.ndarray, scale: colour.Scale, size: tuple[int, int]) -> np.ndarray:
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
        t, bad32 = block_mean32(t, k), block_mean32(bad32, k)
    t_small = np.asarray(Image.fromarray(t).resize((tw, th), Image.Resampling.BOX))
    bad_small = np.asarray(Image.fromarray(bad32).resize((tw, th), Image.Resampling.BOX))
    return lut_colours(t_small.astype(np.float64), bad_small >= 0.5, scale.lut)


def _unit32(values: np.ndarray, scale: colour.Scale) -> np.ndarray:
    """:meth:`Scale.unit` in float32 (what Pillow resizes), without a float64 copy of a photo-sized map."""
    v = np.asarray(values, dtype=np.float32)
    if scale.hi <= scale.lo:
        return np.full(v.shape, 0.5, dtype=np.float32)
    t = (v - np.float32(scale.lo)) * np.float32(1.0 / (scale.hi - scale.lo))
    return np.clip(t, np.float32(0.0), np.float32(1.0), out=t)


# ------------------------------------------------------------------------------------------------
# Drawing


@functools.cache
def font_at(size: int, bold: bool = False) -> Font:
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


def safe_text(font: Font, text: str) -> str:
    return "".join(_ASCII.get(ch, "?") if ord(ch) > 127 and not _has_glyph(font, ch) else ch for ch in text)


def fit_text(font: Font, text: str, width: int) -> str:
    """``text`` cut (with an ellipsis) to at most ``width`` pixels."""
    text = safe_text(font, text)
    if font.getlength(text) <= width:
        return text
    dots = safe_text(font, "…")
    while text and font.getlength(text + dots) > width:
        text = text[:-1]
    return text.rstrip() + dots


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font: Font, width: int,
          *, fill: tuple[int, int, int] = INK, anchor: str = "la") -> None:
    draw.text(xy, fit_text(font, text, width), font=font, fill=fill, anchor=anchor)


def wrapped(font: Font, text: str, width: int, lines: int) -> list[str]:
    """``text`` in at most ``lines`` lines of at most ``width`` pixels, word by word; the last cut
    with an ellipsis if the text is longer."""
    words, out, line = safe_text(font, text).split(" "), [], ""
    for k, word in enumerate(words):
        trial = f"{line} {word}".strip()
        if font.getlength(trial) <= width or not line:
            line = trial
            continue
        out.append(line)
        line = word
        if len(out) == lines - 1:
            line = " ".join(words[k:])
            break
    out.append(fit_text(font, line, width))
    return out


def title_texts(plan: FigurePlan) -> list[tuple[tuple[int, int], str, int, bool, Callable[[Theme], RGB]]]:
    """The title's and the legend's lines: ``((x, y), text, font size, bold, colour of a theme)``."""
    t = plan.title_box
    n_title, n_legend = title_lines(plan.size[0])
    out: list[tuple[tuple[int, int], str, int, bool, Callable[[Theme], RGB]]] = []
    y = t.y0
    for line in wrapped(font_at(FONT_TITLE, True), plan.title, t.width, n_title):
        out.append(((t.x0, y), line, FONT_TITLE, True, lambda th: th.ink))
        y += 24
    y += 6
    for line in wrapped(font_at(FONT_SMALL), plan.legend, t.width, n_legend):
        out.append(((t.x0, y), line, FONT_SMALL, False, lambda th: th.muted))
        y += 18
    return out


def cell_text(v: float) -> str:
    """A value as written in its cell: whole numbers plainly (``40404``), others to 3 significant digits."""
    if not np.isfinite(v):
        return "NaN" if np.isnan(v) else ("∞" if v > 0 else "−∞")
    if float(v).is_integer() and abs(v) < 1e6:
        return str(int(v))
    text = f"{v:.3g}"
    return text.replace("e-0", "e-").replace("e+0", "e")


def number_font(texts: Sequence[str], cell: int) -> Font | None:
    """The largest font (:data:`FONT_LABEL` at most, 7 px at least) in which every text fits a ``cell``-px square."""
    widest = max(texts, key=len)
    for size in range(min(FONT_LABEL, cell // 2), 6, -1):
        font = font_at(size)
        if font.getlength(safe_text(font, widest)) <= cell - 3:
            return font
    return None


def draw_numbers(draw: ImageDraw.ImageDraw, values: np.ndarray, colours: np.ndarray, box: tuple[int, int, int, int],
                 grid: tuple[int, int, int]) -> None:
    """Each value of ``values (h, w)`` written in its cell of ``box`` (x0, y0, x1, y1), in black or white
    as its colour (``colours (h, w, 3)``) is light or dark; thin ``grid`` lines between the cells."""
    h, w = values.shape
    x0, y0, x1, y1 = box
    cw, ch = (x1 - x0) / w, (y1 - y0) / h
    for j in range(1, w):
        draw.line([(round(x0 + j * cw), y0), (round(x0 + j * cw), y1 - 1)], fill=grid)
    for i in range(1, h):
        draw.line([(x0, round(y0 + i * ch)), (x1 - 1, round(y0 + i * ch))], fill=grid)
    texts = [[cell_text(float(v)) for v in row] for row in values]
    font = number_font([t for row in texts for t in row], int(min(cw, ch)))
    if font is None:
        return
    light = colours.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) > 140
    for i in range(h):
        for j in range(w):
            fill = (20, 20, 20) if light[i, j] else (250, 250, 250)
            draw.text((round(x0 + (j + 0.5) * cw), round(y0 + (i + 0.5) * ch)), safe_text(font, texts[i][j]), font=font,
                      fill=fill, anchor="mm")


def draw_figure(plan: FigurePlan, theme: Theme = LIGHT) -> Image.Image:
    """The RGB picture that ``plan`` describes, in ``theme``'s colours around the maps."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", plan.size, theme.background)
    draw = ImageDraw.Draw(image)
    for (x, y), text, size, bold, ink in title_texts(plan):
        draw.text((x, y), text, font=font_at(size, bold), fill=ink(theme))

    small, label = font_at(FONT_SMALL), font_at(FONT_LABEL)
    tiles = _Tiles()
    for r, row in enumerate(plan.rows):
        if r:  # a rule between filters, in the middle of the gap above this one
            y = row.heading_box.y0 - ROW_GAP // 2
            draw.line([(MARGIN, y), (plan.size[0] - MARGIN, y)], fill=theme.rule, width=1)
        h = row.heading_box
        _text(draw, (h.x0, h.y0 + 4), row.heading, font_at(FONT_HEAD, bold=True), h.width, fill=theme.ink)
        for p in row.panels:
            image.paste(tiles.get(p), (p.box.x0, p.box.y0))
            if p.numbers:
                draw_numbers(draw, p.values, p.scale.colours(p.values), (p.box.x0, p.box.y0, p.box.x1, p.box.y1),
                             theme.border)
            draw.rectangle([p.box.x0 - 1, p.box.y0 - 1, p.box.x1, p.box.y1], outline=theme.border)
            tb, nb = p.title_box, p.note_box
            _text(draw, ((tb.x0 + tb.x1) // 2, tb.y1 - 6), p.title, label, tb.width, anchor="md", fill=theme.ink)
            _text(draw, ((nb.x0 + nb.x1) // 2, nb.y0 + 6), p.note, small, nb.width, fill=theme.muted, anchor="ma")
            for (text, swatch), (sx, sy, tx) in zip(p.legend, legend_places(p, small), strict=True):
                draw.rectangle([sx, sy, sx + SWATCH - 1, sy + SWATCH - 1], fill=swatch)
                draw.text((tx, sy - 1), safe_text(small, text), font=small, fill=theme.ink)
            if p.mark is not None:
                m = p.mark
                draw.rectangle([m.x0 - 1, m.y0 - 1, m.x1, m.y1], outline=MARK, width=2)
        for bar in row.bars:
            _draw_bar(draw, image, bar, small, theme)
        op_font = font_at(FONT_OP, bold=True)
        for symbol, x, y in row.operators:
            draw.text((x, y), safe_text(op_font, symbol), font=op_font, fill=theme.muted, anchor="mm")
        for text, x, y in row.labels:
            draw.text((x, y), safe_text(label, text), font=label, fill=theme.muted, anchor="mm")
    if plan.field is not None:
        _draw_field(draw, image, plan, theme)
    return image


def _draw_field(draw: ImageDraw.ImageDraw, image: Image.Image, plan: FigurePlan, theme: Theme) -> None:
    """The receptive field panel (:mod:`convcli.figure.field`): a rule, its heading, the picture, the rectangle."""
    from PIL import Image

    from convcli.figure.field import FIELD_COLOUR

    f = plan.field
    assert f is not None
    y = f.heading_box.y0 - ROW_GAP // 2
    draw.line([(MARGIN, y), (plan.size[0] - MARGIN, y)], fill=theme.rule, width=1)
    h = f.heading_box
    _text(draw, (h.x0, h.y0 + 4), f.heading, font_at(FONT_HEAD, bold=True), h.width, fill=theme.ink)
    image.paste(Image.fromarray(f.image), (f.box.x0, f.box.y0))
    draw.rectangle([f.box.x0 - 1, f.box.y0 - 1, f.box.x1, f.box.y1], outline=theme.border)
    r = f.rect
    draw.rectangle([r.x0 - 2, r.y0 - 2, r.x1 + 1, r.y1 + 1], outline=(0, 0, 0), width=1)
    draw.rectangle([r.x0 - 1, r.y0 - 1, r.x1, r.y1], outline=FIELD_COLOUR, width=2)
    if f.zoom is not None and f.zoom_box is not None and f.zoom_rect is not None:
        z, zr = f.zoom_box, f.zoom_rect
        image.paste(Image.fromarray(f.zoom), (z.x0, z.y0))
        draw.rectangle([z.x0 - 1, z.y0 - 1, z.x1, z.y1], outline=theme.border)
        draw.rectangle([zr.x0 - 2, zr.y0 - 2, zr.x1 + 1, zr.y1 + 1], outline=(0, 0, 0), width=1)
        draw.rectangle([zr.x0 - 1, zr.y0 - 1, zr.x1, zr.y1], outline=FIELD_COLOUR, width=2)
    n = f.note_box
    _text(draw, (n.x0, n.y0), f.note, font_at(FONT_LABEL), n.width, fill=theme.ink)


def bar_number(v: float, font: Font, width: int) -> str:
    """``v`` as :func:`describe.fmt` writes it, or to 3 significant digits where that does not fit a narrow bar."""
    text = describe.fmt(v)
    return text if font.getlength(text) + 16 <= width else cell_text(v)


SWATCH = 11  #: a category's colour square in a legend


class _Tiles:
    """Input tiles painted once per figure: the same arrays, in equal scales, in every filter's row."""

    def __init__(self) -> None:
        self._made: dict[tuple[object, ...], tuple[np.ndarray, Image.Image]] = {}

    def get(self, p: PanelPlan) -> Image.Image:
        from PIL import Image

        size = (p.box.height, p.box.width)
        key = (id(p.values), p.scale, size, p.kind, p.categories)
        made = self._made.get(key)
        if made is None or made[0] is not p.values:  # the array itself kept: its id is not reused meanwhile
            made = (p.values, Image.fromarray(panel_pixels(p, size)))
            if p.kind == "input":  # only the inputs repeat; the other tiles are not kept
                self._made[key] = made
        return made[1]


def panel_pixels(p: PanelPlan, size: tuple[int, int]) -> np.ndarray:
    """A panel's values as an ``(h, w, 3)`` picture of ``size``: in its scale's colours, or its
    categories' (a dominant-channel map, enlarged by whole blocks)."""
    from convcli.figure.plot import plot_pixels, plotted

    if plotted(p.kind, p.values.shape, size, bool(p.categories)):
        return plot_pixels(p.values[0], p.scale, size)
    if not p.categories:
        return paint(p.values, p.scale, size)
    from convcli.figure.dominant import colours

    rgb = colours(p.values.astype(np.intp), p.categories)
    h, w = p.values.shape
    ky, kx = max(1, size[0] // h), max(1, size[1] // w)
    return np.ascontiguousarray(np.repeat(np.repeat(rgb, ky, axis=0), kx, axis=1)[: size[0], : size[1]])


def legend_places(p: PanelPlan, font: Font) -> list[tuple[int, int, int]]:
    """Where each entry of a panel's legend goes in its note box: ``(swatch x, y, text x)``, centred,
    on as many lines as the box's width needs."""
    nb = p.note_box
    widths = [SWATCH + 4 + int(font.getlength(safe_text(font, text))) + 10 for text, _ in p.legend]
    lines: list[list[int]] = [[]]
    for k, w in enumerate(widths):
        if lines[-1] and sum(widths[i] for i in lines[-1]) + w > nb.width:
            lines.append([])
        lines[-1].append(k)
    places: list[tuple[int, int, int]] = []
    for n, line in enumerate(lines):
        x = nb.x0 + (nb.width - sum(widths[i] for i in line) + 10) // 2
        for i in line:
            places.append((x, nb.y0 + 6 + 15 * n, x + SWATCH + 4))
            x += widths[i]
    return places


def _draw_bar(draw: ImageDraw.ImageDraw, image: Image.Image, bar: BarPlan, font: Font, theme: Theme = LIGHT) -> None:
    from PIL import Image

    b, s = bar.box, bar.scale
    constant = s.hi <= s.lo
    if constant:  # one value: no gradient to read, only the value's colour
        strip = np.broadcast_to(s.colours(np.array([s.lo])), (b.width, 3))
    else:
        strip = s.lut[np.rint(np.linspace(0, LUT_SIZE - 1, b.width)).astype(np.intp)]
    image.paste(Image.fromarray(np.ascontiguousarray(np.repeat(strip[None], b.height, axis=0))), (b.x0, b.y0))
    draw.rectangle([b.x0 - 1, b.y0 - 1, b.x1, b.y1], outline=theme.border)
    y = bar.label_box.y0 + 4
    ink = theme.ink
    if constant:
        _text(draw, ((b.x0 + b.x1) // 2, y), f"all {describe.fmt(s.lo)}", font, b.width, anchor="ma", fill=ink)
        return
    third = b.width // 3
    beyond = ("≤ ", "≥ ") if s.clipped else ("", "")
    _text(draw, (b.x0, y), beyond[0] + bar_number(s.lo, font, third), font, third, anchor="la", fill=ink)
    _text(draw, (b.x1, y), beyond[1] + bar_number(s.hi, font, third), font, third, anchor="ra", fill=ink)
    if s.diverging:
        mid = (b.x0 + b.x1) // 2
        draw.line([(mid, b.y0), (mid, b.y1 + 2)], fill=theme.muted)
        _text(draw, (mid, y), "0", font, third, anchor="ma", fill=ink)


def figure_image(
    result: LayerResult,
    filters: Sequence[int],
    names: Sequence[str],
    *,
    maps: Mapping[int, np.ndarray] | None = None,
    panel: int = PANEL,
    max_panel: int = MAX_PANEL,
    title: str | None = None,
    width: int | None = None,
    theme: Theme = LIGHT,
) -> Image.Image:
    """One RGB picture of ``filters``: each one's whole sum (:mod:`convcli.figure.plan`).

    Parameters
    ----------
    result : the computed layer (``result.layer.x`` is the ``(H, W, C)`` input, unpadded)
    filters : the filters to draw, one row each, in this order
    names : a name per input channel (``Loaded.channel_names``: "R", "G", "B", ...)
    maps : ``{f: engine.filter_partials(result.layer, f)}``, ``(H', W', Cg)`` each, if already
        computed; else each panel is made at the size it is drawn (:mod:`convcli.figure.panels`)
    panel, max_panel : a map's long side is drawn between these, in pixels (see :func:`display_size`)
    title : shown before the layer's description, e.g. the input file's name
    width : the most pixels the picture may be wide (:func:`convcli.figure.plan.panel_limits`)

    Save it with :func:`convcli.files.writers.save_image`; :func:`plan_figure` gives every box's position.
    """
    return draw_figure(plan_figure(result, filters, names, maps=maps, panel=panel, max_panel=max_panel, title=title,
                                   width=width), theme)

