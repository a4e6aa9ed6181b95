"""The precision emulation against its oracles: ml_dtypes, numpy float16, hand-worked bit patterns,
PyTorch's CPU convolution in bfloat16/float16, Keras' mixed_bfloat16 policy, and float64 loops."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings

from convcli import engine
from convcli.engine import precision
from convcli.engine.bind import Layer
from convcli.engine.precision import FORMATS, emulate, round_mantissa, round_to
from convcli.engine.precision_errors import error_parts, error_summary, partials64
from convcli.errors import ConfigError

from strategies import conv_cases

try:
    import ml_dtypes
except ImportError:  # the bfloat16 oracle (the test extra has it)
    ml_dtypes = None
try:
    import torch
except ImportError:
    torch = None
needs_ml_dtypes = pytest.mark.skipif(ml_dtypes is None, reason="ml_dtypes is not installed")
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

TEXTBOOK = np.stack([np.full((3, 3), v, dtype=np.float32) for v in (1.0, 100.0, 10000.0)], axis=-1)
ONES = np.ones((2, 2, 3, 1), dtype=np.float32)


def f32(bits: int) -> np.float32:
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


def specials() -> np.ndarray:
    """float32 values that test a rounding: random ones over the whole range, ties, edges, specials."""
    rng = np.random.default_rng(28)
    raw = rng.integers(0, 2**32, size=200_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    ties = (rng.integers(0, 2**32, size=20_000, dtype=np.uint64).astype(np.uint32) & 0xFFFF0000 | 0x8000).view(
        np.float32)
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, 65504, 65519.99, 65520, -65520, 2.0**-24, 2.0**-25,
                      3 * 2.0**-25, 2.0**-14, np.finfo(np.float32).max, np.finfo(np.float32).tiny,
                      np.finfo(np.float32).smallest_subnormal], dtype=np.float32)
    return np.concatenate([raw, ties, edges])


# ------------------------------------------------------------------------------------------------
# Rounding


@needs_ml_dtypes
def test_bf16_rounding_is_ml_dtypes():
    a = specials()
    with np.errstate(over="ignore", invalid="ignore"):
        want = a.astype(ml_dtypes.bfloat16).astype(np.float32)
    got = round_to(a, "bf16")
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    # the bit routine TF32 uses, at bfloat16's 7 bits, agrees with ml_dtypes value for value
    assert np.array_equal(round_mantissa(a, 7), want, equal_nan=True)


def test_fp16_rounding_is_numpy_float16_with_subnormals_and_overflow():
    a = specials()
    with np.errstate(over="ignore"):
        want = a.astype(np.float16).astype(np.float32)
    assert np.array_equal(round_to(a, "fp16"), want, equal_nan=True)
    got = round_to(np.array([2.0**-25, 3 * 2.0**-25, 2.0**-24 * 1.4, 65519, 65520, -1e6, np.nan], np.float32), "fp16")
    # ties to even among subnormals: half of the smallest goes to 0, 1.5 of it to 2 of it
    assert got[0] == 0 and got[1] == 2.0**-23 and got[2] == 2.0**-24
    assert got[3] == 65504 and got[4] == np.inf and got[5] == -np.inf and np.isnan(got[6])


def test_tf32_hand_worked_bit_patterns():
    one_half_ulp = f32(0x3F801000)  # 1 + 2^-11: exactly half of TF32's last place above 1
    assert one_half_ulp == 1 + 2.0**-11
    got = round_to(np.array([one_half_ulp, 1 + 3 * 2.0**-11, 1 + 2.0**-11 + 2.0**-23, -(1 + 2.0**-11),
                             10001, 10003, 10004, 10012], np.float32), "tf32")
    assert got[0] == 1.0  # a tie goes to the even neighbour, 1
    assert got[1] == 1 + 2.0**-9  # 1.5 places above 1: the tie between odd 1+2^-10 and even 1+2^-9
    assert got[2] == 1 + 2.0**-10  # above half
    assert got[3] == -1.0
    assert list(got[4:]) == [10000, 10000, 10000, 10016]  # a place of 8 between 8192 and 16384; 10004 ties to even
    assert got.view(np.uint32)[0] == 0x3F800000
    assert (got.view(np.uint32) & 0x1FFF == 0).all()  # the 13 dropped bits are zero


def test_tf32_rounding_against_float64_arithmetic():
    a = specials()
    finite = a[np.isfinite(a) & (np.abs(a) >= np.finfo(np.float32).tiny)].astype(np.float64)
    _, e = np.frexp(finite)  # finite = m·2^e with 0.5 ≤ |m| < 1: 11 significant bits are 2^(e - 11) apart
    place = np.ldexp(1.0, e - 11)
    want = np.round(finite / place) * place  # np.round rounds halves to even
    got = round_to(finite.astype(np.float32), "tf32").astype(np.float64)
    with np.errstate(over="ignore"):
        want = np.where(np.abs(want) > FORMATS["tf32"].max_finite, np.sign(want) * np.inf, want)
    assert np.array_equal(got, want)


def test_tf32_overflow_nan_and_signed_zero():
    big = np.finfo(np.float32).max
    got = round_to(np.array([big, -big, np.nan, -np.nan, f32(0x7F800001), f32(0x7FFFFFFF), -0.0, np.inf],
                            np.float32), "tf32")
    assert got[0] == np.inf and got[1] == -np.inf  # past TF32's largest finite + half a place
    assert np.isnan(got[2:6]).all()
    assert got[6] == 0 and np.signbit(got[6]) and got[7] == np.inf


@needs_ml_dtypes
def test_formats_describe_themselves():
    assert [f.name for f in FORMATS.values()] == ["fp64", "fp32", "tf32", "bf16", "fp16"]
    assert FORMATS["bf16"].eps == 2.0**-7 and FORMATS["tf32"].eps == FORMATS["fp16"].eps == 2.0**-10
    assert FORMATS["fp16"].max_finite == float(np.finfo(np.float16).max)
    assert FORMATS["bf16"].max_finite == float(ml_dtypes.finfo(ml_dtypes.bfloat16).max)
    assert FORMATS["fp32"].eps == float(np.finfo(np.float32).eps)
    assert FORMATS["tf32"].storage == "fp32" and FORMATS["bf16"].storage == "bf16"


# ------------------------------------------------------------------------------------------------
# The textbook example


def test_textbook_in_bfloat16():
    em = emulate(TEXTBOOK, ONES, 0.0, "relu", "bf16")
    assert em.rounded.x[0, 0, 2] == 9984  # 10000 stored in bfloat16
    parts = error_parts(em, 0, (0, 2), (0, 2))
    assert (parts.exact_partials[..., 2] == 40000).all() and (parts.rounded_partials[..., 2] == 39936).all()
    assert (parts.exact == 40404).all() and (em.preactivation == 40448).all() and (em.output == 40448).all()
    assert (em.accumulated == 40340).all()  # 4 + 400 + 39936, exact in float32
    assert (parts.channel_errors[..., 2] == -64).all() and (parts.output_rounding == 108).all()
    assert parts.dominant == "output rounding"
    assert em.warnings == ()


def test_textbook_in_tf32_is_exact_and_fp16_accumulation_is_not():
    em = emulate(TEXTBOOK, ONES, 0.0, "relu", "tf32")
    assert (em.preactivation == 40404).all()  # 10000 has 11 significant bits; the sum is stored in float32
    assert error_parts(em, 0, (0, 1), (0, 1)).dominant is None
    em16 = emulate(TEXTBOOK, ONES, 0.0, "relu", "fp16", "fp16")
    assert (emulate(TEXTBOOK, ONES, 0.0, "relu", "fp16").preactivation == 40416).all()  # one rounding
    assert (em16.preactivation == 40384).all()  # twelve roundings, one per add
    assert error_parts(em16, 0, (0, 1), (0, 1)).dominant == "accumulation"


# ------------------------------------------------------------------------------------------------
# The decomposition


@settings(max_examples=60, deadline=None, derandomize=True)
@given(case=conv_cases(max_hw=9, max_k=3))
def test_parts_add_up_to_the_difference(case):
    assume(not case.empty)
    x, kernel, bias = case.arrays
    x = x * 300  # big enough that float16's places are whole numbers, small enough not to overflow
    for name, acc in (("bf16", None), ("fp16", "fp16"), ("tf32", None), ("fp16", None)):
        em = emulate(x, kernel, bias, "linear", name, acc, **case.kwargs)
        ho, wo = em.preactivation.shape[:2]
        for filt in range(case.f):
            p = error_parts(em, filt, (0, ho), (0, wo))
            np.testing.assert_allclose(p.exact, engine.conv2d(x, kernel, bias, dtype=np.float64, **case.kwargs)[..., filt],
                                       rtol=1e-12, atol=1e-9)
            assert np.all(np.abs(p.residual) <= 1e-12 * (p.scale + np.abs(p.emulated)) + 1e-300)
        summary = error_summary(em)
        total = max(np.abs(error_parts(em, f, (0, ho), (0, wo)).difference).max() for f in range(case.f))
        assert summary.total.max_abs == pytest.approx(total, rel=1e-12, abs=1e-300)


def test_summary_counts_every_part_and_names_the_dominant():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, (20, 17, 3)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    em = emulate(x, kernel, rng.standard_normal(4), "relu", "bf16")
    s = error_summary(em, block_values=500)  # several blocks of rows
    assert [p.name for p in s.parts] == ["channel 0", "channel 1", "channel 2", "bias", "accumulation",
                                        "output rounding"]
    whole = error_summary(em)  # blocks change nothing but the order of the means' sums
    for a, b in zip((*s.parts, s.total), (*whole.parts, whole.total), strict=True):
        assert (a.max_abs, a.max_eps) == (b.max_abs, b.max_eps)
        assert (a.mean_abs, a.mean_eps) == pytest.approx((b.mean_abs, b.mean_eps), rel=1e-12)
    assert s.dominant in {"channel 0", "channel 1", "channel 2", "output rounding"}
    # bf16 errors are a fraction of bfloat16's eps relative to the position's size; float32's adder far less
    assert 0 < s.total.max_eps < 4 and s.parts[4].max_eps < 1e-3
    assert all(p.mean_abs <= p.max_abs for p in s.parts)


# ------------------------------------------------------------------------------------------------
# Oracles: PyTorch and Keras in bfloat16/float16, float64 loops for TF32


def order_bound(em: precision.Emulation, extra_roundings: int = 0) -> np.ndarray:
    """``(H', W', F)``: how far a kernel that adds the same products in another order, and stores the
    result ``extra_roundings`` more times, may land from the emulation: ``2·γ(n)·Σ|x·w|`` before the
    store, then half a place of the storage format for each store, at either result's size."""
    r = em.rounded
    n = r.cg * r.kernel.shape[0] * r.kernel.shape[1] + 1  # the products and the bias
    u32 = 2.0**-24
    gamma = n * u32 / (1 - n * u32)
    ho, wo = r.geometry.out_hw
    size = partials64(Layer(np.abs(r.x), np.abs(r.kernel), r.groups, r.geometry), (0, ho), (0, wo)).sum(axis=2)
    size += np.abs(em.bias)
    u = FORMATS[em.format.storage].unit_roundoff
    return 2 * gamma * size + u * (2 + extra_roundings) * (size + np.abs(em.preactivation))


