"""A 1-D layer's figure: its title names the layer's own kind and its one axis (the engine runs it
as one row of a 2-D layer, which the title must not show)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from convcli import engine
from convcli.figure import budget
from convcli.figure import plan as figure_plan

from helpers import SAMPLES, decode, invoke

SVG = "{http://www.w3.org/2000/svg}"


def title_of(path: Path) -> str:
    root = ET.fromstring(path.read_text(encoding="utf-8"))
    return "".join(next(root.iter(f"{SVG}text")).itertext())


@pytest.mark.parametrize(("args", "title"), [
    (("--kind", "Conv1D", "-k", "3"), "Conv1D 3, stride 1, no padding, 1 filter, linear · input 24×2 (L, C) → output 22×1"),
    (("--ndim", "1", "-k", "5", "--stride", "2", "--padding", "same", "-f", "2"),
     "Conv1D 5, stride 2, pads (1, 2), 2 filters, linear · input 24×2 (L, C) → output 12×2"),
    (("--kind", "DepthwiseConv1D", "-k", "3"), "DepthwiseConv1D 3, stride 1, no padding, groups 2"),
])
def test_the_title_names_the_1d_layer(args: tuple[str, ...], title: str, tmp_path: Path):
    target = tmp_path / "signal.svg"
    r = invoke("run", SAMPLES / "signal.npy", *args, "--init", "random", "-q", "--figure", target)
    assert r.exit_code == 0, r.output
    text = title_of(target)
    assert title in text and "Conv2D" not in text and "1×" not in text


def test_a_2d_layer_keeps_its_title(tmp_path: Path):
    target = tmp_path / "t.svg"
    assert invoke("run", SAMPLES / "textbook.npy", "-k", "2", "--init", "ones", "-q", "--figure", target).exit_code == 0
    assert "Conv2D 2×2, stride 1, no padding, 1 filter, linear · input 3×3×3 → output 2×2×1" in title_of(target)


def test_a_plot_draws_each_value_as_a_bar_from_zero_in_its_colour():
    from convcli.figure.plan import Scale
    from convcli.figure.plot import plot_pixels

    scale = Scale(-1.0, 1.0)
    values = np.array([-1.0, 0.0, 1.0])
    tile = plot_pixels(values, scale, (96, 30))
    assert tile.shape == (96, 30, 3)
    red, blue = (tuple(c) for c in scale.colours(np.array([[1.0, -1.0]]))[0])
    assert tuple(tile[10, 25]) == red and tuple(tile[60, 25]) != red  # 1: from the top down to the middle
    assert tuple(tile[85, 5]) == blue and tuple(tile[10, 5]) != blue  # -1: from the middle to the bottom
    assert all(tuple(tile[r, 15]) in ((255, 255, 255), (170, 170, 170), (40, 40, 40)) for r in range(96))  # 0: no bar


def test_a_1d_figure_plots_its_maps(tmp_path: Path):
    """signal.npy's c0 is a pulse, 1 at positions 8-15: its plot rises there and nowhere else."""
    from convcli.figure.plot import LINE, PLOT_H

    target = tmp_path / "signal.png"
    args = ("run", SAMPLES / "signal.npy", "--kind", "Conv1D", "-k", "3", "--init", "random", "-q", "--figure", target)
    assert invoke(*args).exit_code == 0
    _, pixels = decode(target)
    x = np.load(SAMPLES / "signal.npy")
    result = engine.run_layer(engine.prepare(x[None, :, :], np.ones((1, 3, 2, 1), np.float32)), None, "linear")
    plan = figure_plan.plan_figure(result, [0], ("c0", "c1"), max_panel=budget.FIGURE_MAX_PANEL, width=1920)
    (box,) = [p.box for p in plan.rows[0].panels if p.kind == "input" and p.channel == 0]
    assert box.height == PLOT_H
    assert [p.box.height for p in plan.rows[0].of_kind("partial")] == [PLOT_H, PLOT_H]
    tile = box.crop(pixels)
    top = tile[: 3 * PLOT_H // 4]  # above the zero line at the bottom (the scale spans 0 … 2.3, c1's ramp): the pulse
    cols = np.flatnonzero((np.abs(top.astype(int) - LINE).sum(axis=2) < 60).any(axis=0))
    step = box.width / 24
    assert cols.size and 7 * step <= cols.min() and cols.max() <= 16 * step
