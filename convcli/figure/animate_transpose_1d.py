"""``run --animate`` of a 1-D transposed layer, as line plots (as :mod:`.animate_1d` draws a 1-D conv's
window): each shown input signal with the position marked, the copy it scatters (the sum of its
channels' scaled kernels) as stems on the output's axis where the taps land (a long output: the
copy's neighbourhood, enlarged), and the output accumulating. The numbers are :mod:`.scatter`'s."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from convcli.engine.transpose import TransposeLayer
from convcli.figure.animate import HEAD, MARGIN, TEXT_W, WINDOW, new_page
from convcli.figure.animate_1d import PLOT_H, PLOT_W, ROW, plot_bounds, plot_line, plot_x, plot_y
from convcli.figure.draw import cell_text, font_at, safe_text
from convcli.figure.scatter import Scatter, ScatterFrame, scatter_frames, span_text, value_lines
from convcli.figure.theme import Theme
from convcli.present.filtersum import FilterSum

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

    from convcli.figure.draw import Font

COPY_ALL = 64  #: a 1-D output of at most this many positions shows the copy on all of it, else near it


class _Lines:
    """What every frame of a 1-D transposed layer shares: the plots' places and bounds, the background."""

    def __init__(self, layer: TransposeLayer, view: FilterSum, f: int, positions: Sequence[tuple[int, int]],
                 theme: Theme, title: str) -> None:
        self.view, self.theme, self.title = view, theme, title
        x = np.asarray(layer.x, dtype=np.float64)  # (L, C)
        self.length, self.out_len = int(x.shape[0]), int(layer.geometry.out_size[0])
        self.signals = [x[:, view.channels[c]] for c in view.shown]
        self.names = [view.names[c] for c in view.shown]
        self.x0 = MARGIN + 14
        n = len(self.signals) + bool(view.others)
        self.rows_y = [HEAD + k * ROW for k in range(n)]
        self.copy_y = HEAD + n * ROW + 10
        self.out_y = self.copy_y + ROW
        self.text_x = self.x0 + PLOT_W + 120
        self.size = (self.text_x + TEXT_W, max(self.out_y + ROW, HEAD + (len(view.shown) + 9) * 21) + MARGIN)
        # fixed bounds over every frame: the copies (symmetric around 0) and the accumulating output
        low, high, reach = 0.0, 0.0, 0.0
        for data in scatter_frames(layer, f, positions):
            low, high = min(low, float(data.accumulated.min())), max(high, float(data.accumulated.max()))
            reach = max(reach, float(np.abs(data.added).max(initial=0.0)))
        self.out_bounds = plot_bounds(np.array([low, high]))
        self.copy_bounds = (-reach, reach) if reach > 0 else (-1.0, 1.0)

    def image(self) -> Image.Image:
        img, draw, label = new_page(self.size, self.theme, self.title)
        for k, signal in enumerate(self.signals):
            y = self.rows_y[k]
            draw.text((self.x0, y - 16), safe_text(label, f"input {self.names[k]}"), font=label, fill=self.theme.ink)
            plot_line(draw, signal, (self.x0, y), self.theme, self.length)
        if self.view.others:
            draw.text((self.x0, self.rows_y[-1]), safe_text(label, f"Σ {len(self.view.others)} other channels"),
                      font=label, fill=self.theme.muted)
        draw.text((self.x0, self.copy_y - 16), safe_text(label, "its value × the kernel, landing on the output"),
                  font=label, fill=self.theme.ink)
        draw.rectangle([self.x0 - 1, self.copy_y - 1, self.x0 + PLOT_W, self.copy_y + PLOT_H], outline=self.theme.border)
        zero = float(plot_y(np.array(0.0), self.copy_bounds, self.copy_y))
        draw.line([(self.x0, zero), (self.x0 + PLOT_W - 1, zero)], fill=self.theme.border, width=1)
        small = font_at(11)
        for v, y in ((self.copy_bounds[1], self.copy_y), (self.copy_bounds[0], self.copy_y + PLOT_H - 12)):
            draw.text((self.x0 + PLOT_W + 4, y), safe_text(small, cell_text(v)), font=small, fill=self.theme.muted)
        draw.text((self.x0, self.out_y - 16), safe_text(label, "output, accumulating (no bias yet)"), font=label,
                  fill=self.theme.ink)
        return img


