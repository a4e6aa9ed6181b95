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
    run = _Run(problem, expected, registry.ADAPTERS if adapters is None else adapters, tile_values, progress)
    run.hand_over(executor)
    run.start()
    for k in range(len(run.bands)):  # band by band, so that one band's arrays are alive at a time
        run.here(k)
        if run.away is not None:
            run.receive(run.away.poll())
    run.drain()
    return run.verdicts()


class _Run:
    """One :func:`verify`: adapter ``i``'s bands to compute here (``todo``) or away (``remote``),
    its tally, and its outcome once known."""

    def __init__(self, problem: Problem, expected: np.ndarray, chosen: tuple[registry.Adapter, ...],
                 tile_values: int | None, progress: Progress | None) -> None:
        self.problem, self.expected, self.chosen, self.progress = problem, expected, chosen, progress
        self.tile_values = tile_values
        self.bands = tiles.bands(problem, tile_values)
        self.outcomes: list[Outcome | None] = [None] * len(chosen)
        self.tallies = [compare.Tally(problem.layer.x.dtype, compare.terms(problem.layer)) for _ in chosen]
        self.stopped: set[int] = set()  # adapters that gave no output: nothing to compare
        self.sampled = sample_bands(len(self.bands))
        self.todo = {i: [k for k in range(len(self.bands)) if k in self.sampled or a.module not in SAMPLED]
                     for i, a in enumerate(chosen)}
        self.total = {i: len(ks) for i, ks in self.todo.items()}
        self.scales = _Scales(self.bands, [sum(k in ks for ks in self.todo.values()) for k in range(len(self.bands))])
        self.remote: dict[int, str] = {}  # adapter -> its module, for the adapters an executor computes
        self.away: Executor | None = None
        self.answered: dict[int, int] = {}

    def hand_over(self, executor: Executor | None) -> None:
        """Give ``executor`` the adapters it runs, if it can take the problem; the others stay here."""
        if executor is None:
            return
        # an executor computes every band: a sampled adapter stays here
        remote = {i: a.module for i, a in enumerate(self.chosen)
                  if executor.runs(a) and a.module not in SAMPLED and environment.installed(a.module)}
        if remote and executor.ready() and executor.compute(self.problem, self.tile_values):
            self.remote, self.away = remote, executor
            self.answered = dict.fromkeys(remote, 0)

    def say(self, i: int, fraction: float) -> None:
        if self.progress is not None:
            self.progress(self.chosen[i].name, fraction)

    def start(self) -> None:
        """The bars in the table's order, the executor's waiting while it imports."""
        for i, a in enumerate(self.chosen):
            if i in self.remote or environment.installed(a.module):
                self.say(i, 0.0)

    def take(self, i: int, k: int, outcome: Outcome) -> None:
        """Band ``k`` of adapter ``i``: compared, or the adapter stopped by a refusal."""
        if outcome.status != COMPUTED or outcome.output is None:
            self.outcomes[i] = outcome  # a refusal or a missing framework: the same for every band
            self.stopped.add(i)
            self.scales.forget(k)
            return
        band = self.bands[k]
        self.tallies[i].add(k, self.rows(band, outcome.output), self.expected[band.r0 : band.r1],
                            self.scales.take(k), band.r0)
        if self.outcomes[i] is None:
            self.outcomes[i] = outcome if len(self.bands) == 1 else replace(outcome, output=None)

    def rows(self, band: tiles.Band, output: np.ndarray) -> np.ndarray:
        """The band's own rows of an adapter's output for it."""
        return output[band.i0 : band.i0 + band.r1 - band.r0] if len(self.bands) > 1 else output

    def here(self, k: int) -> None:
        """Band ``k`` by each adapter computed in this process that still has it to do."""
        band = self.bands[k]
        for i in [i for i in self.todo if k in self.todo[i] and i not in self.remote and i not in self.stopped]:
            self.todo[i].remove(k)
            self.take(i, k, registry.run_adapter(self.chosen[i], band.problem))
            if i in self.stopped:
                for rest in self.todo.pop(i):
                    self.scales.forget(rest)
            else:
                self.say(i, 1 - len(self.todo[i]) / self.total[i])

    def receive(self, results: list[Result]) -> None:
        """The bands the executor computed, compared in the order they came."""
        by_module = {m: i for i, m in self.remote.items()}
        for r in results:
            i = by_module[r.module]
            self.answered[i] += 1
            if i in self.stopped:
                self.scales.forget(r.band)
                continue
            self.take(i, r.band,
                      r.outcome or Outcome(self.chosen[i].name, "", MISSING, note=f"cannot be used: {r.error}"))
            if i not in self.stopped:
                self.say(i, self.answered[i] / self.total[i])

    def drain(self) -> None:
        """Wait for the executor's last bands; the rows of an executor that ended without them say so."""
        away = self.away
        while away is not None and any(self.answered[i] < self.total[i] for i in self.remote) and not away.ended():
            self.receive(away.wait(timeout=0.1))
            for i in self.remote:
                self.say(i, self.answered[i] / self.total[i])
        for i in self.remote:
            if i not in self.stopped and self.answered[i] < self.total[i]:
                ended = away.ended() if away is not None else ""
                self.outcomes[i] = Outcome(self.chosen[i].name, "", MISSING, note=f"cannot be used: {ended}")
                self.stopped.add(i)

    def recheck_for(self, i: int) -> compare.Recheck:
        """Adapter ``i``'s band once more, for a verdict that needs it twice."""
        def again(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            band = self.bands[k]
            result = self.away.again(self.remote[i], k) if self.away is not None and i in self.remote else None
            outcome = (result.outcome if result is not None and result.outcome is not None
                       else self.chosen[i].compute(band.problem))
            assert outcome.output is not None
            return self.rows(band, outcome.output), self.expected[band.r0 : band.r1], self.scales.make(k)
        return again

    def verdicts(self) -> list[Checked]:
        """Each adapter's outcome (its note and layout completed) and comparison, in the table's order."""
        checked = []
        for i, adapter in enumerate(self.chosen):
            outcome = self.outcomes[i]
            assert outcome is not None
            if adapter.module in SAMPLED and len(self.sampled) < len(self.bands) and i not in self.stopped:
                outcome = replace(outcome, note=_sampled_note(self.bands, self.sampled, self.expected.shape[0]))
            if self.problem.flip and outcome.status == COMPUTED and adapter.module != "scipy":
                outcome = replace(outcome, layout=outcome.layout + "; the kernel flipped by convcli (--flip)")
            comparison = None if i in self.stopped else self.tallies[i].result(self.recheck_for(i))
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


