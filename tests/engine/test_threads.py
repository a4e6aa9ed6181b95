"""Who threads: convcli's block threads run BLAS on one thread inside them, and leave it as it was after."""

from __future__ import annotations

import numpy as np
import pytest

from convcli import engine
from convcli.engine import tiles

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    """Thread counts of numpy's BLAS, as threadpoolctl reads them afresh (torch, when imported, has its own)."""
    numpy_libs = {lib.filepath for lib in tiles._blas_libraries()}
    return [i["num_threads"] for i in threadpoolctl.threadpool_info()
            if i["user_api"] == "blas" and i["filepath"] in numpy_libs]


def test_blas_runs_one_thread_inside_the_block_threads_and_is_restored(monkeypatch):
    if not _blas_threads():
        pytest.skip("no BLAS found by threadpoolctl")
    monkeypatch.setattr(tiles, "THREADS", 2)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        seen: list[list[int]] = []

        def block(b: tuple[int, int]) -> int:
            seen.append(_blas_threads())
            return b[1] - b[0]

        tiles._each(block, [(0, 1), (1, 2), (2, 3)], None)
        assert seen and all(s == [1] * len(before) for s in seen)
        assert _blas_threads() == before  # restored
        # one block, or parallel=False: BLAS keeps its threads (a big GEMM spreads over the cores itself)
        seen.clear()
        tiles._each(block, [(0, 1), (1, 2)], None, parallel=False)
        assert seen == [before, before]


def test_nested_sections_restore_once():
    if not _blas_threads():
        pytest.skip("no BLAS found by threadpoolctl")
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        with tiles.blas_single_thread():
            with tiles.blas_single_thread():
                assert _blas_threads() == [1] * len(before)
            assert _blas_threads() == [1] * len(before)  # the outer section is still running
        assert _blas_threads() == before


def test_an_error_in_a_block_still_restores(monkeypatch):
    if not _blas_threads():
        pytest.skip("no BLAS found by threadpoolctl")
    monkeypatch.setattr(tiles, "THREADS", 2)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_threads()

        def boom(b: tuple[int, int]) -> int:
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            tiles._each(boom, [(0, 1), (1, 2)], None)
        assert _blas_threads() == before


def test_results_do_not_depend_on_the_threads(monkeypatch):
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((300, 70, 3)).astype(np.float32), rng.standard_normal((3, 3, 3, 16)).astype(np.float32)
    layer = engine.prepare(x, k, padding="same")
    monkeypatch.setattr(tiles, "TILE_VALUES", 1 << 12)  # many blocks: map_stats on the threads too
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(tiles, "THREADS", threads)
        r = engine.run_layer(layer, None, "relu")
        results.append((r.preactivation, r.mean_abs, r.output_stats, r.preactivation_stats))
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
    out = results[0][0]
    flat = out.reshape(-1, 16).astype(np.float64)
    np.testing.assert_allclose(results[0][3], np.stack([flat.min(0), flat.mean(0), flat.max(0)], 1), rtol=1e-12)
