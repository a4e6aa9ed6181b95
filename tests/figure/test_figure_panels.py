"""The figure's panels at the size they are drawn: a map that fits is drawn value for value
(the full-resolution partial maps, exactly, as before); a larger one as the means of its k×k blocks,
each pixel's value checked against its block of the naive loop's map, before any colour is chosen."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from convcli import engine
from convcli.figure import budget, panels
from convcli.figure import draw as figure_draw
from convcli.figure import layout as figure_layout
from convcli.figure import plan as figure_plan
from convcli.present import describe
from convcli.sources import kernels

from helpers import decode, invoke
from oracle import naive_partials

RGB = ("R", "G", "B")
TIGHT = {"rtol": 1e-12, "atol": 1e-9}


def naive_block_mean(a: np.ndarray, k: int) -> np.ndarray:
    """Means of the k×k blocks of ``a (h, w)``, the last ones short, NaN skipped: plain loops."""
    h, w = a.shape
    out = np.empty((-(-h // k), -(-w // k)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            block = a[i * k : (i + 1) * k, j * k : (j + 1) * k]
            kept = block[~np.isnan(block)]
            out[i, j] = kept.mean() if kept.size else np.nan
    return out


def by_kind(row: figure_plan.RowPlan, kind: str) -> list[figure_plan.PanelPlan]:
    return [p for p in row.panels if p.kind == kind]


def assert_pixels_are_the_values_colours(plan: figure_plan.FigurePlan, pixels: np.ndarray) -> None:
    """Every panel of the picture shows its values one pixel each (or as whole blocks), in its scale
    (a panel with its numbers written in: read 2 px inside each block's corner, clear of the text and grid)."""
    for row in plan.rows:
        for p in row.panels:
            h, w = p.values.shape
            k = p.box.height // h
            assert (p.box.height, p.box.width) == (h * k, w * k)
            off = 2 if p.numbers else 0
            drawn = p.box.crop(pixels)[off::k, off::k]
            # a dominant-channel map in its categories' colours, every other map in its scale's
            expected = figure_draw.panel_pixels(p, p.values.shape) if p.categories else p.scale.colours(p.values)
            assert np.array_equal(drawn, expected), (row.filter, p.title)


def test_a_map_that_fits_is_drawn_value_for_value():
    """30×40 maps fit any panel: their values are the engine's full-resolution maps, exactly, with
    the CLI's width limit as without one, and the picture is the one drawn from given maps."""
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 255, size=(30, 40, 3)).astype(np.float32)
    layer = engine.prepare(x, rng.normal(size=(3, 3, 3, 2)), padding="same")
    result = engine.run_layer(layer, [0.5, -3.0], "relu", ranges=True)
    limited = {"max_panel": budget.FIGURE_MAX_PANEL, "width": 1920}
    for opts in ({}, limited):
        plan = figure_plan.plan_figure(result, [0, 1], RGB, **opts)
        for row in plan.rows:
            f = row.filter
            full = engine.filter_partials(layer, f)
            for c, p in enumerate(by_kind(row, "partial")):
                assert p.values.dtype == np.float32 and np.array_equal(p.values, full[:, :, c])
                assert p.note == describe.value_range(full[:, :, c])
            for c, p in enumerate(by_kind(row, "input")):
                assert np.array_equal(p.values, x[:, :, c])
            assert np.array_equal(by_kind(row, "preactivation")[0].values, result.preactivation[:, :, f])
            assert np.array_equal(by_kind(row, "output")[0].values, result.output[:, :, f])
        given = figure_draw.figure_image(result, [0, 1], RGB, maps={f: engine.filter_partials(layer, f) for f in (0, 1)},
                                         **opts)
        assert np.array_equal(np.asarray(given), np.asarray(figure_draw.figure_image(result, [0, 1], RGB, **opts)))
    # 7× (280 px, the smallest factor reaching 256), with or without 1920 px (4 maps a line fit)
    assert figure_plan.plan_figure(result, [0, 1], RGB).rows[0].panels[0].box.width == 280
    fitted = figure_plan.plan_figure(result, [0, 1], RGB, **limited)
    maps = [p for p in fitted.rows[0].panels if p.kind not in ("kernel", "bias")]
    assert fitted.size[0] <= 1920 and {(p.box.height, p.box.width) for p in maps} == {(210, 280)}
    # kernel slices: 40 px a weight, the weights written in; the bias one square, its value written in
    assert {(p.box.height, p.box.width, p.numbers) for p in fitted.rows[0].of_kind("kernel")} == {(120, 120, True)}
    assert [p.values.tolist() for p in fitted.rows[1].of_kind("bias")] == [[[-3.0]]]


