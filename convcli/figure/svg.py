"""The figure as SVG (``--figure FILE.svg``): the plan of :mod:`convcli.figure.plan` written as text.

Vector text, grids, numbers, borders and operators; each map is an embedded PNG (a ``data:`` URI)
of its values one pixel each, scaled up without smoothing (``image-rendering: pixelated``), so the
file stays small and the blocks stay sharp. The same boxes and colours as the PNG (:mod:`.draw`).
"""

from __future__ import annotations

import base64
import io
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from convcli.figure.boxes import BarPlan, FigurePlan, PanelPlan
from convcli.figure.draw import (
    SWATCH,
    bar_number,
    cell_text,
    fit_text,
    font_at,
    legend_places,
    number_font,
    panel_pixels,
    title_texts,
)
from convcli.figure.layout import MARGIN, ROW_GAP
from convcli.figure.marks import MARK
from convcli.figure.plan import FONT_HEAD, FONT_LABEL, FONT_OP, FONT_SMALL, LUT_SIZE
from convcli.figure.theme import LIGHT, Theme, hex_colour
from convcli.present import describe

FONT_FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif"
#: Pillow's anchors (:mod:`.draw`) as SVG's text-anchor and dominant-baseline
_ANCHORS = {
    "la": ("start", "hanging"), "ma": ("middle", "hanging"), "ra": ("end", "hanging"),
    "md": ("middle", "text-after-edge"), "mm": ("middle", "central"),
}