TORCH_DTYPES = {"bf16": "bfloat16", "fp16": "float16"}


def torch_conv(em: precision.Emulation, case=None) -> np.ndarray:
    """PyTorch's CPU convolution of the emulation's rounded arrays in its format: ``(H', W', F)`` float32."""
    dt = getattr(torch, TORCH_DTYPES[em.precision])
    r = em.rounded
    top, bottom, left, right = r.geometry.pads
    xt = torch.nn.functional.pad(torch.from_numpy(r.x).permute(2, 0, 1)[None], (left, right, top, bottom))
    wt = torch.from_numpy(r.kernel).permute(3, 2, 0, 1)
    y = torch.nn.functional.conv2d(xt.to(dt), wt.to(dt), torch.from_numpy(em.bias).to(dt), stride=r.geometry.stride,
                                   dilation=r.geometry.dilation, groups=r.groups)
    return y.float()[0].permute(1, 2, 0).numpy()


@needs_torch
@pytest.mark.parametrize("name", ["bf16", "fp16"])
def test_textbook_matches_torch(name: str):
    em = emulate(TEXTBOOK, ONES, 0.0, "relu", name)
    np.testing.assert_array_equal(torch_conv(em), em.preactivation)
    assert (torch_conv(em) == {"bf16": 40448, "fp16": 40416}[name]).all()


