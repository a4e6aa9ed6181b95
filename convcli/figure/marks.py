"""``run --figure --trace ROW,COL``: the traced window marked on the figure.

On every input panel, the taps that output position reads (its receptive field in this layer,
through stride, dilation and padding; taps in the padding fall outside the panel); on every map of
the output's shape, the position itself. A panel drawn as block means marks the blocks they fall in.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from convcli.engine import Layer
from convcli.errors import ShapeError
from convcli.figure.boxes import Box, FigurePlan, PanelPlan, RowPlan

#: the mark's outline: green, apart from the grey inputs and the blue-white-red maps
MARK = (0, 200, 60)
#: a mark is at least this many pixels across, so that one value of a photo's block means shows
MARK_MIN = 8


def _span(box: Box, values_shape: tuple[int, ...], full: tuple[int, int], rows: tuple[int, int],
          cols: tuple[int, int]) -> Box:
    """The pixels of ``box`` showing ``rows`` × ``cols`` (half-open, of the ``full`` map)."""
    vh, vw = values_shape[:2]
    k = max(1, -(-full[0] // vh), -(-full[1] // vw))  # the block means' factor (1: value for value)
    py, px = box.height / vh, box.width / vw
    y0, y1 = box.y0 + rows[0] // k * py, box.y0 + ((rows[1] - 1) // k + 1) * py
    x0, x1 = box.x0 + cols[0] // k * px, box.x0 + ((cols[1] - 1) // k + 1) * px
    cy, cx, hh, hw = (y0 + y1) / 2, (x0 + x1) / 2, max(MARK_MIN, y1 - y0) / 2, max(MARK_MIN, x1 - x0) / 2
    return Box(round(cx - hw), round(cy - hh), round(cx + hw), round(cy + hh))


def window(layer: Layer, at: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The input rows and columns (half-open) the window at output ``at`` spans inside the input, or
    None when every tap falls in the padding."""
    g = layer.geometry
    ho, wo = g.out_hw
    i, j = at
    if not (0 <= i < ho and 0 <= j < wo):
        raise ShapeError(f"position {i},{j} is outside the {ho}×{wo} output")
    (kh, kw), (h, w) = g.kernel_hw, layer.x.shape[:2]
    rows = i * g.stride[0] - g.pads[0] + np.arange(kh) * g.dilation[0]
    cols = j * g.stride[1] - g.pads[2] + np.arange(kw) * g.dilation[1]
    rows, cols = rows[(rows >= 0) & (rows < h)], cols[(cols >= 0) & (cols < w)]
    if not rows.size or not cols.size:
        return None
    return (int(rows.min()), int(rows.max()) + 1), (int(cols.min()), int(cols.max()) + 1)


def with_trace(plan: FigurePlan, layer: Layer, at: tuple[int, int], *, one_axis: bool = False) -> FigurePlan:
    """``plan`` with the window at output position ``at`` marked on its panels (``one_axis``: a 1-D
    layer's one row, whose position is its column alone)."""
    taps = window(layer, at)
    in_hw = (int(layer.x.shape[0]), int(layer.x.shape[1]))
    out_hw = (int(layer.geometry.out_hw[0]), int(layer.geometry.out_hw[1]))
    i, j = at

    def marked(p: PanelPlan) -> PanelPlan:
        if p.kind in ("kernel", "bias"):
            return p
        if p.kind == "input":
            return p if taps is None else replace(p, mark=_span(p.box, p.values.shape, in_hw, *taps))
        return replace(p, mark=_span(p.box, p.values.shape, out_hw, (i, i + 1), (j, j + 1)))

    where = f"({j})" if one_axis else f"({i}, {j})"
    rows: list[RowPlan] = [replace(r, panels=[marked(p) for p in r.panels],
                                   heading=f"{r.heading} · window at output {where} marked") for r in plan.rows]
    return replace(plan, rows=rows)
