"""``--heatmap-stat auto``: max-abs exactly for high-pass filters, whose block means cancel."""

from __future__ import annotations

import numpy as np

from convcli.present.maps import auto_stat
from convcli.sources.kernels import make_kernel


def test_edge_detectors_get_max_abs_and_others_mean():
    for init in ("sobel-x", "sobel-y", "laplacian"):
        assert auto_stat(make_kernel(init, (3, 3), 3, 2, seed=0), [0, 1]) == "max-abs", init
    for init in ("ones", "box", "gaussian", "sharpen", "identity", "random"):
        assert auto_stat(make_kernel(init, (3, 3), 3, 2, seed=0), [0, 1]) == "mean", init


def test_one_smooth_filter_among_the_shown_keeps_means():
    k = np.concatenate([make_kernel("sobel-x", (3, 3), 2, 1, seed=0), make_kernel("box", (3, 3), 2, 1, seed=0)], axis=3)
    assert auto_stat(k, [0]) == "max-abs"
    assert auto_stat(k, [0, 1]) == "mean"
    # a channel that sums to 0 only roughly (a learned filter) is not an edge detector by this rule
    k2 = k[..., :1].copy()
    k2[0, 0, 0, 0] += 1e-3
    assert auto_stat(k2, [0]) == "mean"


def test_run_screen_says_which_statistic_auto_chose():
    from helpers import invoke

    r = invoke("run", "samples/grace_hopper.png", "--init", "sobel-x", "-q", "--view", "heatmap")
    assert r.exit_code == 0, r.output
    assert "one cell = the largest-magnitude value of " in r.stdout
    r = invoke("run", "samples/grace_hopper.png", "--init", "box", "-q", "--view", "heatmap")
    assert r.exit_code == 0, r.output
    assert "one cell = the mean of " in r.stdout
    r = invoke("run", "samples/grace_hopper.png", "--init", "sobel-x", "-q", "--view", "heatmap", "--heatmap-stat", "mean")
    assert "one cell = the mean of " in r.stdout
