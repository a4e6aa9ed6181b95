"""SciPy on large layers: ``scipy.ndimage`` in bands, on a stated sample of them; the import overlapped."""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace

import numpy as np
import pytest

from convcli import engine
from convcli.layer.geometry import conv_geometry
from convcli.verify import adapt_scipy, adapters, preload, schedule, tiles
from convcli.verify.problem import Problem

pytest.importorskip("scipy")

GEOMETRIES = [(kh, kw, s, d, pad, flip, groups)
              for kh, kw, s, d, pad, flip, groups in itertools.product(
                  (1, 2, 3, 4), (3, 2), (1, 2), (1, 2), ("valid", "same", 1), (False, True), (1, 2))
              if not (s > 1 and d > 1)]


@pytest.mark.parametrize(("kh", "kw", "s", "d", "pad", "flip", "groups"), GEOMETRIES)
def test_ndimage_path_equals_correlate2d(kh, kw, s, d, pad, flip, groups):
    """Odd and even kernels, stride, dilation, every padding, --flip, groups: the same numbers both ways."""
    rng = np.random.default_rng(kh * 100 + kw * 10 + s + d)
    x = rng.standard_normal((13, 11, 4))
    k = rng.standard_normal((kh, kw, 4 // groups, 4))
    g = conv_geometry((13, 11), (kh, kw), stride=(s, s), padding=pad, dilation=(d, d))
    p = Problem(engine.Layer(x, k, groups, g), rng.standard_normal(4), pad, flip=flip)
    a, b = adapt_scipy.compute(p), adapt_scipy.compute(replace(p, banded=True))
    assert "correlate2d" in a.layout or "convolve2d" in a.layout
    assert "ndimage." in b.layout and "ndimage." in b.padding
    assert a.output is not None and b.output is not None
    np.testing.assert_allclose(b.output, a.output, rtol=1e-12, atol=1e-12)


def test_ndimage_path_against_a_naive_loop():
    """An even kernel, stride 2, 'same' pads uneven: the band routine against the sum written out."""
    rng = np.random.default_rng(0)
    x, k, bias = rng.standard_normal((9, 8, 2)), rng.standard_normal((2, 4, 2, 3)), rng.standard_normal(3)
    g = conv_geometry((9, 8), (2, 4), stride=(2, 2), padding="same")
    out = adapt_scipy.compute(Problem(engine.Layer(x, k, 1, g), bias, "same", banded=True)).output
    top, bottom, left, right = g.pads
    xp = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    ho, wo = g.out_hw
    naive = np.array([[[bias[f] + sum(xp[2 * i + u, 2 * j + v, c] * k[u, v, c, f]
                                      for u in range(2) for v in range(4) for c in range(2))
                        for f in range(3)] for j in range(wo)] for i in range(ho)])
    np.testing.assert_allclose(out, naive, rtol=1e-12, atol=1e-12)  # type: ignore[arg-type]


def test_sample_bands():
    assert schedule.sample_bands(1) == {0}
    assert schedule.sample_bands(schedule.SAMPLE) == set(range(schedule.SAMPLE))
    twelve = schedule.sample_bands(12)
    assert len(twelve) == schedule.SAMPLE and {0, 6, 11} <= twelve
    assert schedule.sample_bands(12) == twelve  # seeded: the same on every run


def _layer(h: int = 40, w: int = 9) -> Problem:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((h, w, 3)).astype(np.float32)
    k = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)
    g = conv_geometry((h, w), (3, 3), padding="same")
    return Problem(engine.Layer(x, k, 1, g), np.zeros(2, np.float32), "same")


def _scipy() -> adapters.Adapter:
    return next(a for a in adapters.ADAPTERS if a.module == "scipy")


def test_sampled_rows_are_said_and_small_layers_are_whole():
    p = _layer()
    expected = engine.conv2d(p.layer.x, p.layer.kernel, p.bias, padding="same")
    wo = p.layer.geometry.out_hw[1]
    (whole,) = schedule.verify(p, expected, (_scipy(),))
    assert whole.outcome.note == "" and whole.comparison is not None and whole.comparison.ok
    (sampled,) = schedule.verify(p, expected, (_scipy(),), tile_values=4 * wo * 2)  # 10 bands of 4 rows
    bands = tiles.bands(p, 4 * wo * 2)
    spans = ", ".join(f"{bands[k].r0}-{bands[k].r1 - 1}" for k in sorted(schedule.sample_bands(len(bands))))
    assert sampled.outcome.note == f"compared on output rows {spans} of 40 (4 of 10 bands)"
    assert spans.startswith("0-3, ") and spans.endswith("36-39") and "20-23" in spans
    assert sampled.comparison is not None and sampled.comparison.ok


def test_a_difference_in_a_sampled_band_is_found_and_outside_the_sample_is_not_claimed():
    p = _layer()
    expected = engine.conv2d(p.layer.x, p.layer.kernel, p.bias, padding="same")
    wo = p.layer.geometry.out_hw[1]
    planted = expected.copy()
    planted[21, 4, 1] += 1.0  # band 5 (rows 20-23): the middle one, always in the sample
    (found,) = schedule.verify(p, planted, (_scipy(),), tile_values=4 * wo * 2)
    assert found.comparison is not None and not found.comparison.ok
    assert found.comparison.problem.startswith("at (21, 4, 1):")
    outside = sorted(set(range(10)) - schedule.sample_bands(10))[0]
    planted = expected.copy()
    planted[outside * 4 + 1, 4, 1] += 1.0
    (unseen,) = schedule.verify(p, planted, (_scipy(),), tile_values=4 * wo * 2)
    assert unseen.comparison is not None and unseen.comparison.ok  # not compared there, and the note says so
    assert f"{outside * 4}-{outside * 4 + 3}" not in unseen.outcome.note


def test_preload_imports_what_is_added_later_and_says_when_it_is_done():
    importing = preload.preload(())
    importing.also("scipy", preload.scipy_module(True))
    importing.also("ghost", "convcli_no_such_module")  # a failed import is the adapter's to word
    assert importing.join(timeout=60)
    assert importing.done("scipy") and importing.done("ghost") and importing.fraction() == 1.0
    assert "scipy.ndimage" in sys.modules
    assert importing.done("not-asked-for")