@needs_torch
@settings(max_examples=40, deadline=None, derandomize=True)
@given(case=conv_cases(max_hw=10, max_k=4))
def test_random_layers_match_torch_within_the_order_bound(case):
    assume(not case.empty)
    x, kernel, bias = case.arrays
    for name in TORCH_DTYPES:
        em = emulate(x * 20, kernel, bias, "linear", name, **case.kwargs)
        got = torch_conv(em)
        assert got.shape == em.preactivation.shape
        assert np.all(np.abs(got - em.preactivation) <= order_bound(em))


def test_tf32_is_float32_sums_of_tf32_inputs():
    """TF32 by its definition: a float64 loop over the TF32-rounded values, within float32's order bound."""
    rng = np.random.default_rng(32)
    x = rng.standard_normal((7, 8, 5)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 5, 2)).astype(np.float32)
    bias = rng.standard_normal(2)
    em = emulate(x, kernel, bias, "linear", "tf32", padding="same", stride=2)
    xr, kr = round_to(x, "tf32").astype(np.float64), round_to(kernel, "tf32").astype(np.float64)
    assert (em.bias == bias.astype(np.float32)).all()  # TF32 rounds the GEMM's operands only
    top, bottom, left, right = em.rounded.geometry.pads  # Keras' 'same' at stride 2: (1, 1, 0, 1) here
    assert (top, bottom, left, right) == (1, 1, 0, 1)
    pad = np.pad(xr, ((top, bottom), (left, right), (0, 0)))
    want = np.zeros(em.preactivation.shape)
    for i in range(want.shape[0]):
        for j in range(want.shape[1]):
            for f in range(2):
                want[i, j, f] = (pad[2 * i : 2 * i + 3, 2 * j : 2 * j + 3] * kr[..., f]).sum() + em.bias[f]
    assert not np.array_equal(xr, x)  # the inputs did change
    assert np.all(np.abs(em.preactivation - want) <= order_bound(em))
    assert em.preactivation.dtype == np.float32


