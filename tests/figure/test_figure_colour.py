"""The figure's colours (issue 16): inputs in grey, the parts and their sum on ONE scale, a value's
colour the same as in the terminal."""

from __future__ import annotations

import numpy as np
import pytest

from convcli import engine
from convcli.figure import plan as figure_plan
from convcli.present import colour


def result_of(activation: str) -> engine.LayerResult:
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 255, size=(20, 24, 3)).astype(np.float32)
    layer = engine.prepare(x, rng.normal(size=(3, 3, 3, 1)))
    return engine.run_layer(layer, np.array([0.5]), activation)


@pytest.mark.parametrize("activation, out_shared", [("linear", True), ("relu", True), ("sigmoid", False)])
def test_partials_preactivation_and_output_share_one_scale(activation, out_shared):
    result = result_of(activation)
    plan = figure_plan.plan_figure(result, [0], ["R", "G", "B"])
    panels = plan.rows[0].panels
    by_kind: dict[str, list[figure_plan.Scale]] = {}
    for p in panels:
        by_kind.setdefault(p.kind, []).append(p.scale)
    parts, pre = by_kind["partial"], by_kind["preactivation"][0]
    assert all(s is parts[0] for s in parts)
    assert (pre is parts[0]) is out_shared
    if activation != "linear":
        assert by_kind["output"][0] is pre  # pre and output stand in one block, one bar
    # the inputs are a picture in grey; the values on the signed palette
    assert all(isinstance(s, figure_plan.ImageScale) and s.palette is colour.GREYS for s in by_kind["input"])
    assert parts[0].palette is colour.SIGNED and parts[0].diverging
    if out_shared:  # the scale spans the parts and the sum (clipped at the percentile of them all)
        maps = engine.filter_partials(result.layer, 0)
        values = [maps[..., c] for c in range(3)] + [result.preactivation[..., 0]]
        values += [result.output[..., 0]] if activation != "linear" else []
        assert parts[0] == figure_plan.Scale.clipped_at(values, figure_plan.CLIP_PERCENTILE)


def test_a_map_of_values_at_least_zero_is_white_to_red_from_zero():
    s = figure_plan.Scale.of_values([np.array([[2.0, 4.0]])])
    assert (s.lo, s.hi, s.diverging) == (0.0, 4.0, False)
    assert tuple(s.colours(np.array(0.0))) == (255, 255, 255)
    assert tuple(s.colours(np.array(4.0))) == tuple(int(c) for c in colour.SIGNED.anchors[-1])
    # the same value on a signed scale of the same limit: the same colour (LUT rounding aside)
    signed = figure_plan.Scale(-4.0, 4.0, True)
    assert np.abs(s.colours(np.array(2.0)).astype(int) - signed.colours(np.array(2.0)).astype(int)).max() <= 2
