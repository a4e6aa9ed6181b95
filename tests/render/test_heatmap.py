"""Terminal heatmaps: what reaches the terminal (block means and palettes: tests/present/test_downsample_scale.py)."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from rich.console import Console

from convcli import engine
from convcli.present import maps as map_sources
from convcli.present.colour import SEQUENTIAL_RAMP, SIGNED_RAMP
from convcli.present.maps import ResultMaps, block_factor, block_mean
from convcli.render import heatmap
from convcli.render.heatmap import Heatmap, filter_heatmaps
from convcli.sources import kernels

from helpers import draw, textbook_result

RED = "175;0;0"  # the palette's most positive
BLUE = "0;95;175"  # its most negative
WHITE = "255;255;255"  # its centre: 0
YELLOW = RED  # the top of a map ≥ 0 is the same red


def colour_codes(text: str) -> list[str]:
    """SGR parameters that set a colour (38/48 extended, 30–37, 40–47, 90–97, 100–107)."""
    found = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", text):
        codes = [int(p) for p in params.split(";") if p]
        if any(c in (38, 48) or 30 <= c <= 37 or 40 <= c <= 47 or 90 <= c <= 97 or 100 <= c <= 107 for c in codes):
            found.append(params)
    return found


# ------------------------------------------------------------------------------------------------
# Heatmap


def map_lines(text: str, title: str, n: int) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title)) + 1
    return lines[start : start + n]


def test_gradient_without_colour_goes_from_blank_to_full():
    values = np.tile(np.arange(20.0), (6, 1))  # 6×20, columns 0..19
    text = draw(Heatmap(values, "ramp", max_w=40, max_h=10))
    rows = map_lines(text, "ramp", 3)  # two map rows per line
    expected = "".join(SEQUENTIAL_RAMP[min(4, int(j / 19 * 5))] for j in range(20))
    assert rows == [expected] * 3
    assert expected[0] == " " and expected[-1] == "█"
    assert "0 … 19" in text
    assert "0 [ ░▒▓█] 19" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_signed_gradient_without_colour_is_symmetric_about_zero():
    values = np.tile(np.arange(-9.0, 10.0), (2, 1))  # 2×19, -9..9
    text = draw(Heatmap(values, "signed", max_w=40, max_h=10))
    (row,) = map_lines(text, "signed", 1)
    assert row[0] == "≡" and row[9] == " " and row[-1] == "█"
    assert row.translate(str.maketrans(SIGNED_RAMP, SIGNED_RAMP[::-1]))[::-1] == row
    assert "-9 … 9" in text and "-9 [≡=-· ░▒▓█] 9" in text


def test_large_map_is_block_averaged_to_fit():
    values = np.tile(np.linspace(0, 1, 400), (90, 1))
    hm = Heatmap(values, "wide", max_w=50, max_h=10)
    text = draw(hm, 80)
    assert "cell = 8×8" in text  # ceil(400 / 50) = 8 > ceil(90 / 20) = 5
    rows = map_lines(text, "wide", 6)  # ceil(90 / 8) = 12 map rows, two per line
    assert all(len(r.rstrip()) <= 50 for r in rows) and rows[0].rstrip().endswith("█")
    assert hm.fit(50).cells.shape == (12, 50)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_truecolor_half_blocks_carry_two_rows():
    values = np.array([[1.0] * 8, [-1.0] * 8, [0.0] * 8])  # odd height: the last line has no lower row
    text = draw(Heatmap(values, "hb"), color_system="truecolor", force_terminal=True)
    assert f"\x1b[38;2;{RED};48;2;{BLUE}m▀▀▀▀▀▀▀▀" in text  # upper row +1 in front, lower row -1 behind
    assert f"\x1b[38;2;{WHITE}m▀▀▀▀▀▀▀▀" in text  # 0 is the neutral centre, no background below it


def test_truecolor_nan_upper_cell_uses_the_lower_half_block():
    values = np.array([[np.nan] * 8, [2.0] * 8])
    text = draw(Heatmap(values, "nan"), color_system="truecolor", force_terminal=True)
    assert f"\x1b[38;2;{YELLOW}m▄▄▄▄▄▄▄▄" in text
    assert "2 … 2 · 8 NaN" in text


def test_256_colour_terminal_gets_downgraded_colours():
    text = draw(Heatmap(np.array([[1.0] * 8, [-1.0] * 8]), "x"), color_system="256", force_terminal=True)
    assert "38;5;" in text and "38;2;" not in text


# ------------------------------------------------------------------------------------------------
# A filter


def photo_result(activation: str = "relu") -> engine.LayerResult:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, size=(300, 400, 3)).astype(np.float32)
    layer = engine.prepare(x, rng.normal(size=(3, 3, 3, 2)))
    return engine.run_layer(layer, np.array([0.5, -1.0]), activation)


PHOTO_NAMES = ("red", "green", "blue")


@pytest.mark.parametrize("width", [100, 80])
def test_textbook_heatmaps_show_the_channel_magnitudes(width):
    info, result = textbook_result()
    text = draw(filter_heatmaps(result, 0, info.channel_names, width=width), width)
    assert max(len(line) for line in text.splitlines()) <= width
    for caption in ("4 … 4", "400 … 400", "40000 … 40000", "40404 … 40404", "+ at every", "relu →"):
        assert caption in text
    assert "bias 0" in text
    assert "one scale  0 [ ░▒▓█] 40404" in text  # one scale, from 0 to the sum (the largest map)
    assert "each value drawn as 4×4 cells" in text  # a 2×2 map zoomed to 8 columns
    # on the shared scale R (4) and G (400) are blank, B (40000) full: 4 lines of 8 "█" in B's column
    lines = text.splitlines()
    title = next(line for line in lines if " B " in line)
    col = title.index(" B ") + 1
    b_cells = [line[col : col + 8] for line in lines if line[col : col + 8] == "█" * 8]
    assert len(b_cells) == 4
    assert text.count("█" * 8) == 4 * 3  # B, the pre-activation and the output: each at the top of its scale
    r_col = title.index("R")
    r_rows = lines[lines.index(title) + 1 : lines.index(title) + 5]
    assert all(line[r_col : r_col + 8] == " " * 8 for line in r_rows)


@pytest.mark.parametrize("width, per_line", [(100, 3), (80, 3)])
def test_photo_heatmaps_fit_the_width(width, per_line):
    result = photo_result()
    maps = engine.filter_partials(result.layer, 1)
    text = draw(filter_heatmaps(result, 1, PHOTO_NAMES, width=width, maps=maps), width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert any(all(n in line for n in PHOTO_NAMES) for line in lines)  # ≥ 3 maps on one line
    map_w = (width - 4) // per_line - 3  # 5 maps: 3 + 2 a line, the bias beside the 2
    assert heatmap.slots(width, 5, True, heatmap.height_cap((298, 398))) == (per_line, map_w)
    k = math.ceil(max(298 / 48, 398 / map_w))
    assert f"298×398 maps · one cell = the mean of {k}×{k} output positions" in text
    assert len(lines) < 60
    for c, name in enumerate(PHOTO_NAMES):
        assert heatmap.range_text(float(maps[..., c].min()), float(maps[..., c].max())) in text, name
    pre = result.preactivation[..., 1]
    assert heatmap.range_text(float(pre.min()), float(pre.max())) in text


def test_filter_heatmaps_computes_maps_itself_and_skips_output_when_linear():
    result = photo_result("linear")
    text = draw(filter_heatmaps(result, 0, PHOTO_NAMES, width=100), 100)
    assert "pre-activation" in text and "output" not in text.replace("output positions", "")


def test_many_channels_fold_into_others():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 12, 10)).astype(np.float32)
    layer = engine.prepare(x, kernels.make_kernel("ones", (3, 3), 10, 1))
    result = engine.run_layer(layer, None, "linear", use_bias=False)
    text = draw(filter_heatmaps(result, 0, [f"c{i}" for i in range(10)], width=100), 100)
    assert "Σ 6 others" in text and "bias" not in text.split("\n", 1)[1]


def test_no_color_env_draws_characters_without_colour_codes(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    console = Console(file=io.StringIO(), width=100, force_terminal=True, legacy_windows=False)
    assert console.no_color
    console.print(filter_heatmaps(photo_result(), 1, PHOTO_NAMES, width=100))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[" in text  # still a terminal: bold and dim get through
    assert colour_codes(text) == []
    assert "▀" not in text and any(c in text for c in "≡=░▒▓█")
    assert "≡=-· below 0, blank ≈ 0, ░▒▓█ above" in text


# ------------------------------------------------------------------------------------------------
# Heatmaps without full-resolution partial maps


def integer_photo_result(activation: str = "relu", **run) -> engine.LayerResult:
    """Whole-number pixels and weights: every partial and block sum is exact, by either route."""
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, size=(150, 230, 3)).astype(np.float32)
    kernel = rng.integers(-3, 4, size=(3, 3, 3, 2)).astype(np.float32)
    layer = engine.prepare(x, kernel, padding="same")
    return engine.run_layer(layer, np.array([2.0, -3.0]), activation, **run)


@pytest.mark.parametrize("width", [100, 80])
@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_heatmaps_from_block_sums_draw_what_the_full_maps_draw(width, activation):
    result = integer_photo_result(activation, ranges=True)
    sources = map_sources.ResultMaps(result)
    for f in range(2):
        maps = engine.filter_partials(result.layer, f)
        assert all(isinstance(m, map_sources.BlockMap) for m in sources.partials(f)[0])
        fast = draw(filter_heatmaps(result, f, PHOTO_NAMES, width=width, sources=sources), width)
        slow = draw(filter_heatmaps(result, f, PHOTO_NAMES, width=width, maps=maps), width)
        assert fast == slow
        for c, name in enumerate(PHOTO_NAMES):  # the exact full-resolution range, from the run's pass
            assert heatmap.range_text(float(maps[..., c].min()), float(maps[..., c].max())) in fast, name


def test_without_ranges_or_with_nan_the_maps_are_computed():
    plain = integer_photo_result()
    assert all(isinstance(m, map_sources.ArrayMap) for m in map_sources.ResultMaps(plain).partials(0)[0])
    x = np.ones((20, 20, 3), dtype=np.float32)
    x[3, 4, 1] = np.nan
    layer = engine.prepare(x, np.ones((3, 3, 3, 1)))
    result = engine.run_layer(layer, None, "linear", ranges=True)
    assert np.isnan(result.partial_low[1, 0]) and np.isfinite(result.partial_low[0, 0])
    sources = map_sources.ResultMaps(result)
    assert all(isinstance(m, map_sources.ArrayMap) for m in sources.partials(0)[0])
    assert isinstance(sources.preactivation(0), map_sources.ArrayMap)
    text = draw(filter_heatmaps(result, 0, PHOTO_NAMES, width=100, sources=sources))
    assert "9 NaN" in text  # the NaN pixel reaches 9 outputs of the green map


def test_block_map_reports_what_it_was_given():
    m = map_sources.BlockMap((40, 50), -1.5, 2.0, lambda k: np.full((-(-40 // k), -(-50 // k)), float(k)))
    hm = Heatmap(m, "given", max_w=10, max_h=4)  # k = ceil(max(40 / 8, 50 / 10)) = 5
    assert hm.range == heatmap.range_text(-1.5, 2.0) and hm.nans == 0
    assert hm.fit(10).k == 5 and np.all(hm.fit(10).cells == 5.0)


def test_block_sums_ignore_values_no_tap_reads_or_no_weight_uses():
    """A 1e30 row that only a zero weight reads, and NaN rows that a dilated kernel skips: the cells
    are those of the full maps (a difference of running totals would cancel or spread them)."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(120, 120, 1)).astype(np.float32)
    x[0, :, 0] = 1e30  # read only by the kernel's top row, whose weights are 0
    delta = np.zeros((3, 3, 1, 1), dtype=np.float32)
    delta[1, 1] = 1
    hot = engine.prepare(x, delta)
    result = engine.run_layer(hot, None, "linear", ranges=True)
    fast = draw(filter_heatmaps(result, 0, ["c0"], width=100))
    slow = draw(filter_heatmaps(result, 0, ["c0"], width=100, maps=engine.filter_partials(hot, 0)))
    assert fast == slow and "0 [ ░▒▓█] 0" not in fast

    y = np.ones((13, 4, 1))
    y[5] = np.nan  # rows 3..9 are never read: output row i reads rows i and i + 10
    skip = engine.prepare(y, np.ones((2, 1, 1, 1)), dilation=(10, 1), dtype=np.float64)
    assert skip.geometry.out_hw == (3, 4)
    np.testing.assert_array_equal(engine.partial_block_means(skip, 0, 2), [[[2.0], [2.0]], [[2.0], [2.0]]])


