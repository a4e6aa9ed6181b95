"""--trace marks the window on the figure (the taps on every input channel, the position on every
map), and the dominant-channel map: which part has the largest |partial| at each position."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convcli import engine
from convcli.errors import ShapeError
from convcli.figure import budget, dominant, marks
from convcli.figure import plan as figure_plan
from convcli.sources import kernels

from helpers import SAMPLES, decode, invoke
from oracle import naive_partials


def test_dominant_map_is_the_naive_argmax_of_abs_partials():
    rng = np.random.default_rng(21)
    x = rng.normal(size=(12, 14, 3))
    kernel = rng.normal(size=(3, 3, 3, 1))
    layer = engine.prepare(x, kernel, dtype=np.float64, padding="same")
    result = engine.run_layer(layer, None, "relu")
    plan = figure_plan.plan_figure(result, [0], ("R", "G", "B"))
    (dom,) = plan.rows[0].of_kind("dominant")
    naive = naive_partials(x, kernel, 1, layer.geometry.pads)[:, :, :, 0]
    want = np.abs(naive).argmax(axis=2)
    assert np.array_equal(dom.values.astype(int), want)
    # R, G and B in their own colours; the legend gives each one's share of the positions
    assert dom.categories == (dominant.CHANNEL_COLOURS["R"], dominant.CHANNEL_COLOURS["G"], dominant.CHANNEL_COLOURS["B"])
    shares = [100 * (want == c).mean() for c in range(3)]
    assert [text for text, _ in dom.legend] == [f"{n} {s:.0f}%" for n, s in zip("RGB", shares, strict=True)]
    # one channel: nothing to compare, no map
    one = engine.run_layer(engine.prepare(x[:, :, :1], kernel[:, :, :1]), None, "linear")
    assert not figure_plan.plan_figure(one, [0], ("L",)).rows[0].of_kind("dominant")


def test_dominant_of_nan_and_other_names():
    index = dominant.dominant([np.array([[1.0, np.nan]]), np.array([[-2.0, np.nan]])])
    assert index.tolist() == [[1, -1]]
    assert dominant.palette(["c0", "c1"]) == dominant.QUALITATIVE[:2]
    assert tuple(dominant.colours(index, dominant.QUALITATIVE[:2])[0, 1]) == dominant.UNDECIDED


@pytest.mark.parametrize("opts", [{}, {"stride": 2, "padding": "same"}, {"dilation": 2}])
def test_window_is_the_traces_taps(opts):
    rng = np.random.default_rng(22)
    layer = engine.prepare(rng.normal(size=(11, 13, 2)), rng.normal(size=(3, 3, 2, 1)), **opts)
    ho, wo = layer.geometry.out_hw
    for at in [(0, 0), (ho - 1, wo - 1), (ho // 2, wo // 3)]:
        trace = engine.trace_position(layer, *at, 0)
        rows = trace.in_rows[(trace.in_rows >= 0) & (trace.in_rows < 11)]
        cols = trace.in_cols[(trace.in_cols >= 0) & (trace.in_cols < 13)]
        assert marks.window(layer, at) == ((rows.min(), rows.max() + 1), (cols.min(), cols.max() + 1))
    with pytest.raises(ShapeError):
        marks.window(layer, (ho, 0))


def test_textbook_trace_is_marked_on_every_panel(tmp_path: Path):
    x = np.load(SAMPLES / "textbook.npy")
    result = engine.run_layer(engine.prepare(x, kernels.make_kernel("ones", (2, 2), 3, 1)), None, "relu")
    plan = figure_plan.plan_figure(result, [0], ("c0", "c1", "c2"), title="textbook.npy",
                                   max_panel=budget.FIGURE_MAX_PANEL, width=1920, trace_at=(1, 0))
    row = plan.rows[0]
    for p in row.of_kind("input"):  # rows 1-2, columns 0-1 of the 3×3 input, 86 px a value
        k = p.box.height // 3
        assert (p.mark.x0, p.mark.y0, p.mark.x1, p.mark.y1) == (p.box.x0, p.box.y0 + k, p.box.x0 + 2 * k, p.box.y1)
    for p in [*row.of_kind("partial"), *row.of_kind("preactivation"), *row.of_kind("output")]:
        k = p.box.height // 2  # output (1, 0) of the 2×2 maps: the lower-left cell
        assert (p.mark.x0, p.mark.y0, p.mark.x1, p.mark.y1) == (p.box.x0, p.box.y0 + k, p.box.x0 + k, p.box.y1)
    assert all(p.mark is None for p in [*row.of_kind("kernel"), *row.of_kind("bias")])
    assert "window at output (1, 0)" in row.heading
    # the picture: the CLI's figure with --trace has the mark's green on each marked panel's outline
    target = tmp_path / "t.png"
    r = invoke("run", SAMPLES / "textbook.npy", "-k", "2", "--init", "ones", "--activation", "relu", "-q",
               "--trace", "1,0", "--figure", target)
    assert r.exit_code == 0, r.output
    _, px = decode(target)
    assert (px.shape[1], px.shape[0]) == plan.size
    for p in row.panels:
        if p.mark is not None:
            assert tuple(px[p.mark.y0, (p.mark.x0 + p.mark.x1) // 2]) == marks.MARK, p.title


def test_a_photo_window_is_at_least_a_few_pixels():
    x = np.random.default_rng(23).uniform(size=(900, 700, 3))
    result = engine.run_layer(engine.prepare(x, kernels.make_kernel("random", (3, 3), 3, 1)), None, "linear",
                              ranges=True)
    plan = figure_plan.plan_figure(result, [0], ("R", "G", "B"), max_panel=budget.FIGURE_MAX_PANEL, width=1920,
                                   trace_at=(450, 350))
    for p in plan.rows[0].panels:
        if p.mark is not None:
            assert p.mark.width >= marks.MARK_MIN and p.mark.height >= marks.MARK_MIN
            assert p.box.x0 <= p.mark.x0 < p.mark.x1 <= p.box.x1 + marks.MARK_MIN
