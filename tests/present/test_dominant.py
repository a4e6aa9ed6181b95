"""The dominant-channel map against a naive argmax over the partial sums (plain loops)."""

from __future__ import annotations

import numpy as np

from convcli import engine
from convcli.present.dominant import OTHERS_COLOUR, dominant_json, dominant_map
from convcli.present.maps import block_mean
from convcli.sources import kernels

from helpers import SAMPLES


def naive_partials(x: np.ndarray, w: np.ndarray, f: int, groups: int = 1) -> np.ndarray:
    """``(H', W', Cg)`` partial maps of filter ``f`` (valid, stride 1): Σ over the window of x · w, per channel."""
    kh, kw, cg, filters = w.shape
    c0 = (f // (filters // groups)) * cg
    ho, wo = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((ho, wo, cg))
    for i in range(ho):
        for j in range(wo):
            for c in range(cg):
                out[i, j, c] = sum(float(x[i + a, j + b, c0 + c]) * float(w[a, b, c, f])
                                   for a in range(kh) for b in range(kw))
    return out


def naive_argmax(p: np.ndarray) -> np.ndarray:
    """The channel of largest |partial| at each position, the first on a tie (plain loops)."""
    best = np.zeros(p.shape[:2], dtype=int)
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            values = [abs(v) for v in p[i, j]]
            best[i, j] = values.index(max(values))
    return best


def test_the_textbook_example_is_channel_2_everywhere():
    x = np.load(SAMPLES / "textbook.npy")
    layer = engine.prepare(x, kernels.make_kernel("ones", (2, 2), 3, 1))
    view = dominant_map(engine.run_layer(layer, None, "relu"), 0, ("R", "G", "B"))
    assert view.channels.tolist() == [[2, 2], [2, 2]]
    assert [(c.label, c.channels, c.share) for c in view.categories] == [("R", (0,), 0.0), ("G", (1,), 0.0),
                                                                      ("B", (2,), 100.0)]


def test_a_random_array_matches_a_naive_argmax_over_the_partials():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(9, 11, 4)).astype(np.float32)
    w = rng.normal(size=(3, 3, 4, 2)).astype(np.float32)
    result = engine.run_layer(engine.prepare(x, w), None, "linear")
    for f in range(2):
        oracle = naive_argmax(naive_partials(x, w, f))
        view = dominant_map(result, f, ["a", "b", "c", "d"])
        assert np.array_equal(view.channels, oracle)
        counts = np.bincount(oracle.ravel(), minlength=4)
        assert [round(c.share, 6) for c in view.categories] == [round(100 * n / oracle.size, 6) for n in counts]
        doc = dominant_json(view)
        assert doc["map"] == oracle.tolist() and doc["block"] == 1 and doc["shape"] == [7, 9]


def test_blocks_take_the_argmax_of_each_partial_maps_block_means():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(14, 14, 3)).astype(np.float32)
    w = rng.normal(size=(3, 3, 3, 1)).astype(np.float32)
    result = engine.run_layer(engine.prepare(x, w), None, "linear", ranges=True)
    p = naive_partials(x, w, 0)  # 12×12
    means = np.stack([block_mean(p[:, :, c], 5, 5) for c in range(3)], axis=2)  # 3×3 blocks, the last short
    view = dominant_map(result, 0, ["R", "G", "B"], k=5)
    assert view.k == 5 and np.array_equal(view.channels, naive_argmax(means))


def test_a_grouped_layer_names_the_filters_own_channels():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 6, 4)).astype(np.float32)
    w = rng.normal(size=(2, 2, 2, 2)).astype(np.float32)
    result = engine.run_layer(engine.prepare(x, w, groups=2), None, "linear")
    view = dominant_map(result, 1, ["c0", "c1", "c2", "c3"])
    assert np.array_equal(view.channels, naive_argmax(naive_partials(x, w, 1, groups=2)) + 2)
    assert [c.label for c in view.categories] == ["c2", "c3"]


def test_past_ten_channels_the_nine_that_win_most_keep_a_colour():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(8, 8, 12)).astype(np.float32)
    x[:, :, 11] *= 1000.0  # channel 11 wins everywhere
    w = rng.normal(size=(1, 1, 12, 1)).astype(np.float32)
    w[..., 11, 0] = 1.0
    view = dominant_map(engine.run_layer(engine.prepare(x, w), None, "linear"), 0, [f"c{c}" for c in range(12)])
    assert (view.channels == 11).all()
    labels = [c.label for c in view.categories]
    assert len(labels) == 10 and "c11" in labels and labels[-1] == "3 other channels"
    assert view.categories[-1].colour == OTHERS_COLOUR and len(view.categories[-1].channels) == 3
    assert view.categories[labels.index("c11")].share == 100.0