def test_heatmap_takes_array_likes():
    assert Heatmap([[1, 2], [3, 4]], "list").range == heatmap.range_text(1.0, 4.0)


# ------------------------------------------------------------------------------------------------
# One colour language


def test_minus_one_and_plus_one_have_one_colour_in_grid_heatmap_and_figure():
    from convcli.figure import plan as figure_plan
    from convcli.present import colour
    from convcli.render import numbers

    ends = (tuple(int(c) for c in colour.SIGNED.anchors[0]), tuple(int(c) for c in colour.SIGNED.anchors[-1]))
    term = heatmap.Scale(-1.0, 1.0)
    fig = figure_plan.Scale(-1.0, 1.0, True)
    for scale in (term, fig):
        assert scale.palette is colour.SIGNED
    assert tuple(term.rgb(np.array(-1.0))) == ends[0] and tuple(term.rgb(np.array(1.0))) == ends[1]
    assert tuple(fig.colours(np.array(-1.0))) == ends[0] and tuple(fig.colours(np.array(1.0))) == ends[1]
    for v, end in ((-1.0, ends[0]), (1.0, ends[1])):
        bg = numbers.cell_style(v, term).bgcolor
        assert bg is not None and tuple(bg.get_truecolor()) == end
    # a map ≥ 0 is on the red half: +1 is the same red as on a signed scale
    assert tuple(heatmap.Scale(0.0, 1.0).rgb(np.array(1.0))) == ends[1]
    assert tuple(figure_plan.Scale(0.0, 1.0, False).colours(np.array(1.0))) == ends[1]
    # sign colours of a grid without a scale: blue below 0, red above
    assert numbers.sign_style(-1.0) == numbers.NEGATIVE and numbers.sign_style(1.0) == numbers.POSITIVE
    assert numbers.NEGATIVE == "#5f87d7" and numbers.POSITIVE == "#d75f5f"


