"""`run --save`'s partials handed to a sink block by block, in row order, a bounded number at a time."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from convcli import engine
from convcli.engine import fast, passes, tiles

from oracle import naive_partials


@pytest.fixture
def many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiles, "THREADS", 2)
    monkeypatch.setattr(tiles, "TILE_VALUES", 200)  # a few output rows a block: a dozen blocks and more


@pytest.mark.parametrize(("stride", "padding", "groups"), [(1, "valid", 1), (1, "same", 2), (2, 1, 1)])
def test_the_sink_gets_every_block_in_order_and_the_same_numbers(many_blocks, stride, padding, groups):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((37, 11, 4))
    kernel = rng.standard_normal((3, 3, 4 // groups, 4))
    layer = engine.prepare(x, kernel, stride=stride, padding=padding, groups=groups, dtype=np.float64)
    got: list[tuple[tuple[int, int], np.ndarray]] = []
    streamed = engine.run_layer(layer, None, "relu", partials_sink=lambda rows, block: got.append((rows, block)),
                                ranges=True)
    kept = engine.run_layer(layer, None, "relu", keep_partials=True, ranges=True)
    ho = layer.geometry.out_hw[0]
    assert len(got) > 4
    assert [r for r, _ in got] == [(a, b) for a, b in zip([0] + [r[1] for r, _ in got[:-1]], [r[1] for r, _ in got],
                                                          strict=True)]
    assert got[-1][0][1] == ho and all(block.shape[0] == r[1] - r[0] for r, block in got)
    pads = layer.geometry.pads
    np.testing.assert_allclose(np.concatenate([b for _, b in got]), naive_partials(x, kernel, stride, pads, 1, groups),
                               rtol=1e-12, atol=1e-12)
    assert streamed.partials is None
    np.testing.assert_array_equal(streamed.mean_abs, kept.mean_abs)
    np.testing.assert_array_equal(streamed.preactivation, kept.preactivation)
    np.testing.assert_array_equal(streamed.partial_low, kept.partial_low)
    with pytest.raises(ValueError, match="not both"):
        engine.partial_pass(layer, keep=True, sink=lambda rows, block: None)


def test_a_slow_sink_holds_the_threads_back(many_blocks, monkeypatch: pytest.MonkeyPatch):
    """A disk slower than the pass: at most SINK_AHEAD blocks a thread are made and not yet written."""
    made, written, most = [0], [0], [0]
    lock = threading.Lock()
    real = fast.partial_stats

    def counted(*args, **kwargs):
        with lock:
            made[0] += 1
            most[0] = max(most[0], made[0] - written[0])
        return real(*args, **kwargs)

    def slow(rows, block):
        time.sleep(0.01)
        with lock:
            written[0] += 1

    monkeypatch.setattr(fast, "partial_stats", counted)
    layer = engine.prepare(np.random.default_rng(6).standard_normal((200, 12, 3)), np.ones((3, 3, 3, 2)))
    engine.run_layer(layer, None, "linear", partials_sink=slow)
    assert written[0] == made[0] > 3 * passes.SINK_AHEAD * tiles.THREADS
    assert most[0] == passes.SINK_AHEAD * tiles.THREADS  # reached, never passed


def test_a_sink_that_fails_stops_the_pass_and_leaves_the_threads_free(many_blocks):
    layer = engine.prepare(np.random.default_rng(7).standard_normal((60, 12, 3)), np.ones((3, 3, 3, 2)))
    calls = [0]

    def full_disk(rows, block):
        calls[0] += 1
        if calls[0] == 2:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        engine.run_layer(layer, None, "linear", partials_sink=full_disk)
    assert calls[0] == 2
    done = threading.Event()  # the pool's threads are not stuck waiting for a slot: a new pass runs
    worker = threading.Thread(target=lambda: (engine.run_layer(layer, None, "linear"), done.set()), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert done.is_set()