def line_frames(layer: TransposeLayer, view: FilterSum, f: int, positions: Sequence[tuple[int, int]], bias: float,
                 theme: Theme, title: str) -> Iterator[Scatter]:
    """A 1-D transposed layer's frames: line plots (:class:`_Lines`)."""
    from PIL import ImageDraw

    board = _Lines(layer, view, f, positions, theme, title)
    background = board.image()
    font, bold = font_at(13), font_at(14, True)
    n_in, n_out = board.length, board.out_len
    for n, data in enumerate(scatter_frames(layer, f, positions, bias)):
        img = background.copy()
        draw = ImageDraw.Draw(img)
        i = data.position[1]
        landed = [(t, r) for t, r in enumerate(data.cols) if 0 <= r < n_out]
        for k, signal in enumerate(board.signals):  # the position on every input signal
            y = board.rows_y[k]
            px = plot_x(i, n_in, board.x0)
            py = float(plot_y(np.array(signal[i]), plot_bounds(signal), y))
            draw.line([(px, y), (px, y + PLOT_H)], fill=WINDOW, width=2)
            draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=WINDOW)
            c = view.shown[k]
            draw.text((board.x0, y + PLOT_H + 4), safe_text(font, f"x[{i}] = {cell_text(data.values[c])}"), font=font,
                      fill=theme.ink)
        zero = float(plot_y(np.array(0.0), board.copy_bounds, board.copy_y))
        lo, hi = copy_window([r for _, r in landed], n_out)
        if (lo, hi) != (0, n_out):  # a long output: the copy's neighbourhood, enlarged, and where it is
            draw.text((board.x0, board.copy_y + PLOT_H + 4),
                      safe_text(font, f"output positions {lo}–{hi - 1}, enlarged"), font=font, fill=theme.muted)
        for t, r in landed:  # the copy: one stem a tap, where it lands
            px = plot_x(r - lo, hi - lo, board.x0)
            ty = float(plot_y(np.array(data.added[0, t]), board.copy_bounds, board.copy_y))
            draw.line([(px, zero), (px, ty)], fill=WINDOW, width=3)
            draw.ellipse([px - 3, ty - 3, px + 3, ty + 3], fill=WINDOW)
        plot_line(draw, data.accumulated[0], (board.x0, board.out_y), theme, n_out, board.out_bounds)
        for _, r in landed:
            px = plot_x(r, n_out, board.x0)
            draw.line([(px, board.out_y), (px, board.out_y + PLOT_H)], fill=WINDOW, width=1)
        _line_text(draw, board, data, n, len(positions), font, bold)
        yield Scatter(data, img)


def copy_window(landed: Sequence[int], n: int) -> tuple[int, int]:
    """The output positions ``[lo, hi)`` the copy's plot spans: all ``n`` of a short output (up to
    :data:`COPY_ALL`), else :data:`COPY_ALL` around where the copy lands."""
    if n <= COPY_ALL or not landed:
        return 0, n
    span = max(COPY_ALL, 3 * (max(landed) - min(landed) + 1))
    lo = min(max(0, (min(landed) + max(landed) + 1) // 2 - span // 2), max(0, n - span))
    return lo, min(n, lo + span)


def _line_text(draw: ImageDraw.ImageDraw, board: _Lines, data: ScatterFrame, n: int, frames: int,
               font: Font, bold: Font) -> None:
    """The column beside the plots: the position, each channel's value and copy, the sum it adds, the bias."""
    theme, view = board.theme, board.view
    x, y = board.text_x, HEAD
    i = data.position[1]
    draw.text((x, y - 16), safe_text(font, f"input {i} · frame {n + 1}/{frames}"), font=font, fill=theme.muted)
    draw.text((x, y), safe_text(font, f"→ output positions {span_text(data.cols, board.out_len)}"), font=font,
              fill=theme.ink)
    y = value_lines(draw, (x, y + 22), view, data, font, theme, over="taps", taps=True)
    if n + 1 == frames and frames == board.length:  # every input has landed
        draw.text((x, y + 22), safe_text(bold, "output + bias = z"), font=bold, fill=theme.ink)