def test_anchors_survive_256_colours():
    from rich.color import Color, ColorSystem

    from convcli.present import colour

    for rgb in colour.SIGNED.anchors.astype(int).tolist():
        c = Color.from_rgb(*rgb).downgrade(ColorSystem.EIGHT_BIT)
        assert list(c.get_truecolor()) == rgb


def test_parts_and_their_sum_share_one_scale(monkeypatch):
    made: list[tuple[str, float | None, float | None]] = []
    real = heatmap.Heatmap.__init__

    def spy(self, values, title, **kw):
        made.append((title, kw.get("lo"), kw.get("hi")))
        real(self, values, title, **kw)

    monkeypatch.setattr(heatmap.Heatmap, "__init__", spy)
    for activation, out_shared in (("linear", None), ("tanh", False), ("relu", True), ("leaky_relu", True), ("sigmoid", False)):
        made.clear()
        result = photo_result(activation)
        maps = engine.filter_partials(result.layer, 1)
        draw(filter_heatmaps(result, 1, PHOTO_NAMES, maps=maps), 100)  # laid out as it is drawn
        by = {t: (lo, hi) for t, lo, hi in made}
        shared = by["red"]
        assert shared[0] is not None and by["green"] == by["blue"] == by["pre-activation"] == shared
        n_maps = 3 + 1 + (activation != "linear")
        k = block_factor((298, 398), 2 * heatmap.MAX_LINES,
                         heatmap.slots(100, n_maps, True, heatmap.height_cap((298, 398)))[1])
        cells = [block_mean(maps[..., c], k, k) for c in range(3)] + [block_mean(result.preactivation[..., 1], k, k)]
        if out_shared:
            cells.append(block_mean(result.output[..., 1], k, k))
        assert shared == (min(0.0, min(c.min() for c in cells)), max(0.0, max(c.max() for c in cells)))
        if out_shared is not None:
            pre, out = result.preactivation[..., 1], result.output[..., 1]
            assert bool(abs(out.max() - pre.max()) <= 0.1 * pre.max()) is out_shared  # the rule, by hand
            assert (by["output"] == shared) is out_shared


