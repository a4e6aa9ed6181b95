"""Whole-image work in blocks of output rows, on a process-wide pool of threads.

:data:`TILE_VALUES` and :data:`THREADS` are read as ``tiles.NAME`` at call time by every module
that cuts work into blocks, so one assignment reaches them all. numpy only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

Pair = tuple[int, int]

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


def _each(fn: Callable[[Pair], int], blocks: list[Pair], progress: Callable[[int], None] | None,
          parallel: bool = True) -> None:
    """``fn`` on every block, on :data:`THREADS` threads when ``parallel`` and there are several.

    numpy's ufuncs, copies and BLAS calls release the GIL, and the blocks write disjoint rows.
    """
    if parallel and THREADS > 1 and len(blocks) > 1 and not threading.current_thread().name.startswith(_POOL_NAME):
        for done in _pool().map(fn, blocks):
            if progress is not None:
                progress(done)
    else:
        for b in blocks:
            done = fn(b)
            if progress is not None:
                progress(done)


def _row_tiles(rows: Pair, values_per_row: int, parts: int = 1) -> list[Pair]:
    """Output rows ``[r0, r1)`` cut into blocks of at most :data:`TILE_VALUES` values, and into at
    least ``parts`` blocks when there are that many rows (one per thread)."""
    r0, r1 = rows
    step = max(1, min(TILE_VALUES // max(1, values_per_row), -(-(r1 - r0) // parts)))
    return [(r, min(r + step, r1)) for r in range(r0, r1, step)]
