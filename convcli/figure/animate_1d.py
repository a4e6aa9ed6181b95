"""``run --animate`` of a 1-D layer: the window moving along the signal.

A 1-D layer runs as one 2-D row (row 0), so its frames' numbers are those of the 2-D animation
(:func:`convcli.figure.animate.trace_frame_data`, from :func:`convcli.engine.trace_position` at
``(0, j)``); only the picture differs: each shown input channel is a line plot of the signal with
the window's taps marked (a tap in the padding is drawn as a hollow mark left or right of the
plot), its ``Σ w·x`` beside it, the running total, bias and activation in a column, and the output
signal drawn as far as the window has gone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from convcli import engine
from convcli.engine import LayerResult
from convcli.figure.animate import (
    HEAD,
    MARGIN,
    TEXT_W,
    WINDOW,
    Frame,
    FrameData,
    draw_sum,
    new_page,
    trace_frame_data,
)
from convcli.figure.draw import cell_text, font_at, safe_text
from convcli.figure.theme import LIGHT, Theme
from convcli.present.filtersum import FilterSum

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

PLOT_W, PLOT_H = 560, 64  #: one signal's plot, in pixels
ROW = PLOT_H + 46  #: a plot, the line under it and the next one's label
LINE = (40, 90, 200)  #: the signals' line
DOTS_MAX = 64  #: signals of at most this many samples get a dot a sample


class _Strips:
    """What every frame shares: the plots' places and scales, the background picture."""

    def __init__(self, result: LayerResult, view: FilterSum, theme: Theme, title: str) -> None:
        layer = result.layer
        self.view, self.theme, self.title = view, theme, title
        self.length = int(layer.x.shape[1])
        self.signals = [np.asarray(layer.x[0, :, view.channels[c]], dtype=np.float64) for c in view.shown]
        self.names = [view.names[c] for c in view.shown]
        self.output = np.asarray(result.output[0, :, view.index], dtype=np.float64)
        self.x0 = MARGIN + 14  # room for a padding tap's mark on the left
        n = len(self.signals) + bool(view.others)
        self.rows_y = [HEAD + k * ROW for k in range(n)]
        self.out_y = HEAD + n * ROW + 10
        self.text_x = self.x0 + PLOT_W + 120
        height = max(self.out_y + ROW + 20, HEAD + (len(view.parts()) + 5) * 21) + MARGIN
        self.size = (self.text_x + TEXT_W, height)

    def image(self) -> Image.Image:
        img, draw, label = new_page(self.size, self.theme, self.title)
        for k, signal in enumerate(self.signals):
            y = self.rows_y[k]
            draw.text((self.x0, y - 16), safe_text(label, f"input {self.names[k]}"), font=label, fill=self.theme.ink)
            plot_line(draw, signal, (self.x0, y), self.theme, len(signal))
        if self.view.others:
            y = self.rows_y[-1]
            draw.text((self.x0, y), safe_text(label, f"Σ {len(self.view.others)} other channels"), font=label,
                      fill=self.theme.muted)
        draw.text((self.x0, self.out_y - 16), safe_text(label, "output"), font=label, fill=self.theme.ink)
        draw.rectangle([self.x0 - 1, self.out_y - 1, self.x0 + PLOT_W, self.out_y + PLOT_H], outline=self.theme.border)
        return img


def plot_x(j: float, n: int, x0: int) -> float:
    """Sample ``j``'s pixel column in a plot of ``n`` samples."""
    return x0 + (j + 0.5) * PLOT_W / max(1, n)


def plot_bounds(values: np.ndarray) -> tuple[float, float]:
    """The lowest and highest finite value of a plot (a flat signal: ± ½ around it)."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo - 0.5, hi + 0.5) if hi == lo else (lo, hi)


def plot_y(v: np.ndarray, bounds: tuple[float, float], y0: int) -> np.ndarray:
    """Values' pixel rows in a plot whose top is ``y0`` and whose values span ``bounds`` (clipped to them)."""
    lo, hi = bounds
    v = np.nan_to_num(np.clip(v, lo, hi), nan=lo)
    return y0 + 3 + (PLOT_H - 6) * (hi - v) / (hi - lo)


