"""engine.bind: a layer spec bound to arrays is the Layer prepare() makes from the same settings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli import engine
from convcli.errors import ConfigError, ShapeError
from convcli.layer.spec import ConvSpec, LayerConfigError


def _same_layer(a: engine.Layer, b: engine.Layer) -> None:
    assert a.geometry == b.geometry and a.groups == b.groups
    assert a.x.dtype == b.x.dtype and a.kernel.dtype == b.kernel.dtype
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.kernel, b.kernel)


@settings(max_examples=60, deadline=None)
@given(
    groups=st.sampled_from([1, 2, 3]),
    cg=st.integers(1, 3),
    fg=st.integers(1, 3),
    k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    s=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    pad=st.one_of(st.sampled_from(["valid", "same"]), st.tuples(st.integers(0, 2), st.integers(0, 2))),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_bind_gives_the_layer_prepare_gives(groups, cg, fg, k, s, d, pad, dtype):
    c, f = groups * cg, groups * fg
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 8, c))
    kernel = rng.standard_normal((*k, cg, f))
    spec = ConvSpec("conv", c, f, k, s, d, pad, groups=groups)
    bound = engine.bind(spec, x, kernel, dtype=dtype)
    _same_layer(bound, engine.prepare(x, kernel, stride=s, padding=pad, dilation=d, groups=groups, dtype=dtype))


def test_a_depthwise_spec_binds_as_c_groups():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 7, 3))
    kernel = rng.standard_normal((3, 3, 3, 2))  # Keras DepthwiseConv2D: (kh, kw, C, M)
    spec = ConvSpec("depthwise", 3, None, (3, 3), padding="same", depth_multiplier=2)
    layer = engine.bind(spec, x, kernel, dtype=np.float64)
    assert layer.groups == 3 and layer.kernel.shape == (3, 3, 1, 6)
    got = engine.conv2d(layer.x, layer.kernel, groups=3, padding="same", dtype=np.float64)
    for ch in range(3):
        for j in range(2):
            one = engine.conv2d(x[:, :, ch : ch + 1], kernel[:, :, ch : ch + 1, j : j + 1], padding="same",
                                dtype=np.float64)
            np.testing.assert_allclose(got[:, :, ch * 2 + j], one[:, :, 0], rtol=1e-12)


@pytest.mark.parametrize(
    ("spec", "x_shape", "k_shape", "match"),
    [
        (ConvSpec("conv", 4, 2, (3, 3)), (5, 5, 3), (3, 3, 4, 2), "the input has 3 channels but the layer has in_channels=4"),
        (ConvSpec("conv", 4, 2, (3, 3), groups=2), (5, 5, 4), (3, 3, 4, 2), r"needs \(3, 3, 2, 2\)"),
        (ConvSpec("conv", 3, 2, (3, 3)), (5, 5, 3), (3, 3, 3, 5), r"the kernel has shape \(3, 3, 3, 5\)"),
        (ConvSpec("conv", 3, 2, (2, 2)), (5, 5, 3), (3, 3, 3, 2), "needs"),
        (ConvSpec("depthwise", 3, None, (3, 3)), (5, 5, 3), (3, 3, 1, 3), r"needs \(3, 3, 3, 1\)"),
        (ConvSpec("conv", 3, 2, (7, 7)), (5, 5, 3), (7, 7, 3, 2), "spans 7 rows"),
    ],
)
def test_arrays_that_do_not_fit_the_spec_are_a_shape_error(spec, x_shape, k_shape, match):
    with pytest.raises(ShapeError, match=match):
        engine.bind(spec, np.ones(x_shape), np.ones(k_shape))


def test_bind_checks_the_spec_and_what_the_engine_computes():
    with pytest.raises(LayerConfigError) as info:
        engine.bind(ConvSpec("conv", 3, 2, (3, 3), groups=2), np.ones((5, 5, 3)), np.ones((3, 3, 1, 2)))
    assert info.value.field == "groups"
    with pytest.raises(ConfigError) as kind:
        engine.bind(ConvSpec("transpose", 3, 2, (3, 3)), np.ones((5, 5, 3)), np.ones((3, 3, 2, 3)))
    assert kind.value.field == "kind"
    with pytest.raises(ShapeError, match="the input must be"):
        engine.bind(ConvSpec("conv", 3, 2, (3, 3)), np.ones((5, 5)), np.ones((3, 3, 3, 2)))