def test_fp16_accumulation_is_a_float16_loop():
    """Each add rounded to float16, tap by tap, channel by channel, the bias last."""
    rng = np.random.default_rng(16)
    x = rng.uniform(-300, 300, (4, 5, 3)).astype(np.float32)
    kernel = rng.standard_normal((2, 2, 3, 2)).astype(np.float32)
    bias = rng.standard_normal(2)
    em = emulate(x, kernel, bias, "linear", "fp16", "fp16")
    xr, kr, br = em.rounded.x, em.rounded.kernel, em.bias
    for i in range(3):
        for j in range(4):
            for f in range(2):
                acc = np.float16(0)
                for u in range(2):
                    for v in range(2):
                        for c in range(3):
                            acc = np.float16(np.float64(acc) + np.float64(xr[i + u, j + v, c]) * np.float64(kr[u, v, c, f]))
                acc = np.float16(np.float64(acc) + np.float64(br[f]))
                assert em.preactivation[i, j, f] == acc


KERAS_SCRIPT = """
import sys
import numpy as np
import keras
x, kernel, bias = (np.load(sys.argv[i]) for i in (1, 2, 3))
layer = keras.layers.Conv2D(kernel.shape[3], kernel.shape[:2], dtype="mixed_bfloat16")
layer.build((None, *x.shape))
layer.set_weights([kernel, bias])
y = layer(x[None])
assert str(y.dtype).endswith("bfloat16"), y.dtype
np.save(sys.argv[4], keras.ops.convert_to_numpy(keras.ops.cast(y, "float32"))[0])
"""


