"""The figure's colours: inputs in grey, the parts and their sum on ONE scale, a value's
colour the same as in the terminal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convcli import engine
from convcli.figure import plan as figure_plan
from convcli.present import colour

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "grace_hopper.png"


def result_of(activation: str) -> engine.LayerResult:
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 255, size=(20, 24, 3)).astype(np.float32)
    layer = engine.prepare(x, rng.normal(size=(3, 3, 3, 1)))
    return engine.run_layer(layer, np.array([0.5]), activation)


@pytest.mark.parametrize("activation, out_shared", [("linear", True), ("relu", True), ("sigmoid", False),
                                                     ("tanh", False)])
def test_partials_and_preactivation_share_one_scale_and_the_output_when_in_their_units(activation, out_shared):
    result = result_of(activation)
    plan = figure_plan.plan_figure(result, [0], ["R", "G", "B"])
    panels = plan.rows[0].panels
    by_kind: dict[str, list[figure_plan.Scale]] = {}
    for p in panels:
        by_kind.setdefault(p.kind, []).append(p.scale)
    parts, pre = by_kind["partial"], by_kind["preactivation"][0]
    assert all(s is parts[0] for s in parts)
    assert pre is parts[0]  # the parts and their sum: one scale, whatever the activation
    maps = engine.filter_partials(result.layer, 0)
    values = [maps[..., c] for c in range(3)] + [result.preactivation[..., 0]]
    bars = plan.rows[0].bars
    if activation != "linear":
        out = by_kind["output"][0]
        assert (out is pre) is out_shared
        # an output on a scale of its own has a bar of its own, spanning its values alone
        assert len(bars) == 3 + (not out_shared) and bars[-1].scale is out
        if not out_shared:
            assert out == figure_plan.Scale.clipped_at([result.output[..., 0]], figure_plan.CLIP_PERCENTILE,
                                                       from_zero=True)
        else:
            values.append(result.output[..., 0])
    # the inputs are a picture in grey; the values on the signed palette
    assert all(isinstance(s, figure_plan.ImageScale) and s.palette is colour.GREYS for s in by_kind["input"])
    assert parts[0].palette is colour.SIGNED and parts[0].diverging
    # the scale spans the parts and the sum (clipped at the percentile of them all)
    assert parts[0] == figure_plan.Scale.clipped_at(values, figure_plan.CLIP_PERCENTILE)


def test_a_tanh_output_of_the_sample_photo_is_drawn_on_its_own_scale_not_blank(tmp_path: Path):
    from PIL import Image

    from convcli.figure import budget

    from helpers import decode, invoke

    target = tmp_path / "t.png"
    r = invoke("run", SAMPLE, "--activation", "tanh", "-f", "2", "--figure", target)
    assert r.exit_code == 0, r.output
    _, px = decode(target)
    # the boxes depend on the maps' shapes alone: a plan of the same layer on the photo has them
    x = np.asarray(Image.open(SAMPLE).convert("RGB"), dtype=np.float32)
    rng = np.random.default_rng(0)
    result = engine.run_layer(engine.prepare(x, rng.normal(size=(3, 3, 3, 2))), np.zeros(2), "tanh")
    plan = figure_plan.plan_figure(result, [0, 1], ["R", "G", "B"], title=SAMPLE.name,
                                   max_panel=budget.FIGURE_MAX_PANEL, width=1920)  # the CLI's limits
    assert (px.shape[1], px.shape[0]) == plan.size
    for row in plan.rows:
        pre = next(p for p in row.panels if p.kind == "preactivation")
        out = next(p for p in row.panels if p.kind == "output")
        assert out.scale is not pre.scale and out.scale.limit <= 1.0 and row.bars[-1].scale is out.scale
        # on a scale of its own tanh's -1 … 1 reach the palette's ends: strong blues and reds, not a
        # near-white panel as on the pre-activation's scale of ±hundreds
        drawn = out.box.crop(px).reshape(-1, 3).astype(int)
        assert np.ptp(drawn, axis=0).max() > 150
        assert (drawn.min(axis=1) < 150).mean() > 0.5


def test_a_map_of_values_at_least_zero_is_white_to_red_from_zero():
    s = figure_plan.Scale.of_values([np.array([[2.0, 4.0]])])
    assert (s.lo, s.hi, s.diverging) == (0.0, 4.0, False)
    assert tuple(s.colours(np.array(0.0))) == (255, 255, 255)
    assert tuple(s.colours(np.array(4.0))) == tuple(int(c) for c in colour.SIGNED.anchors[-1])
    # the same value on a signed scale of the same limit: the same colour (LUT rounding aside)
    signed = figure_plan.Scale(-4.0, 4.0, True)
    assert np.abs(s.colours(np.array(2.0)).astype(int) - signed.colours(np.array(2.0)).astype(int)).max() <= 2