def test_cells_grow_with_the_width():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 260, 1)).astype(np.float32)
    layer = engine.prepare(x, rng.normal(size=(3, 3, 1, 1)))
    result = engine.run_layer(layer, None, "relu")
    fits = {}
    for width in (80, 120):
        n, w = heatmap.slots(width, 3, True, heatmap.height_cap((198, 258)))
        fits[width] = block_factor((198, 258), 2 * heatmap.MAX_LINES, w)
        text = draw(filter_heatmaps(result, 0, ["x"], width=width), width)
        assert f"one cell = the mean of {fits[width]}×{fits[width]} output positions" in text
    assert fits[120] < fits[80]  # smaller blocks: more cells


def test_one_filter_heatmaps_object_lays_itself_out_for_each_width():
    from rich.measure import Measurement

    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 260, 1)).astype(np.float32)
    result = engine.run_layer(engine.prepare(x, rng.normal(size=(3, 3, 1, 1))), None, "relu")
    maps = filter_heatmaps(result, 0, ["x"])  # no width: it measures the console it is drawn on
    narrow, wide = draw(maps, 80), draw(maps, 120)
    factors = {}
    for width, text in ((80, narrow), (120, wide)):
        factors[width] = int(re.search(r"one cell = the mean of (\d+)×", text).group(1))
        assert max(len(line) for line in text.splitlines()) == width
        assert text == draw(filter_heatmaps(result, 0, ["x"], width=width), width)  # as if built for it
        console = Console(file=io.StringIO(), width=width)
        assert Measurement.get(console, console.options, maps).maximum == width
    assert factors[120] < factors[80]  # the wider line: smaller blocks, more cells


