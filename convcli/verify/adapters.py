"""The registry: every framework ``convcli verify`` knows, run one by one and compared with convcli.

An :class:`Adapter` names a framework, the module that must be importable and how to install it;
its ``compute`` lives in its own ``adapt_*`` module and imports the framework only when called.
:func:`run_adapter` turns a missing framework or a refusal into an :class:`Outcome` instead of an
error; :func:`verify` runs every adapter and compares each result. numpy only.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from convcli.verify import (
    adapt_jax,
    adapt_keras,
    adapt_numpy,
    adapt_scipy,
    adapt_tensorflow,
    adapt_torch,
    compare,
    environment,
    tiles,
)
from convcli.verify.problem import (
    COMPUTED,
    MISSING,
    REFUSED,
    Checked,
    Outcome,
    Problem,
    Refused,
    Unavailable,
    first_line,
)
from convcli.verify.worker import Result, Worker


@dataclass(frozen=True)
class Adapter:
    """A framework: its display name, the module that must be importable, how to install it."""

    name: str
    module: str
    install: str
    compute: Callable[[Problem], Outcome]


#: Every framework, in the order of the verify table. Read at call time: tests replace it.
ADAPTERS: tuple[Adapter, ...] = (
    Adapter("PyTorch", "torch", "pip install 'convcli[torch]'", adapt_torch.compute),
    Adapter("Keras", "keras", "pip install 'convcli[keras]'", adapt_keras.compute),
    Adapter("TensorFlow", "tensorflow", "pip install tensorflow", adapt_tensorflow.compute),
    Adapter("JAX", "jax", "pip install 'convcli[jax]'", adapt_jax.compute),
    Adapter("SciPy", "scipy", "pip install 'convcli[scipy]'", adapt_scipy.compute),
    Adapter("numpy einsum", "numpy", "", adapt_numpy.compute),
)


def run_adapter(adapter: Adapter, problem: Problem) -> Outcome:
    """``adapter`` on ``problem``; a missing framework or a refusal becomes an :class:`Outcome`."""
    if not environment.installed(adapter.module):
        return Outcome(adapter.name, "", MISSING, note=f"not installed: {adapter.install}")
    try:
        return adapter.compute(problem)
    except Refused as exc:
        return Outcome(adapter.name, environment.version(adapter.module), REFUSED, note=str(exc))
    except (Unavailable, ImportError) as exc:
        return Outcome(adapter.name, "", MISSING, note=f"cannot be used: {first_line(exc)}")


#: The registry as convcli ships it: the adapters a worker process runs (it reads its own copy).
BUILTIN = ADAPTERS

#: ``progress(framework, fraction)``: each framework's share of the bands done, 0 to 1.
Progress = Callable[[str, float], None]


def verify(problem: Problem, expected: np.ndarray, adapters: tuple[Adapter, ...] | None = None, *,
           progress: Progress | None = None, tile_values: int | None = None,
           worker: Worker | None = None) -> list[Checked]:
    """Every adapter (default :data:`ADAPTERS`) on ``problem``, each result compared with ``expected (H', W', F)``.

    Large layers go band by band (:func:`convcli.verify.tiles.bands`, ``tile_values`` output values
    each): every framework computes each band under its own padding rules, and the band is compared
    at once (:class:`~convcli.verify.compare.Tally`), so memory stays bounded by a band's arrays, never
    a whole-image float64 copy. An outcome keeps its ``output`` only when the layer is one band.
    Each band's ``S`` is made once, for every adapter. SciPy computes a sample of a large layer's
    bands (:func:`sample_bands`), said in its outcome's note.

    With a ``worker`` (:class:`convcli.verify.worker.Worker`), the built-in adapters of the modules
    it imported compute there, while this process computes the others; their bands are compared as
    they arrive (each band's ``S`` kept for them up to :data:`KEEP_BYTES`, made again beyond).
    """
    bands = tiles.bands(problem, tile_values)
    n = compare.terms(problem.layer)
    dtype = problem.layer.x.dtype
    chosen = ADAPTERS if adapters is None else adapters
    outcomes: list[Outcome | None] = [None] * len(chosen)
    tallies = [compare.Tally(dtype, n) for _ in chosen]
    stopped: set[int] = set()  # adapters that gave no output: nothing to compare

    def rows(band: tiles.Band, output: np.ndarray) -> np.ndarray:
        return output[band.i0 : band.i0 + band.r1 - band.r0] if len(bands) > 1 else output

    sampled = sample_bands(len(bands))
    todo = {i: [k for k in range(len(bands)) if k in sampled or a.module not in SAMPLED] for i, a in enumerate(chosen)}
    total = {i: len(ks) for i, ks in todo.items()}
    remote = {i: a.module for i, a in enumerate(chosen)
              if worker is not None and a in BUILTIN and a.module in worker.modules and environment.installed(a.module)}
    away = worker if remote and worker is not None and worker.ready() and worker.compute(problem, tile_values) else None
    if away is None:
        remote = {}  # no worker, it could not start, or it computes another problem: everything here
    assert not any(chosen[i].module in SAMPLED for i in remote)  # a worker computes every band
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
            take(i, k, run_adapter(chosen[i], band.problem))
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


def import_for(adapter_module: str, module: str) -> None:
    """Import ``module`` for the adapter of ``adapter_module`` (Keras' backend chosen first: Keras
    reads it once, at import). A failure is left for the adapter to meet and word."""
    try:
        if adapter_module == "keras":
            adapt_keras.keras_backend()
        importlib.import_module(module)
    except Exception:  # noqa: BLE001,S110 - the adapter meets the same error and words it
        pass


class Importing:
    """The frameworks importing on a thread of their own (:func:`preload`), in the order given, and
    any module :meth:`also` adds later, until :meth:`join`."""

    def __init__(self, modules: list[tuple[str, str]]) -> None:
        import queue

        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._done: dict[str, threading.Event] = {}
        self._switch = sys.getswitchinterval()
        # the import holds the GIL for seconds; at the default 5 ms a switch, the main thread's
        # own work beside it (reading and decoding the input) waits on it most of the time
        sys.setswitchinterval(min(self._switch, SWITCH_INTERVAL))
        for entry in modules:
            self.also(*entry)
        self._thread = threading.Thread(target=self._work, name="convcli-preload", daemon=True)
        self._thread.start()

    def also(self, adapter_module: str, module: str) -> None:
        """Import ``module`` too (for the adapter of ``adapter_module``), after the others."""
        self._done[adapter_module] = threading.Event()
        self._queue.put((adapter_module, module))

    def _work(self) -> None:
        while (entry := self._queue.get()) is not None:
            adapter_module, module = entry
            try:
                import_for(adapter_module, module)
            finally:
                self._done[adapter_module].set()

    def done(self, adapter_module: str) -> bool:
        """Whether ``adapter_module``'s import is over (True for one that is not being imported)."""
        event = self._done.get(adapter_module)
        return event is None or event.is_set()

    def fraction(self) -> float:
        """The share of the imports asked for that are over, 0 to 1."""
        return sum(e.is_set() for e in self._done.values()) / max(1, len(self._done))

    def join(self, timeout: float | None = None) -> bool:
        """Until every import is over (or ``timeout`` seconds): whether they are; the switch
        interval back to what it was once they are."""
        if self._thread.is_alive():
            self._queue.put(None)  # a second None is never read: the thread has stopped at the first
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        sys.setswitchinterval(self._switch)
        return True

    def abandon(self) -> None:
        """Import nothing more and leave the thread (a daemon) to end with the process; the switch
        interval back."""
        self._queue.put(None)
        sys.setswitchinterval(self._switch)


#: The GIL switch interval while the frameworks import (seconds).
SWITCH_INTERVAL = 1e-4


def preload(adapters: tuple[Adapter, ...] | None = None, *, skip: tuple[str, ...] = ()) -> Importing:
    """Import the installed frameworks (but SciPy, numpy and the modules of ``skip``) on a thread of
    their own, while the caller reads its input; join before computing.

    Measured on a 12 MP photo (benchmarks/README.md): numpy work *beside* an import runs hardly
    faster than after it, since the import holds the GIL (convcli's pass: 0.3 s alone, 1.8 s beside
    ``import torch``), so convcli computes after the join; what overlaps is the reading and decoding
    of the input. SciPy's module depends on the layer's size (:func:`scipy_module`): add it with
    :meth:`Importing.also` once that is known. A failed import is left for the adapter to report in
    its own words.
    """
    chosen = ADAPTERS if adapters is None else adapters
    return Importing([(a.module, a.module) for a in chosen
                      if a.module not in ("numpy", "scipy", *skip) and environment.installed(a.module)])


def start_worker(adapters: tuple[Adapter, ...] | None = None) -> Worker | None:
    """A process importing the installed frameworks that this one has not imported (but SciPy and
    numpy, light and computed here): :class:`convcli.verify.worker.Worker`, or None where there is
    nothing for it or it cannot start. Pass it to :func:`verify`, and close it after."""
    chosen = ADAPTERS if adapters is None else adapters
    modules = [a.module for a in chosen if a in BUILTIN and a.module not in ("numpy", "scipy")
               and a.module not in sys.modules and environment.installed(a.module)]
    return Worker.start(modules)


def scipy_module(banded: bool) -> str:
    """What SciPy's adapter imports: ``scipy.ndimage`` for a layer of several bands, else ``scipy.signal``."""
    return "scipy.ndimage" if banded else "scipy.signal"


def installable(checked: list[Checked]) -> list[str]:
    """Install hints for the frameworks that were missing."""
    by_name = {a.name: a for a in ADAPTERS}
    return [by_name[c.outcome.framework].install for c in checked
            if c.outcome.status == MISSING and c.outcome.framework in by_name and by_name[c.outcome.framework].install]
