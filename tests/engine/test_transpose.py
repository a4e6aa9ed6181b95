"""The transposed convolution against PyTorch, Keras and a naive scatter loop.

PyTorch's ``conv_transpose{1,2,3}d`` in float64 checks the output, the pre-activation and every
channel's partial (a partial is what torch computes from the input with only that channel
nonzero) over random strides, dilations, groups, paddings and output paddings. Keras 3's
``Conv{1,2,3}DTranspose`` (torch backend, in a child process so this process keeps its backend)
checks the ``valid``/``same`` rules PyTorch has no spelling for. A naive loop over input
positions and taps checks the trace (which input positions and taps land on an output position).
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcli.engine import activate
from convcli.engine.general import layer_partials_nd
from convcli.engine.transpose import (
    as_conv,
    bind_transpose,
    conv_transpose,
    kernel_from_torch,
    kernel_to_torch,
    spread_size,
    trace_transposed,
    transpose_partials,
    transpose_preactivation,
)
from convcli.errors import ConfigError, ShapeError
from convcli.layer.geometry import transpose_crop_1d, transpose_out_1d

TIGHT = {"rtol": 1e-9, "atol": 1e-9}


# ------------------------------------------------------------------------------------------------
# The naive oracle: every input value's kernel copy added where it lands, one number at a time


def naive_full(x, kernel, stride, dilation, groups):
    """The uncut output of a transposed layer: ``x (*S, C)``, ``kernel (*k, F/g, C)``, loops only.
    Returns ``(full (*full, C/g, F), per-position landing lists)``."""
    n = x.ndim - 1
    size, k = x.shape[:n], kernel.shape[:n]
    c, fg = x.shape[-1], kernel.shape[-2]
    cg = c // groups
    full_size = tuple((size[a] - 1) * stride[a] + (k[a] - 1) * dilation[a] + 1 for a in range(n))
    full = np.zeros((*full_size, cg, fg * groups))
    for i in itertools.product(*(range(v) for v in size)):
        for t in itertools.product(*(range(v) for v in k)):
            o = tuple(i[a] * stride[a] + t[a] * dilation[a] for a in range(n))
            for ch in range(c):
                grp = ch // cg
                for j in range(fg):
                    full[(*o, ch - grp * cg, grp * fg + j)] += float(x[(*i, ch)]) * float(kernel[(*t, j, ch)])
    return full


def naive_cut(full, crops):
    """``full`` cut by ``crops ((before, after), ...)``; a negative cut adds zeros."""
    n = len(crops)
    width = [(max(0, -b), max(0, -a)) for b, a in crops] + [(0, 0), (0, 0)]
    padded = np.pad(full, width)
    index = tuple(slice(max(0, b), padded.shape[a] - max(0, af)) for a, (b, af) in enumerate(crops))
    return padded[index + (slice(None),) * (padded.ndim - n)]


def naive_landings(size, k, stride, dilation, before, position):
    """Every (input position, tap) whose copy lands on ``position``: a search over all of them."""
    n = len(size)
    found = []
    for t in itertools.product(*(range(v) for v in k)):
        for i in itertools.product(*(range(v) for v in size)):
            if all(i[a] * stride[a] + t[a] * dilation[a] == position[a] + before[a] for a in range(n)):
                found.append((i, t))
    return sorted(found, key=lambda it: it[1])


# ------------------------------------------------------------------------------------------------
# PyTorch


torch = pytest.importorskip("torch")
TF = torch.nn.functional
TORCH_TRANSPOSE = {1: TF.conv_transpose1d, 2: TF.conv_transpose2d, 3: TF.conv_transpose3d}


def torch_transpose(x, kernel, bias, *, stride, padding, output_padding, dilation, groups):
    """float64 ``(*S', F)`` from torch, with channels-first input and ``(C, F/g, *k)`` weights."""
    n = x.ndim - 1
    xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 0))[None])
    wt = torch.from_numpy(kernel_to_torch(kernel))
    bt = None if bias is None else torch.from_numpy(bias)
    y = TORCH_TRANSPOSE[n](xt, wt, bt, stride=stride, padding=padding, output_padding=output_padding,
                           groups=groups, dilation=dilation)
    return np.moveaxis(y[0].numpy(), 0, -1)


