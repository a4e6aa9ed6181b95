"""The figure shows the whole sum: a line per input channel (input ⊛ kernel slice = partial map),
then + bias = pre-activation → output, small maps with their numbers written in, within
--figure-width, identical filters drawn once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convcli import engine
from convcli.figure import budget
from convcli.figure import draw as figure_draw
from convcli.figure import plan as figure_plan
from convcli.sources import kernels

from helpers import SAMPLES, decode, invoke


def textbook() -> engine.LayerResult:
    x = np.load(SAMPLES / "textbook.npy")
    layer = engine.prepare(x, kernels.make_kernel("ones", (2, 2), x.shape[2], 1))
    return engine.run_layer(layer, None, "relu")


def test_the_textbook_sum_is_in_the_plan_with_its_numbers(tmp_path: Path):
    """1, 100 and 10000 through a 2×2 kernel of ones: partials 4, 400, 40000; 40404 everywhere.
    The oracle: the input's own channel sums over each 2×2 window (plain loops)."""
    x = np.load(SAMPLES / "textbook.npy").astype(np.float64)
    oracle = np.array([[[x[i:i + 2, j:j + 2, c].sum() for c in range(3)] for j in range(2)] for i in range(2)])
    assert sorted({float(v) for v in oracle.ravel()}) == [4.0, 400.0, 40000.0]

    plan = figure_plan.plan_figure(textbook(), [0], ("R", "G", "B"))
    row = plan.rows[0]
    parts = row.of_kind("partial")
    assert [p.channel for p in parts] == [0, 1, 2]
    for c, p in enumerate(parts):
        assert np.array_equal(p.values, oracle[:, :, c]) and p.numbers
    assert [float(p.values[0, 0]) for p in parts] == [4.0, 400.0, 40000.0]
    (pre,), (out,), (bias,) = row.of_kind("preactivation"), row.of_kind("output"), row.of_kind("bias")
    assert np.array_equal(pre.values, oracle.sum(axis=2)) and np.all(pre.values == 40404) and pre.numbers
    assert np.all(out.values == 40404) and out.numbers and out.title == "output = max(z, 0)"
    assert bias.values.tolist() == [[0.0]]
    assert all(np.all(k.values == 1) and k.numbers for k in row.of_kind("kernel"))
    assert all(p.numbers for p in row.of_kind("input"))  # 3×3 inputs: their values written in too
    assert ("relu", ) == tuple(t for t, _, _ in row.labels)
    # the symbols of the sum: ⊛ and = on each line, + between the partials, + bias, =, →
    symbols = [s for s, _, _ in row.operators]
    assert symbols.count("⊛") == 3 and symbols.count("+") == 3 and symbols.count("=") == 4 and "→" in symbols
    # what is written in a cell
    assert [figure_draw.cell_text(v) for v in (40404.0, 4.0, -0.12345, 1e-7, np.nan)] == \
        ["40404", "4", "-0.123", "1e-7", "NaN"]
    # the picture: the plan's size; a cell with "40404" written in has dark and light pixels
    target = tmp_path / "t.png"
    r = invoke("run", SAMPLES / "textbook.npy", "-k", "2", "--init", "ones", "--activation", "relu", "-q",
               "--figure", target)
    assert r.exit_code == 0, r.output
    _, px = decode(target)
    cli_plan = figure_plan.plan_figure(textbook(), [0], ("R", "G", "B"), title="textbook.npy",
                                       max_panel=budget.FIGURE_MAX_PANEL, width=1920)
    assert (px.shape[1], px.shape[0]) == cli_plan.size
    pre = cli_plan.rows[0].of_kind("preactivation")[0]
    cell = pre.box.crop(px)[: pre.box.height // 2, : pre.box.width // 2].reshape(-1, 3).astype(int).sum(axis=1)
    assert (cell > 600).any() and (cell < 300).any()


def test_identical_filters_are_drawn_once_with_a_note():
    x = np.random.default_rng(1).uniform(size=(20, 24, 3))
    layer = engine.prepare(x, kernels.make_kernel("sobel-x", (3, 3), 3, 3))
    result = engine.run_layer(layer, None, "linear")
    plan = figure_plan.plan_figure(result, [0, 1, 2], ("R", "G", "B"))
    assert [r.filter for r in plan.rows] == [0] and plan.rows[0].same_as == (1, 2)
    assert "filters 1, 2 identical" in plan.rows[0].heading
    # random filters differ: a row each
    layer = engine.prepare(x, kernels.make_kernel("random", (3, 3), 3, 3, seed=0))
    plan = figure_plan.plan_figure(engine.run_layer(layer, None, "linear"), [0, 2], ("R", "G", "B"))
    assert [r.filter for r in plan.rows] == [0, 2] and all(not r.same_as for r in plan.rows)


@pytest.mark.parametrize("channels, width", [(3, 800), (16, 800), (16, 1200), (3, 1920)])
def test_figure_width_is_honoured(tmp_path: Path, channels: int, width: int):
    """The PNG is at most --figure-width wide (it once was 1920 px at 800 and 2384 px with 16 channels),
    and as its plan says; 16 channels: the 4 largest and Σ 12 others, a line each."""
    x = np.random.default_rng(2).normal(size=(40, 50, channels)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "f.png"
    r = invoke("run", tmp_path / "x.npy", "--activation", "tanh", "-f", "2", "-q", "--figure", out,
               "--figure-width", str(width))
    assert r.exit_code == 0, r.output
    _, px = decode(out)
    assert px.shape[1] <= width
    row_lines = 5 if channels == 16 else 3
    plan = figure_plan.plan_figure(engine.run_layer(engine.prepare(x, kernels.make_kernel("random", (3, 3), channels,
                                                                                          2)), None, "tanh"),
                                   [0, 1], [f"c{i}" for i in range(channels)], title="x.npy",
                                   max_panel=budget.FIGURE_MAX_PANEL, width=width)
    assert (px.shape[1], px.shape[0]) == plan.size
    assert all(len([p for p in row.panels if p.kind in ("partial", "others")]) == row_lines for row in plan.rows)
    assert all(p.box.x1 <= width for row in plan.rows for p in row.panels)
