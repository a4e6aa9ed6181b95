"""The seam between the comparing loop and where some adapters compute: an :class:`Executor`.

:func:`convcli.verify.schedule.verify` hands an executor the adapters it :meth:`~Executor.runs`,
gives it the problem once (:meth:`~Executor.compute`), and compares each band's :class:`Result`
as it arrives (:meth:`~Executor.poll`, :meth:`~Executor.wait`), in any order. Two executors:

- :class:`convcli.verify.worker.Worker`: a process of its own, which imports the heavy frameworks
  on the other core while this one reads the input and computes convcli's result;
- :class:`LocalExecutor`: the same answers computed in this process when polled, the reference a
  worker is tested against, and a second executor with nothing to start.

numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from convcli.verify import adapters, tiles

if TYPE_CHECKING:
    from convcli.verify.problem import Outcome, Problem


@dataclass(frozen=True)
class Result:
    """One band of one framework, as an executor computed it (``error``: what it raised instead)."""

    module: str
    band: int
    outcome: Outcome | None
    error: str = ""


class Executor(Protocol):
    """Computes the bands of one problem for the adapters it runs; each band comes back as a :class:`Result`."""

    #: The adapter modules it computes (and, for a worker, imports), in order.
    modules: tuple[str, ...]

    def runs(self, adapter: adapters.Adapter) -> bool:
        """Whether ``adapter``'s bands are computed here rather than by the caller."""
        ...

    def ready(self) -> bool:
        """Whether it can compute (False: the caller computes everything itself)."""
        ...

    def compute(self, problem: Problem, tile_values: int | None = None) -> bool:
        """Compute every band of ``problem`` (:func:`convcli.verify.tiles.bands` with ``tile_values``);
        False when it is busy with another problem (the caller computes this one itself)."""
        ...

    def poll(self) -> list[Result]:
        """The results that are ready, without waiting long."""
        ...

    def wait(self, timeout: float | None = None) -> list[Result]:
        """At least one result, waiting up to ``timeout`` seconds (none when it passes)."""
        ...

    def again(self, module: str, band: int) -> Result | None:
        """``module``'s band ``band`` once more (for a verdict that needs it twice); None when it cannot."""
        ...

    def ended(self) -> str:
        """Empty while it can still answer; else how it ended, for the rows it never answered."""
        ...

    def close(self) -> None:
        """Free what it holds."""
        ...


def same_problem(given: tuple[Problem, int | None], other: tuple[Problem, int | None]) -> bool:
    """Whether two (problem, tile_values) ask for the same numbers: the same layer object, bias and settings."""
    (p, t), (q, u) = given, other
    return (p.layer is q.layer and t == u and np.array_equal(p.bias, q.bias) and p.bias.dtype == q.bias.dtype
            and (p.padding, p.semantics, p.flip, p.banded) == (q.padding, q.semantics, q.flip, q.banded))


class LocalExecutor:
    """An :class:`Executor` in this process: each :meth:`poll` computes the next band of every
    adapter it runs (one band's arrays alive per adapter), in the order the bands come."""

    def __init__(self, chosen: tuple[adapters.Adapter, ...]) -> None:
        self.chosen = chosen
        self.modules = tuple(a.module for a in chosen)
        self._problem: tuple[Problem, int | None] | None = None
        self._bands: list[tiles.Band] = []
        self._next = 0

    def runs(self, adapter: adapters.Adapter) -> bool:
        return adapter in self.chosen

    def ready(self) -> bool:
        return True

    def compute(self, problem: Problem, tile_values: int | None = None) -> bool:
        if self._problem is not None:
            return same_problem(self._problem, (problem, tile_values))
        self._problem = (problem, tile_values)
        self._bands = tiles.bands(problem, tile_values)
        return True

    def poll(self) -> list[Result]:
        if self._next >= len(self._bands):
            return []
        k, self._next = self._next, self._next + 1
        return [self._answer(a, k) for a in self.chosen]

    def wait(self, timeout: float | None = None) -> list[Result]:
        return self.poll()

    def again(self, module: str, band: int) -> Result | None:
        adapter = next((a for a in self.chosen if a.module == module), None)
        return None if adapter is None or band >= len(self._bands) else self._answer(adapter, band)

    def ended(self) -> str:
        return ""

    def close(self) -> None:
        self._bands = []

    def _answer(self, adapter: adapters.Adapter, k: int) -> Result:
        return Result(adapter.module, k, adapters.run_adapter(adapter, self._bands[k].problem))
