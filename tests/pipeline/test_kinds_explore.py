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


def test_to_json_is_run_jsons_document_for_every_kind_and_rank(tmp_path):
    """``ex.to_json(trace=...)`` in the layer's own axes is what ``run --trace ... --json`` prints: a 1-D row,
    a 3-D layer's depth slice (the trace's plane), a transposed layer with its scatter, a separable one."""
    import json

    from helpers import SAMPLES, invoke

    np.save(tmp_path / "volume.npy", np.random.default_rng(5).normal(size=(4, 6, 7, 2)).astype(np.float32))
    cases = [(SAMPLES / "signal.npy", {"ndim": 1, "kernel_size": 5, "filters": 2}, ("--ndim", "1", "-k", "5", "-f", "2"),
              (7,)),
             (tmp_path / "volume.npy", {"ndim": 3, "filters": 2}, ("--ndim", "3", "-f", "2"), (0, 2, 3)),
             (SAMPLES / "textbook.npy", {"kind": "transpose", "kernel_size": 2, "stride": 2},
              ("--kind", "transpose", "-k", "2", "--stride", "2"), (2, 3)),
             (SAMPLES / "grace_hopper.png", {"kind": "separable", "filters": 2}, ("--kind", "separable", "-f", "2"),
              (40, 50))]
    for source, options, flags, at in cases:
        r = invoke("run", source, *flags, "--trace", ",".join(map(str, at)), "--json")
        assert r.exit_code == 0, r.output
        expected = json.loads(r.stdout)
        got = json.loads(json.dumps(convcli.explore(str(source), **options).to_json(trace=at)))
        assert "kind" in got and got == expected, (source, options)