@st.composite
def transpose_cases(draw, ndims=(1, 2, 3)):
    n = draw(st.sampled_from(ndims))
    small = {1: 7, 2: 5, 3: 3}[n]
    size = tuple(draw(st.integers(1, small)) for _ in range(n))
    k = tuple(draw(st.integers(1, 4 if n < 3 else 3)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(n))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation, strict=True))
    groups = draw(st.sampled_from((1, 2, 3)))
    c = groups * draw(st.integers(1, 2))
    f = groups * draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**32 - 1))
    return {"size": size, "k": k, "stride": stride, "dilation": dilation, "padding": padding,
            "output_padding": output_padding, "groups": groups, "c": c, "f": f, "seed": seed}


def _arrays(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((*case["size"], case["c"]))
    kernel = rng.standard_normal((*case["k"], case["f"] // case["groups"], case["c"]))
    bias = rng.standard_normal(case["f"])
    return x, kernel, bias


def _settings(case):
    return {key: case[key] for key in ("stride", "padding", "output_padding", "dilation", "groups")}


def _out_len(case, a):
    return ((case["size"][a] - 1) * case["stride"][a] - 2 * case["padding"][a]
            + case["dilation"][a] * (case["k"][a] - 1) + case["output_padding"][a] + 1)


@settings(max_examples=120, deadline=None)
@given(case=transpose_cases())
def test_output_preactivation_and_partials_match_torch(case):
    assume(all(_out_len(case, a) >= 1 for a in range(len(case["size"]))))
    x, kernel, bias = _arrays(case)
    expected = torch_transpose(x, kernel, bias, **_settings(case))
    layer = bind_transpose(x, kernel, dtype=np.float64, **_settings(case))
    assert layer.geometry.out_size == expected.shape[:-1]

    pre = transpose_preactivation(layer, bias)
    np.testing.assert_allclose(pre, expected, **TIGHT)
    np.testing.assert_allclose(activate(pre, "tanh"), np.tanh(expected), **TIGHT)

    parts = transpose_partials(layer)
    cg, fg = layer.cg, layer.fg
    assert parts.shape == (*expected.shape[:-1], cg, case["f"])
    for c in range(case["c"]):
        only_c = np.zeros_like(x)
        only_c[..., c] = x[..., c]
        grp = c // cg
        filters = slice(grp * fg, (grp + 1) * fg)
        got = torch_transpose(only_c, kernel, None, **_settings(case))[..., filters]
        np.testing.assert_allclose(parts[..., c - grp * cg, filters], got, **TIGHT)
    np.testing.assert_allclose(parts.sum(axis=-2) + bias, pre, **TIGHT)


@settings(max_examples=40, deadline=None)
@given(case=transpose_cases(ndims=(1, 2)))
def test_float32_is_float64_rounded(case):
    assume(all(_out_len(case, a) >= 1 for a in range(len(case["size"]))))
    x, kernel, bias = _arrays(case)
    x32, k32 = x.astype(np.float32), kernel.astype(np.float32)
    got = conv_transpose(x32, k32, bias, dtype=np.float32, **_settings(case))
    assert got.dtype == np.float32
    want = conv_transpose(x32.astype(np.float64), k32.astype(np.float64), bias, dtype=np.float64, **_settings(case))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_kernel_layouts_round_trip():
    w = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)  # torch (C, F/g, kh, kw)
    k = kernel_from_torch(w)
    assert k.shape == (4, 5, 3, 2)  # Keras (kh, kw, F/g, C)
    assert k[1, 2, 0, 1] == w[1, 0, 1, 2]
    np.testing.assert_array_equal(kernel_to_torch(k), w)


def test_blocks_of_rows_give_the_whole(monkeypatch):
    # a tiny block forces the matmul-then-scatter to run row block by row block
    from convcli.engine import transpose as transpose_module

    rng = np.random.default_rng(3)
    x, kernel = rng.standard_normal((9, 7, 4)), rng.standard_normal((3, 4, 5, 4))
    whole = conv_transpose(x, kernel, stride=(2, 3), padding=1, output_padding=1, dtype=np.float64)
    monkeypatch.setattr(transpose_module, "BLOCK_VALUES", 1)
    blocked = conv_transpose(x, kernel, stride=(2, 3), padding=1, output_padding=1, dtype=np.float64)
    np.testing.assert_allclose(blocked, whole, **TIGHT)  # the same sums, added in another order
    np.testing.assert_allclose(whole, torch_transpose(x, kernel, None, stride=(2, 3), padding=1, output_padding=1,
                                                      dilation=1, groups=1), **TIGHT)


# ------------------------------------------------------------------------------------------------
# The naive oracle and the trace


@settings(max_examples=40, deadline=None)
@given(case=transpose_cases(ndims=(1, 2)), keras_padding=st.sampled_from((None, "valid", "same")))
def test_output_and_trace_match_the_naive_scatter(case, keras_padding):
    n = len(case["size"])
    settings_ = _settings(case)
    if keras_padding is not None:
        settings_["padding"] = keras_padding
        settings_["output_padding"] = None
    else:
        assume(all(_out_len(case, a) >= 1 for a in range(n)))
    x, kernel, bias = _arrays(case)
    layer = bind_transpose(x, kernel, dtype=np.float64, **settings_)
    full = naive_full(x, kernel, case["stride"], case["dilation"], case["groups"])
    want = naive_cut(full, layer.geometry.crops)
    assert want.shape[:n] == layer.geometry.out_size
    np.testing.assert_allclose(transpose_partials(layer), want, **TIGHT)
    # the conv that gathers what the layer spreads (what `run` computes and shows) keeps the channels apart too
    gathered = as_conv(layer)
    assert gathered.x.shape[:n] == spread_size(layer)
    np.testing.assert_allclose(layer_partials_nd(gathered), want, **TIGHT)

    rng = np.random.default_rng(case["seed"])
    position = tuple(int(rng.integers(0, v)) for v in layer.geometry.out_size)
    filt = int(rng.integers(0, case["f"]))
    tr = trace_transposed(layer, position, filt)
    before = tuple(b for b, _ in layer.geometry.crops)
    assert list(tr.landings) == naive_landings(case["size"], case["k"], case["stride"], case["dilation"],
                                               before, position)
    cg = layer.cg
    np.testing.assert_array_equal(tr.channels, np.arange(tr.group * cg, (tr.group + 1) * cg))
    for row, (i, t) in enumerate(tr.landings):
        for col, ch in enumerate(tr.channels):
            assert tr.values[row, col] == x[(*i, ch)]
            assert tr.weights[row, col] == kernel[(*t, filt - tr.group * layer.fg, ch)]
    np.testing.assert_allclose(tr.sums, want[(*position, slice(None), filt)], **TIGHT)
    assert tr.total == pytest.approx(float(want[(*position, slice(None), filt)].sum()), abs=1e-9)
    assert tr.full_position == tuple(p + b for p, b in zip(position, before, strict=True))


def test_trace_of_the_textbook_example():
    # conv_arithmetic's figure: a 2×2 input, k 3, stride 2, no padding -> 5×5; the centre of the
    # output receives the corner tap of every input value, the middle column two copies
    x = np.arange(1.0, 5.0).reshape(2, 2, 1)
    kernel = np.arange(1.0, 10.0).reshape(3, 3, 1, 1)
    layer = bind_transpose(x, kernel, stride=2, padding=0, dtype=np.float64)
    assert layer.geometry.out_size == (5, 5)
    tr = trace_transposed(layer, (2, 2), 0)
    assert tr.landings == (((1, 1), (0, 0)), ((1, 0), (0, 2)), ((0, 1), (2, 0)), ((0, 0), (2, 2)))
    assert tr.total == 4 * 1 + 3 * 3 + 2 * 7 + 1 * 9
    edge = trace_transposed(layer, (0, 1), 0)
    assert edge.landings == (((0, 0), (0, 1)),)
    assert edge.total == 1 * 2


# ------------------------------------------------------------------------------------------------
# Output sizes and bad settings


def test_output_size_rules():
    # PyTorch: (n - 1)·s - 2P + d(k - 1) + op + 1
    assert transpose_out_1d(5, 3, 2, 1, output_padding=1) == 10
    assert transpose_out_1d(5, 3, 2, 0, d=2) == 13
    # Keras: valid (n - 1)·s + max(K, s), same n·s, and with output padding
    assert transpose_out_1d(3, 2, 3, "valid") == 9
    assert transpose_out_1d(5, 3, 2, "valid", d=2) == 13
    assert transpose_out_1d(5, 3, 2, "same") == 10
    assert transpose_out_1d(5, 3, 2, "same", output_padding=0) == 9  # (n - 1)·s + K mod 2 + op
    assert transpose_out_1d(5, 4, 2, "valid", output_padding=1) == 13
    assert transpose_crop_1d(5, 3, 2, 1, "same") == (0, 1)  # TensorFlow: the odd extra zero after
    assert transpose_crop_1d(5, 3, 2, 1, 2, 1) == (2, 1)


def test_bad_settings_are_named():
    x, kernel = np.ones((4, 4, 2)), np.ones((3, 3, 5, 2))
    with pytest.raises(ConfigError) as err:
        bind_transpose(x, kernel, stride=2, padding=1, output_padding=2)
    assert err.value.field == "output_padding" and "stride or the dilation" in str(err.value)
    with pytest.raises(ConfigError) as err:
        bind_transpose(x, kernel, stride=2, dilation=3, padding="same", output_padding=2)
    assert err.value.field == "output_padding" and "(Keras)" in str(err.value)
    bind_transpose(x, kernel, stride=2, dilation=3, padding=1, output_padding=2)  # PyTorch: < dilation is fine
    with pytest.raises(ShapeError, match="transposed output has"):
        bind_transpose(x, kernel, padding=5)
    with pytest.raises(ShapeError, match="2 input channels but the input has 3"):
        bind_transpose(np.ones((4, 4, 3)), kernel)
    with pytest.raises(ConfigError, match="does not divide"):
        bind_transpose(np.ones((4, 4, 3)), np.ones((3, 3, 1, 3)), groups=2)
    with pytest.raises(ConfigError, match="valid, same or a count"):
        bind_transpose(x, kernel, padding="causal")
    with pytest.raises(ShapeError, match="is empty"):
        bind_transpose(np.ones((0, 4, 2)), kernel)
    with pytest.raises(ShapeError, match="outside the 6×6 output"):
        trace_transposed(bind_transpose(x, kernel), (6, 0), 0)


# ------------------------------------------------------------------------------------------------
# Keras: valid and same (PyTorch has no spelling for Keras' same)


KERAS_SCRIPT = """
import sys
import numpy as np
import keras
cases = np.load(sys.argv[1], allow_pickle=False)
out = {}
for name in sorted({key.split(":")[0] for key in cases.files}):
    x, kernel = cases[name + ":x"], cases[name + ":kernel"]
    s, d, op, pad = (tuple(int(v) for v in cases[name + ":" + key]) for key in ("s", "d", "op", "pad"))
    n = x.ndim - 1
    cls = {1: keras.layers.Conv1DTranspose, 2: keras.layers.Conv2DTranspose, 3: keras.layers.Conv3DTranspose}[n]
    layer = cls(kernel.shape[-2], kernel.shape[:n], strides=s, dilation_rate=d, use_bias=False,
                padding=("valid", "same")[pad[0]], output_padding=None if op[0] < 0 else op, dtype="float64")
    layer.build((None, *x.shape))
    layer.set_weights([kernel])
    out[name] = keras.ops.convert_to_numpy(layer(x[None]))[0]
np.savez(sys.argv[2], **out)
"""

KERAS_CASES = [
    # (size, k, stride, dilation, padding, output_padding or None)
    ((7,), (3,), (2,), (1,), "same", None),
    ((6,), (4,), (3,), (1,), "same", (1,)),
    ((5,), (2,), (3,), (1,), "valid", None),
    ((5,), (3,), (1,), (2,), "same", None),
    ((5, 6), (3, 3), (2, 2), (1, 1), "same", None),
    ((4, 5), (4, 3), (2, 3), (1, 1), "same", None),
    ((4, 5), (3, 2), (2, 2), (1, 1), "same", (1, 0)),
    ((4, 5), (3, 3), (2, 2), (1, 1), "valid", (1, 1)),
    ((4, 4), (2, 2), (3, 3), (1, 1), "valid", None),
    ((5, 5), (3, 2), (1, 1), (2, 2), "same", None),
    ((3, 4, 3), (3, 2, 3), (2, 1, 2), (1, 1, 1), "same", None),
    ((3, 3, 2), (2, 3, 2), (2, 2, 1), (1, 1, 1), "valid", (1, 0, 0)),
    # Keras refuses strides > 1 with dilation > 1; each alone, with output padding up to stride - 1
    ((5, 6), (3, 2), (1, 1), (2, 3), "same", None),
    ((5,), (5,), (4,), (1,), "same", (3,)),
    ((4, 4), (3, 3), (3, 2), (1, 1), "same", (2, 1)),
    ((5,), (2,), (4,), (1,), "same", None),
]


def test_keras_valid_and_same_match_keras(tmp_path):
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed")
    rng = np.random.default_rng(25)
    arrays, inputs = {}, {}
    for idx, (size, k, s, d, padding, op) in enumerate(KERAS_CASES):
        name = f"case{idx:02d}"
        x, kernel = rng.standard_normal((*size, 3)), rng.standard_normal((*k, 4, 3))
        inputs[name] = (x, kernel, s, d, padding, op)
        arrays.update({f"{name}:x": x, f"{name}:kernel": kernel, f"{name}:s": np.array(s), f"{name}:d": np.array(d),
                       f"{name}:op": np.array(op if op is not None else (-1,) * len(size)),
                       f"{name}:pad": np.array([("valid", "same").index(padding)])})
    np.savez(tmp_path / "cases.npz", **arrays)
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    done = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(tmp_path / "cases.npz"), str(tmp_path / "out.npz")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    got = np.load(tmp_path / "out.npz")
    for name, (x, kernel, s, d, padding, op) in inputs.items():
        ours = conv_transpose(x, kernel, stride=s, dilation=d, padding=padding, output_padding=op, dtype=np.float64)
        assert ours.shape == got[name].shape, name
        np.testing.assert_allclose(ours, got[name], err_msg=name, **TIGHT)


def test_bind_from_a_spec_is_the_gathering_conv():
    from convcli.engine import transpose as transpose_module
    from convcli.layer.spec import ConvSpec

    rng = np.random.default_rng(11)
    x, kernel = rng.standard_normal((4, 5, 4)), rng.standard_normal((3, 2, 3, 4))
    spec = ConvSpec("transpose", 4, 6, (3, 2), (2, 1), (1, 2), (1, 0), groups=2, output_padding=(1, 0))
    gathered = transpose_module.bind(spec, x, kernel, dtype=np.float64)
    want = torch_transpose(x, kernel, None, stride=(2, 1), padding=(1, 0), output_padding=(1, 0), dilation=(1, 2),
                           groups=2)
    assert gathered.geometry.out_size == want.shape[:-1]
    np.testing.assert_allclose(layer_partials_nd(gathered).sum(axis=-2), want, **TIGHT)
