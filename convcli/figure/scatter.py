"""A transposed layer's animation, its numbers: each input position's scaled kernel copies and where
they land (:func:`scatter_frames`), the output accumulating; the frames' pictures are
:mod:`.animate_transpose` (2-D) and :mod:`.animate_transpose_1d` (1-D, as line plots)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from convcli.engine.transpose import TransposeLayer
from convcli.figure.animate import choose_positions

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

    from convcli.figure.draw import Font
    from convcli.figure.theme import Theme
    from convcli.present.filtersum import FilterSum


@dataclass(frozen=True)
class ScatterFrame:
    """One frame's numbers: input ``position`` (row, column) scattering into filter ``filter``.

    ``channels`` are the filter's group's input channels (absolute), ``values (Cg,)`` the input there,
    ``contributions (Cg, kh, kw)`` each channel's kernel times its value, ``rows (kh,)`` / ``cols (kw,)``
    the output rows and columns its taps land on (outside the output: cropped), ``accumulated (H', W')``
    what every frame so far has put on the output (no bias), ``bias`` the filter's bias."""

    filter: int
    position: tuple[int, int]
    channels: tuple[int, ...]
    values: tuple[float, ...]
    contributions: np.ndarray
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    accumulated: np.ndarray
    bias: float

    @property
    def added(self) -> np.ndarray:
        """``(kh, kw)``: the sum over the channels of what this position puts on its window."""
        return np.asarray(self.contributions.sum(axis=0))


@dataclass(frozen=True)
class Scatter:
    """One frame: its numbers and its picture."""

    data: ScatterFrame
    image: Image.Image


def as_2d(layer: TransposeLayer) -> tuple[np.ndarray, np.ndarray, tuple[int, int], tuple[int, int],
                                           tuple[int, int], tuple[int, int]]:
    """``x (H, W, C)``, ``kernel (kh, kw, Fg, C)``, strides, dilations, crops before and output size, a
    1-D layer as one row."""
    g = layer.geometry
    if layer.ndim == 1:
        return (layer.x[None], layer.kernel[None], (1, g.strides[0]), (1, g.dilations[0]), (0, g.crops[0][0]),
                (1, g.out_size[0]))
    if layer.ndim != 2:
        raise ValueError("--animate draws 1-D and 2-D transposed layers")
    return (layer.x, layer.kernel, (g.strides[0], g.strides[1]), (g.dilations[0], g.dilations[1]),
            (g.crops[0][0], g.crops[1][0]), (g.out_size[0], g.out_size[1]))


def scatter_positions(layer: TransposeLayer, frames: int | None = None) -> list[tuple[int, int]]:
    """The input positions animated, in order: all of a small input, else a path (:func:`choose_positions`)."""
    x = as_2d(layer)[0]
    return choose_positions(x.shape[:2], frames)


def scatter_frames(layer: TransposeLayer, f: int, positions: Sequence[tuple[int, int]], bias: float = 0.0
                   ) -> Iterator[ScatterFrame]:
    """The numbers of each frame, in order (the accumulated output is each frame's own copy)."""
    x, kernel, s, d, before, out_hw = as_2d(layer)
    group = f // layer.fg
    channels = tuple(range(group * layer.cg, (group + 1) * layer.cg))
    w = np.asarray(kernel[:, :, f - group * layer.fg, list(channels)], dtype=np.float64)  # (kh, kw, Cg)
    kh, kw = w.shape[:2]
    acc = np.zeros(out_hw, dtype=np.float64)
    for i, j in positions:
        values = np.asarray(x[i, j, list(channels)], dtype=np.float64)
        contributions = np.moveaxis(w * values, -1, 0)  # (Cg, kh, kw)
        rows = [i * s[0] + t * d[0] - before[0] for t in range(kh)]
        cols = [j * s[1] + t * d[1] - before[1] for t in range(kw)]
        added = contributions.sum(axis=0)
        for a, r in enumerate(rows):
            for b, c in enumerate(cols):
                if 0 <= r < out_hw[0] and 0 <= c < out_hw[1]:
                    acc[r, c] += added[a, b]
        yield ScatterFrame(f, (int(i), int(j)), channels, tuple(float(v) for v in values), contributions,
                           tuple(rows), tuple(cols), acc.copy(), bias)


def span_text(values: Sequence[int], n: int) -> str:
    """The output positions ``values`` that lie in ``[0, n)``: ``a–b``, one, or none (cropped)."""
    inside = [v for v in values if 0 <= v < n]
    if not inside:
        return "none (cropped)"
    return str(inside[0]) if len(set(inside)) == 1 else f"{min(inside)}–{max(inside)}"


def value_lines(draw: ImageDraw.ImageDraw, xy: tuple[int, int], view: FilterSum, data: ScatterFrame, font: Font,
                theme: Theme, *, over: str, taps: bool = False) -> int:
    """Beside a frame: each shown channel's input value (with its copy ``x·w`` when ``taps`` and short), the
    others' together, the sum the copies add ``over`` the window or taps, and that the bias comes last.
    Returns the line the bias was written on."""
    from convcli.figure.draw import cell_text, safe_text
    from convcli.present import describe

    x, y = xy
    for c in view.shown:
        copy = data.contributions[c].ravel()
        more = f" → x·w = [{', '.join(cell_text(float(v)) for v in copy)}]" if taps and len(copy) <= 5 else ""
        draw.text((x, y), safe_text(font, f"{view.names[c]}: x = {cell_text(data.values[c])}{more}"), font=font,
                  fill=theme.ink)
        y += 20
    if view.others:
        total = sum(data.values[c] for c in view.others)
        draw.text((x, y), safe_text(font, f"Σ {len(view.others)} others: x = {cell_text(total)}"), font=font,
                  fill=theme.muted)
        y += 20
    draw.text((x, y), safe_text(font, f"adds Σ = {cell_text(float(data.added.sum()))} over its {over}"), font=font,
              fill=theme.ink)
    y += 24
    draw.text((x, y), safe_text(font, f"bias {describe.fmt(data.bias)} is added at the end"), font=font,
              fill=theme.muted)
    return y
