"""``run --animate`` of a transposed layer: each input value's scaled kernel landing on the output.

A transposed layer spreads its input (:mod:`convcli.engine.transpose`): input position ``(i, j)``
puts, for every channel ``c`` of the filter's group, ``x[i, j, c] · kernel[:, :, f, c]`` on the
output window whose top-left tap lands at ``(i·s - before, j·s - before)`` (taps dilated by ``d``; a
tap landing in the cropped border adds nothing). Each frame takes the next input position
(:func:`scatter_positions`: every one of a small input, raster order, else a path as
:func:`~convcli.figure.animate.choose_positions` picks) and shows the position on every shown input
channel, each channel's scaled kernel, and the output accumulating: what the positions so far have
put there (on a path through a large input, only the path's). The numbers are kept per frame in
:class:`ScatterFrame`; after every input position the accumulated output plus the bias is the layer's
pre-activation. A 1-D layer is drawn as line plots, as :mod:`.animate_1d` draws a 1-D conv's window:
each shown input signal with the position marked, the copy it scatters (the sum of its channels'
scaled kernels) as stems on the output's axis where the taps land, and the output accumulating.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from convcli.engine import LayerResult
from convcli.engine.transpose import TransposeLayer
from convcli.figure.animate import (
    GAP,
    HEAD,
    MARGIN,
    TEXT_W,
    TILE,
    WINDOW,
    choose_positions,
    new_page,
    numbers_where,
)
from convcli.figure.animate_1d import PLOT_H, PLOT_W, ROW, plot_bounds, plot_line, plot_x, plot_y
from convcli.figure.draw import cell_text, draw_numbers, font_at, paint, safe_text
from convcli.figure.layout import NUMBERS_MAX
from convcli.figure.plan import ImageScale, Scale
from convcli.figure.theme import LIGHT, Theme
from convcli.present import describe
from convcli.present.filtersum import FilterSum
from convcli.present.maps import block_factor, block_mean

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

    from convcli.figure.draw import Font

KERNEL_PX = 96  #: a scaled kernel's long side in a frame, about
COPY_ALL = 64  #: a 1-D output of at most this many positions shows the copy on all of it, else near it


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


def _as_2d(layer: TransposeLayer) -> tuple[np.ndarray, np.ndarray, tuple[int, int], tuple[int, int],
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
    x = _as_2d(layer)[0]
    return choose_positions(x.shape[:2], frames)


def scatter_frames(layer: TransposeLayer, f: int, positions: Sequence[tuple[int, int]], bias: float = 0.0
                   ) -> Iterator[ScatterFrame]:
    """The numbers of each frame, in order (the accumulated output is each frame's own copy)."""
    x, kernel, s, d, before, out_hw = _as_2d(layer)
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


class _Board:
    """What every frame shares: the input tiles, the output's place and scale, the layout."""

    def __init__(self, layer: TransposeLayer, result: LayerResult, view: FilterSum, theme: Theme, title: str) -> None:
        x, kernel, *_, out_hw = _as_2d(layer)
        self.view, self.theme, self.title = view, theme, title
        h, w = x.shape[:2]
        self.in_hw = (h, w)
        self.k_in = block_factor((h, w), TILE, TILE)
        small = [x[:, :, c] for c in (view.channels[s] for s in view.shown)]
        reduced = [np.asarray(v, dtype=np.float64) if self.k_in == 1 else block_mean(v, self.k_in, self.k_in)
                   for v in small]
        self.in_shape = reduced[0].shape if reduced else (h, w)
        self.z_in = max(1, TILE // max(self.in_shape))
        size = (self.in_shape[0] * self.z_in, self.in_shape[1] * self.z_in)
        scale = ImageScale.fit(small)
        self.tiles = [paint(r, scale, size) for r in reduced]
        self.inputs, self.tile_hw = small, size
        self.small_input = max(h, w) <= NUMBERS_MAX
        self.names = [view.names[c] for c in view.shown]
        kh, kw = kernel.shape[:2]
        self.k_px = max(4, KERNEL_PX // max(kh, kw))
        self.k_hw = (kh * self.k_px, kw * self.k_px)
        self.k_out = block_factor(out_hw, TILE, TILE)
        self.out_hw = out_hw
        reduced_out = (-(-out_hw[0] // self.k_out), -(-out_hw[1] // self.k_out))
        self.z_out = max(1, TILE // max(reduced_out))
        self.out_cells = reduced_out
        pre = np.asarray(result.preactivation[..., view.index], dtype=np.float64).reshape(out_hw)
        self.out_scale = Scale.of_values([pre - (view.bias if view.use_bias else 0.0)])
        self.in_x = [MARGIN + k * (max(size[1], self.k_hw[1]) + GAP) for k in range(len(self.tiles))]
        last = self.in_x[-1] + max(size[1], self.k_hw[1]) + GAP if self.tiles else MARGIN
        self.text_x = last
        self.out_x = last + TEXT_W
        width = self.out_x + max(reduced_out[1] * self.z_out, 120) + MARGIN
        self.kernel_y = HEAD + size[0] + 30
        height = max(self.kernel_y + self.k_hw[0] + 30, HEAD + reduced_out[0] * self.z_out + 40,
                     HEAD + (len(view.shown) + 6) * 20) + MARGIN
        self.size = (width, height)

    def image(self) -> Image.Image:
        from PIL import Image

        img, draw, label = new_page(self.size, self.theme, self.title)
        for k, tile in enumerate(self.tiles):
            x0 = self.in_x[k]
            img.paste(Image.fromarray(tile), (x0, HEAD))
            if self.small_input:
                draw_numbers(draw, np.asarray(self.inputs[k]), tile[:: self.z_in, :: self.z_in],
                             (x0, HEAD, x0 + tile.shape[1], HEAD + tile.shape[0]), self.theme.border)
            draw.text((x0, HEAD - 16), safe_text(label, f"input {self.names[k]}"), font=label, fill=self.theme.ink)
        draw.text((self.out_x, HEAD - 16), safe_text(label, "output, accumulating"), font=label, fill=self.theme.ink)
        return img


def iter_scatter_frames(layer: TransposeLayer, result: LayerResult, f: int, names: Sequence[str],
                        positions: Sequence[tuple[int, int]], *, theme: Theme = LIGHT, title: str = ""
                        ) -> Iterator[Scatter]:
    """One :class:`Scatter` per input position, in order (``result``: the run of ``layer``, for the
    output's scale, the bias and the channels' names); a 1-D layer's as line plots."""
    from PIL import Image, ImageDraw

    view = FilterSum.of(result, f, names)
    bias = view.bias if view.use_bias else 0.0
    if layer.ndim == 1:
        yield from _line_frames(layer, view, f, positions, bias, theme,
                                f"{title} · filter {f}" if title else f"filter {f}")
        return
    board = _Board(layer, result, view, theme, f"{title} · filter {f}" if title else f"filter {f}")
    background = board.image()
    empty = np.array(theme.background, dtype=np.uint8)
    reached = np.zeros(board.out_hw, dtype=bool)
    kscale = Scale.of_values([np.asarray(layer.kernel, dtype=np.float64) * float(np.abs(layer.x).max() or 1)])
    font, bold = font_at(13), font_at(14, True)
    for n, data in enumerate(scatter_frames(layer, f, positions, bias)):
        img = background.copy()
        draw = ImageDraw.Draw(img)
        i, j = data.position
        inside = [(r, c) for r in data.rows for c in data.cols if 0 <= r < board.out_hw[0] and 0 <= c < board.out_hw[1]]
        for r, c in inside:
            reached[r, c] = True
        # the output so far: the cells reached in their colours (the scale of the whole output, less the bias)
        k, z = board.k_out, board.z_out
        if k == 1:
            acc, hit = data.accumulated, reached
        else:  # a block's colour: the mean over its cells reached so far (a path's windows are few and small)
            share = block_mean(reached.astype(np.float64), k, k)
            hit = share > 0
            acc = block_mean(data.accumulated, k, k) / np.where(hit, share, 1.0)
        grid = np.where(hit[:, :, None], board.out_scale.colours(acc), empty).astype(np.uint8)
        img.paste(Image.fromarray(np.repeat(np.repeat(grid, z, 0), z, 1)), (board.out_x, HEAD))
        oh, ow = board.out_cells
        draw.rectangle([board.out_x - 1, HEAD - 1, board.out_x + ow * z, HEAD + oh * z], outline=theme.border)
        if k == 1 and max(board.out_hw) <= NUMBERS_MAX:
            shown = np.where(hit, acc, np.nan)
            numbers_where(draw, shown, grid, (board.out_x, HEAD), z)
        if inside:
            rs, cs = [r for r, _ in inside], [c for _, c in inside]
            _box(draw, board.out_x + min(cs) // k * z, HEAD + min(rs) // k * z, board.out_x + (max(cs) // k + 1) * z,
                 HEAD + (max(rs) // k + 1) * z)
        for t, x0 in enumerate(board.in_x):
            zi, ki = board.z_in, board.k_in
            _box(draw, x0 + j // ki * zi, HEAD + i // ki * zi, x0 + (j // ki + 1) * zi, HEAD + (i // ki + 1) * zi)
            c = view.shown[t]
            y = HEAD + board.tile_hw[0] + 6
            draw.text((x0, y), safe_text(font, f"{cell_text(data.values[c])} × kernel ="), font=font, fill=theme.ink)
            part = data.contributions[c]
            tile = paint(part, kscale, board.k_hw)
            ky = board.kernel_y
            img.paste(Image.fromarray(tile), (x0, ky))
            if max(part.shape) <= 5:
                p = board.k_px
                draw_numbers(draw, part, tile[::p, ::p], (x0, ky, x0 + tile.shape[1], ky + tile.shape[0]),
                             theme.border)
            draw.rectangle([x0 - 1, ky - 1, x0 + tile.shape[1], ky + tile.shape[0]], outline=WINDOW)
        x, y = board.text_x, HEAD
        draw.text((x, y - 16), safe_text(font, f"input ({i}, {j}) · frame {n + 1}/{len(positions)}"), font=font,
                  fill=theme.muted)
        rows, cols = _span(data.rows, board.out_hw[0]), _span(data.cols, board.out_hw[1])
        draw.text((x, y), safe_text(font, f"→ output rows {rows}, cols {cols}"), font=font, fill=theme.ink)
        y += 22
        for c in view.shown:
            draw.text((x, y), safe_text(font, f"{view.names[c]}: x = {cell_text(data.values[c])}"), font=font,
                      fill=theme.ink)
            y += 20
        if view.others:
            total = sum(data.values[c] for c in view.others)
            draw.text((x, y), safe_text(font, f"Σ {len(view.others)} others: x = {cell_text(total)}"), font=font,
                      fill=theme.muted)
            y += 20
        draw.text((x, y), safe_text(font, f"adds Σ = {cell_text(float(data.added.sum()))} over its window"),
                  font=font, fill=theme.ink)
        y += 24
        draw.text((x, y), safe_text(font, f"bias {describe.fmt(bias)} is added at the end"), font=font,
                  fill=theme.muted)
        if n + 1 == len(positions) and len(positions) == int(np.prod(board.in_hw)):  # every input has landed
            y += 22
            draw.text((x, y), safe_text(bold, "output + bias = z"), font=bold, fill=theme.ink)
        yield Scatter(data, img)


def _span(values: Sequence[int], n: int) -> str:
    inside = [v for v in values if 0 <= v < n]
    if not inside:
        return "none (cropped)"
    return str(inside[0]) if len(set(inside)) == 1 else f"{min(inside)}–{max(inside)}"


def _box(draw: ImageDraw.ImageDraw, x0: float, y0: float, x1: float, y1: float) -> None:
    """A green outline at least 8 px across."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = max(4.0, (x1 - x0) / 2), max(4.0, (y1 - y0) / 2)
    draw.rectangle([round(cx - hw) - 2, round(cy - hh) - 2, round(cx + hw) + 1, round(cy + hh) + 1], outline=WINDOW,
                   width=2)


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


def _line_frames(layer: TransposeLayer, view: FilterSum, f: int, positions: Sequence[tuple[int, int]], bias: float,
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
        _line_text(draw, board, data, n, len(positions), bias, font, bold)
        yield Scatter(data, img)


def copy_window(landed: Sequence[int], n: int) -> tuple[int, int]:
    """The output positions ``[lo, hi)`` the copy's plot spans: all ``n`` of a short output (up to
    :data:`COPY_ALL`), else :data:`COPY_ALL` around where the copy lands."""
    if n <= COPY_ALL or not landed:
        return 0, n
    span = max(COPY_ALL, 3 * (max(landed) - min(landed) + 1))
    lo = min(max(0, (min(landed) + max(landed) + 1) // 2 - span // 2), max(0, n - span))
    return lo, min(n, lo + span)


def _line_text(draw: ImageDraw.ImageDraw, board: _Lines, data: ScatterFrame, n: int, frames: int, bias: float,
               font: Font, bold: Font) -> None:
    """The column beside the plots: the position, each channel's value and copy, the sum it adds, the bias."""
    theme, view = board.theme, board.view
    x, y = board.text_x, HEAD
    i = data.position[1]
    draw.text((x, y - 16), safe_text(font, f"input {i} · frame {n + 1}/{frames}"), font=font, fill=theme.muted)
    draw.text((x, y), safe_text(font, f"→ output positions {_span(data.cols, board.out_len)}"), font=font,
              fill=theme.ink)
    y += 22
    for c in view.shown:
        copy = data.contributions[c][0]
        taps = f" → x·w = [{', '.join(cell_text(float(v)) for v in copy)}]" if len(copy) <= 5 else ""
        draw.text((x, y), safe_text(font, f"{view.names[c]}: x = {cell_text(data.values[c])}{taps}"), font=font,
                  fill=theme.ink)
        y += 20
    if view.others:
        total = sum(data.values[c] for c in view.others)
        draw.text((x, y), safe_text(font, f"Σ {len(view.others)} others: x = {cell_text(total)}"), font=font,
                  fill=theme.muted)
        y += 20
    draw.text((x, y), safe_text(font, f"adds Σ = {cell_text(float(data.added.sum()))} over its taps"), font=font,
              fill=theme.ink)
    y += 24
    draw.text((x, y), safe_text(font, f"bias {describe.fmt(bias)} is added at the end"), font=font, fill=theme.muted)
    if n + 1 == frames and frames == board.length:  # every input has landed
        draw.text((x, y + 22), safe_text(bold, "output + bias = z"), font=bold, fill=theme.ink)