def test_keras_mixed_bfloat16_within_the_bound(tmp_path):
    """Keras' mixed_bfloat16 Conv2D on the torch backend (in a child process, so that the backend
    chosen here is not every later test's): bf16 inputs and kernel, the bias added in bfloat16 after
    the convolution is stored, so one rounding more than the emulation."""
    if importlib.util.find_spec("keras") is None or torch is None:
        pytest.skip("keras on the torch backend is not installed")
    rng = np.random.default_rng(20)
    arrays = {"x": rng.uniform(0, 255, (9, 10, 3)).astype(np.float32),
              "kernel": rng.standard_normal((3, 3, 3, 4)).astype(np.float32),
              "bias": rng.standard_normal(4).astype(np.float32)}
    for name, a in arrays.items():
        np.save(tmp_path / f"{name}.npy", a)
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    paths = [str(tmp_path / f"{n}.npy") for n in (*arrays, "out")]
    done = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, *paths], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    got = np.load(tmp_path / "out.npy")
    em = emulate(arrays["x"], arrays["kernel"], arrays["bias"], "linear", "bf16")
    assert np.all(np.abs(got - em.preactivation) <= order_bound(em, extra_roundings=1))
    assert not np.array_equal(got, engine.conv2d(arrays["x"], arrays["kernel"], arrays["bias"]))  # bf16 shows


# ------------------------------------------------------------------------------------------------
# Bad input and warnings


def test_float16_overflow_is_counted_with_its_first_position():
    x = TEXTBOOK * 2  # 80808 at every output: past float16's 65504 once stored
    x[1, 2, 2] = 70000  # past 65504 already as an input
    em = emulate(x, ONES, 0.0, "relu", "fp16")
    (inp, out) = em.warnings
    assert (inp.what, inp.count, inp.first) == ("input", 1, (1, 2, 2))
    # the two outputs that read the inf input are inf from it, not from the store: not counted twice
    assert (out.what, out.count, out.first) == ("output", 2, (0, 0, 0))
    assert "1 input value overflow float16" in inp.message and "(1, 2, 2)" in inp.message
    assert "2 output values" in out.message and "65504" in out.message
    em16 = emulate(TEXTBOOK * 2, ONES, 0.0, "relu", "fp16", "fp16")  # overflows inside the adder
    assert [(w.what, w.count) for w in em16.warnings] == [("output", 4)]
    assert emulate(TEXTBOOK, ONES, precision="bf16").warnings == ()


@pytest.mark.parametrize("name, accumulate, field, words", [
    ("bf17", None, "precision", "must be one of fp64, fp32, tf32, bf16, fp16, got 'bf17'"),
    ("tf32", "fp16", "accumulate", "fp16 with precision tf32"),
    ("fp32", "fp16", "accumulate", "fp16 with precision fp32"),
    ("bf16", "fp8", "accumulate", "must be one of fp32, fp16, got 'fp8'"),
    ("fp64", "fp32", "accumulate", "fp32 with precision fp64"),
])
def test_bad_settings_are_one_line_config_errors(name, accumulate, field, words):
    with pytest.raises(ConfigError) as exc:
        emulate(TEXTBOOK, ONES, precision=name, accumulate=accumulate)
    assert exc.value.field == field and words in str(exc.value) and "\n" not in str(exc.value)
    assert exc.value.worded({field: f"--{field}"}).startswith(f"--{field} ")


def test_no_optional_package_is_needed(monkeypatch):
    """bfloat16 is rounded by bit operations (measured faster than ml_dtypes): ml_dtypes is the oracle only."""
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)
    assert (emulate(TEXTBOOK, ONES, precision="bf16").preactivation == 40448).all()
    assert (emulate(TEXTBOOK, ONES, precision="fp16").preactivation == 40416).all()  # numpy's own float16


