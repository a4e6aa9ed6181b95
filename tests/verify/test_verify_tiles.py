"""`verify` in bands of rows: each framework fed a band with its halo gives the numbers of the whole."""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import numpy as np
import pytest

from convcli import engine
from convcli.verify import adapters, compare, schedule, tiles
from convcli.verify.problem import COMPUTED, Outcome, Problem

# (stride, dilation, padding, semantics): the tile edges land mid-receptive-field in every case
LAYERS = [
    ((2, 2), (1, 1), "same", "keras"),  # odd height: 'same' pads differ top and bottom
    ((1, 1), (2, 2), "same", "keras"),
    ((3, 1), (1, 1), (2, 1), "keras"),
    ((1, 1), (2, 1), "same", "torch"),
    ((2, 1), (1, 2), "valid", "keras"),
]


def _problem(stride, dilation, padding, semantics, dtype=np.float64) -> Problem:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((37, 11, 3))
    k = rng.standard_normal((3, 4, 3, 2))
    layer = engine.prepare(x, k, stride=stride, padding=padding, dilation=dilation, dtype=dtype)
    bias = rng.standard_normal(2).astype(dtype)
    return Problem(layer, bias, padding, semantics)


def _frameworks() -> list[adapters.Adapter]:
    return [a for a in adapters.ADAPTERS if a.module == "numpy" or importlib.util.find_spec(a.module) is not None]


@pytest.mark.parametrize(("stride", "dilation", "padding", "semantics"), LAYERS)
def test_bands_give_the_whole_layers_numbers(stride, dilation, padding, semantics):
    p = _problem(stride, dilation, padding, semantics)
    ho, wo = p.layer.geometry.out_hw
    bands = tiles.bands(p, tile_values=3 * wo * p.layer.filters)  # 3 output rows a band
    assert len(bands) == -(-ho // 3) > 2
    assert [b.r0 for b in bands] == list(range(0, ho, 3)) and bands[-1].r1 == ho
    for b in bands:
        assert b.problem.layer.geometry.pads == p.layer.geometry.pads
        assert b.problem.layer.x.shape[0] < p.layer.x.shape[0]  # a band, not the image
    for adapter in _frameworks():
        whole = adapters.run_adapter(adapter, p)
        if whole.status != COMPUTED:
            continue
        assert whole.output is not None
        parts = []
        for b in bands:
            out = adapters.run_adapter(adapter, b.problem).output
            assert out is not None
            parts.append(out[b.i0 : b.i0 + b.r1 - b.r0])
        np.testing.assert_allclose(np.concatenate(parts), whole.output, rtol=1e-12, atol=1e-12, err_msg=adapter.name)


def test_a_band_without_its_halo_would_differ():
    """The test above can fail: the same bands cut without their halo rows give other numbers."""
    p = _problem((1, 1), (2, 2), "same", "keras")
    whole = adapters.run_adapter(adapters.ADAPTERS[-1], p).output
    b = tiles.bands(p, tile_values=3 * p.layer.geometry.out_hw[1] * 2)[2]
    g = p.layer.geometry
    bare = engine.prepare(p.layer.x[b.r0 : b.r1], p.layer.kernel, padding="same", dilation=g.dilation,
                          dtype=np.float64)
    out = adapters.run_adapter(adapters.ADAPTERS[-1], replace(p, layer=bare)).output
    assert whole is not None and out is not None
    assert not np.allclose(out, whole[b.r0 : b.r1])


@pytest.mark.parametrize(("stride", "dilation", "padding", "semantics"), LAYERS)
def test_verify_in_bands_equals_verify_whole(stride, dilation, padding, semantics):
    p = _problem(stride, dilation, padding, semantics, dtype=np.float32)
    expected = engine.conv2d(p.layer.x, p.layer.kernel, p.bias, stride=stride, padding=padding, dilation=dilation)
    wo, f = p.layer.geometry.out_hw[1], p.layer.filters
    one = schedule.verify(p, expected, tuple(_frameworks()), tile_values=1 << 30)
    banded = schedule.verify(p, expected, tuple(_frameworks()), tile_values=2 * wo * f)
    for a, b in zip(one, banded, strict=True):
        assert a.outcome.status == b.outcome.status
        if a.outcome.framework == "SciPy" and a.outcome.status == "computed":  # bands: ndimage, on a sample
            assert "correlate2d" in a.outcome.padding and "ndimage.correlate" in b.outcome.padding
        else:
            assert a.outcome.padding == b.outcome.padding
        assert (a.comparison is None) == (b.comparison is None)
        if a.comparison is not None and b.comparison is not None:
            assert a.comparison.ok and b.comparison.ok
            assert b.comparison.max_abs == pytest.approx(a.comparison.max_abs, rel=0.5, abs=1e-6)


def test_a_difference_in_a_late_band_is_found_where_it_is():
    p = _problem((2, 2), (1, 1), "same", "keras", dtype=np.float32)
    expected = engine.conv2d(p.layer.x, p.layer.kernel, p.bias, stride=2, padding="same")
    ho, wo = p.layer.geometry.out_hw
    numpy_adapter = adapters.ADAPTERS[-1]

    def renamed(q: Problem) -> Outcome:
        return replace(numpy_adapter.compute(q), framework="Broken")

    # a wrong value planted in the expected side instead: the same rule, no adapter arithmetic
    planted = expected.copy()
    planted[ho - 2, 3, 1] += 1e-2 * max(1.0, abs(float(planted[ho - 2, 3, 1])))
    (checked,) = schedule.verify(p, planted, (adapters.Adapter("Broken", "numpy", "", renamed),), tile_values=wo * 2)
    assert checked.comparison is not None and not checked.comparison.ok
    assert checked.comparison.problem.startswith(f"at ({ho - 2}, 3, 1):")
    whole = compare.compare(numpy_adapter.compute(p).output, planted, compare.magnitude(p.layer, p.bias),  # type: ignore[arg-type]
                            n=compare.terms(p.layer), dtype=np.float32)
    assert checked.comparison.problem == whole.problem
    assert checked.comparison.max_abs == whole.max_abs and checked.comparison.max_rel == whole.max_rel


def test_tally_in_chunks_equals_compare_on_the_whole(monkeypatch):
    rng = np.random.default_rng(3)
    e = rng.standard_normal((40, 30, 3)).astype(np.float32)
    a = (e * (1 + 3e-7 * rng.standard_normal(e.shape))).astype(np.float32)
    s = np.abs(rng.standard_normal(e.shape)) + 0.5
    s[5, 5, 0] = 0.0  # not > 0: that chunk takes the exact path
    a[7, 2, 1] = e[7, 2, 1] = np.nan
    whole = compare.compare(a, e, s, n=10, dtype=np.float32)
    monkeypatch.setattr(compare.Tally, "CHUNK", 64)
    chunked = compare.compare(a, e, s, n=10, dtype=np.float32)
    assert chunked == whole and whole.ok
    a[30, 1, 2] += 1.0
    monkeypatch.setattr(compare.Tally, "CHUNK", 1 << 20)
    bad_whole = compare.compare(a, e, s, n=10, dtype=np.float32)
    monkeypatch.setattr(compare.Tally, "CHUNK", 64)
    assert compare.compare(a, e, s, n=10, dtype=np.float32) == bad_whole and not bad_whole.ok
