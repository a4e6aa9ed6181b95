"""The engine against hand-checked numbers and against the naive loop oracle (tests/oracle.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcli import engine
from convcli.errors import ConfigError, ShapeError

from oracle import naive_conv2d, naive_partials, naive_patch
from strategies import conv_cases

TIGHT = {"rtol": 1e-10, "atol": 1e-10}


# --------------------------------------------------------------------------------------------
# The textbook example: a 3×3 RGB image whose channels are 1, 100 and 10000 everywhere


def textbook():
    x = np.stack([np.full((3, 3), v) for v in (1.0, 100.0, 10000.0)], axis=-1)
    return x, np.ones((2, 2, 3, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_textbook_conv2d(dtype):
    x, kernel = textbook()
    out = engine.conv2d(x, kernel, dtype=dtype)
    assert out.shape == (2, 2, 1)
    assert out.dtype == dtype
    assert np.all(out == 40404)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_textbook_partial_sums(dtype):
    x, kernel = textbook()
    p = engine.partial_sums(x, kernel, dtype=dtype)
    assert p.shape == (2, 2, 3, 1)
    assert p.dtype == dtype
    for i in range(2):
        for j in range(2):
            assert p[i, j, :, 0].tolist() == [4, 400, 40000]


def test_textbook_param_count():
    assert engine.param_count((2, 2, 3, 1)) == (12, 1)
    assert sum(engine.param_count((2, 2, 3, 1))) == 13
    assert engine.param_count((2, 2, 3, 1), use_bias=False) == (12, 0)
    assert engine.param_count((3, 3, 2, 8)) == (144, 8)


# --------------------------------------------------------------------------------------------
# Against the oracle, on random layers


@settings(max_examples=300, deadline=None)
@given(case=conv_cases())
def test_conv2d_and_partials_match_oracle(case):
    assume(not case.empty)
    x, kernel, bias = case.arrays
    expected = naive_conv2d(x, kernel, bias, case.stride, case.pads, case.dilation, case.groups)
    out = engine.conv2d(x, kernel, bias, dtype=np.float64, **case.kwargs)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, expected, **TIGHT)

    expected_p = naive_partials(x, kernel, case.stride, case.pads, case.dilation, case.groups)
    p = engine.partial_sums(x, kernel, dtype=np.float64, **case.kwargs)
    assert p.dtype == np.float64
    np.testing.assert_allclose(p, expected_p, **TIGHT)


@settings(max_examples=150, deadline=None)
@given(case=conv_cases(), data=st.data())
def test_filter_partials_match_the_oracle_for_one_filter(case, data):
    assume(not case.empty)
    x, kernel, _ = case.arrays
    filt = data.draw(st.integers(0, case.f - 1), label="filter")
    layer = engine.prepare(x, kernel, dtype=np.float64, **case.kwargs)
    expected = naive_partials(x, kernel, case.stride, case.pads, case.dilation, case.groups)[:, :, :, filt]
    np.testing.assert_allclose(engine.filter_partials(layer, filt), expected, **TIGHT)


def test_filter_partials_refuses_a_missing_filter():
    layer = engine.prepare(np.ones((4, 4, 3)), np.ones((2, 2, 3, 2)))
    with pytest.raises(ShapeError, match="filter 2 does not exist"):
        engine.filter_partials(layer, 2)


@settings(max_examples=300, deadline=None)
@given(case=conv_cases())
def test_empty_output_is_a_shape_error_exactly_when_the_oracle_says_so(case):
    x, kernel, _ = case.arrays
    if case.empty:
        with pytest.raises(ShapeError, match="spans .* but the padded input has"):
            engine.output_shape(
                (case.h, case.w),
                (case.kh, case.kw),
                stride=case.stride,
                padding=case.padding,
                dilation=case.dilation,
            )
        with pytest.raises(ShapeError):
            engine.conv2d(x, kernel, **case.kwargs)
    else:
        assert (
            engine.output_shape(
                (case.h, case.w),
                (case.kh, case.kw),
                stride=case.stride,
                padding=case.padding,
                dilation=case.dilation,
            )
            == case.out_hw
        )
        assert (
            engine.pad_amounts(
                (case.h, case.w),
                (case.kh, case.kw),
                stride=case.stride,
                padding=case.padding,
                dilation=case.dilation,
            )
            == case.pads
        )


SINGLE_PIXEL = [
    # (h, w, c, f, kh, kw, kwargs)
    (3, 3, 2, 2, 3, 3, {}),
    (1, 1, 1, 1, 1, 1, {}),
    (1, 1, 3, 2, 3, 3, {"padding": "same"}),
    (1, 1, 2, 1, 4, 2, {"padding": "same", "dilation": 2}),
    (5, 4, 1, 3, 2, 2, {"stride": 5}),
    (4, 4, 3, 1, 2, 2, {"dilation": 3}),
    (2, 2, 1, 1, 3, 3, {"padding": 1, "stride": 3}),
    (2, 3, 6, 3, 2, 3, {"groups": 3}),
    (1, 5, 4, 4, 1, 3, {"stride": (1, 3), "dilation": (1, 2), "groups": 2}),
]


@pytest.mark.parametrize(("h", "w", "c", "f", "kh", "kw", "kwargs"), SINGLE_PIXEL)
def test_single_pixel_outputs(h, w, c, f, kh, kw, kwargs):
    groups = kwargs.get("groups", 1)
    rng = np.random.default_rng(h * 1000 + w * 100 + c * 10 + f)
    x = rng.standard_normal((h, w, c))
    kernel = rng.standard_normal((kh, kw, c // groups, f))
    bias = rng.standard_normal(f)
    pads = engine.pad_amounts((h, w), (kh, kw), **{k: v for k, v in kwargs.items() if k != "groups"})
    stride, dilation = kwargs.get("stride", 1), kwargs.get("dilation", 1)
    expected = naive_conv2d(x, kernel, bias, stride, pads, dilation, groups)
    assert expected.shape == (1, 1, f)
    np.testing.assert_allclose(engine.conv2d(x, kernel, bias, dtype=np.float64, **kwargs), expected, **TIGHT)
    np.testing.assert_allclose(
        engine.partial_sums(x, kernel, dtype=np.float64, **kwargs),
        naive_partials(x, kernel, stride, pads, dilation, groups),
        **TIGHT,
    )


@settings(max_examples=200, deadline=None)
@given(case=conv_cases(), data=st.data())
def test_window_is_a_slice_of_the_full_result(case, data):
    assume(not case.empty)
    x, kernel, bias = case.arrays
    ho, wo = case.out_hw
    r0 = data.draw(st.integers(0, ho - 1))
    r1 = data.draw(st.integers(r0 + 1, ho))
    c0 = data.draw(st.integers(0, wo - 1))
    c1 = data.draw(st.integers(c0 + 1, wo))
    win = (r0, r1, c0, c1)
    full = engine.conv2d(x, kernel, bias, dtype=np.float64, **case.kwargs)
    part = engine.conv2d(x, kernel, bias, dtype=np.float64, window=win, **case.kwargs)
    np.testing.assert_allclose(part, full[r0:r1, c0:c1], rtol=1e-12, atol=1e-12)
    full_p = engine.partial_sums(x, kernel, dtype=np.float64, **case.kwargs)
    part_p = engine.partial_sums(x, kernel, dtype=np.float64, window=win, **case.kwargs)
    np.testing.assert_allclose(part_p, full_p[r0:r1, c0:c1], rtol=1e-12, atol=1e-12)


@settings(max_examples=300, deadline=None)
@given(case=conv_cases(max_hw=12, max_k=5))
def test_partials_sum_to_the_output(case):
    assume(not case.empty)
    x, kernel, bias = case.arrays
    out64 = engine.conv2d(x, kernel, bias, dtype=np.float64, **case.kwargs)
    p64 = engine.partial_sums(x, kernel, dtype=np.float64, **case.kwargs)
    np.testing.assert_allclose(p64.sum(axis=2) + bias, out64, **TIGHT)

    out32 = engine.conv2d(x, kernel, bias, **case.kwargs)
    p32 = engine.partial_sums(x, kernel, **case.kwargs)
    assert out32.dtype == p32.dtype == np.float32
    # float32 rounding grows with the magnitude of the terms, not of their (possibly cancelling) sum
    scale = engine.conv2d(np.abs(x), np.abs(kernel), np.abs(bias), dtype=np.float64, **case.kwargs)
    err = np.abs((p32.sum(axis=2, dtype=np.float64) + bias) - out32)
    assert np.all(err <= 1e-5 * scale + 1e-6)
    assert np.all(np.abs(out32 - out64) <= 1e-5 * scale + 1e-6)


# --------------------------------------------------------------------------------------------
# dtypes


def test_float32_is_the_default_and_float64_on_request():
    x, kernel = textbook()
    assert engine.conv2d(x, kernel).dtype == np.float32
    assert engine.partial_sums(x, kernel).dtype == np.float32
    assert engine.conv2d(x.astype(np.float32), kernel, dtype="float64").dtype == np.float64
    assert engine.partial_sums(x, kernel, dtype=np.float64).dtype == np.float64
    assert engine.prepare(x, kernel).x.dtype == np.float32


def test_integer_inputs_do_not_overflow():
    x = np.full((4, 4, 3), 255, dtype=np.uint8)
    kernel = np.full((3, 3, 3, 2), 255, dtype=np.uint8)
    expected = 255 * 255 * 27  # 1755675: exact in float32 (< 2**24)
    out = engine.conv2d(x, kernel)
    assert out.shape == (2, 2, 2)
    assert np.all(out == expected)
    p = engine.partial_sums(x, kernel)
    assert np.all(p == 255 * 255 * 9)
    # 175567501 needs float64 to be exact; int16 weights and an int bias are converted too
    big = engine.conv2d(x, kernel.astype(np.int16) * 100, bias=np.array([1, -1]), dtype=np.float64)
    assert np.all(big == [expected * 100 + 1, expected * 100 - 1])


def test_integer_image_with_float_kernel():
    x = np.arange(27, dtype=np.uint8).reshape(3, 3, 3)
    kernel = np.full((3, 3, 3, 1), 0.5)
    assert engine.conv2d(x, kernel, dtype=np.float64)[0, 0, 0] == 0.5 * sum(range(27))


# --------------------------------------------------------------------------------------------
# mean |partials| in row tiles


@settings(max_examples=100, deadline=None)
@given(case=conv_cases())
def test_mean_abs_partials_matches_partial_sums(case):
    assume(not case.empty)
    x, kernel, _ = case.arrays
    layer = engine.prepare(x, kernel, dtype=np.float64, **case.kwargs)
    expected = np.abs(engine.partial_sums(x, kernel, dtype=np.float64, **case.kwargs)).mean(axis=(0, 1))
    got = engine.mean_abs_partials(layer)
    assert got.shape == (x.shape[2] // case.groups, case.f)
    np.testing.assert_allclose(got, expected, **TIGHT)


@pytest.mark.parametrize(
    ("tile_values", "rows_per_tile"),
    [(7, 1), (60, 2)],  # a row holds 6·2·2 = 24 values: 7 -> 1 row a tile; 60 -> 2 rows, last tile 1 row
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mean_abs_partials_in_small_tiles(monkeypatch, tile_values, rows_per_tile, dtype):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((11, 6, 4))
    kernel = rng.standard_normal((3, 2, 2, 2))
    kwargs = {"padding": "same", "groups": 2}  # output 11×6, 2 channels per group, 2 filters
    expected = np.abs(engine.partial_sums(x, kernel, dtype=np.float64, **kwargs)).mean(axis=(0, 1))
    monkeypatch.setattr("convcli.engine.tiles.TILE_VALUES", tile_values)
    layer = engine.prepare(x, kernel, dtype=dtype, **kwargs)
    tiles = engine.tiles._row_tiles((0, 11), 6 * 2 * 2)
    assert tiles == [(r, min(r + rows_per_tile, 11)) for r in range(0, 11, rows_per_tile)]
    got = engine.mean_abs_partials(layer)
    assert got.dtype == np.float64
    tol = TIGHT if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(got, expected, **tol)


def test_mean_abs_partials_with_a_last_partial_tile(monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((9, 5, 3))
    kernel = rng.standard_normal((3, 3, 3, 2))
    expected = np.abs(engine.partial_sums(x, kernel, padding=1, dtype=np.float64)).mean(axis=(0, 1))
    # a row holds 5·3·2 = 30 values; 100 // 30 = 3 rows a tile over 9 rows, 70 -> 2 rows (last 1)
    for tile_values, tiles in [
        (100, [(0, 3), (3, 6), (6, 9)]),
        (70, [(0, 2), (2, 4), (4, 6), (6, 8), (8, 9)]),
    ]:
        monkeypatch.setattr("convcli.engine.tiles.TILE_VALUES", tile_values)
        layer = engine.prepare(x, kernel, padding=1, dtype=np.float64)
        assert engine.tiles._row_tiles((0, 9), 30) == tiles
        np.testing.assert_allclose(engine.mean_abs_partials(layer), expected, **TIGHT)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("tile_values", [1, 50, 1 << 22])
@settings(max_examples=40, deadline=None)
@given(case=conv_cases())
def test_blocks_and_threads_give_the_oracle_values(threads, tile_values, case):
    """Whole-image work in blocks of rows (down to one row), on one or two threads."""
    assume(not case.empty)
    x, kernel, bias = case.arrays
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("convcli.engine.tiles.THREADS", threads)
        mp.setattr("convcli.engine.tiles.TILE_VALUES", tile_values)
        layer = engine.prepare(x, kernel, dtype=np.float64, **case.kwargs)
        fractions: list[float] = []
        result = engine.run_layer(layer, bias, "linear", keep_partials=True, ranges=True,
                                  progress=fractions.append)
    partials = naive_partials(x, kernel, case.stride, case.pads, case.dilation, case.groups)
    assert result.partial_low is not None and result.partial_high is not None
    np.testing.assert_allclose(result.partial_low, partials.min(axis=(0, 1)), **TIGHT)
    np.testing.assert_allclose(result.partial_high, partials.max(axis=(0, 1)), **TIGHT)
    np.testing.assert_allclose(result.preactivation,
                               naive_conv2d(x, kernel, bias, case.stride, case.pads, case.dilation, case.groups),
                               **TIGHT)
    np.testing.assert_allclose(result.full_partials(), partials, **TIGHT)
    np.testing.assert_allclose(result.mean_abs, np.abs(partials).mean(axis=(0, 1)), **TIGHT)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_run_bytes_counts_results_and_kept_partials():
    layer = engine.prepare(np.ones((100, 50, 3), dtype=np.float32), np.ones((3, 3, 3, 4)))  # 98×48 outputs
    base = engine.run_bytes(layer)
    assert base >= 2 * 98 * 48 * 4 * 4
    assert engine.run_bytes(layer, keep_partials=True) - base == 98 * 48 * 3 * 4 * 4


# --------------------------------------------------------------------------------------------
# trace_position


@settings(max_examples=150, deadline=None)
@given(case=conv_cases(), data=st.data())
def test_trace_position_matches_partials_and_oracle(case, data):
    assume(not case.empty)
    x, kernel, _ = case.arrays
    ho, wo = case.out_hw
    i = data.draw(st.integers(0, ho - 1))
    j = data.draw(st.integers(0, wo - 1))
    f = data.draw(st.integers(0, case.f - 1))
    layer = engine.prepare(x, kernel, dtype=np.float64, **case.kwargs)
    t = engine.trace_position(layer, i, j, f)

    cg = case.c // case.groups
    group = f // (case.f // case.groups)
    channels = list(range(group * cg, (group + 1) * cg))
    sh, sw = (case.stride, case.stride) if isinstance(case.stride, int) else case.stride
    dh, dw = (case.dilation, case.dilation) if isinstance(case.dilation, int) else case.dilation
    top, _, left, _ = case.pads

    assert t.channels.tolist() == channels
    assert t.in_rows.tolist() == [i * sh - top + u * dh for u in range(case.kh)]
    assert t.in_cols.tolist() == [j * sw - left + v * dw for v in range(case.kw)]
    patch = naive_patch(x, i, j, (case.kh, case.kw), case.stride, case.pads, case.dilation, channels)
    np.testing.assert_array_equal(t.patch, patch)
    np.testing.assert_array_equal(t.weights, kernel[:, :, :, f])
    np.testing.assert_allclose(t.products, patch * kernel[:, :, :, f], **TIGHT)
    p = engine.partial_sums(x, kernel, dtype=np.float64, **case.kwargs)
    np.testing.assert_allclose(t.sums, p[i, j, :, f], **TIGHT)
    # padding taps are zeros and only padding taps lie outside the image
    outside = (
        (t.in_rows[:, None] < 0)
        | (t.in_rows[:, None] >= case.h)
        | (t.in_cols[None, :] < 0)
        | (t.in_cols[None, :] >= case.w)
    )
    assert np.all(t.patch[outside] == 0)


def test_trace_position_corner_with_same_padding():
    x = np.arange(1, 10, dtype=np.float64).reshape(3, 3, 1)
    kernel = np.ones((3, 3, 1, 1))
    layer = engine.prepare(x, kernel, padding="same", dtype=np.float64)
    t = engine.trace_position(layer, 0, 0, 0)
    assert t.in_rows.tolist() == [-1, 0, 1]
    assert t.in_cols.tolist() == [-1, 0, 1]
    np.testing.assert_array_equal(t.patch[:, :, 0], [[0, 0, 0], [0, 1, 2], [0, 4, 5]])
    assert t.sums.tolist() == [12.0]
    assert engine.conv2d(x, kernel, padding="same", dtype=np.float64)[0, 0, 0] == 12.0


def test_trace_position_groups_read_their_own_channels():
    x = np.stack([np.full((2, 2), 10.0**c) for c in range(4)], axis=-1)  # channels 1, 10, 100, 1000
    kernel = np.ones((2, 2, 2, 4))
    layer = engine.prepare(x, kernel, groups=2, dtype=np.float64)
    for f, channels, sums in [(0, [0, 1], [4, 40]), (1, [0, 1], [4, 40]), (2, [2, 3], [400, 4000])]:
        t = engine.trace_position(layer, 0, 0, f)
        assert t.channels.tolist() == channels
        assert t.sums.tolist() == sums


@pytest.mark.parametrize(
    ("pos", "message"), [((2, 0, 0), "position 2,0 is outside the 2×2"), ((0, 0, 4), "filter 4")]
)
def test_trace_position_outside(pos, message):
    x, kernel = textbook()
    layer = engine.prepare(x, kernel)
    with pytest.raises(ShapeError, match=message):
        engine.trace_position(layer, *pos)


# --------------------------------------------------------------------------------------------
# Activations

Z = np.array(
    [
        -100,
        -30,
        -20,
        -10,
        -5,
        -3,
        -2.5,
        -1,
        -0.5,
        -1e-3,
        0,
        1e-3,
        0.5,
        1,
        2.5,
        3,
        5,
        6,
        7,
        10,
        20,
        30,
        88,
        100,
    ]
)


def torch_activations():
    torch = pytest.importorskip("torch")
    fn = torch.nn.functional
    return torch, {
        "linear": lambda t: t,
        "relu": fn.relu,
        "relu6": fn.relu6,
        "leaky_relu": lambda t: fn.leaky_relu(t, negative_slope=0.2),  # Keras 3 default slope
        "elu": fn.elu,
        "selu": fn.selu,
        "sigmoid": torch.sigmoid,
        "hard_sigmoid": fn.hardsigmoid,  # relu6(x + 3) / 6, as Keras 3
        "tanh": torch.tanh,
        "softplus": fn.softplus,
        "softsign": fn.softsign,
        "silu": fn.silu,
        "swish": fn.silu,
        "exponential": torch.exp,
    }


# relative: tiny results (sigmoid(-30)) must keep their digits; float32 atol only covers subnormals
@pytest.mark.parametrize(("dtype", "rtol", "atol"), [(np.float32, 1e-6, 1e-37), (np.float64, 1e-12, 1e-300)])
def test_activations_match_torch(dtype, rtol, atol):
    torch, refs = torch_activations()
    assert set(refs) == set(engine.ACTIVATIONS)
    z = Z.astype(dtype)
    for name, ref in refs.items():
        got = engine.activate(z, name)
        assert got.dtype == dtype, name
        expected = ref(torch.from_numpy(z.copy())).numpy()
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_keep_shape_and_dtype(dtype):
    z = np.linspace(-4, 4, 24, dtype=dtype).reshape(2, 3, 4)
    for name in engine.ACTIVATIONS:
        out = engine.activate(z, name)
        assert out.shape == z.shape and out.dtype == dtype, name
    assert set(engine.ACTIVATION_FORMULAS) == set(engine.ACTIVATIONS)


def test_activation_hand_values():
    z = np.array([-4.0, -1.0, 0.0, 1.0, 7.0])
    assert engine.activate(z, "relu").tolist() == [0, 0, 0, 1, 7]
    assert engine.activate(z, "relu6").tolist() == [0, 0, 0, 1, 6]
    assert engine.activate(z, "leaky_relu").tolist() == [-0.8, -0.2, 0, 1, 7]
    assert engine.activate(z, "hard_sigmoid").tolist() == [0, 2 / 6, 0.5, 4 / 6, 1]
    assert engine.activate(z, "softsign").tolist() == [-0.8, -0.5, 0, 0.5, 7 / 8]


def test_sigmoid_keeps_the_digits_of_tiny_values():
    z = np.array([-40.0, -700.0, 40.0, 800.0])
    expected = [1 / (1 + np.exp(40.0)), 1 / (1 + np.exp(700.0)), 1 / (1 + np.exp(-40.0)), 1.0]
    np.testing.assert_allclose(engine.activate(z, "sigmoid"), expected, rtol=1e-14, atol=0)
    np.testing.assert_allclose(engine.activate(z[:1], "silu"), -40.0 * expected[0], rtol=1e-14, atol=0)
    assert engine.activate(np.array([-1e4, 1e4], dtype=np.float32), "sigmoid").tolist() == [0, 1]


def test_unknown_activation():
    with pytest.raises(ConfigError, match="unknown activation 'gelu'.*relu6"):
        engine.activate(np.zeros(3), "gelu")


# --------------------------------------------------------------------------------------------
# Errors name the numbers


def rgb(h=7, w=12):
    return np.zeros((h, w, 3))


ERRORS = [
    (
        lambda: engine.conv2d(np.zeros((7, 12, 1)), np.ones((5, 5, 1, 1)), dilation=2),
        ShapeError,
        "kernel 5×5 with dilation 2 spans 9 rows but the padded input has 7",
    ),
    (
        lambda: engine.conv2d(np.zeros((9, 4, 1)), np.ones((5, 4, 1, 1)), dilation=(1, 2), padding=(0, 1)),
        ShapeError,
        "kernel 5×4 with dilation 2 spans 7 columns but the padded input has 6",
    ),
    (
        lambda: engine.conv2d(np.zeros((2, 8, 1)), np.ones((3, 3, 1, 1))),
        ShapeError,
        "kernel 3×3 spans 3 rows but the padded input has 2",
    ),
    (
        lambda: engine.conv2d(np.zeros((5, 5, 4)), np.ones((1, 1, 1, 3)), groups=3),
        ShapeError,
        "groups=3 does not divide the input's 4 channels",
    ),
    (
        lambda: engine.conv2d(np.zeros((5, 5, 4)), np.ones((1, 1, 2, 3)), groups=2),
        ShapeError,
        "groups=2 does not divide the 3 filters",
    ),
    (
        lambda: engine.conv2d(rgb(), np.ones((3, 3, 5, 1))),
        ShapeError,
        "the kernel expects 5 input channels but the input has 3",
    ),
    (
        lambda: engine.conv2d(np.zeros((5, 5, 6)), np.ones((3, 3, 2, 4)), groups=2),
        ShapeError,
        r"the kernel expects 4 input channels \(2 per group × 2 groups\) but the input has 6",
    ),
    (
        lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), groups=0),
        ConfigError,
        "groups must be .*≥ 1, got 0",
    ),
    (lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), stride=0), ConfigError, "stride must be ≥ 1, got 0"),
    (
        lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), stride=(2, 0)),
        ConfigError,
        r"stride must be ≥ 1, got \(2, 0\)",
    ),
    (lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), dilation=-1), ConfigError, "dilation must be ≥ 1"),
    (
        lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), padding=-1),
        ConfigError,
        "padding must be ≥ 0, got -1",
    ),
    (
        lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), padding=(1, -2)),
        ConfigError,
        r"padding must be ≥ 0, got \(1, -2\)",
    ),
    (lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), padding="full"), ConfigError, "'full'"),
    (lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), padding=(1, 2, 3)), ConfigError, "padding must be"),
    (lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), stride=1.5), ConfigError, "stride must be"),
    (
        lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 2)), bias=[1.0, 2.0, 3.0]),
        ShapeError,
        r"the bias has shape \(3,\) but the layer has 2 filters: need \(2,\)",
    ),
    (
        lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 2)), bias=np.zeros((2, 1))),
        ShapeError,
        r"the bias has shape \(2, 1\) but the layer has 2 filters",
    ),
    (
        lambda: engine.conv2d(np.zeros((7, 7)), np.ones((3, 3, 1, 1))),
        ShapeError,
        r"got 2 dimensions \(7, 7\)",
    ),
    (
        lambda: engine.conv2d(np.zeros((1, 7, 7, 3)), np.ones((3, 3, 3, 1))),
        ShapeError,
        r"the input must be \(H, W, C\), got 4 dimensions \(1, 7, 7, 3\)",
    ),
    (lambda: engine.conv2d(rgb(), np.ones((3, 3, 3))), ShapeError, r"got 3 dimensions \(3, 3, 3\)"),
    (lambda: engine.conv2d(rgb().astype(complex), np.ones((3, 3, 3, 1))), ShapeError, "complex128"),
    (lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1), dtype=bool)), ShapeError, "dtype bool"),
    (lambda: engine.conv2d(rgb() > 0, np.ones((3, 3, 3, 1))), ShapeError, "the input must hold real numbers"),
    (lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), bias=[1j]), ShapeError, "the bias must hold real"),
    (
        lambda: engine.conv2d(np.zeros((0, 4, 3)), np.ones((3, 3, 3, 1))),
        ShapeError,
        r"empty \(shape \(0, 4, 3\)\)",
    ),
    (lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), dtype=np.float16), ConfigError, "got float16"),
    (lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), dtype="int32"), ConfigError, "got int32"),
    (
        lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), dtype="nonsense"),
        ConfigError,
        "float32 or float64",
    ),
    (
        lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), window=(0, 6, 0, 2)),
        ShapeError,
        "window rows 0:6, cols 0:2 is not inside the 5×10 output",
    ),
    (
        lambda: engine.partial_sums(rgb(), np.ones((3, 3, 3, 1)), window=(2, 2, 0, 1)),
        ShapeError,
        "window rows 2:2, cols 0:1 is not inside the 5×10 output",
    ),
    (
        lambda: engine.partial_sums(rgb(), np.ones((3, 3, 3, 1)), window=(0, 1, -1, 3)),
        ShapeError,
        "window rows 0:1, cols -1:3",
    ),
    (lambda: engine.conv2d(rgb(), np.ones((3, 3, 3, 1)), bias=[True]), ShapeError, "the bias .* dtype bool"),
]


@pytest.mark.parametrize(("call", "exc", "message"), ERRORS, ids=[m for _, _, m in ERRORS])
def test_errors_name_the_numbers(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_error_classes_and_exit_codes():
    assert issubclass(ShapeError, engine.ShapeError) and ShapeError.exit_code == 1
    assert ConfigError.exit_code == 2


def test_output_stats_ignore_nan_per_filter():
    """min/mean/max per filter as numpy's NaN-aware functions give them, NaN only for an all-NaN map."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 7, 2))
    x[2, 3, 0] = np.nan  # reaches filters 0 and 1 at a few positions only
    kernel = rng.standard_normal((2, 2, 2, 3))
    kernel[:, :, 0, 2] = 0.0
    kernel[:, :, 1, 2] = np.nan  # filter 2: NaN everywhere
    layer = engine.prepare(x, kernel, dtype=np.float64)
    result = engine.run_layer(layer, None, "relu")
    o = result.output
    assert np.isnan(o[..., 0]).sum() == 4
    for f in (0, 1):
        np.testing.assert_allclose(result.output_stats[f],
                                   [np.nanmin(o[..., f]), np.nanmean(o[..., f]), np.nanmax(o[..., f])], rtol=1e-12)
    assert np.isnan(result.output_stats[2]).all()


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (4096, 1), (10_001, 4), (3, 5000), (2049, 2)])
@pytest.mark.parametrize("op", ["min", "max", "sum"])
def test_column_reduce_matches_numpy(shape, op):
    a = np.random.default_rng(shape[0]).standard_normal(shape).astype(np.float32)
    if op == "sum":
        got = engine.column_reduce(a, np.add, np.float64)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, a.astype(np.float64).sum(axis=0), rtol=1e-12, atol=1e-9)
    else:
        ufunc = np.minimum if op == "min" else np.maximum
        np.testing.assert_array_equal(engine.column_reduce(a, ufunc), getattr(a, op)(axis=0))


