"""The figure's sizes in pixels, from its maps' shapes alone (:func:`figure_layout`): the plan
(:mod:`convcli.figure.plan`) places the panels in them, the budget (:mod:`convcli.figure.budget`)
counts the memory a figure of them needs before the layer is computed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from convcli.engine import Layer
from convcli.figure import panels as panel_maps
from convcli.figure.panels import MAX_PANEL, PANEL, display_size

# Layout, in pixels

MARGIN = 24  #: around the whole figure
GAP = 32  #: between panels of one block (room for "+")
BLOCK_GAP = 56  #: between blocks (room for "⊛", "=", "→")
MIN_CELL = 170  #: narrowest cell, so a panel's title and range fit beside a narrow map
#: narrowest panel a width (``plan_figure(width=...)``) makes: room for "pre-activation z" and a range
LABEL_CELL = 150
LINE_GAP = 30  #: between the lines of a filter's channels (room for the partials' "+")
KERNEL_COL = 150  #: the kernel slices' column, at least
KERNEL_PX = 40  #: a weight's square, when the weights are written in
KERNEL_PANEL = 120  #: a larger kernel's panel, about
NUMBERS_MAX_KERNEL = 7  #: kernels up to 7×7 have their weights written in
NUMBERS_MAX = 16  #: maps up to 16×16 have their values written in
NUMBER_PX = 30  #: such a map's value gets a square this large (as the limit allows)
BIAS_COL = 96  #: the bias's column
BIAS_PX = 64  #: the bias's square
ACT_GAP = 96  #: between the pre-activation and the output: "→" and the activation's name
TITLE_H = 64  #: figure title and legend line, in a figure wide enough for each on one line
#: a figure narrower than this wraps its title and legend onto more lines (:func:`title_lines`)
WIDE_TITLE = 1300
HEAD_H = 34  #: "filter k" above a row
LABEL_H = 24  #: panel title above a map
RANGE_H = 26  #: value range under a map
BAR_H = 14  #: colour bar under a block
BAR_LABEL_H = 22  #: numbers under the bar
ROW_GAP = 28  #: between filter rows (a rule is drawn in its middle)

@dataclass(frozen=True)
class Layout:
    """A figure's sizes, from its maps' shapes alone (:func:`figure_layout`).

    Side by side (``wrapped`` false), each channel's line is ``input ⊛ kernel = partial`` and the
    bias, the pre-activation and the output stand to its right, centred on the channels' lines;
    wrapped (a narrow ``--figure-width``), they stand on a line of their own under them.
    """

    blocks: tuple[int, int, int]  # panels per filter: inputs, partial maps (with Σ others), results
    limit: int  # the longest side a map's values are drawn at (a larger map: its block means)
    sizes: dict[tuple[int, int], tuple[int, int]]  # the shape of a map's drawn values -> its box (h, w)
    cell: tuple[int, int]  # (width, height) of every map's cell
    size: tuple[int, int]  # (width, height) of the picture
    wrapped: bool = False
    kernel: tuple[int, int] = (0, 0)  # (h, w) of a kernel slice's panel
    rows: int = 1  # filters drawn


def kernel_size(kernel_hw: Sequence[int]) -> tuple[int, int]:
    """``(h, w)`` of a kernel slice's panel: :data:`KERNEL_PX` a weight up to :data:`NUMBERS_MAX_KERNEL`
    a side (the weights written in), else enlarged by a whole factor to about :data:`KERNEL_PANEL`."""
    kh, kw = int(kernel_hw[0]), int(kernel_hw[1])
    if max(kh, kw) <= NUMBERS_MAX_KERNEL:
        return kh * KERNEL_PX, kw * KERNEL_PX
    k = max(1, KERNEL_PANEL // max(kh, kw))
    if k == 1:
        return display_size((kh, kw), KERNEL_PANEL, KERNEL_PANEL)
    return kh * k, kw * k


def _widths(n_big: int, kernel_w: int, cell_w: int, output: bool) -> tuple[int, int]:
    """The picture's width side by side and wrapped, for cells ``cell_w`` wide."""
    kcol = max(KERNEL_COL, kernel_w)
    side = 2 * MARGIN + n_big * cell_w + kcol + BIAS_COL + 4 * BLOCK_GAP + (ACT_GAP if output else 0)
    channels = 2 * MARGIN + 2 * cell_w + kcol + 2 * BLOCK_GAP
    results = 2 * MARGIN + BLOCK_GAP + BIAS_COL + BLOCK_GAP + cell_w + ((ACT_GAP + cell_w) if output else 0)
    return side, max(channels, results)


