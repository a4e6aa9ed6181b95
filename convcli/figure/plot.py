"""A 1-D layer's maps as line plots: one row of values drawn as a curve over bars in the map's
colours (the same blue–white–red, or grey for the input), from the zero line, instead of a strip one
cell tall. The panel keeps its box; a plot is taller than the strip was (:data:`PLOT_H`)."""

from __future__ import annotations

import numpy as np

from convcli.present import colour

#: a plotted map's height in pixels
PLOT_H = 96
#: the kinds of panel drawn as plots when they are one row (kernels, the bias and categories stay cells)
PLOTTED = frozenset({"input", "partial", "others", "preactivation", "output"})
LINE = (40, 40, 40)
ZERO = (170, 170, 170)
PAGE = (255, 255, 255)


def plotted(kind: str, shape: tuple[int, ...], size: tuple[int, int], categorical: bool) -> bool:
    """Whether a panel of ``kind`` showing ``shape`` values in a ``size`` box is drawn as a plot."""
    return kind in PLOTTED and not categorical and len(shape) == 2 and shape[0] == 1 and size[0] >= PLOT_H // 2


def plot_pixels(values: np.ndarray, scale: colour.Scale, size: tuple[int, int]) -> np.ndarray:
    """``values (w,)`` as an ``(h, w', 3)`` uint8 plot of ``size = (h, w')``: the scale's ends at the
    top and bottom (0 included), each value a bar from 0 in its colour, the curve through them."""
    from PIL import Image, ImageDraw

    v = np.asarray(values, dtype=np.float64).ravel()
    h, w = size
    lo, hi = scale.ends
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = hi - lo if hi > lo else 1.0
    pad = 3  # room for the curve's width at the top and bottom

    def y_of(x: np.ndarray) -> np.ndarray:
        return pad + (hi - np.clip(x, lo, hi)) / span * (h - 1 - 2 * pad)

    finite = np.isfinite(v)
    ys = y_of(np.where(finite, v, 0.0))
    zero = float(y_of(np.array(0.0)))
    edges = np.linspace(0, w, len(v) + 1).round().astype(int)
    tile = np.full((h, w, 3), PAGE, dtype=np.uint8)
    colours = scale.colours(v[None, :])[0]
    rows = np.arange(h)[:, None]
    for j in np.flatnonzero(finite):
        top, bottom = sorted((ys[j], zero))
        band = (rows >= int(top)) & (rows <= int(round(bottom)))
        tile[band[:, 0], edges[j]:max(edges[j] + 1, edges[j + 1])] = colours[j]
    image = Image.fromarray(tile)
    draw = ImageDraw.Draw(image)
    draw.line([(0, zero), (w - 1, zero)], fill=ZERO, width=1)
    centres = (edges[:-1] + edges[1:]) / 2
    points = [(float(x), float(y)) for x, y, ok in zip(centres, ys, finite, strict=True) if ok]
    if len(points) > 1:
        draw.line(points, fill=LINE, width=2, joint="curve")
    elif points:
        x, y = points[0]
        draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=LINE)
    return np.asarray(image)
