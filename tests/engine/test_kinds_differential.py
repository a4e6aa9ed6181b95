"""Every kind the engine computes, on every rank, padding and padding mode, against PyTorch in float64.

Random conv and depthwise layers over 1, 2 and 3 axes, with valid, same, explicit or causal padding
and each of PyTorch's padding modes, run end to end (:func:`convcli.pipeline.build.build_layer`, then
:func:`convcli.pipeline.run.run` writing its ``.npz`` archive) and compared with ``torch.nn.Conv{n}d``
(its own ``padding`` and ``padding_mode`` where PyTorch takes them; ``F.pad`` with the mode for
TensorFlow's strided 'same' and Keras' causal): the output, the pre-activation, and every partial,
each against PyTorch run on that input channel alone (the others zero, no bias). The partials also
add up to the pre-activation minus the bias. Skipped without torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convcli.layer.geometry import same_pads_1d, span
from convcli.pipeline.build import build_layer
from convcli.pipeline.request import Request
from convcli.pipeline.run import Archive, run

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = {"rtol": 1e-9, "atol": 1e-9}
TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


@st.composite
def kind_cases(draw):
    ndim = draw(st.sampled_from((1, 2, 3)))
    kind = draw(st.sampled_from(("conv", "depthwise") if ndim < 3 else ("conv",)))
    c = draw(st.integers(1, 4))
    groups = draw(st.sampled_from([g for g in (1, 2, 4) if c % g == 0])) if kind == "conv" else 1
    filters = groups * draw(st.integers(1, 3))
    m = draw(st.integers(1, 2)) if kind == "depthwise" else 1
    top = (3, 9, 24)[3 - ndim] if ndim < 3 else 6
    size = tuple(draw(st.integers(1, top)) for _ in range(ndim))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    paddings = ["valid", "same", "explicit"] + (["causal"] if ndim == 1 else [])
    padding = draw(st.sampled_from(paddings))
    if padding == "explicit":
        padding = tuple(draw(st.integers(0, 2)) for _ in range(ndim))
    mode = draw(st.sampled_from(tuple(TORCH_MODE)))
    return dict(ndim=ndim, kind=kind, c=c, groups=groups, filters=filters, m=m, size=size, kernel=kernel,
                stride=stride, dilation=dilation, padding=padding, mode=mode,
                seed=draw(st.integers(0, 2**16)), activation=draw(st.sampled_from(("linear", "relu", "tanh"))))


def pads_of(case) -> list[tuple[int, int]]:
    """The oracle's own pads: Keras' 'same' and causal rules, PyTorch's symmetric P."""
    out = []
    for a, n in enumerate(case["size"]):
        k, s, d = case["kernel"][a], case["stride"][a], case["dilation"][a]
        p = case["padding"]
        if p == "valid":
            out.append((0, 0))
        elif p == "same":
            out.append(same_pads_1d(n, k, s, d))
        elif p == "causal":
            out.append((span(k, d) - 1, 0))
        else:
            out.append((p[a], p[a]))
    return out


def fits(case) -> bool:
    """Whether PyTorch takes the case: a non-empty output, reflect pads < the axis, circular ≤ it."""
    for a, (n, (b, e)) in enumerate(zip(case["size"], pads_of(case), strict=True)):
        if n + b + e < span(case["kernel"][a], case["dilation"][a]):
            return False
        if case["mode"] == "reflect" and max(b, e) >= n:
            return False
        if case["mode"] == "circular" and max(b, e) > n:
            return False
    return True


def torch_layer(case, x, kernel, bias):
    """float64 ``(*S', F)`` from torch: ``x (*S, C)``, Keras kernel (conv ``(*k, C/g, F)``, depthwise ``(*k, C, M)``)."""
    n, c = case["ndim"], x.shape[-1]
    if case["kind"] == "depthwise":
        kernel = kernel.reshape(*kernel.shape[:n], 1, -1)
        groups = c
    else:
        groups = case["groups"]
    f = kernel.shape[-1]
    module = getattr(torch.nn, f"Conv{n}d")
    xt = torch.from_numpy(np.moveaxis(x, -1, 0).copy())[None]
    own = case["padding"] in ("valid",) or not isinstance(case["padding"], str) or (
        case["padding"] == "same" and set(case["stride"]) == {1})
    if not own:  # TensorFlow's strided 'same' and Keras' causal: the oracle's pads, with the mode
        flat = [p for pair in reversed(pads_of(case)) for p in pair]
        xt = F.pad(xt, flat, mode=TORCH_MODE[case["mode"]]) if any(flat) else xt
    padding = case["padding"] if own else 0
    conv = module(c, f, case["kernel"], stride=case["stride"], padding=padding, dilation=case["dilation"],
                  groups=groups, bias=bias is not None, padding_mode=case["mode"] if own else "zeros",
                  dtype=torch.float64)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.moveaxis(kernel, (-1, -2), (0, 1)).copy()))
        if bias is not None:
            conv.bias.copy_(torch.from_numpy(bias))
        y = conv(xt)[0]
    return np.moveaxis(y.numpy(), 0, -1)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=kind_cases())
def test_every_kind_rank_padding_and_mode_matches_torch(case, tmp_path_factory):
    assume(fits(case))
    rng = np.random.default_rng(case["seed"])
    x = rng.normal(size=(*case["size"], case["c"]))
    out_channels = case["c"] * case["m"] if case["kind"] == "depthwise" else case["filters"]
    bias = rng.normal(size=out_channels)
    request = Request(x, filters=case["filters"], kernel_size=case["kernel"], stride=case["stride"],
                      padding=case["padding"], dilation=case["dilation"], groups=case["groups"], kind=case["kind"],
                      ndim=case["ndim"], padding_mode=case["mode"], depth_multiplier=case["m"],
                      activation=case["activation"], dtype="float64", seed=case["seed"], bias=list(bias))
    built = build_layer(request)
    if case["ndim"] == 3:
        from convcli.pipeline.depth import depth_slice

        built = depth_slice(built, None)
    path = Path(tmp_path_factory.mktemp("run")) / "run.npz"
    shown = run(built, archive=Archive(path))
    saved = np.load(path)
    kernel = saved["kernel"]
    np.testing.assert_array_equal(saved["input"], x)
    want = torch_layer(case, x, kernel, bias)
    np.testing.assert_allclose(saved["preactivation"], want, **TOL)
    act = {"linear": lambda v: v, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh}[case["activation"]]
    np.testing.assert_allclose(saved["output"], act(want), **TOL)
    partials = saved["partials"]  # (*S', C/g, F); depthwise (*S', 1, C·M)
    np.testing.assert_allclose(partials.sum(axis=-2), saved["preactivation"] - bias, **TOL)
    cg, n = partials.shape[-2], case["ndim"]
    for i in range(case["c"]):
        alone = np.zeros_like(x)
        alone[..., i] = x[..., i]
        each = torch_layer(case, alone, kernel, None)
        group = i // cg
        per_group = out_channels // (case["c"] // cg)
        fs = slice(group * per_group, (group + 1) * per_group)
        np.testing.assert_allclose(partials[..., i % cg, fs], each[..., fs], **TOL)
    # what the views show is the same layer: one row of a 1-D layer, one plane of a 3-D one
    shown_pre = shown.preactivation[0] if n == 1 else shown.preactivation
    plane = saved["preactivation"][built.plane] if n == 3 else saved["preactivation"]
    np.testing.assert_allclose(shown_pre, plane, **TOL)