def test_rounding_in_chunks_is_rounding_whole(monkeypatch):
    a = specials()
    a = a[: a.size // 6 * 6]
    whole = {name: round_to(a, name) for name in ("tf32", "bf16", "fp16")}
    monkeypatch.setattr(precision, "CHUNK", 1000)  # many chunks, the last one short
    for name, want in whole.items():
        got = round_to(a.reshape(-1, 2, 3), name)
        assert got.shape == (a.size // 6, 2, 3)
        assert np.array_equal(got.reshape(-1), want, equal_nan=True), name


def test_fp64_and_fp32_are_the_engine():
    rng = np.random.default_rng(64)
    x, kernel = rng.standard_normal((6, 6, 2)), rng.standard_normal((3, 3, 2, 3))
    np.testing.assert_array_equal(emulate(x, kernel, precision="fp64").preactivation,
                                  engine.conv2d(x, kernel, dtype=np.float64))
    np.testing.assert_array_equal(emulate(x, kernel, precision="fp32").preactivation, engine.conv2d(x, kernel))


def test_fp16_accumulation_in_row_blocks_is_the_whole_sum(monkeypatch):
    rng = np.random.default_rng(17)
    x = rng.uniform(-200, 200, (13, 11, 4)).astype(np.float32)
    kernel = rng.standard_normal((3, 2, 2, 6)).astype(np.float32)
    settings = dict(stride=(2, 1), padding="same", dilation=(1, 2), groups=2)
    whole = emulate(x, kernel, rng.standard_normal(6), "linear", "fp16", "fp16", **settings)
    monkeypatch.setattr(precision, "CHUNK", 8 * 2 * 11 * 6)  # two output rows per block
    blocks = emulate(x, kernel, whole.source_bias, "linear", "fp16", "fp16", **settings)
    np.testing.assert_array_equal(blocks.preactivation, whole.preactivation)


def test_the_stored_and_activated_results_are_made_by_rows_on_demand_and_match_whole():
    """Only the adder's sum is held after emulate: the summary and windows make rows of the stored
    result as they need them, equal to the whole arrays made on first use."""
    from convcli.engine.precision_errors import error_summary

    rng = np.random.default_rng(7)
    x = (rng.normal(size=(30, 20, 3)) * 100).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 3, 2)).astype(np.float32)
    em = emulate(x, kernel, [0.5, -0.25], "tanh", "bf16")
    assert "preactivation" not in em.__dict__ and "output" not in em.__dict__
    error_summary(em, block_values=200)
    assert "preactivation" not in em.__dict__  # the summary went block by block
    rows = (5, 9)
    by_rows, out_rows = em.stored(rows).copy(), em.activated(rows).copy()
    whole = em.preactivation
    np.testing.assert_array_equal(by_rows, whole[5:9])
    np.testing.assert_array_equal(out_rows, em.output[5:9])
    np.testing.assert_array_equal(whole, round_to(em.accumulated, "bf16"))
    np.testing.assert_array_equal(em.output, round_to(np.tanh(whole), "bf16"))


@pytest.mark.parametrize(("stride", "padding", "dilation", "groups", "accumulate"), [
    (1, "valid", 1, 1, None), (2, "same", 1, 1, None), (1, 2, 2, 3, None), (2, "same", 1, 1, "fp16")])
def test_the_input_is_rounded_block_by_block_and_gives_the_whole_rounded_layer(monkeypatch, stride, padding,
                                                                               dilation, groups, accumulate):
    """The rounded input is never held: each block of output rows rounds the region it reads. The sums
    are those of the engine's convolution of the whole rounded input, value for value."""
    from convcli.engine import precision_sums
    from convcli.engine.precision_errors import error_summary

    monkeypatch.setattr(precision_sums, "BLOCK_VALUES", 500)  # many blocks of a few rows
    rng = np.random.default_rng(11)
    x = (rng.normal(size=(23, 19, 6)) * 300).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 6 // groups, 6)).astype(np.float32)
    em = emulate(x, kernel, rng.normal(size=6), "linear", "bf16", accumulate, stride=stride, padding=padding,
                 dilation=dilation, groups=groups)
    error_summary(em, block_values=300)
    assert "rounded" not in em.__dict__  # neither the emulation nor its summary made it whole
    xr, kr = round_to(x, "bf16"), round_to(kernel, "bf16")
    np.testing.assert_array_equal(em.rounded.x, xr)
    if accumulate is None:
        whole = engine.conv2d(xr, kr, em.bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
        np.testing.assert_array_equal(em.accumulated, whole)
    rows, cols = (2, 5), (1, 4)
    fresh = emulate(x, kernel, em.source_bias, "linear", "bf16", accumulate, stride=stride, padding=padding,
                    dilation=dilation, groups=groups)
    np.testing.assert_array_equal(fresh.rounded_region(rows, cols), em.rounded_region(rows, cols))  # kept or not