# --------------------------------------------------------------------------------------------
# Block means of partial maps without the maps (heatmaps)


def naive_block_means(maps: np.ndarray, k: int) -> np.ndarray:
    """``maps (h, w, n)`` -> means of each k×k block (the last ones short), by plain loops."""
    h, w, n = maps.shape
    by, bx = -(-h // k), -(-w // k)
    out = np.zeros((by, bx, n))
    for i in range(by):
        for j in range(bx):
            out[i, j] = maps[i * k : (i + 1) * k, j * k : (j + 1) * k].mean(axis=(0, 1))
    return out


@settings(max_examples=150, deadline=None)
@given(case=conv_cases(max_hw=14), k=st.integers(1, 6), data=st.data())
def test_partial_block_means_equal_the_block_means_of_the_oracle_maps(case, k, data):
    """Strides, dilations, paddings and groups: block sums of the shifted input, weighted by the kernel."""
    assume(not case.empty)
    x, kernel, _ = case.arrays
    layer = engine.prepare(x, kernel, dtype=np.float64, **case.kwargs)
    f = data.draw(st.integers(0, case.f - 1))
    p = naive_partials(x, kernel, case.stride, case.pads, case.dilation, case.groups)[:, :, :, f]
    sums = engine.tap_block_sums(layer, k)
    ho, wo = case.out_hw
    assert sums.shape == (case.kh, case.kw, -(-ho // k), -(-wo // k), case.c)
    got = engine.partial_block_means(layer, f, k, sums)
    np.testing.assert_allclose(got, naive_block_means(p, k), **TIGHT)
    np.testing.assert_allclose(engine.partial_block_means(layer, f, k), got, **TIGHT)  # sums computed itself


def test_partial_block_means_of_a_photo_sized_block_grid():
    """Blocks of 7 over 40×45 outputs (a short last row and column of blocks), 'same' padding."""
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 255, size=(40, 45, 3))
    kernel = rng.normal(size=(3, 3, 3, 2))
    layer = engine.prepare(x, kernel, padding="same", dtype=np.float64)
    p = engine.partial_sums(x, kernel, padding="same", dtype=np.float64)
    for f in range(2):
        np.testing.assert_allclose(engine.partial_block_means(layer, f, 7), naive_block_means(p[:, :, :, f], 7),
                                   **TIGHT)
    with pytest.raises(ShapeError, match="filter 2 does not exist"):
        engine.partial_block_means(layer, 2, 7)


@settings(max_examples=60, deadline=None)
@given(case=conv_cases(), data=st.data())
def test_channels_map_is_the_sum_of_those_partial_maps(case, data):
    assume(not case.empty)
    x, kernel, _ = case.arrays
    layer = engine.prepare(x, kernel, dtype=np.float64, **case.kwargs)
    f = data.draw(st.integers(0, case.f - 1))
    channels = data.draw(st.lists(st.integers(0, layer.cg - 1), min_size=1, unique=True))
    p = naive_partials(x, kernel, case.stride, case.pads, case.dilation, case.groups)[:, :, :, f]
    np.testing.assert_allclose(engine.channels_map(layer, f, channels), p[:, :, channels].sum(axis=2), **TIGHT)


def test_map_stats_ignore_nan_and_the_preactivation_stats_are_their_own():
    pre = np.array([[[1.0, np.nan], [3.0, np.nan]], [[-2.0, np.nan], [6.0, 5.0]]])
    stats = engine.map_stats(pre)
    np.testing.assert_allclose(stats, [[-2.0, 2.0, 6.0], [5.0, 5.0, 5.0]])
    layer = engine.prepare(np.arange(16.0).reshape(4, 4, 1) - 8, np.ones((1, 1, 1, 1)))
    relu = engine.run_layer(layer, None, "relu")
    np.testing.assert_allclose(relu.preactivation_stats, [[-8.0, -0.5, 7.0]])
    np.testing.assert_allclose(relu.output_stats, [[0.0, 1.75, 7.0]])
    linear = engine.run_layer(layer, None, "linear")
    assert linear.preactivation_stats is linear.output_stats


def test_few_channel_stride1_layers_sum_their_partials_and_others_convolve():
    few = engine.prepare(np.ones((5, 5, 3)), np.ones((3, 3, 3, 2)))
    assert engine.fuses_conv(few)
    assert not engine.fuses_conv(engine.prepare(np.ones((5, 5, 3)), np.ones((3, 3, 3, 2)), stride=2))
    assert not engine.fuses_conv(engine.prepare(np.ones((5, 5, 16)), np.ones((3, 3, 16, 2))))
    with pytest.raises(ValueError, match="stride-1"):
        engine.partial_pass(engine.prepare(np.ones((5, 5, 3)), np.ones((3, 3, 3, 2)), stride=2),
                            total=np.empty((2, 2, 2)))


def _conv_in_child(queue) -> None:  # pragma: no cover - runs in the forked child
    queue.put(float(engine.conv2d(np.ones((64, 64, 3)), np.ones((3, 3, 3, 2))).sum()))


def test_a_forked_child_gets_its_own_thread_pool():
    """The pool's threads do not survive fork: a child reusing the parent's pool object would hang."""
    import multiprocessing

    for _ in range(3):
        engine.conv2d(np.ones((64, 64, 3)), np.ones((3, 3, 3, 2)))  # the parent's pool exists
    assert engine.tiles._POOLS
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_conv_in_child, args=(queue,))
    child.start()
    child.join(30)
    hung = child.is_alive()
    if hung:
        child.kill()
    assert not hung, "conv2d hung in a forked child"
    assert queue.get(timeout=5) == 62 * 62 * 2 * 27.0


def test_finite_maps():
    values = np.ones((4, 5, 3), dtype=np.float32)
    values[1, 1, 1] = np.nan
    values[2, 2, 2] = -np.inf
    assert engine.finite_maps(values).tolist() == [True, False, False]