def png_uri(rgb: np.ndarray) -> str:
    """``rgb (h, w, 3)`` uint8 as a ``data:image/png;base64,...`` URI."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG", compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class _Svg:
    def __init__(self, width: int, height: int, theme: Theme) -> None:
        self.theme = theme
        self.parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family={quoteattr(FONT_FAMILY)}>',
            f'<rect width="{width}" height="{height}" fill="{hex_colour(theme.background)}"/>',
        ]

    def text(self, x: float, y: float, text: str, size: int, fill: tuple[int, int, int], anchor: str = "la",
             width: int | None = None, bold: bool = False) -> None:
        if width is not None:
            text = fit_text(font_at(size, bold), text, width)
        how, base = _ANCHORS[anchor]
        weight = ' font-weight="bold"' if bold else ""
        self.parts.append(f'<text x="{x:g}" y="{y:g}" font-size="{size}" fill="{hex_colour(fill)}" '
                          f'text-anchor="{how}" dominant-baseline="{base}"{weight}>{escape(text)}</text>')

    def line(self, x0: float, y0: float, x1: float, y1: float, colour: tuple[int, int, int]) -> None:
        self.parts.append(f'<line x1="{x0:g}" y1="{y0:g}" x2="{x1:g}" y2="{y1:g}" stroke="{hex_colour(colour)}" '
                          'stroke-width="1"/>')

    def image(self, x: int, y: int, w: int, h: int, rgb: np.ndarray) -> None:
        self.parts.append(f'<image x="{x}" y="{y}" width="{w}" height="{h}" preserveAspectRatio="none" '
                          f'style="image-rendering:pixelated" href="{png_uri(rgb)}"/>')

    def frame(self, x0: int, y0: int, x1: int, y1: int) -> None:
        self.parts.append(f'<rect x="{x0 - 0.5:g}" y="{y0 - 0.5:g}" width="{x1 - x0 + 1}" height="{y1 - y0 + 1}" '
                          f'fill="none" stroke="{hex_colour(self.theme.border)}" stroke-width="1"/>')

    def done(self) -> str:
        return "\n".join([*self.parts, "</svg>", ""])


def figure_svg(plan: FigurePlan, theme: Theme = LIGHT) -> str:
    """The SVG document of ``plan`` in ``theme``."""
    svg = _Svg(plan.size[0], plan.size[1], theme)
    for (x, y), text, size, bold, ink in title_texts(plan):
        svg.text(x, y, text, size, ink(theme), bold=bold)
    for r, row in enumerate(plan.rows):
        svg.parts.append(f'<g class="filter" data-filter="{row.filter}">')
        if r:
            y = row.heading_box.y0 - ROW_GAP // 2
            svg.line(MARGIN, y + 0.5, plan.size[0] - MARGIN, y + 0.5, theme.rule)
        h = row.heading_box
        svg.text(h.x0, h.y0 + 4, row.heading, FONT_HEAD, theme.ink, width=h.width, bold=True)
        for p in row.panels:
            _panel(svg, p)
        for bar in row.bars:
            _bar(svg, bar)
        for symbol, x, y in row.operators:
            svg.text(x, y, symbol, FONT_OP, theme.muted, "mm", bold=True)
        for text, x, y in row.labels:
            svg.text(x, y, text, FONT_LABEL, theme.muted, "mm")
        svg.parts.append("</g>")
    if plan.field is not None:
        _field(svg, plan)
    return svg.done()


def _field(svg: _Svg, plan: FigurePlan) -> None:
    """The receptive field panel: the picture embedded, the rectangle a vector outline."""
    from convcli.figure.field import FIELD_COLOUR

    f, theme = plan.field, svg.theme
    assert f is not None
    svg.parts.append('<g class="field">')
    y = f.heading_box.y0 - ROW_GAP // 2
    svg.line(MARGIN, y + 0.5, plan.size[0] - MARGIN, y + 0.5, theme.rule)
    h = f.heading_box
    svg.text(h.x0, h.y0 + 4, f.heading, FONT_HEAD, theme.ink, width=h.width, bold=True)
    b = f.box
    svg.image(b.x0, b.y0, b.width, b.height, f.image)
    svg.frame(b.x0, b.y0, b.x1, b.y1)
    r = f.rect
    svg.parts.append(f'<rect class="receptive-field" x="{r.x0}" y="{r.y0}" width="{r.width}" height="{r.height}" '
                     f'fill="none" stroke="{hex_colour(FIELD_COLOUR)}" stroke-width="2"/>')
    if f.zoom is not None and f.zoom_box is not None and f.zoom_rect is not None:
        z, zr = f.zoom_box, f.zoom_rect
        svg.image(z.x0, z.y0, z.width, z.height, f.zoom)
        svg.frame(z.x0, z.y0, z.x1, z.y1)
        svg.parts.append(f'<rect class="receptive-field-zoom" x="{zr.x0}" y="{zr.y0}" width="{zr.width}" '
                         f'height="{zr.height}" fill="none" stroke="{hex_colour(FIELD_COLOUR)}" stroke-width="2"/>')
    n = f.note_box
    svg.text(n.x0, n.y0, f.note, FONT_LABEL, theme.ink, width=n.width)
    svg.parts.append("</g>")


def _panel(svg: _Svg, p: PanelPlan) -> None:
    b, theme = p.box, svg.theme
    colours = p.scale.colours(p.values)
    # the values one pixel each (block means of a photo are already the drawn size or less)
    h, w = p.values.shape
    svg.parts.append(f'<g class="panel" data-kind="{p.kind}">')
    from convcli.figure.plot import plotted

    # a plot is painted at its box's size (its curve has no cells to stretch)
    drawn = (b.height, b.width) if plotted(p.kind, p.values.shape, (b.height, b.width), bool(p.categories)) else (h, w)
    svg.image(b.x0, b.y0, b.width, b.height, panel_pixels(p, drawn))
    if p.numbers:
        cw, ch = b.width / w, b.height / h
        for j in range(1, w):
            svg.line(b.x0 + j * cw, b.y0, b.x0 + j * cw, b.y1, theme.border)
        for i in range(1, h):
            svg.line(b.x0, b.y0 + i * ch, b.x1, b.y0 + i * ch, theme.border)
        texts = [[cell_text(float(v)) for v in row] for row in p.values]
        font = number_font([t for row in texts for t in row], int(min(cw, ch)))
        if font is not None:
            size = int(getattr(font, "size", FONT_SMALL))
            light = colours.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) > 140
            for i in range(h):
                for j in range(w):
                    fill = (20, 20, 20) if light[i, j] else (250, 250, 250)
                    svg.text(b.x0 + (j + 0.5) * cw, b.y0 + (i + 0.5) * ch, texts[i][j], size, fill, "mm")
    svg.frame(b.x0, b.y0, b.x1, b.y1)
    tb, nb = p.title_box, p.note_box
    svg.text((tb.x0 + tb.x1) // 2, tb.y1 - 6, p.title, FONT_LABEL, theme.ink, "md", width=tb.width)
    svg.text((nb.x0 + nb.x1) // 2, nb.y0 + 6, p.note, FONT_SMALL, theme.muted, "ma", width=nb.width)
    for (text, swatch), (sx, sy, tx) in zip(p.legend, legend_places(p, font_at(FONT_SMALL)), strict=True):
        svg.parts.append(f'<rect x="{sx}" y="{sy}" width="{SWATCH}" height="{SWATCH}" fill="{hex_colour(swatch)}"/>')
        svg.text(tx, sy - 1, text, FONT_SMALL, theme.ink)
    if p.mark is not None:
        m = p.mark
        svg.parts.append(f'<rect class="mark" x="{m.x0}" y="{m.y0}" width="{m.width}" height="{m.height}" '
                         f'fill="none" stroke="{hex_colour(MARK)}" stroke-width="2"/>')
    svg.parts.append("</g>")


def _bar(svg: _Svg, bar: BarPlan) -> None:
    b, s, theme = bar.box, bar.scale, svg.theme
    constant = s.hi <= s.lo
    if constant:
        strip = np.broadcast_to(s.colours(np.array([s.lo])), (1, 3))
    else:
        strip = s.lut[np.rint(np.linspace(0, LUT_SIZE - 1, min(LUT_SIZE, b.width))).astype(np.intp)]
    svg.image(b.x0, b.y0, b.width, b.height, np.ascontiguousarray(strip[None]))
    svg.frame(b.x0, b.y0, b.x1, b.y1)
    y = bar.label_box.y0 + 4
    if constant:
        svg.text((b.x0 + b.x1) // 2, y, f"all {describe.fmt(s.lo)}", FONT_SMALL, theme.ink, "ma", width=b.width)
        return
    third, font = b.width // 3, font_at(FONT_SMALL)
    beyond = ("≤ ", "≥ ") if s.clipped else ("", "")
    svg.text(b.x0, y, beyond[0] + bar_number(s.lo, font, third), FONT_SMALL, theme.ink, "la", width=third)
    svg.text(b.x1, y, beyond[1] + bar_number(s.hi, font, third), FONT_SMALL, theme.ink, "ra", width=third)
    if s.diverging:
        mid = (b.x0 + b.x1) // 2
        svg.line(mid + 0.5, b.y0, mid + 0.5, b.y1 + 2, theme.muted)
        svg.text(mid, y, "0", FONT_SMALL, theme.ink, "ma", width=third)
