"""The separable convolution against PyTorch (a depthwise conv, then a pointwise one) and Keras.

PyTorch in float64 checks the output, the pre-activation and every channel's partial (what torch
computes from the input with only that channel nonzero) over random 1-D and 2-D strides,
dilations, paddings and depth multipliers; Keras' ``SeparableConv{1,2}D`` (torch backend, in a
child process) checks the kernel layouts and ``same``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcli.engine import activate
from convcli.engine.general import layer_partials_nd
from convcli.engine.separable import (
    as_conv,
    bind_separable,
    depthwise_maps,
    separable_conv,
    separable_partials,
    separable_preactivation,
)
from convcli.errors import ShapeError

from oracle import naive_out_size, naive_same_pads

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TORCH_CONV = {1: TF.conv1d, 2: TF.conv2d}

TIGHT = {"rtol": 1e-9, "atol": 1e-9}


def torch_separable(x, dw, pw, bias, *, stride, padding, dilation):
    """float64 ``(*S', F)``: torch's grouped conv (groups = C) then a 1×…×1 conv; pads from the oracle."""
    n = x.ndim - 1
    c, m = dw.shape[-2:]
    pads = []
    for a in range(n):
        if padding[a] == "same":
            pads.append(naive_same_pads(x.shape[a], dw.shape[a], stride[a], dilation[a]))
        elif padding[a] == "valid":
            pads.append((0, 0))
        else:
            pads.append((padding[a], padding[a]))
    xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 0))[None])
    xt = TF.pad(xt, [p for pair in reversed(pads) for p in pair])
    # depthwise (*k, C, M) -> torch (C·M, 1, *k), output c·M + j reading channel c
    wt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(dw.reshape(*dw.shape[:n], 1, c * m), (-1, -2), (0, 1))))
    y = TORCH_CONV[n](xt, wt, stride=stride, dilation=dilation, groups=c)
    pt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(pw, (-1, -2), (0, 1))))
    y = TORCH_CONV[n](y, pt, None if bias is None else torch.from_numpy(bias))
    return np.moveaxis(y[0].numpy(), 0, -1)


@st.composite
def separable_cases(draw):
    n = draw(st.sampled_from((1, 2)))
    size = tuple(draw(st.integers(1, 9 if n == 1 else 7)) for _ in range(n))
    k = tuple(draw(st.integers(1, 4)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n))
    padding = tuple(draw(st.sampled_from(("valid", "same", 0, 1, 2))) for _ in range(n))
    return {"size": size, "k": k, "stride": stride, "dilation": dilation, "padding": padding,
            "c": draw(st.integers(1, 4)), "m": draw(st.integers(1, 3)), "f": draw(st.integers(1, 5)),
            "seed": draw(st.integers(0, 2**32 - 1))}


def _out_size(case):
    out = []
    for a, n in enumerate(case["size"]):
        k, s, d, p = case["k"][a], case["stride"][a], case["dilation"][a], case["padding"][a]
        before, after = naive_same_pads(n, k, s, d) if p == "same" else (0, 0) if p == "valid" else (p, p)
        out.append(naive_out_size(n, k, s, d, before, after))
    return tuple(out)


@settings(max_examples=120, deadline=None)
@given(case=separable_cases())
def test_output_preactivation_and_partials_match_torch(case):
    assume(min(_out_size(case)) >= 1)
    n = len(case["size"])
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((*case["size"], case["c"]))
    dw = rng.standard_normal((*case["k"], case["c"], case["m"]))
    pw = rng.standard_normal((1,) * n + (case["c"] * case["m"], case["f"]))
    bias = rng.standard_normal(case["f"])
    kw = {key: case[key] for key in ("stride", "padding", "dilation")}
    expected = torch_separable(x, dw, pw, bias, **kw)
    layer = bind_separable(x, dw, pw, dtype=np.float64, **kw)
    assert layer.geometry.out_size == _out_size(case) == expected.shape[:-1]

    pre = separable_preactivation(layer, bias)
    np.testing.assert_allclose(pre, expected, **TIGHT)
    np.testing.assert_allclose(activate(pre, "relu"), np.maximum(expected, 0), **TIGHT)

    parts = separable_partials(layer)
    assert parts.shape == (*expected.shape[:-1], case["c"], case["f"])
    for c in range(case["c"]):
        only_c = np.zeros_like(x)
        only_c[..., c] = x[..., c]
        np.testing.assert_allclose(parts[..., c, :], torch_separable(only_c, dw, pw, None, **kw), **TIGHT)
    np.testing.assert_allclose(parts.sum(axis=-2) + bias, pre, **TIGHT)
    # one conv whose kernel is depthwise · pointwise (what `run` computes and shows): the same partials
    np.testing.assert_allclose(layer_partials_nd(as_conv(layer)), parts, **TIGHT)


def test_depthwise_maps_are_channel_by_multiplier():
    # channel c's j-th map is channel c alone against depthwise_kernel[..., c, j]
    x = np.zeros((4, 4, 2))
    x[..., 0], x[..., 1] = 1.0, 10.0
    dw = np.ones((2, 2, 2, 3))
    dw[..., 1, 2] = 2.0
    maps = depthwise_maps(bind_separable(x, dw, np.ones((1, 1, 6, 1)), dtype=np.float64))
    assert maps.shape == (3, 3, 2, 3)
    assert np.all(maps[..., 0, :] == 4.0)
    assert np.all(maps[..., 1, :2] == 40.0) and np.all(maps[..., 1, 2] == 80.0)


def test_float32_is_float64_rounded():
    rng = np.random.default_rng(5)
    x, dw, pw = rng.standard_normal((20, 18, 6)), rng.standard_normal((3, 3, 6, 2)), rng.standard_normal((12, 7))
    got = separable_conv(x, dw, pw, stride=2, padding="same")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, separable_conv(x, dw, pw, stride=2, padding="same", dtype=np.float64),
                               rtol=1e-5, atol=1e-5)


def test_bad_kernels_are_named():
    x = np.ones((5, 5, 3))
    with pytest.raises(ShapeError, match="depthwise kernel must be"):
        bind_separable(x, np.ones((3, 3, 2, 1)), np.ones((1, 1, 3, 4)))
    with pytest.raises(ShapeError, match=r"C·M=6"):
        bind_separable(x, np.ones((3, 3, 3, 2)), np.ones((1, 1, 3, 4)))
    with pytest.raises(ShapeError, match="1×…×1"):
        bind_separable(x, np.ones((3, 3, 3, 1)), np.ones((2, 1, 3, 4)))
    with pytest.raises(ShapeError, match="spans 7 rows"):
        bind_separable(x, np.ones((3, 3, 3, 1)), np.ones((1, 1, 3, 4)), dilation=3)


KERAS_SCRIPT = """
import sys
import numpy as np
import keras
a = np.load(sys.argv[1])
out = {}
for n, cls in ((1, keras.layers.SeparableConv1D), (2, keras.layers.SeparableConv2D)):
    x, dw, pw, b = a[f"x{n}"], a[f"dw{n}"], a[f"pw{n}"], a[f"b{n}"]
    layer = cls(pw.shape[-1], dw.shape[:n], strides=2, padding="same", depth_multiplier=dw.shape[-1],
                dtype="float64")
    layer.build((None, *x.shape))
    layer.set_weights([dw, pw, b])
    out[f"y{n}"] = keras.ops.convert_to_numpy(layer(x[None]))[0]
np.savez(sys.argv[2], **out)
"""


def test_keras_separable_same_matches_keras(tmp_path):
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed")
    rng = np.random.default_rng(26)
    arrays = {"x1": rng.standard_normal((11, 3)), "dw1": rng.standard_normal((4, 3, 2)),
              "pw1": rng.standard_normal((1, 6, 5)), "b1": rng.standard_normal(5),
              "x2": rng.standard_normal((7, 8, 3)), "dw2": rng.standard_normal((3, 4, 3, 2)),
              "pw2": rng.standard_normal((1, 1, 6, 5)), "b2": rng.standard_normal(5)}
    np.savez(tmp_path / "in.npz", **arrays)
    done = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
                          env={**os.environ, "KERAS_BACKEND": "torch"}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    got = np.load(tmp_path / "out.npz")
    for n in (1, 2):
        ours = separable_conv(arrays[f"x{n}"], arrays[f"dw{n}"], arrays[f"pw{n}"], arrays[f"b{n}"], stride=2,
                              padding="same", dtype=np.float64)
        assert ours.shape == got[f"y{n}"].shape
        np.testing.assert_allclose(ours, got[f"y{n}"], **TIGHT)


def test_bind_from_a_spec_is_one_conv():
    from convcli.engine import separable as separable_module
    from convcli.layer.spec import ConvSpec

    rng = np.random.default_rng(12)
    x, dw, pw = rng.standard_normal((9, 3)), rng.standard_normal((3, 3, 2)), rng.standard_normal((1, 6, 4))
    spec = ConvSpec("separable", 3, 4, (3,), (2,), (1,), "causal", depth_multiplier=2, ndim=1)
    gathered = separable_module.bind(spec, x, {"depthwise_kernel": dw, "pointwise_kernel": pw}, dtype=np.float64)
    want = torch_separable(np.pad(x, ((2, 0), (0, 0))), dw, pw, None, stride=(2,), padding=("valid",),
                           dilation=(1,))  # causal: (k - 1)·d zeros before
    np.testing.assert_allclose(layer_partials_nd(gathered).sum(axis=-2), want, **TIGHT)


def test_blocks_of_rows_give_the_whole(monkeypatch):
    # a tiny block forces the depthwise step and the pointwise matmul to run one output row at a time
    from convcli.engine import separable as separable_module

    rng = np.random.default_rng(13)
    x, dw, pw = rng.standard_normal((11, 9, 3)), rng.standard_normal((3, 2, 3, 2)), rng.standard_normal((6, 5))
    kw = {"stride": (2, 1), "padding": ("same", 1), "dilation": (1, 2)}
    whole = separable_conv(x, dw, pw, dtype=np.float64, **kw)
    maps = depthwise_maps(bind_separable(x, dw, pw, dtype=np.float64, **kw))
    monkeypatch.setattr(separable_module, "BLOCK_VALUES", 1)
    layer = bind_separable(x, dw, pw, dtype=np.float64, **kw)
    np.testing.assert_allclose(separable_preactivation(layer), whole, **TIGHT)
    np.testing.assert_allclose(depthwise_maps(layer), maps, **TIGHT)
    want = torch_separable(x, dw, pw.reshape(1, 1, 6, 5), None, stride=(2, 1), padding=("same", 1), dilation=(1, 2))
    np.testing.assert_allclose(whole, want, **TIGHT)
