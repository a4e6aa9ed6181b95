"""The explorer's state (:class:`convcli.tui.state.Pointer`) and where the map's cells lie, without a terminal."""

from __future__ import annotations

import numpy as np

from convcli.engine import activate
from convcli.tui.panels import map_layout
from convcli.tui.state import Pointer


def test_moves_stay_inside_the_output(explored):
    p = Pointer(explored.result)
    p.move(-5, -5)
    assert (p.row, p.col) == (0, 0)
    p.move(10_000, 10_000)
    assert (p.row, p.col) == tuple(n - 1 for n in explored.output.shape[:2])


def test_filters_switch_round_the_end(explored):
    p = Pointer(explored.result)
    p.switch_filter(-1)
    assert p.filter == 3
    p.switch_filter(1)
    assert p.filter == 0


def test_every_channel_on_is_the_results_own_sum(explored):
    p = Pointer(explored.result, filter=2, row=40, col=50)
    s = p.trace_sum()
    assert s.complete
    assert s.total == float(explored.preactivation[40, 50, 2])
    assert s.output == float(explored.output[40, 50, 2])


def test_a_channel_switched_off_leaves_the_sum_of_the_others(explored):
    p = Pointer(explored.result, filter=1, row=74, col=63)
    p.toggle(0)
    s = p.trace_sum()
    trace = explored.trace(74, 63, filter=1)
    expected = np.float32(trace.sums[1:].sum(dtype=np.float32) + explored.bias[1])
    assert s.on.tolist() == [False, True, True]
    assert s.total == float(expected)
    assert s.output == float(activate(np.asarray(expected), "relu"))
    p.toggle(0)
    assert p.trace_sum().complete


def test_a_heatmap_cell_is_its_blocks_centre(explored):
    p = Pointer(explored.result)
    lay = map_layout(p, 80, 24)  # 148×126 in 23 lines of two map rows: 4×4 positions a cell
    assert lay.k == 4
    assert lay.position(0, 1) == (4, 2)  # the first line holds map rows 0 and 1: their 8 rows' centre
    assert lay.position(5, 3) == (4 * 4 + 4, 5 * 4 + 2)
    assert lay.position(0, 0) is None  # the title line


def test_the_numbers_view_is_one_position_a_cell_around_the_cursor(explored):
    p = Pointer(explored.result, row=74, col=63, numbers=True)
    lay = map_layout(p, 80, 24)
    assert lay.k == 1
    assert lay.r0 <= 74 < lay.r0 + lay.rows and lay.c0 <= 63 < lay.c0 + lay.cols
    x = lay.left + (63 - lay.c0) * lay.cell_w
    assert lay.position(x, lay.top + 74 - lay.r0) == (74, 63)
