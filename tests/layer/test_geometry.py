"""convcli.layer.geometry, the geometry written once per axis, against the naive oracle; the
engine's conv_geometry and the counts' layer_shape agree because they are the same functions."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli import engine
from convcli.errors import ConfigError, ShapeError
from convcli.layer import counts as layer_counts
from convcli.layer import geometry
from convcli.layer.spec import ConvSpec, LayerConfigError, check_spec, group_of

from oracle import naive_out_size, naive_same_pads

axis_cases = st.tuples(st.integers(1, 40), st.integers(1, 7), st.integers(1, 5), st.integers(1, 4))


@settings(max_examples=300, deadline=None)
@given(case=axis_cases)
def test_same_pads_1d_is_the_documented_rule(case):
    n, k, s, d = case
    assert geometry.same_pads_1d(n, k, s, d) == naive_same_pads(n, k, s, d)
    assert geometry.axis_pads(n, k, s, d, "same") == naive_same_pads(n, k, s, d)
    assert geometry.axis_pads(n, k, s, d, "valid") == (0, 0)
    assert geometry.axis_pads(n, k, s, d, 3) == (3, 3)


@settings(max_examples=300, deadline=None)
@given(case=axis_cases, before=st.integers(0, 4), after=st.integers(0, 4))
def test_out_size_1d_counts_the_positions_whose_taps_fit(case, before, after):
    n, k, s, d = case
    want = naive_out_size(n, k, s, d, before, after)
    assert geometry.span(k, d) == (k - 1) * d + 1
    if want == 0:
        with pytest.raises(ShapeError, match=f"spans {geometry.span(k, d)} rows but the padded input has "
                                             f"{n + before + after}"):
            geometry.out_size_1d(n, k, s, d, (before, after))
    else:
        assert geometry.out_size_1d(n, k, s, d, (before, after)) == want


@settings(max_examples=200, deadline=None)
@given(case=axis_cases)
def test_same_padding_gives_ceil_n_over_s(case):
    n, k, s, d = case
    pads = geometry.same_pads_1d(n, k, s, d)
    assert geometry.out_size_1d(n, k, s, d, pads) == -(-n // s)


def test_the_shape_error_names_the_whole_kernel_and_the_axis():
    with pytest.raises(ShapeError) as info:
        geometry.out_size_1d(4, 3, 1, 2, kernel=(3, 3), axis="columns")
    assert str(info.value) == "kernel 3×3 with dilation 2 spans 5 columns but the padded input has 4"
    with pytest.raises(ShapeError, match="^kernel 5×2 spans 5 rows but the padded input has 3$"):
        engine.conv_geometry((3, 9), (5, 2))


def test_transpose_out_1d():
    assert geometry.transpose_out_1d(5, 3, 2, "valid") == 11
    assert geometry.transpose_out_1d(3, 2, 3, "valid") == 9
    assert geometry.transpose_out_1d(5, 3, 2, "same") == 10


@pytest.mark.parametrize(
    ("value", "want"),
    [(3, (3, 3)), ((2, 5), (2, 5)), (np.int64(4), (4, 4)), ((np.int32(1), 2), (1, 2)), ([2, 3], (2, 3))],
)
def test_as_pair_takes_ints_and_numpy_integers(value, want):
    got = geometry.as_pair(value, "stride")
    assert got == want and all(type(v) is int for v in got)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "stride must be ≥ 1, got 0"),
        ((2, 0), "stride must be ≥ 1, got (2, 0)"),
        (True, "stride must be an int or an (h, w) pair, got True"),
        (1.5, "stride must be an int or an (h, w) pair, got 1.5"),
        ((1, True), "stride must be whole numbers, got (1, True)"),
        ((1, 2, 3), "stride must be an int or an (h, w) pair, got (1, 2, 3)"),
        (np.array([1, 2]), "stride must be an int or an (h, w) pair"),
    ],
)
def test_as_pair_errors_are_field_errors(value, message):
    with pytest.raises(ConfigError) as info:
        geometry.as_pair(value, "stride")
    assert str(info.value).startswith(message)
    assert info.value.field == "stride"
    assert info.value.worded({"stride": "--stride"}).startswith("--" + message)


def test_padding_errors_carry_their_field():
    with pytest.raises(ConfigError) as info:
        engine.pad_amounts((5, 5), (3, 3), padding="full")
    assert info.value.field == "padding"
    assert str(info.value) == "padding must be 'valid', 'same', an int or an (h, w) pair, got 'full'"
    with pytest.raises(ConfigError, match=r"kernel size must be ≥ 1, got \(0, 3\)") as kinfo:
        engine.conv_geometry((5, 5), (0, 3))
    assert kinfo.value.field == "kernel_size"


def test_the_engine_re_exports_the_one_geometry():
    assert engine.conv_geometry is geometry.conv_geometry and engine.Geometry is geometry.Geometry
    assert engine.span is geometry.span and engine.same_pads_1d is geometry.same_pads_1d
    import convcli

    assert convcli.output_shape is geometry.output_shape and convcli.pad_amounts is geometry.pad_amounts


specs = st.builds(
    lambda kind, c, f, k, s, d, pad, n: (ConvSpec(kind, c, None if kind == "depthwise" else f, k, s, d, pad), n),
    kind=st.sampled_from(["conv", "depthwise", "separable"]),
    c=st.integers(1, 4),
    f=st.integers(1, 4),
    k=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    d=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pad=st.one_of(st.sampled_from(["valid", "same"]), st.tuples(st.integers(0, 3), st.integers(0, 3))),
    n=st.tuples(st.integers(1, 20), st.integers(1, 20)),
)


@settings(max_examples=300, deadline=None)
@given(case=specs)
def test_engine_geometry_and_layer_shape_agree(case):
    spec, hw = case
    kwargs = {"stride": spec.stride, "dilation": spec.dilation, "padding": spec.padding}
    try:
        g = engine.conv_geometry(hw, spec.kernel, **kwargs)
    except ShapeError as exc:
        with pytest.raises(ShapeError) as info:
            layer_counts.layer_shape(spec, hw)
        assert str(info.value) == str(exc)
        return
    shape = layer_counts.layer_shape(spec, hw)
    assert shape.out_shape[:2] == g.out_hw
    assert shape.pads == g.pads == spec.pads(hw)
    assert shape.out_shape[2] == spec.out_channels


def test_a_spec_has_ndim_axes():
    one = check_spec(ConvSpec("conv", 2, 3, (5,), (2,), (1,), "same", ndim=1))
    assert layer_counts.layer_shape(one, (9,)).out_shape == (5, 3)
    assert layer_counts.param_count(one).weights == 5 * 2 * 3
    three = check_spec(ConvSpec("conv", 2, 4, (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 0, 1), ndim=3))
    shape = layer_counts.layer_shape(three, (4, 5, 6))
    assert shape.out_shape == (4, 3, 6, 4) and shape.pads == (1, 1, 0, 0, 1, 1)
    assert three.kernel_shapes()["kernel"] == (3, 3, 3, 2, 4)
    with pytest.raises(LayerConfigError) as info:
        check_spec(ConvSpec("conv", 2, 3, (3, 3), ndim=3))
    assert info.value.field == "kernel"
    with pytest.raises(LayerConfigError, match="1, 2 or 3"):
        check_spec(ConvSpec("conv", 2, 3, (3, 3), ndim=4))


def test_group_of():
    assert [group_of(f, 6, 3) for f in range(6)] == [0, 0, 1, 1, 2, 2]
    assert group_of(5, 6, 1) == 0
    assert ConvSpec("conv", 4, 6, (3, 3), groups=2).group_of(3) == 1


def test_the_layer_package_imports_no_numpy():
    code = "import convcli.layer.stack, convcli.layer.counts, convcli.layer.receptive, sys; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
