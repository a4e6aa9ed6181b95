"""``convcli.explore`` of a Conv1D and a Conv3D: results in the layer's own axes, against a naive loop."""

from __future__ import annotations

import itertools

import numpy as np

import convcli


def naive(x: np.ndarray, kernel: np.ndarray, pads: list[tuple[int, int]], stride: int, dilation: int) -> np.ndarray:
    """``(*S', F)`` of ``x (*S, C)`` and ``kernel (*k, C, F)`` by the definition, position by position."""
    n = x.ndim - 1
    xp = np.pad(x, (*pads, (0, 0)))
    k = kernel.shape[:n]
    out_size = [(xp.shape[a] - (k[a] - 1) * dilation - 1) // stride + 1 for a in range(n)]
    out = np.zeros((*out_size, kernel.shape[-1]))
    for o in itertools.product(*(range(s) for s in out_size)):
        for t in itertools.product(*(range(v) for v in k)):
            at = tuple(o[a] * stride + t[a] * dilation for a in range(n))
            out[o] += xp[at] @ kernel[t]
    return out


def test_conv1d_causal_and_conv3d_same_equal_the_naive_loop():
    rng = np.random.default_rng(3)
    x1 = rng.normal(size=(17, 3))
    ex = convcli.explore(x1, ndim=1, filters=2, kernel_size=4, dilation=3, padding="causal", dtype="float64")
    assert ex.output.shape == (17, 2)
    np.testing.assert_allclose(ex.output, naive(x1, ex.built.archived_kernel(), [(9, 0)], 1, 3), atol=1e-12)
    x3 = rng.normal(size=(5, 4, 6, 2))
    ex = convcli.explore(x3, kind="conv", ndim=3, filters=3, kernel_size=(3, 2, 3), stride=2, padding="same",
                         dtype="float64")
    assert ex.output.shape == (3, 2, 3, 3)
    np.testing.assert_allclose(ex.output, naive(x3, ex.built.archived_kernel(), [(1, 1), (0, 0), (0, 1)], 2, 1),
                               atol=1e-12)
