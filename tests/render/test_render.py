"""Renderers: snapshot tests at a fixed width, in the manner of rich's own tests/test_table.py."""

from __future__ import annotations

import numpy as np
import pytest

from convcli import engine
from convcli.present import describe, schema, selection
from convcli.present.window import Window
from convcli.render import numbers
from convcli.render import run as render_run
from convcli.render import trace as render_trace

from helpers import centred_window, check_snapshot, draw, textbook_result


@pytest.mark.parametrize("width", [100, 80])
def test_textbook_snapshot(width: int):
    info, result = textbook_result()
    text = draw(render_run.header(info, result, "valid", "--init ones"), width)
    text += draw(render_run.filter_panel(result, 0, info.channel_names, window=centred_window(result)), width)
    text += draw(render_trace.trace_panel(result, engine.trace_position(result.layer, 1, 1, 0), 1, 1, 0,
                                          info.channel_names), width)
    check_snapshot(f"textbook_{width}.txt", text)
    assert max(len(line) for line in text.splitlines()) <= width


def test_header_names_pads_and_parameter_formula():
    x = np.zeros((6, 6, 4), dtype=np.float32)
    layer = engine.prepare(x, np.zeros((3, 3, 2, 6)), stride=2, padding="same", groups=2)
    result = engine.run_layer(layer, None, "linear")
    info = describe.InputInfo("z.npy", "array", x.shape, "float32", ("c0", "c1", "c2", "c3"), "0 … 0")
    text = draw(render_run.header(info, result, "same", "--init ones"), 200)
    assert "padding='same' -> pads (0, 1, 0, 1)" in text
    assert "3·3·(4/2)·6 + 6 = 114" in text
    assert "3×3×6 (H', W', F)" in text


@pytest.mark.parametrize(
    "values, expected",
    [
        ([4, 400, 40000], ["4", "400", "40000"]),
        ([-39.216, 66.11, 0.5], ["-39.22", "66.11", "0.50"]),
        ([131.7, -2.0], ["131.7", "-2.0"]),
        ([0.0845, -0.2911], ["0.0845", "-0.2911"]),
        ([1.5e8, 1.0], ["1.500e+08", "1.000e+00"]),
        ([1e-5, 0.0], ["1.000e-05", "0.000e+00"]),
        ([np.nan, 1.5], ["nan", "1.500"]),
    ],
)
def test_number_format_shares_decimals_across_a_grid(values, expected):
    f = describe.number_format(np.array(values))
    assert [f(v) for v in values] == expected


def test_many_channels_fold_into_others():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 5, 10)).astype(np.float32)
    k = rng.normal(size=(3, 3, 10, 1))
    k[:, :, 7] *= 100  # channel 7 must be among the shown ones
    layer = engine.prepare(x, k)
    result = engine.run_layer(layer, None, "linear")
    shown, others = selection.shown_channels(result, 0)
    assert 7 in shown and len(shown) == selection.TOP_CHANNELS and len(others) == 6
    text = draw(render_run.filter_panel(result, 0, [f"c{i}" for i in range(10)], window=Window((0, 3), (0, 3))))
    assert "Σ 6 others" in text and "… and 6 more channels" in text


def test_share_text():
    assert describe.share_text(np.array([25.0, 75.0]), ["R", "G"]) == "R 25.0% · G 75.0%"
    shares = np.array([1.0, 50.0, 2.0, 30.0, 3.0, 4.0, 5.0, 5.0])
    assert describe.share_text(shares, [f"c{i}" for i in range(8)]) == "c1 50.0% · c3 30.0% · c6 5.0% · c7 5.0% · 4 others 10.0%"


def test_flow_wraps_to_width():
    grids = [numbers.number_grid(np.full((2, 2), 12345.0), f"g{i}") for i in range(6)]
    wide = draw(numbers.Flow(grids), 200).splitlines()
    narrow = draw(numbers.Flow(grids), 40).splitlines()
    assert len(narrow) > len(wide)
    assert max(len(line) for line in narrow) <= 40


def test_result_json_matches_arrays():
    info, result = textbook_result()
    doc = schema.result_json(info, result, "valid", [0], None, None, window=centred_window(result))
    assert doc["params"] == {"weights": 12, "biases": 1, "total": 13}
    assert doc["filters"][0]["window_output"] == [[40404.0, 40404.0], [40404.0, 40404.0]]
    assert doc["filters"][0]["channel_share_percent"] == pytest.approx([400 / 40404, 40000 / 40404, 4000000 / 40404])