def plot_line(draw: ImageDraw.ImageDraw, values: np.ndarray, xy: tuple[int, int], theme: Theme, n: int,
              bounds: tuple[float, float] | None = None) -> None:
    """``values`` (the first ``len(values)`` of ``n`` samples) as a line in the plot at ``xy``: a polyline
    through the samples, or each pixel column's min-to-max span when there are more samples than columns."""
    x0, y0 = xy
    lo, hi = bounds if bounds is not None else plot_bounds(values)
    small = font_at(11)
    draw.rectangle([x0 - 1, y0 - 1, x0 + PLOT_W, y0 + PLOT_H], outline=theme.border)
    draw.text((x0 + PLOT_W + 4, y0), safe_text(small, cell_text(hi)), font=small, fill=theme.muted)
    draw.text((x0 + PLOT_W + 4, y0 + PLOT_H - 12), safe_text(small, cell_text(lo)), font=small, fill=theme.muted)
    if not len(values):
        return

    def y_of(v: np.ndarray) -> np.ndarray:
        return plot_y(v, (lo, hi), y0)

    if n <= PLOT_W:
        xs = [plot_x(j, n, x0) for j in range(len(values))]
        ys = y_of(values)
        points = [(float(a), float(b)) for a, b in zip(xs, ys, strict=True)]
        if len(points) > 1:
            draw.line(points, fill=LINE, width=2)
        if n <= DOTS_MAX:
            for a, b in points:
                draw.ellipse([a - 2, b - 2, a + 2, b + 2], fill=LINE)
        return
    cols = (np.arange(len(values)) * PLOT_W) // n  # each sample's pixel column
    for c in np.unique(cols):
        v = values[cols == c]
        top, bottom = y_of(np.array([v.max(), v.min()]))
        draw.line([(x0 + int(c), float(top)), (x0 + int(c), float(bottom))], fill=LINE, width=1)


def iter_frames_1d(result: LayerResult, f: int, names: Sequence[str], positions: Sequence[tuple[int, int]], *,
                   theme: Theme = LIGHT, title: str = "") -> Iterator[Frame]:
    """One :class:`~convcli.figure.animate.Frame` per output position ``(0, j)``, in order; its ``output_at``
    is the output plot's top-left corner and, for the third number, 0 (a plot, not a grid of cells)."""
    view = FilterSum.of(result, f, names)
    base = _Strips(result, view, theme, f"{title} · filter {f}" if title else f"filter {f}")
    background = base.image()
    lo_hi = plot_bounds(base.output)
    wo = len(base.output)
    for n, position in enumerate(positions):
        from PIL import ImageDraw

        trace = engine.trace_position(result.layer, *position, f)
        data = trace_frame_data(view, trace, position)
        j = position[1]
        img = background.copy()
        draw = ImageDraw.Draw(img)
        _draw_taps(draw, base, data, [int(c) for c in trace.in_cols])
        # the output so far: every sample up to j (a path's positions skip some: they are drawn too, as the line)
        plot_line(draw, base.output[: j + 1], (base.x0, base.out_y), theme, wo, lo_hi)
        cx = plot_x(j, wo, base.x0)
        draw.line([(cx, base.out_y), (cx, base.out_y + PLOT_H)], fill=WINDOW, width=2)
        font = font_at(13)
        draw.text((base.x0, base.out_y + PLOT_H + 6),
                  safe_text(font, f"output[{j}] = {cell_text(data.output)}"), font=font, fill=theme.ink)
        draw_sum(draw, (base.text_x, HEAD), theme, view.activation, data,
                 f"position {j} · frame {n + 1}/{len(positions)}")
        yield Frame(data, img, (base.x0, base.out_y, 0))


def _draw_taps(draw: ImageDraw.ImageDraw, base: _Strips, data: FrameData, cols: list[int]) -> None:
    """The window on every plot: a green mark at each tap (hollow where it reads the padding), the
    span it covers shaded by its outline, and the channel's ``Σ w·x`` under the plot."""
    font = font_at(13)
    n = base.length
    inside = [c for c in cols if 0 <= c < n]
    for k, signal in enumerate(base.signals):
        y = base.rows_y[k]
        lo, hi = plot_bounds(signal)
        if inside:
            a, b = plot_x(min(inside), n, base.x0) - 4, plot_x(max(inside), n, base.x0) + 4
            draw.rectangle([a, y - 3, b, y + PLOT_H + 2], outline=WINDOW, width=2)
        for c in cols:
            if 0 <= c < n:
                x = plot_x(c, n, base.x0)
                v = float(np.clip(signal[c], lo, hi))
                ty = y + 3 + (PLOT_H - 6) * (hi - v) / (hi - lo)
                draw.line([(x, y), (x, y + PLOT_H)], fill=WINDOW, width=1)
                draw.ellipse([x - 4, ty - 4, x + 4, ty + 4], fill=WINDOW)
            else:  # a padding tap: a hollow mark outside the plot, on the side it falls
                x = base.x0 - 8 if c < 0 else base.x0 + PLOT_W + 8
                draw.ellipse([x - 4, y + PLOT_H / 2 - 4, x + 4, y + PLOT_H / 2 + 4], outline=WINDOW, width=2)
        pads = sum(1 for c in cols if not 0 <= c < n)
        note = f"   ({pads} tap{'s' if pads != 1 else ''} in the padding)" if pads else ""
        draw.text((base.x0, y + PLOT_H + 4), safe_text(font, f"Σ w·x = {cell_text(data.partials[k])}{note}"),
                  font=font, fill=base.theme.ink)
    if base.view.others:
        y = base.rows_y[-1]
        draw.text((base.x0, y + 20), safe_text(font, f"Σ w·x = {cell_text(data.partials[-1])}"), font=font,
                  fill=base.theme.ink)

