"""``run --animate``: the window sliding over the output, one frame a position, every channel at once.

Each frame shows, for one filter at output position ``(i, j)``: the window on every shown input
channel (the taps it reads, through stride, dilation and padding), each channel's partial sum
there (``Σ w·x`` over its window), their running total, the bias, the activation and the output,
and the output map filling in position by position. The numbers come from
:func:`convcli.engine.trace_position` (those of ``run --trace``) and are kept per frame in
:class:`FrameData`, which the tests read; the pictures are painted from them.

Positions (:func:`choose_positions`): every one of a small output (at most :data:`ALL_POSITIONS`),
raster order; else ``frames`` (default :data:`PATH_FRAMES`) along a path: the middle row, or
evenly spaced rows of it when the row is shorter than the path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from convcli import engine
from convcli.engine import ACTIVATION_FORMULAS, Layer, LayerResult
from convcli.figure.draw import cell_text, draw_numbers, font_at, paint, safe_text
from convcli.figure.layout import NUMBERS_MAX
from convcli.figure.plan import ImageScale, Scale
from convcli.figure.theme import LIGHT, Theme
from convcli.present import describe
from convcli.present.filtersum import FilterSum
from convcli.present.maps import block_factor, block_mean

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

PATCH = 120  #: the window's zoomed taps under a larger input's tile, about
ALL_POSITIONS = 64  #: outputs of at most this many positions are animated whole
PATH_FRAMES = 60  #: else this many positions along a path, unless --frames says
TILE = 176  #: a map's long side in a frame, about
MARGIN, GAP, TEXT_W, HEAD = 20, 18, 300, 52
WINDOW = (0, 200, 60)  #: the window's outline: green, on grey inputs and on blue-white-red maps alike
#: The largest animation ``run --animate`` writes by default, in bytes (tests hold it to this).
SIZE_BUDGET = 5_000_000


def choose_positions(out_hw: Sequence[int], frames: int | None = None) -> list[tuple[int, int]]:
    """The output positions animated, in order (see the module's note)."""
    ho, wo = int(out_hw[0]), int(out_hw[1])
    n = frames if frames is not None else (ho * wo if ho * wo <= ALL_POSITIONS else PATH_FRAMES)
    if ho * wo <= n:
        return [(i, j) for i in range(ho) for j in range(wo)]
    if wo >= n:
        cols = np.unique(np.rint(np.linspace(0, wo - 1, n)).astype(int))
        return [(ho // 2, int(c)) for c in cols]
    rows = np.unique(np.rint(np.linspace(0, ho - 1, -(-n // wo))).astype(int))
    return [(int(r), c) for r in rows for c in range(wo)][:n]


def animation_bytes(layer: Layer, suffix: str, frames: int | None = None) -> int:
    """What ``run --animate FILE`` adds to a run's memory, at most: the input's block means for the
    tiles, and the frames Pillow holds (one for a GIF, written as they are drawn; every one for WebP
    and animated PNG), an RGB frame and its copy each, at the largest frame's size."""
    (h, w, c), (ho, wo) = layer.x.shape, layer.geometry.out_hw
    n = len(choose_positions((ho, wo), frames))
    shown = min(c, 5)
    width = 2 * MARGIN + shown * (TILE + GAP) + TEXT_W + 2 * TILE
    height = HEAD + 2 * TILE + PATCH + 80 + MARGIN
    held = 1 if suffix.lower() == ".gif" else n
    return 2 * 3 * width * height * (held + 1) + shown * TILE * TILE * 8 * 2 + 2 * h * w * 8


@dataclass(frozen=True)
class FrameData:
    """One frame's numbers: output ``position`` of ``filter``; ``partials`` each shown part's sum there
    (a channel's ``Σ w·x``, then "Σ N others" folded), ``running`` their running total, then the bias,
    the pre-activation and the activation's output; ``window`` the input rows and columns read."""

    filter: int
    position: tuple[int, int]
    labels: tuple[str, ...]
    partials: tuple[float, ...]
    running: tuple[float, ...]
    bias: float
    preactivation: float
    output: float
    rows: tuple[int, ...]
    cols: tuple[int, ...]


@dataclass(frozen=True)
class Frame:
    """One frame: its numbers, its picture, and where the output map is drawn in it: ``(x, y, z)``,
    its top-left corner and the pixels a side of each of its cells."""

    data: FrameData
    image: Image.Image
    output_at: tuple[int, int, int]


def frame_data(result: LayerResult, view: FilterSum, position: tuple[int, int]) -> FrameData:
    """The numbers of the frame at ``position`` (:func:`engine.trace_position`, then the bias and activation)."""
    return _frame_data(view, engine.trace_position(result.layer, *position, view.index), position)


def _frame_data(view: FilterSum, trace: engine.Trace, position: tuple[int, int]) -> FrameData:
    return trace_frame_data(view, trace, position)


def trace_frame_data(view: FilterSum, trace: engine.Trace, position: tuple[int, int]) -> FrameData:
    """A frame's numbers from the trace at ``position``: the parts' sums, their running total, bias, activation."""
    i, j = position
    sums = np.asarray(trace.sums, dtype=np.float64)
    parts = view.parts()
    partials = tuple(float(sums[list(p.positions)].sum()) for p in parts)
    running = tuple(float(v) for v in np.cumsum(partials))
    bias = view.bias if view.use_bias else 0.0
    pre = float(sums.sum()) + bias
    out = float(engine.activate(np.array([pre]), view.activation)[0])
    return FrameData(view.index, (i, j), tuple(p.label for p in parts), partials, running, bias, pre, out,
                     tuple(int(r) for r in trace.in_rows), tuple(int(c) for c in trace.in_cols))


class _Base:
    """What every frame shares: the input tiles, the output map reduced, the layout."""

    def __init__(self, result: LayerResult, view: FilterSum, theme: Theme, title: str) -> None:
        layer = result.layer
        self.view, self.theme, self.title = view, theme, title
        h, w = layer.x.shape[:2]
        self.k_in = block_factor((h, w), TILE, TILE)
        self.in_shape = (-(-h // self.k_in), -(-w // self.k_in))
        self.z_in = max(1, TILE // max(self.in_shape))  # a small input enlarged by a whole factor
        ho, wo = layer.geometry.out_hw
        self.k_out = block_factor((ho, wo), TILE, TILE)
        out = result.output[:, :, view.index]
        self.out_values = out if self.k_out == 1 else block_mean(out, self.k_out, self.k_out)
        self.z_out = max(1, TILE // max(self.out_values.shape))
        self.out_scale = Scale.of_values([out])
        shown = [view.channels[c] for c in view.shown]
        inputs = [layer.x[:, :, c] for c in shown]
        scale = ImageScale.fit(inputs)
        size = (self.in_shape[0] * self.z_in, self.in_shape[1] * self.z_in)
        self.tiles = [paint(np.asarray(x, dtype=np.float64) if self.k_in == 1 else block_mean(x, self.k_in, self.k_in),
                            scale, size) for x in inputs]
        self.tile_hw = size
        self.names = [view.names[c] for c in view.shown]
        self.input_scale, self.inputs = scale, inputs
        self.small_input = max(h, w) <= NUMBERS_MAX
        kh, kw = layer.geometry.kernel_hw
        # a larger input: the window's taps zoomed under each tile, their values written in up to 5×5
        self.patch_px = 0 if self.small_input else max(2, PATCH // max(kh, kw))
        self.patch_hw = (kh * self.patch_px, kw * self.patch_px)
        n = len(self.tiles) + bool(view.others)
        self.in_x = [MARGIN + k * (size[1] + GAP) for k in range(n)]
        self.text_x = self.in_x[-1] + size[1] + GAP if n else MARGIN
        self.out_x = self.text_x + TEXT_W
        oh, ow = self.out_values.shape
        width = self.out_x + ow * self.z_out + MARGIN
        height = HEAD + max(size[0] + 30 + (self.patch_hw[0] + 8 if self.patch_px else 0), oh * self.z_out + 34,
                            (len(view.parts()) + 5) * 21) + MARGIN
        self.size = (width, height)

    def image(self) -> Image.Image:
        from PIL import Image

        img, draw, label = new_page(self.size, self.theme, self.title)
        for k, tile in enumerate(self.tiles):
            img.paste(Image.fromarray(tile), (self.in_x[k], HEAD))
            if self.small_input:  # every value written in
                x0 = self.in_x[k]
                draw_numbers(draw, np.asarray(self.inputs[k]), tile[:: self.z_in, :: self.z_in],
                             (x0, HEAD, x0 + tile.shape[1], HEAD + tile.shape[0]), self.theme.border)
            draw.text((self.in_x[k], HEAD - 16), safe_text(label, f"input {self.names[k]}"), font=label,
                      fill=self.theme.ink)
        if self.view.others:
            x = self.in_x[-1]
            draw.text((x, HEAD + 20), safe_text(label, f"Σ {len(self.view.others)} other channels"), font=label,
                      fill=self.theme.muted)
        draw.text((self.out_x, HEAD - 16), safe_text(label, "output"), font=label, fill=self.theme.ink)
        oh, ow = self.out_values.shape
        draw.rectangle([self.out_x - 1, HEAD - 1, self.out_x + ow * self.z_out, HEAD + oh * self.z_out],
                       outline=self.theme.border)
        # the output's colour bar (its scale's every colour: a GIF's palette, taken from the first frame, has them)
        s, bw, by = self.out_scale, ow * self.z_out, HEAD + oh * self.z_out + 6
        strip = s.lut[np.rint(np.linspace(0, len(s.lut) - 1, bw)).astype(np.intp)]
        img.paste(Image.fromarray(np.ascontiguousarray(np.repeat(strip[None], 8, axis=0))), (self.out_x, by))
        small = font_at(11)
        draw.text((self.out_x, by + 10), safe_text(small, cell_text(s.lo)), font=small, fill=self.theme.muted)
        draw.text((self.out_x + bw, by + 10), safe_text(small, cell_text(s.hi)), font=small, fill=self.theme.muted,
                  anchor="ra")
        return img


def animation_frames(result: LayerResult, f: int, names: Sequence[str], positions: Sequence[tuple[int, int]], *,
                     theme: Theme = LIGHT, title: str = "") -> list[Frame]:
    """One :class:`Frame` per position, in order: its numbers and its picture."""
    return list(iter_frames(result, f, names, positions, theme=theme, title=title))


def iter_frames(result: LayerResult, f: int, names: Sequence[str], positions: Sequence[tuple[int, int]], *,
                theme: Theme = LIGHT, title: str = "") -> Iterator[Frame]:
    """:func:`animation_frames` one at a time (a writer keeps one frame in memory, not all)."""
    from PIL import Image, ImageDraw

    view = FilterSum.of(result, f, names)
    base = _Base(result, view, theme, f"{title} · filter {f}" if title else f"filter {f}")
    background = base.image()
    filled = np.zeros(base.out_values.shape, dtype=bool)
    colours = base.out_scale.colours(base.out_values)
    empty = np.array(theme.background, dtype=np.uint8)
    for n, position in enumerate(positions):
        trace = engine.trace_position(result.layer, *position, f)
        data = _frame_data(view, trace, position)
        i, j = position
        filled[i // base.k_out, j // base.k_out] = True
        img = background.copy()
        # the output map so far: the positions visited in their colours, the current one outlined
        grid = np.where(filled[:, :, None], colours, empty).astype(np.uint8)
        z = base.z_out
        img.paste(Image.fromarray(np.repeat(np.repeat(grid, z, 0), z, 1)), (base.out_x, HEAD))
        draw = ImageDraw.Draw(img)
        if max(base.out_values.shape) <= NUMBERS_MAX and base.k_out == 1:
            shown = np.where(filled, base.out_values, np.nan)
            numbers_where(draw, shown, grid, (base.out_x, HEAD), z)
        oy, ox = HEAD + (i // base.k_out) * z, base.out_x + (j // base.k_out) * z
        _outline(draw, ox, oy, ox + z, oy + z)
        _draw_windows(draw, img, base, data, trace)
        _draw_sum(draw, base, data, n, len(positions))
        yield Frame(data, img, (base.out_x, HEAD, z))


def _outline(draw: ImageDraw.ImageDraw, x0: int, y0: int, x1: int, y1: int) -> None:
    """The window's outline, at least 8 px across (a 3×3 window on a photo's 1-px tile would vanish)."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = max(4.0, (x1 - x0) / 2), max(4.0, (y1 - y0) / 2)
    draw.rectangle([round(cx - hw) - 2, round(cy - hh) - 2, round(cx + hw) + 1, round(cy + hh) + 1], outline=WINDOW,
                   width=2)


def numbers_where(draw: ImageDraw.ImageDraw, values: np.ndarray, grid: np.ndarray, xy: tuple[int, int],
                  z: int) -> None:
    """The finite ``values`` written in their ``z``-px cells at ``xy`` (NaN: a cell not reached yet)."""
    from convcli.figure.draw import number_font

    texts = [cell_text(float(v)) for v in values[np.isfinite(values)]]
    font = number_font(texts, z) if texts else None
    if font is None:
        return
    light = grid.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) > 140
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            fill = (20, 20, 20) if light[i, j] else (250, 250, 250)
            draw.text((xy[0] + j * z + z // 2, xy[1] + i * z + z // 2), safe_text(font, cell_text(float(v))),
                      font=font, fill=fill, anchor="mm")


def _draw_windows(draw: ImageDraw.ImageDraw, img: Image.Image, base: _Base, data: FrameData,
                  trace: engine.Trace) -> None:
    """The window's taps on every input tile (those inside the input; padding is outside the tile),
    and, under a larger input's tile, the taps zoomed with their values."""
    from PIL import Image

    k, z = base.k_in, base.z_in
    h, w = base.in_shape[0] * k, base.in_shape[1] * k
    rows = [r for r in data.rows if 0 <= r < h]
    cols = [c for c in data.cols if 0 <= c < w]
    font = font_at(13)
    y = HEAD + base.tile_hw[0] + 6
    for t, x0 in enumerate(base.in_x[: len(base.tiles)]):
        if rows and cols:
            _outline(draw, x0 + min(cols) // k * z, HEAD + min(rows) // k * z, x0 + (max(cols) // k + 1) * z,
                     HEAD + (max(rows) // k + 1) * z)
        draw.text((x0, y), safe_text(font, f"Σ w·x = {cell_text(data.partials[t])}"), font=font, fill=base.theme.ink)
        if base.patch_px:
            patch = trace.patch[:, :, base.view.shown[t]]
            p = base.patch_px
            tile = paint(np.asarray(patch, dtype=np.float64), base.input_scale, base.patch_hw)
            py = y + 22
            img.paste(Image.fromarray(tile), (x0, py))
            if max(patch.shape) <= 5:
                draw_numbers(draw, np.asarray(patch), tile[::p, ::p], (x0, py, x0 + tile.shape[1], py + tile.shape[0]),
                             base.theme.border)
            draw.rectangle([x0 - 1, py - 1, x0 + tile.shape[1], py + tile.shape[0]], outline=WINDOW)
    if base.view.others:
        x0 = base.in_x[-1]
        draw.text((x0, HEAD + 40), safe_text(font, f"Σ w·x = {cell_text(data.partials[-1])}"), font=font,
                  fill=base.theme.ink)


def _draw_sum(draw: ImageDraw.ImageDraw, base: _Base, data: FrameData, n: int, total: int) -> None:
    """The running total line by line, the bias, the pre-activation and the output, beside the inputs."""
    i, j = data.position
    draw_sum(draw, (base.text_x, HEAD), base.theme, base.view.activation, data,
             f"position ({i}, {j}) · frame {n + 1}/{total}")


def draw_sum(draw: ImageDraw.ImageDraw, xy: tuple[int, int], theme: Theme, activation: str, data: FrameData,
             heading: str) -> None:
    """``data``'s sum at ``xy``: the parts line by line with their running total, the bias, the
    pre-activation and (not linear) the activation's output; ``heading`` above it."""
    font, bold = font_at(13), font_at(14, True)
    ink, muted = theme.ink, theme.muted
    x, y = xy
    draw.text((x, y - 16), safe_text(font, heading), font=font, fill=muted)
    for t, (label, part, run) in enumerate(zip(data.labels, data.partials, data.running, strict=True)):
        sign = "+ " if t else "  "
        line = f"{sign}{label}: {cell_text(part)}" + (f"  → {cell_text(run)}" if t else "")
        draw.text((x, y), safe_text(font, line), font=font, fill=ink)
        y += 20
    draw.text((x, y), safe_text(font, f"+ bias {describe.fmt(data.bias)}"), font=font, fill=ink)
    y += 22
    draw.text((x, y), safe_text(bold, f"z = {cell_text(data.preactivation)}"), font=bold, fill=ink)
    y += 24
    act = activation
    if act != "linear":
        formula = ACTIVATION_FORMULAS.get(act, f"{act}(z)")
        draw.text((x, y), safe_text(font, f"{act}: {formula}"), font=font, fill=muted)
        y += 20
        draw.text((x, y), safe_text(bold, f"output = {cell_text(data.output)}"), font=bold, fill=ink)


def new_page(size: tuple[int, int], theme: Theme, title: str) -> tuple[Image.Image, ImageDraw.ImageDraw, Any]:
    """A frame's page: ``size`` in the theme's background with ``title`` at the top; the image, its
    drawing context and the labels' font."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, theme.background)
    draw = ImageDraw.Draw(img)
    head = font_at(16, True)
    draw.text((MARGIN, 10), safe_text(head, title), font=head, fill=theme.ink)
    return img, draw, font_at(13)