def test_summary_numbers_stand_on_the_heatmap_colours_of_their_values():
    """The summary table's min / mean / max use the output heatmaps' signed scale (one for the table),
    the bias its sign's text colour: the colour language of the panels."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(9, 9, 2))
    layer = engine.prepare(x, rng.normal(size=(3, 3, 2, 3)))
    result = engine.run_layer(layer, np.array([-1.0, 0.0, 2.0]), "linear")
    table = render_run.summary_table(result, ("c0", "c1"))
    stats = np.asarray(result.output_stats, dtype=np.float64)
    scale = render_run.Scale.including_zero(stats)
    for f in range(3):
        for col, v in zip((2, 3, 4), stats[f].tolist(), strict=True):
            cell = table.columns[col]._cells[f]
            want = tuple(int(c) for c in scale.rgb(np.array(v)))
            if min(want) >= numbers.NEAR_WHITE:  # near 0: the terminal's own background
                assert cell.style.bgcolor is None
            else:
                assert tuple(cell.style.bgcolor.get_truecolor()) == want
    biases = [table.columns[1]._cells[f].style for f in range(3)]
    assert biases == [numbers.NEGATIVE, "", numbers.POSITIVE]


@pytest.mark.parametrize("share, text", [(0.0, "0%"), (0.0099, "0.0099%"), (0.99, "0.99%"), (1.0, "1.0%"),
                                         (99.0, "99.0%"), (12.345, "12.3%"), (1e-6, "<0.0001%"), (0.5, "0.5%")])
def test_a_share_that_is_small_but_not_nothing_never_reads_zero(share: float, text: str):
    assert describe.percent(share) == text


def test_a_shifted_at_is_said_under_the_partial_sums():
    _, result = textbook_result()  # a 2×2 output
    names = ["R", "G", "B"]
    shifted = draw(render_run.filter_panel(result, 0, names, window=Window.choose((2, 2), (1, 1), 2)))
    assert "--at 1,1 would run past the output's edge: the window starts at 0,0 instead" in shifted
    kept = draw(render_run.filter_panel(result, 0, names, window=Window.choose((2, 2), (0, 0), 2)))
    assert "run past" not in kept


def _traced(x: np.ndarray, k: np.ndarray, bias: float = 0.0) -> str:
    result = engine.run_layer(engine.prepare(x, k, dtype=np.float64), [bias], "linear")
    trace = engine.trace_position(result.layer, 0, 0, 0)
    return draw(render_trace.trace_panel(result, trace, 0, 0, 0, [f"c{i}" for i in range(x.shape[-1])]), 100)


def test_a_trace_over_many_channels_folds_like_every_other_view():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 3, 32))
    k = rng.normal(size=(3, 3, 32, 1))
    k[:, :, 17] *= 100  # the largest here: shown one by one
    text = _traced(x, k)
    assert text.count("products") == selection.TOP_CHANNELS
    assert "input c17" in text and "Σ 28 others" in text
    assert len(text.splitlines()) < 60
    sums = np.einsum("hwc,hwc->c", x, k[:, :, :, 0])
    others = np.delete(sums, np.argsort(-np.abs(sums))[: selection.TOP_CHANNELS])
    assert describe.fmt(float(others.sum())) in text


def test_trace_products_never_read_zero_and_its_sum_has_one_style():
    x = np.ones((2, 2, 2))
    k = np.zeros((2, 2, 2, 1))
    k[0, 0, 0], k[1, 1, 0], k[0, 0, 1] = 0.5, 2e-5, -9.661e-04
    text = _traced(x, k)
    assert "0.0000" not in text
    assert "2.000e-05" in text
    line = next(row for row in text.splitlines() if "Σ channels" in row)
    assert "+ -" not in line
    assert "Σ channels 0.5000 - 0.0010 + bias 0 = 0.4991" in line  # one format, the small one not zero


def test_nonzero_format_goes_scientific_only_when_a_value_would_vanish():
    assert describe.nonzero_format(np.array([0.5, 0.25]))(0.25) == "0.2500"
    assert describe.nonzero_format(np.array([0.5, 1e-6]))(1e-6) == "1.000e-06"
    assert describe.nonzero_format(np.array([0.5, 0.0]))(0.0) == "0.0000"


def test_near_zero_cells_take_the_terminals_background_not_white():
    scale = render_run.Scale.including_zero(np.array([-1.0, 1.0]))
    for v in (0.0, 0.05, -0.05):
        style = numbers.cell_style(v, scale)
        assert style.bgcolor is None and style.color is None
    for v in (-1.0, -0.5, 0.5, 1.0):
        assert numbers.cell_style(v, scale).bgcolor is not None
    # a scale ≥ 0: its bottom is the same near-white, the same rule
    assert numbers.cell_style(0.0, render_run.Scale.including_zero(np.array([0.0, 1.0]))).bgcolor is None


def test_a_depthwise_filter_names_its_one_channel_not_a_range():
    from convcli.present.filtersum import FilterSum

    x = np.random.default_rng(1).normal(size=(5, 5, 3))
    layer = engine.prepare(x, np.ones((3, 3, 1, 3)), groups=3)
    result = engine.run_layer(layer, None, "linear")
    names = ["c0", "c1", "c2"]
    text = draw(render_run.filter_panel(result, 2, names, window=centred_window(result)), 100)
    assert "group 2 (channel 2)" in text and "2–2" not in text
    assert FilterSum.of(result, 0, names).group_title == "group 0 (channel 0)"
    grouped = engine.run_layer(engine.prepare(np.ones((5, 5, 4)), np.ones((3, 3, 2, 2)), groups=2), None, "linear")
    assert FilterSum.of(grouped, 1, names + ["c3"]).group_title == "group 1 (channels 2–3)"


def test_a_sum_of_signed_numbers_reads_with_minus_not_plus_minus():
    """The trace's and the explorer's Σ lines: ``a + b - c``, never ``+ -c``."""
    assert describe.signed_sum(["-40.18", "92.06", "-97.06"]) == "-40.18 + 92.06 - 97.06"
    assert describe.signed_sum([]) == "0"