@pytest.mark.parametrize("opts", [{"padding": "same"}, {"stride": 2}, {"dilation": 2, "padding": "same"},
                                  {"padding": (2, 1), "stride": (1, 2)}])
def test_a_larger_map_is_drawn_as_the_block_means_of_the_naive_maps(opts):
    """45×61 input, panels at most 20 px: every panel value is the mean of its block of the naive
    loop's map (inputs, each partial map, the pre-activation and the relu output), last blocks short."""
    rng = np.random.default_rng(12)
    x = rng.uniform(-1, 1, size=(45, 61, 3))
    kernel = rng.normal(size=(3, 3, 3, 2))
    layer = engine.prepare(x, kernel, dtype=np.float64, **opts)
    result = engine.run_layer(layer, [0.25, -0.5], "relu", ranges=True)
    g = layer.geometry
    naive = naive_partials(x, kernel, g.stride, g.pads, g.dilation)
    plan = figure_plan.plan_figure(result, [0, 1], RGB, panel=16, max_panel=20)
    k_in, k_out = -(-61 // 20), -(-max(g.out_hw) // 20)
    assert k_out > 1
    for row in plan.rows:
        f = row.filter
        for c, p in enumerate(by_kind(row, "input")):
            np.testing.assert_allclose(p.values, naive_block_mean(x[:, :, c], k_in), **TIGHT)
            assert p.note == describe.value_range(x[:, :, c])
        for c, p in enumerate(by_kind(row, "partial")):
            np.testing.assert_allclose(p.values, naive_block_mean(naive[:, :, c, f], k_out), **TIGHT)
            assert p.note == describe.value_range(naive[:, :, c, f])
        pre = naive[:, :, :, f].sum(axis=2) + result.bias[f]
        np.testing.assert_allclose(by_kind(row, "preactivation")[0].values, naive_block_mean(pre, k_out), **TIGHT)
        np.testing.assert_allclose(by_kind(row, "output")[0].values, naive_block_mean(np.maximum(pre, 0), k_out), **TIGHT)
    assert_pixels_are_the_values_colours(plan, np.asarray(figure_draw.draw_figure(plan)))


@pytest.mark.parametrize("nan", [False, True])
def test_many_channels_and_a_nan_at_block_resolution(nan: bool):
    """8 channels: the 4 strongest one by one and Σ others, block means of the naive maps; a NaN
    in the input (no block sums then: each map made one at a time) skipped in every mean it reaches."""
    rng = np.random.default_rng(13)
    x = rng.normal(size=(30, 44, 8))
    if nan:
        x[7, 20, 5] = np.nan
    kernel = rng.normal(size=(3, 3, 8, 1))
    layer = engine.prepare(x, kernel, dtype=np.float64, padding="same")
    result = engine.run_layer(layer, None, "linear", ranges=True)
    naive = naive_partials(x, kernel, 1, layer.geometry.pads)[:, :, :, 0]
    names = tuple(f"c{i}" for i in range(8))
    plan = figure_plan.plan_figure(result, [0], names, panel=16, max_panel=20)
    row = plan.rows[0]
    k = -(-44 // 20)
    shown = [int(p.title.split("c")[-1]) for p in by_kind(row, "partial")]
    rest = [c for c in range(8) if c not in shown]
    assert len(shown) == 4 and by_kind(row, "others")[0].title == "Σ 4 others"
    for c, p in zip(shown, by_kind(row, "partial"), strict=True):
        np.testing.assert_allclose(p.values, naive_block_mean(naive[:, :, c], k), equal_nan=True, **TIGHT)
    others = by_kind(row, "others")[0]
    np.testing.assert_allclose(others.values, naive_block_mean(naive[:, :, rest].sum(axis=2), k), equal_nan=True,
                               **TIGHT)
    pre = by_kind(row, "preactivation")[0]
    np.testing.assert_allclose(pre.values, naive_block_mean(naive.sum(axis=2), k), equal_nan=True, **TIGHT)
    assert ("non-finite" in pre.note) == nan
    if nan:  # 3×3 taps spread the NaN over 9 positions of one block: the block's mean skips them
        assert not np.isnan(pre.values).any()
    assert_pixels_are_the_values_colours(plan, np.asarray(figure_draw.draw_figure(plan)))


def test_the_width_decides_the_panels():
    """A 600×800 RGB photo under relu: at most the width asked, filled to within a few pixels, every
    map's block means one pixel each; narrower than 4 maps of LABEL_CELL a line, the bias, the
    pre-activation and the output wrap under the channels; too narrow even so: cells of LABEL_CELL."""
    x = np.random.default_rng(14).uniform(0, 255, size=(600, 800, 3)).astype(np.float32)
    layer = engine.prepare(x, kernels.make_kernel("sobel-x", (3, 3), 3, 1), padding="same")
    result = engine.run_layer(layer, None, "relu", ranges=True)
    for width, wrapped in ((1920, False), (2400, False), (1000, True), (800, True), (640, True)):
        plan = figure_plan.plan_figure(result, [0], RGB, max_panel=budget.FIGURE_MAX_PANEL, width=width)
        assert plan.wrapped == wrapped
        if width >= 800:
            assert width - 8 < plan.size[0] <= width, (width, plan.size)
        else:
            assert plan.cell[0] == figure_layout.LABEL_CELL and plan.size[0] < 700
        maps = [p for p in plan.rows[0].panels if p.kind not in ("kernel", "bias")]
        k = -(-800 // max(p.box.width for p in maps))
        assert all(p.values.shape == (-(-600 // k), -(-800 // k)) for p in maps)
        assert all(p.box.x1 <= plan.size[0] - figure_plan.MARGIN for p in plan.rows[0].panels)


def test_the_estimate_holds_what_a_figure_allocates():
    """numpy's allocations while a photo-sized figure is planned and drawn stay within
    budget.figure_bytes, and below the shown filters' full-resolution partial maps it once kept."""
    x = np.random.default_rng(15).uniform(0, 255, size=(1200, 1600, 3)).astype(np.float32)
    layer = engine.prepare(x, kernels.make_kernel("random", (3, 3), 3, 4, seed=1), padding="same")
    result = engine.run_layer(layer, None, "relu", ranges=True)
    _ = result.output_stats, result.preactivation_stats  # the run's own, measured before
    tracemalloc.start()
    try:
        figure_draw.figure_image(result, range(4), RGB, max_panel=budget.FIGURE_MAX_PANEL, width=1920)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    full_maps = 4 * 1200 * 1600 * 3 * 4  # 92 MB
    assert peak <= budget.figure_bytes(layer, "relu", 4, 1920)
    # 240×320 block means a panel (4 maps a line at 1920 px): their tap sums and the row pass's
    # bands are most of it, still well below the full maps
    assert peak < 0.65 * full_maps, peak


def test_run_figure_width(tmp_path: Path):
    """`run --figure`: at most 1920 px wide by default, --figure-width for another width; the panels
    those of plan_figure with the same limits."""
    x = np.random.default_rng(16).uniform(0, 1, size=(500, 700, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    layer = engine.prepare(x, kernels.make_kernel("sobel-x", (3, 3), 1, 2))
    result = engine.run_layer(layer, None, "linear", ranges=True)
    for extra, width in (((), 1920), (("--figure-width", "1000"), 1000)):
        out = tmp_path / f"f{width}.png"
        r = invoke("run", tmp_path / "x.npy", "--init", "sobel-x", "--filters", "2", "-q", "--figure", out, *extra)
        assert r.exit_code == 0, r.output
        _, px = decode(out)
        plan = figure_plan.plan_figure(result, [0, 1], ["ch 0"], title="x.npy", max_panel=budget.FIGURE_MAX_PANEL,
                                       width=width)
        assert (px.shape[1], px.shape[0]) == plan.size and width - 3 <= plan.size[0] <= width
        assert_pixels_are_the_values_colours(plan, px)
    assert invoke("run", tmp_path / "x.npy", "--figure", tmp_path / "g.png", "--figure-width", "0").exit_code == 2


def test_the_panel_limit_is_the_cli_s_largest_panel():
    assert budget.FIGURE_MAX_PANEL == panels.PANEL_LIMITS[1]


def test_the_input_tiles_are_painted_once_for_every_filter(monkeypatch):
    """3 filters share the input channels: each input tile is painted once (the partials and results
    every time), and each row still shows the inputs' own colours."""
    rng = np.random.default_rng(14)
    x = rng.uniform(0, 1, size=(20, 24, 3))
    layer = engine.prepare(x, rng.normal(size=(3, 3, 3, 3)), dtype=np.float64)
    plan = figure_plan.plan_figure(engine.run_layer(layer, None, "linear", ranges=True), [0, 1, 2], RGB)
    painted: list[str] = []
    real = figure_draw.panel_pixels
    monkeypatch.setattr(figure_draw, "panel_pixels", lambda p, size: painted.append(p.kind) or real(p, size))
    pixels = np.asarray(figure_draw.draw_figure(plan))
    assert painted.count("input") == 3 and painted.count("partial") == 9 and painted.count("preactivation") == 3
    assert_pixels_are_the_values_colours(plan, pixels)


@pytest.mark.parametrize(("shape", "opts", "aligned"), [
    ((47, 71, 3), {}, True),  # valid: the output's last blocks short of the input's, the same blocks otherwise
    ((45, 61, 3), {"padding": "same"}, True),
    ((47, 71, 3), {"dilation": 2, "padding": "same"}, True),  # the tap (1, 1)
    ((47, 71, 3), {"dilation": 2}, False),  # 43×67: a block row fewer
    ((45, 61, 3), {}, False),  # valid, 43×59: one block fewer than the input's 45 rows
    ((45, 61, 3), {"stride": 2}, False),
])
def test_the_input_is_summed_once_where_a_tap_reads_it_in_place(monkeypatch, shape, opts, aligned):
    """Stride 1 and the output cut into the input's blocks: the tap sums of the tap that reads each
    output position's own input value are the input's block sums (the last row and column of blocks
    summed apart), so the whole input is not summed again; the input panels are still the naive block
    means, the pixels their colours."""
    rng = np.random.default_rng(15)
    x = rng.uniform(-1, 1, size=shape)
    kernel = rng.normal(size=(3, 3, 3, 2))
    layer = engine.prepare(x, kernel, dtype=np.float64, **opts)
    result = engine.run_layer(layer, [0.25, -0.5], "relu", ranges=True)
    whole: list[tuple[int, ...]] = []
    real = engine.block_sums
    monkeypatch.setattr(engine, "block_sums", lambda a, *args, **kw: (whole.append(a.shape) if a is layer.x else None,
                                                                       real(a, *args, **kw))[1])
    plan = figure_plan.plan_figure(result, [0, 1], RGB, panel=16, max_panel=20)
    assert (shape in whole) != aligned
    k = -(-shape[1] // 20)
    for row in plan.rows:
        for c, p in enumerate(by_kind(row, "input")):
            np.testing.assert_allclose(p.values, naive_block_mean(x[:, :, c], k), **TIGHT)
    assert_pixels_are_the_values_colours(plan, np.asarray(figure_draw.draw_figure(plan)))
