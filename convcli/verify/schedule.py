"""Every adapter run over the bands of a layer, each band compared as it arrives.

:func:`verify` cuts the problem into bands (:mod:`convcli.verify.tiles`), computes the adapters of
this process band by band, hands the others to an :class:`~convcli.verify.executor.Executor` (a
worker process), and tallies each band against convcli's as it comes
(:class:`~convcli.verify.compare.Tally`). SciPy compares a large layer on a sample of its bands
(:func:`sample_bands`). numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from convcli.verify import adapters as registry
from convcli.verify import compare, environment, tiles
from convcli.verify.problem import COMPUTED, MISSING, Checked, Outcome, Problem

if TYPE_CHECKING:
    from convcli.verify.executor import Executor, Result


#: ``progress(framework, fraction)``: each framework's share of the bands done, 0 to 1.
Progress = Callable[[str, float], None]


def verify(problem: Problem, expected: np.ndarray, adapters: tuple[registry.Adapter, ...] | None = None, *,
           progress: Progress | None = None, tile_values: int | None = None,
           executor: Executor | None = None) -> list[Checked]:
    """Every adapter (default :data:`convcli.verify.adapters.ADAPTERS`) on ``problem``, each result
    compared with ``expected (H', W', F)``.

    Large layers go band by band (:func:`convcli.verify.tiles.bands`, ``tile_values`` output values
    each): every framework computes each band under its own padding rules, and the band is compared
    at once (:class:`~convcli.verify.compare.Tally`), so memory stays bounded by a band's arrays, never
    a whole-image float64 copy. An outcome keeps its ``output`` only when the layer is one band.
    Each band's ``S`` is made once, for every adapter. SciPy computes a sample of a large layer's
    bands (:func:`sample_bands`), said in its outcome's note.

    With an ``executor`` (:class:`convcli.verify.worker.Worker`, a process of its own), the adapters
    it :meth:`~convcli.verify.executor.Executor.runs` compute there (but a :data:`SAMPLED` one), while
    this process computes the others; their bands are compared as they arrive (each band's ``S`` kept
    for them up to :data:`KEEP_BYTES`, made again beyond).
    """
    bands = tiles.bands(problem, tile_values)
    n = compare.terms(problem.layer)
    dtype = problem.layer.x.dtype
    chosen = registry.ADAPTERS if adapters is None else adapters
    outcomes: list[Outcome | None] = [None] * len(chosen)
    tallies = [compare.Tally(dtype, n) for _ in chosen]
    stopped: set[int] = set()  # adapters that gave no output: nothing to compare

    def rows(band: tiles.Band, output: np.ndarray) -> np.ndarray:
        return output[band.i0 : band.i0 + band.r1 - band.r0] if len(bands) > 1 else output

    sampled = sample_bands(len(bands))
    todo = {i: [k for k in range(len(bands)) if k in sampled or a.module not in SAMPLED] for i, a in enumerate(chosen)}
    total = {i: len(ks) for i, ks in todo.items()}
    # an executor computes every band: a sampled adapter stays here
    remote = {i: a.module for i, a in enumerate(chosen) if executor is not None and executor.runs(a)
              and a.module not in SAMPLED and environment.installed(a.module)}
    away = (executor if remote and executor is not None and executor.ready() and executor.compute(problem, tile_values)
            else None)
    if away is None:
        remote = {}  # no executor, it could not start, or it computes another problem: everything here
    by_module = {m: i for i, m in remote.items()}
    scales = _Scales(bands, [sum(k in ks for ks in todo.values()) for k in range(len(bands))])
    answered = dict.fromkeys(remote, 0)

    def take(i: int, k: int, outcome: Outcome) -> None:
        """Band ``k`` of adapter ``i``: compared, or the adapter stopped by a refusal."""
        if outcome.status != COMPUTED or outcome.output is None:
            outcomes[i] = outcome  # a refusal or a missing framework: the same for every band
            stopped.add(i)
            scales.forget(k)
            return
        band = bands[k]
        tallies[i].add(k, rows(band, outcome.output), expected[band.r0 : band.r1], scales.take(k), band.r0)
        if outcomes[i] is None:
            outcomes[i] = outcome if len(bands) == 1 else replace(outcome, output=None)

    def receive(results: list[Result]) -> None:
        for r in results:
            i = by_module[r.module]
            answered[i] += 1
            if i in stopped:
                scales.forget(r.band)
                continue
            take(i, r.band, r.outcome or Outcome(chosen[i].name, "", MISSING, note=f"cannot be used: {r.error}"))
            if progress is not None and i not in stopped:
                progress(chosen[i].name, answered[i] / total[i])

    if progress is not None:  # the bars in the table's order, the worker's waiting while it imports
        for i, a in enumerate(chosen):
            if i in remote or environment.installed(a.module):
                progress(a.name, 0.0)
    for k, band in enumerate(bands):  # band by band, so that one band's arrays are alive at a time
        for i in [i for i in todo if k in todo[i] and i not in remote and i not in stopped]:
            todo[i].remove(k)
            take(i, k, registry.run_adapter(chosen[i], band.problem))
            if i in stopped:
                for rest in todo.pop(i):
                    scales.forget(rest)
            elif progress is not None:
                progress(chosen[i].name, 1 - len(todo[i]) / total[i])
        if away is not None:
            receive(away.poll())
    while away is not None and any(answered[i] < total[i] for i in remote) and not away.ended():
        receive(away.wait(timeout=0.1))
        if progress is not None:
            for i in remote:
                progress(chosen[i].name, answered[i] / total[i])
    for i in remote:
        if i not in stopped and answered[i] < total[i]:
            outcomes[i] = Outcome(chosen[i].name, "", MISSING, note=f"cannot be used: {away.ended() if away else ''}")
            stopped.add(i)
    for i, a in enumerate(chosen):
        found = outcomes[i]
        if a.module in SAMPLED and len(sampled) < len(bands) and found is not None and i not in stopped:
            outcomes[i] = replace(found, note=_sampled_note(bands, sampled, expected.shape[0]))

    def recheck_for(i: int) -> compare.Recheck:
        def again(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            band = bands[k]
            result = away.again(remote[i], k) if away is not None and i in remote else None
            outcome = result.outcome if result is not None and result.outcome is not None else chosen[i].compute(band.problem)
            assert outcome.output is not None
            return rows(band, outcome.output), expected[band.r0 : band.r1], scales.make(k)
        return again

    checked = []
    for i, adapter in enumerate(chosen):
        found = outcomes[i]
        assert found is not None
        outcome = found
        if problem.flip and outcome.status == COMPUTED and adapter.module != "scipy":
            outcome = replace(outcome, layout=outcome.layout + "; the kernel flipped by convcli (--flip)")
        comparison = None if i in stopped else tallies[i].result(recheck_for(i))
        checked.append(Checked(outcome, comparison))
    return checked


#: Bytes of ``S`` kept for the bands a worker has yet to answer; beyond, ``S`` is made again on arrival.
KEEP_BYTES = 1 << 28


class _Scales:
    """Each band's ``S`` (:func:`convcli.verify.compare.magnitude`, its rows of the band), made once
    and kept while an adapter is still to compare that band, up to :data:`KEEP_BYTES` (made again beyond)."""

    def __init__(self, bands: list[tiles.Band], users: list[int]) -> None:
        self.bands, self.users = bands, users
        self.kept: dict[int, np.ndarray] = {}

    def make(self, k: int) -> np.ndarray:
        """Band ``k``'s ``S``, computed."""
        band = self.bands[k]
        s = compare.magnitude(band.problem.layer, band.problem.bias)
        return s[band.i0 : band.i0 + band.r1 - band.r0]

    def take(self, k: int) -> np.ndarray:
        """Band ``k``'s ``S`` for one of its users: kept for the others, dropped after the last."""
        s = self.kept.get(k)
        if s is None:
            s = self.make(k)
            if self.users[k] > 1 and sum(v.nbytes for v in self.kept.values()) + s.nbytes <= KEEP_BYTES:
                self.kept[k] = s
        self.forget(k)
        return s

    def forget(self, k: int) -> None:
        """One user of band ``k`` fewer (it compared the band, or never will)."""
        self.users[k] -= 1
        if self.users[k] <= 0:
            self.kept.pop(k, None)


#: Modules whose adapters compare a layer of more than :data:`SAMPLE` bands on a sample of them.
SAMPLED = ("scipy",)
#: Bands SciPy computes of a large layer: the first, the middle and the last, and one more (seeded).
SAMPLE = 4


def sample_bands(count: int) -> set[int]:
    """The bands of ``count`` a :data:`SAMPLED` adapter computes: all of at most :data:`SAMPLE`,
    else the first, the middle, the last and seeded random others (the same ones on every run)."""
    if count <= SAMPLE:
        return set(range(count))
    chosen = {0, count // 2, count - 1}
    rest = sorted(set(range(count)) - chosen)
    chosen.update(int(k) for k in np.random.default_rng(0).choice(rest, SAMPLE - len(chosen), replace=False))
    return chosen


def _sampled_note(bands: list[tiles.Band], sampled: set[int], height: int) -> str:
    """``compared on output rows 0-249, 1250-1499, 2750-2997 of 2998 (3 of 12 bands)``."""
    spans = ", ".join(f"{bands[k].r0}-{bands[k].r1 - 1}" for k in sorted(sampled))
    return f"compared on output rows {spans} of {height} ({len(sampled)} of {len(bands)} bands)"


