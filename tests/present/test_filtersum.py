"""A filter's sum and a run as view models: the choices every view lays out, made once."""

from __future__ import annotations

import numpy as np
import pytest

from convcli import engine
from convcli.present import selection
from convcli.present.filtersum import OTHER_UNITS, SAME_UNITS_ACTIVATIONS, FilterSum, output_scale
from convcli.present.runview import RunView, Summary
from convcli.present.window import Window

from helpers import textbook_result


def photo_like(activation: str, channels: int = 3, groups: int = 1, filters: int = 2) -> engine.LayerResult:
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 255, size=(12, 14, channels)).astype(np.float32)
    layer = engine.prepare(x, rng.normal(size=(3, 3, channels // groups, filters)), groups=groups)
    return engine.run_layer(layer, rng.normal(size=filters), activation)


def test_every_activation_is_in_the_units_of_its_input_or_not():
    assert SAME_UNITS_ACTIVATIONS | set(OTHER_UNITS) == set(engine.ACTIVATIONS)
    assert not SAME_UNITS_ACTIVATIONS & set(OTHER_UNITS)


@pytest.mark.parametrize("activation", sorted(OTHER_UNITS))
def test_an_output_in_other_units_gets_its_own_scale_and_says_why(activation):
    # whatever the numbers: even where tanh(z) ≈ z (small z), its output is not in the parts' units
    scale = output_scale(activation, 0.01, 0.01)
    assert not scale.shared and not scale.same_units
    assert activation in scale.reason and "scale of its own" in scale.reason


def test_an_output_in_the_same_units_shares_the_scale_while_it_reaches_the_top():
    assert output_scale("relu", 300.0, 300.0).shared
    assert output_scale("selu", 100.0, 105.07).shared
    capped = output_scale("relu6", 300.0, 6.0)  # past its ceiling: one pale colour on the parts' scale
    assert not capped.shared and capped.same_units and "6" in capped.reason
    assert not output_scale("relu", -7.5, 0.0).shared  # a relu of a map below 0


@pytest.mark.parametrize("activation", ["linear", "relu", "tanh", "sigmoid"])
def test_a_filter_sum_decides_its_output_scale_from_its_whole_maps(activation):
    result = photo_like(activation)
    for f in range(2):
        view = FilterSum.of(result, f, ("R", "G", "B"))
        if activation == "linear":
            assert view.output is None and not view.has_output and not view.output_shared
            continue
        want = output_scale(activation, float(result.preactivation[..., f].max()), float(result.output[..., f].max()))
        assert view.output == want


def test_a_grouped_filter_reads_its_group_and_folds_channels_past_six():
    result = photo_like("relu", channels=16, groups=2, filters=4)
    names = tuple(f"c{i}" for i in range(16))
    view = FilterSum.of(result, 3, names)
    assert view.grouped and view.group == 1 and view.channels == tuple(range(8, 16))
    assert view.group_channels == (8, 15) and view.group_title == "group 1 (channels 8–15)"
    assert view.names == names[8:]
    shown, others = selection.shown_channels(result, 3)
    assert (list(view.shown), list(view.others)) == (shown, others)
    assert len(view.shown) == selection.TOP_CHANNELS and len(view.others) == 4
    parts = view.parts()
    assert [p.label for p in parts] == [names[8 + c] for c in shown] + ["Σ 4 others"]
    assert parts[-1].folded and parts[-1].positions == tuple(others)
    assert view.parts("+{n}")[-1].label == "+4"


def test_the_window_parts_and_the_bias_add_up_to_the_preactivation():
    result = photo_like("tanh", channels=8, filters=2)
    window = Window.choose(result.layer.geometry.out_hw, (2, 3), 4)
    view = FilterSum.of(result, 1, tuple("abcdefgh"))
    numbers = view.window(window)
    assert len(numbers.parts) == len(view.parts()) == selection.TOP_CHANNELS + 1
    np.testing.assert_allclose(sum(numbers.parts) + numbers.bias, numbers.preactivation, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(np.tanh(numbers.preactivation), numbers.output, rtol=1e-6)
    assert numbers.partials.shape == (4, 4, 8)


def test_the_summary_lists_every_filter_or_says_how_many_it_skips():
    result = photo_like("relu", filters=50)
    summary = Summary.of(result, ("R", "G", "B"))
    listed = selection.summary_filters(result.output_stats)
    assert [r.filter for r in summary.rows] == listed and summary.count == 50 and not summary.complete
    assert sum(r.skipped for r in summary.rows) + len(listed) == 50
    assert summary.stats.shape == (len(listed), 3)


# ------------------------------------------------------------------------------------------------
# a view that knows only the view model


def plain_text(view: RunView) -> str:
    """A minimal view of a run: each shown filter's channels, bias and pre-activation at the window's
    first position, and its output when it has one. It reads the view model only."""
    r0, c0 = view.window.rows[0], view.window.cols[0]
    lines = [f"{view.header.activation} · output {'×'.join(map(str, view.header.output_shape))}"]
    for fsum in view.filters:
        numbers = fsum.window(view.window)
        line = (f"filter {fsum.index}: {' + '.join(p.label for p in fsum.parts())} + bias {fsum.bias:g}"
                f" = {float(numbers.preactivation[0, 0]):g} at {r0},{c0}")
        if fsum.output is not None:
            line += f" -> {float(numbers.output[0, 0]):g} ({'shared' if fsum.output_shared else 'own'} scale)"
        lines.append(line)
    return "\n".join(lines)


def test_a_plain_text_view_lays_out_a_run_view_without_cli_or_render():
    info, result = textbook_result("tanh")
    window = Window.choose(result.layer.geometry.out_hw)
    view = RunView.of(result, info, [0], window=window, padding="valid")
    text = plain_text(view)
    # the textbook: a 2×2 kernel of ones over channels of 1, 100 and 10000, no bias
    assert text.splitlines() == [
        "tanh · output 2×2×1",
        "filter 0: R + G + B + bias 0 = 40404 at 0,0 -> 1 (own scale)",
    ]
    assert float(result.preactivation[0, 0, 0]) == 4 * (1 + 100 + 10000)
    assert view.filters[0].output is not None and "tanh" in view.filters[0].output.reason
    assert view.trace(0) is None and view.header.params == (12, 1)


def test_the_plain_text_view_imports_nothing_from_cli_or_render():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.startswith(("convcli.cli", "convcli.render", "rich", "typer"))}
