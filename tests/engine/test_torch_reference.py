"""convcli against torch.nn.functional.conv2d on random layers (skipped when torch is missing).

Pads come from the oracle's own 'same' formula and are applied with ``F.pad``, so asymmetric
TensorFlow-style padding is compared too. Partial sums are checked one channel at a time: a
kernel that is zero except for channel ``c`` gives exactly ``partial_sums[..., c, :]``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings

from convcli import engine

from strategies import conv_cases

torch = pytest.importorskip("torch")
F = torch.nn.functional

TIGHT = {"rtol": 1e-10, "atol": 1e-10}


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def torch_conv(x, kernel, bias, case):
    """float64 ``(H', W', F)`` from torch, with NCHW input and ``(F, C/g, kh, kw)`` weights."""
    top, bottom, left, right = case.pads
    xt = F.pad(torch.from_numpy(x).permute(2, 0, 1)[None], (left, right, top, bottom))
    wt = torch.from_numpy(kernel).permute(3, 2, 0, 1)
    bt = None if bias is None else torch.from_numpy(bias)
    y = F.conv2d(xt, wt, bt, stride=_pair(case.stride), dilation=_pair(case.dilation), groups=case.groups)
    return y[0].permute(1, 2, 0).numpy()


@settings(max_examples=250, deadline=None)
@given(case=conv_cases(max_hw=12, max_k=5))
def test_conv2d_and_partials_match_torch(case):
    assume(not case.empty)
    x, kernel, bias = case.arrays
    expected = torch_conv(x, kernel, bias, case)
    assert expected.shape[:2] == case.out_hw
    np.testing.assert_allclose(
        engine.conv2d(x, kernel, bias, dtype=np.float64, **case.kwargs), expected, **TIGHT
    )

    p = engine.partial_sums(x, kernel, dtype=np.float64, **case.kwargs)
    for c in range(kernel.shape[2]):
        only_c = np.zeros_like(kernel)
        only_c[:, :, c, :] = kernel[:, :, c, :]
        np.testing.assert_allclose(p[:, :, c, :], torch_conv(x, only_c, None, case), **TIGHT)


def test_torch_layout_sanity():
    # the textbook example through torch: guards the permutations used above
    x = np.stack([np.full((3, 3), v) for v in (1.0, 100.0, 10000.0)], axis=-1)
    kernel = np.ones((2, 2, 3, 1))
    out = F.conv2d(torch.from_numpy(x).permute(2, 0, 1)[None], torch.from_numpy(kernel).permute(3, 2, 0, 1))
    assert out.shape == (1, 1, 2, 2)
    assert torch.all(out == 40404)
