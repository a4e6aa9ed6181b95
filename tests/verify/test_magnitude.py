"""S = Σ|x·w| scales verify's tolerance: float32 where that is safe, and never below the exact sum."""

from __future__ import annotations

import numpy as np
import pytest

from convcli import engine
from convcli.verify import compare

from oracle import naive_conv2d


def _layer(x: np.ndarray, kernel: np.ndarray, **kwargs) -> engine.Layer:
    return engine.prepare(x, kernel, dtype=x.dtype, **kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": "same"}, {"dilation": 2, "padding": 1}, {"groups": 3}])
def test_s_in_float32_bounds_the_exact_sum_from_above(kwargs):
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((23, 19, 6)) * 50).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 6 // kwargs.get("groups", 1), 6)).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    layer = _layer(x, kernel, **kwargs)
    s = compare.magnitude(layer, bias)
    assert s.dtype == np.float32
    g = layer.geometry
    exact = naive_conv2d(np.abs(x.astype(np.float64)), np.abs(kernel.astype(np.float64)),
                         np.abs(bias.astype(np.float64)), g.stride, g.pads, g.dilation, layer.groups)
    n = compare.terms(layer)
    assert (s >= exact).all()
    assert (s <= exact * (1 + 4 * n * np.finfo(np.float32).eps)).all()


@pytest.mark.parametrize(("scale_x", "scale_w", "dtype"), [
    (1.0, 1.0, np.float32),
    (1e20, 1e20, np.float64),   # the sum would overflow float32
    (1e-20, 1e-20, np.float64),  # the products would be subnormal in float32
    (1.0, 1.0, np.float64),      # a float64 layer keeps float64
])
def test_s_is_float64_where_float32_would_overflow_or_underflow(scale_x, scale_w, dtype):
    rng = np.random.default_rng(10)
    x = (rng.random((9, 9, 2)) * scale_x).astype(np.float32 if dtype is np.float32 or scale_x != 1 else np.float64)
    kernel = (rng.random((3, 3, 2, 2)) * scale_w).astype(x.dtype)
    layer = _layer(x, kernel)
    s = compare.magnitude(layer, np.zeros(2, x.dtype))
    assert s.dtype == dtype
    exact = naive_conv2d(np.abs(x.astype(np.float64)), np.abs(kernel.astype(np.float64)))
    np.testing.assert_allclose(s, exact, rtol=1e-5)
    assert np.isfinite(s).all() and (s > 0).all()
