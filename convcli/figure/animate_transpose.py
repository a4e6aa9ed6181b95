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
pre-activation (the numbers: :mod:`.scatter`). A 1-D layer is drawn as line plots
(:mod:`.animate_transpose_1d`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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
    new_page,
    numbers_where,
)
from convcli.figure.animate_transpose_1d import line_frames
from convcli.figure.draw import cell_text, draw_numbers, font_at, paint, safe_text
from convcli.figure.layout import NUMBERS_MAX
from convcli.figure.plan import ImageScale, Scale
from convcli.figure.scatter import Scatter, as_2d, scatter_frames, span_text, value_lines
from convcli.figure.scatter import ScatterFrame as ScatterFrame  # the frames' numbers, named here too
from convcli.figure.scatter import scatter_positions as scatter_positions
from convcli.figure.theme import LIGHT, Theme
from convcli.present.filtersum import FilterSum
from convcli.present.maps import block_factor, block_mean

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

KERNEL_PX = 96  #: a scaled kernel's long side in a frame, about


class _Board:
    """What every frame shares: the input tiles, the output's place and scale, the layout."""

    def __init__(self, layer: TransposeLayer, result: LayerResult, view: FilterSum, theme: Theme, title: str) -> None:
        x, kernel, *_, out_hw = as_2d(layer)
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
        yield from line_frames(layer, view, f, positions, bias, theme,
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
        rows, cols = span_text(data.rows, board.out_hw[0]), span_text(data.cols, board.out_hw[1])
        draw.text((x, y), safe_text(font, f"→ output rows {rows}, cols {cols}"), font=font, fill=theme.ink)
        y = value_lines(draw, (x, y + 22), view, data, font, theme, over="window")
        if n + 1 == len(positions) and len(positions) == int(np.prod(board.in_hw)):  # every input has landed
            y += 22
            draw.text((x, y), safe_text(bold, "output + bias = z"), font=bold, fill=theme.ink)
        yield Scatter(data, img)


def _box(draw: ImageDraw.ImageDraw, x0: float, y0: float, x1: float, y1: float) -> None:
    """A green outline at least 8 px across."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = max(4.0, (x1 - x0) / 2), max(4.0, (y1 - y0) / 2)
    draw.rectangle([round(cx - hw) - 2, round(cy - hh) - 2, round(cx + hw) + 1, round(cy + hh) + 1], outline=WINDOW,
                   width=2)