def test_half_blocks_only_with_colour():
    values = np.linspace(-1, 1, 400).reshape(20, 20)
    plain = draw(Heatmap(values, "m"))
    coloured = draw(Heatmap(values, "m"), color_system="truecolor", force_terminal=True)
    assert "▀" not in plain and "▄" not in plain
    assert "▀" in coloured


@pytest.mark.parametrize("stat", ["mean", "mean-abs", "max-abs"])
def test_block_statistics_against_numpy(stat):
    from convcli.present.maps import block_stat

    rng = np.random.default_rng(5)
    a = rng.normal(size=(23, 17))
    a[3, 4] = np.nan
    k = 5
    got = block_stat(a, k, stat)
    want = np.empty((5, 4))
    for i in range(5):
        for j in range(4):
            b = a[i * k : (i + 1) * k, j * k : (j + 1) * k].ravel()
            b = b[~np.isnan(b)]
            want[i, j] = b.mean() if stat == "mean" else np.abs(b).mean() if stat == "mean-abs" else b[np.argmax(np.abs(b))]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_max_abs_keeps_thin_edges_that_means_hide():
    result = photo_result("linear")
    mean = ResultMaps(result, "mean")
    peak = ResultMaps(result, "max-abs")
    pre = result.preactivation[..., 0]
    k = 19
    assert np.allclose(peak.preactivation(0).cells(k, "max-abs"),
                       [[pre[i:i + k, j:j + k].ravel()[np.argmax(np.abs(pre[i:i + k, j:j + k]))]
                         for j in range(0, 398, k)] for i in range(0, 298, k)])
    assert mean.stat == "mean" and not peak._blocks_ok(0)  # max-abs: maps, not block sums


@pytest.mark.parametrize("activation, out_shared", [("relu", True), ("sigmoid", False)])
def test_number_grids_colour_parts_bias_and_sum_on_one_scale(monkeypatch, activation, out_shared):
    from convcli.present.window import Window, window_partials
    from convcli.render import run as render_run

    seen: dict[str, object] = {}
    real = render_run.number_grid

    def spy(values, title=None, **kw):
        seen[title] = kw.get("scale")
        return real(values, title, **kw)

    monkeypatch.setattr(render_run, "number_grid", spy)
    result = photo_result(activation)
    window = Window.choose(result.layer.geometry.out_hw, None, None)
    draw(render_run.filter_panel(result, 1, PHOTO_NAMES, window=window))  # the sum's grids are made as it is drawn
    (r0, r1), (c0, c1) = window.rows, window.cols
    parts = window_partials(result, window)[:, :, :, 1]
    pre, out = result.preactivation[r0:r1, c0:c1, 1], result.output[r0:r1, c0:c1, 1]
    values = [parts[..., c] for c in range(3)] + [np.full(pre.shape, -1.0), pre] + ([out] if out_shared else [])
    expected = heatmap.Scale.including_zero(*values)
    assert all(seen[t] == expected for t in ("bias", "pre-activation"))
    assert seen["bias"] is seen["pre-activation"] is seen["red"] is seen["green"] is seen["blue"]
    assert (seen["output"] is seen["bias"]) is out_shared
    # a number stands on the colour the heatmaps give the same value on that scale
    from convcli.render import numbers

    v = float(pre[0, 0])
    bg = numbers.cell_style(v, expected).bgcolor
    assert bg is not None and tuple(bg.get_truecolor()) == tuple(int(c) for c in expected.rgb(np.array(v)))
