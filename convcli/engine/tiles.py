"""Whole-image work in blocks of output rows, on a process-wide pool of threads.

:data:`TILE_VALUES` and :data:`THREADS` are read as ``tiles.NAME`` at call time by every module
that cuts work into blocks, so one assignment reaches them all. numpy only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

Pair = tuple[int, int]
T = TypeVar("T")

#: Output values per block when a whole-image result is computed piece by piece (bounded memory).
TILE_VALUES = 1 << 22
#: Threads that work on blocks side by side (1: none).
THREADS = min(2, os.cpu_count() or 1)

_POOL_NAME = "convcli-block"
_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()
# a forked child has the parent's pool object but none of its threads: it makes its own
os.register_at_fork(after_in_child=_POOLS.clear)


def _pool() -> ThreadPoolExecutor:
    """One pool of :data:`THREADS` threads for the process: starting threads per call costs more
    than a small layer's whole convolution. A block never waits on the pool from inside it."""
    with _POOL_LOCK:
        if THREADS not in _POOLS:
            from concurrent.futures import ThreadPoolExecutor

            _POOLS[THREADS] = ThreadPoolExecutor(THREADS, thread_name_prefix=_POOL_NAME)
        return _POOLS[THREADS]


# BLAS libraries (threadpoolctl's controllers), found once; None until the first parallel section
_BLAS: list[Any] | None = None
_BLAS_LOCK = threading.Lock()


class _BlasState:
    """Nested or concurrent parallel sections: the first sets one thread, the last restores."""

    depth = 0
    saved: list[int] = []


_BLAS_STATE = _BlasState()


def _blas_libraries() -> list[Any]:
    """numpy's BLAS libraries as threadpoolctl controllers ([] without threadpoolctl)."""
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # a dependency, but the engine computes the same without it
            _BLAS = []
        else:
            _BLAS = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
    return _BLAS


@contextmanager
def blas_single_thread() -> Iterator[None]:
    """BLAS on one thread inside: for sections where convcli's own threads share the cores.

    OpenBLAS's thread count is process-wide, so it is set once around the whole parallel section
    (never per block) by the controllers threadpoolctl found: two C calls, a few microseconds, so
    that small layers do not pay threadpoolctl's own per-call library scan. Nested and concurrent
    sections share one setting; the last to leave restores the count it found. Only the main thread
    sets it: OpenBLAS (0.3.31) ignores a count set from another thread once the main thread has set
    one, so a section opened elsewhere (a caller's own worker) leaves BLAS as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    libs = _blas_libraries()
    with _BLAS_LOCK:
        if _BLAS_STATE.depth == 0:
            saved = [int(lib.get_num_threads()) for lib in libs]
            for lib, n in zip(libs, saved, strict=True):
                if n != 1:
                    lib.set_num_threads(1)
            _BLAS_STATE.saved = saved
        _BLAS_STATE.depth += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_STATE.depth -= 1
            if _BLAS_STATE.depth == 0:
                for lib, n in zip(libs, _BLAS_STATE.saved, strict=True):
                    if n != 1:
                        lib.set_num_threads(n)


def _on_threads(blocks: list[Pair]) -> bool:
    """Whether ``blocks`` go to the pool: several threads and blocks, and not from a pool thread
    itself (a block never waits on the pool from inside it)."""
    return THREADS > 1 and len(blocks) > 1 and not threading.current_thread().name.startswith(_POOL_NAME)


def each(fn: Callable[[Pair], int], blocks: list[Pair], progress: Callable[[int], None] | None,
         parallel: bool = True) -> None:
    """``fn`` on every block, on :data:`THREADS` threads when ``parallel`` and there are several.

    numpy's ufuncs, copies and BLAS calls release the GIL, and the blocks write disjoint rows.
    On threads, BLAS runs one thread inside each (:func:`blas_single_thread`): our threads times
    its threads would oversubscribe the cores and spin-wait whenever anything else runs. On one
    thread BLAS keeps its own threads (a big im2col GEMM spreads over the cores by itself).
    """
    if parallel and _on_threads(blocks):
        with blas_single_thread():
            for done in _pool().map(fn, blocks):
                if progress is not None:
                    progress(done)
    else:
        for b in blocks:
            done = fn(b)
            if progress is not None:
                progress(done)


#: The name the engine's own modules have called :func:`each` by.
_each = each


def _each_in_order(fn: Callable[[Pair], T], blocks: list[Pair], consume: Callable[[Pair, T], None], *,
                   ahead: int) -> None:
    """``consume(block, fn(block))`` for every block, in block order on the calling thread, while
    :func:`_each`'s threads compute the next ones: at most ``ahead`` results made and not yet
    consumed, so a consumer slower than the threads (a disk) holds them back instead of letting
    every block's result pile up. An exception in either stops the rest (no thread is left waiting).
    """
    if not _on_threads(blocks):
        for b in blocks:
            consume(b, fn(b))
        return
    index = {b: i for i, b in enumerate(blocks)}
    gate = threading.Condition()
    consumed, stop = [0], [False]

    def task(b: Pair) -> T | None:
        # block i waits until fewer than ``ahead`` blocks before it are unconsumed: in block order,
        # so the block consumed next may always start (a thread holding a later one never blocks it)
        with gate:
            gate.wait_for(lambda: stop[0] or index[b] < consumed[0] + max(1, ahead))
            if stop[0]:
                return None
        return fn(b)

    with blas_single_thread():
        try:
            for b, value in zip(blocks, _pool().map(task, blocks), strict=True):
                consume(b, value)  # type: ignore[arg-type]  # None only after a stop
                with gate:
                    consumed[0] += 1
                    gate.notify_all()
        finally:
            with gate:
                stop[0] = True
                gate.notify_all()


def row_tiles(rows: Pair, values_per_row: int, parts: int = 1) -> list[Pair]:
    """Output rows ``[r0, r1)`` cut into blocks of at most :data:`TILE_VALUES` values, and into at
    least ``parts`` blocks when there are that many rows (one per thread)."""
    r0, r1 = rows
    step = max(1, min(TILE_VALUES // max(1, values_per_row), -(-(r1 - r0) // parts)))
    return [(r, min(r + step, r1)) for r in range(r0, r1, step)]


#: The name the engine's own modules have called :func:`row_tiles` by.
_row_tiles = row_tiles