def figure_layout(layer: Layer, activation: str, rows: int, panel: int = PANEL, max_panel: int = MAX_PANEL,
                  width: int | None = None) -> Layout:
    """The sizes of a figure of ``rows`` filters of ``layer`` (:func:`plan_figure`, and the memory a
    figure needs before the layer is computed). A figure that fits ``width`` as it is keeps its
    layout; a wider one gets smaller panels, then (below :data:`LABEL_CELL` a panel) its results
    wrapped under the channels, then panels down to :data:`LABEL_CELL` (never narrower: the labels' room)."""
    blocks = panel_maps.row_counts(layer, activation)
    output = blocks[2] == 2
    kernel = kernel_size(layer.geometry.kernel_hw)
    natural = _layout(layer, blocks, rows, panel, max_panel, MIN_CELL, False, kernel)
    if width is None or natural.size[0] <= width:
        return natural
    n_big = 3 + output
    fixed_side = _widths(n_big, kernel[1], 0, output)[0]
    limit = (width - fixed_side) // n_big
    if limit >= LABEL_CELL:
        return _layout(layer, blocks, rows, min(panel, limit), min(max_panel, limit), LABEL_CELL, False, kernel)
    per_line = [(width - 2 * MARGIN - max(KERNEL_COL, kernel[1]) - 2 * BLOCK_GAP) // 2,
                (width - 2 * MARGIN - 2 * BLOCK_GAP - BIAS_COL - (ACT_GAP if output else 0)) // (1 + output)]
    limit = min(max_panel, max(LABEL_CELL, min(per_line)))
    return _layout(layer, blocks, rows, min(panel, limit), limit, LABEL_CELL, True, kernel)


def _layout(layer: Layer, blocks: tuple[int, int, int], rows: int, panel: int, limit: int, narrowest: int,
            wrapped: bool, kernel: tuple[int, int]) -> Layout:
    full = {(int(hw[0]), int(hw[1])) for hw in (layer.x.shape[:2], layer.geometry.out_hw)}
    shapes = {panel_maps.drawn_shape(hw, limit) for hw in full}
    # a map of at most NUMBERS_MAX values a side has its numbers written in: room for them
    sizes = {hw: display_size(hw, max(panel, min(limit, NUMBER_PX * max(hw))) if max(hw) <= NUMBERS_MAX else panel,
                              limit) for hw in shapes}
    # maps drawn as block means fill the room they were reduced for (a portrait photo's too)
    cell_w = max(narrowest, *(w for _, w in sizes.values()), limit if shapes != full else 0)
    cell_h = max(h for h, _ in sizes.values())
    # a map much smaller than the cell (a strided output beside its input) is enlarged further, by
    # a whole factor, so that every panel of a row covers about the same area as the input it reads
    for (h, w), (dh, dw) in list(sizes.items()):
        if dh % h == 0 and dw % w == 0:
            k = max(dh // h, min(cell_h // h, cell_w // w))
            sizes[(h, w)] = (h * k, w * k)
    if all(h == 1 for h, _ in full):  # a 1-D layer's one row: its maps are line plots (figure/plot.py)
        from convcli.figure.plot import PLOT_H

        sizes = {hw: (PLOT_H, dw) if hw[0] == 1 and max(hw) > NUMBERS_MAX else (dh, dw)
                 for hw, (dh, dw) in sizes.items()}
        cell_h = max(cell_h, *(h for h, _ in sizes.values()))
    output = blocks[2] == 2
    side, wrap = _widths(3 + output, kernel[1], cell_w, output)
    fig_w = wrap if wrapped else side
    cell_h = max(cell_h, kernel[0], BIAS_PX)
    fig_h = 2 * MARGIN + title_height(fig_w) + rows * filter_height(blocks[1], cell_h, wrapped) + (rows - 1) * ROW_GAP
    return Layout(blocks, limit, sizes, (cell_w, cell_h), (fig_w, fig_h), wrapped, kernel, rows)


def filter_height(lines: int, cell_h: int, wrapped: bool) -> int:
    """One filter's height: its heading, a line per channel, the bars (and the results' own line when wrapped)."""
    line = LABEL_H + cell_h + RANGE_H
    bars = BAR_H + BAR_LABEL_H
    return HEAD_H + lines * line + (lines - 1) * LINE_GAP + bars + ((LINE_GAP + line + bars) if wrapped else 0)


def title_lines(width: int) -> tuple[int, int]:
    """Lines for the title and the legend of a figure ``width`` pixels wide: one each when wide,
    two and three in a narrow one (a width alone decides, never the font, so that the plan can be
    checked against the picture; the last line is cut with an ellipsis if the text is longer)."""
    return (1, 1) if width >= WIDE_TITLE else (2, 3)


def title_height(width: int) -> int:
    """The height of the title and legend of a figure ``width`` pixels wide (:data:`TITLE_H` when wide)."""
    title, legend = title_lines(width)
    return TITLE_H + (title - 1) * 24 + (legend - 1) * 18
