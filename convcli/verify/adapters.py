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


#: ``progress(framework, fraction)``: each framework's share of the bands done, 0 to 1.
Progress = Callable[[str, float], None]


def verify(problem: Problem, expected: np.ndarray, adapters: tuple[Adapter, ...] | None = None, *,
           progress: Progress | None = None, tile_values: int | None = None,
           importing: Importing | None = None) -> list[Checked]:
    """Every adapter (default :data:`ADAPTERS`) on ``problem``, each result compared with ``expected (H', W', F)``.

    Large layers go band by band (:func:`convcli.verify.tiles.bands`, ``tile_values`` output values
    each): every framework computes each band under its own padding rules, and the band is compared
    at once (:class:`~convcli.verify.compare.Tally`), so memory stays bounded by a band's arrays, never
    a whole-image float64 copy. An outcome keeps its ``output`` only when the layer is one band.
    With ``importing`` (:func:`preload`, still running), each band goes first to the frameworks
    imported by then (numpy, SciPy, then PyTorch, ...) and the bands left to the others after the
    import is joined. SciPy computes a sample of a large layer's bands (:func:`sample_bands`), said
    in its outcome's note.
    """
    bands = tiles.bands(problem, tile_values)
    n = compare.terms(problem.layer)
    dtype = problem.layer.x.dtype
    chosen = ADAPTERS if adapters is None else adapters
    outcomes: list[Outcome | None] = [None] * len(chosen)
    tallies = [compare.Tally(dtype, n) for _ in chosen]
    stopped: set[int] = set()  # adapters that gave no output: nothing to compare

    scales: dict[int, np.ndarray] = {}  # a band's S, kept from the first sweep for the second (float32 mostly)

    def scale(band: tiles.Band) -> np.ndarray:
        s = compare.magnitude(band.problem.layer, band.problem.bias)
        return s[band.i0 : band.i0 + band.r1 - band.r0]

    def band_scale(k: int) -> np.ndarray:
        if k not in scales:
            scales[k] = scale(bands[k])
        s = scales[k]
        if not any(k in ks for ks in todo.values()):
            del scales[k]  # every adapter has had this band
        return s

    def rows(band: tiles.Band, output: np.ndarray) -> np.ndarray:
        return output[band.i0 : band.i0 + band.r1 - band.r0] if len(bands) > 1 else output

    sampled = sample_bands(len(bands))

    todo = {i: [k for k in range(len(bands)) if k in sampled or a.module not in SAMPLED] for i, a in enumerate(chosen)}
    total = {i: len(ks) for i, ks in todo.items()}

    def sweep(waiting: bool) -> None:
        """Every band once, with the adapters still to do it (when ``waiting``, those imported by now)."""
        for k, band in enumerate(bands):
            here = [i for i in todo if k in todo[i] and (importing is None or not waiting
                                                        or importing.done(chosen[i].module))]
            if not here:
                continue
            for i in here:
                todo[i].remove(k)
            s = band_scale(k)
            for i in here:
                outcome = run_adapter(chosen[i], band.problem)
                if outcome.status != COMPUTED or outcome.output is None:
                    outcomes[i] = outcome  # a refusal or a missing framework: the same for every band
                    del todo[i]
                    stopped.add(i)
                    continue
                tallies[i].add(k, rows(band, outcome.output), expected[band.r0 : band.r1], s, band.r0)
                if outcomes[i] is None:
                    outcomes[i] = outcome if len(bands) == 1 else replace(outcome, output=None)
                if progress is not None:
                    progress(chosen[i].name, 1 - len(todo[i]) / total[i])

    if importing is not None:  # the frameworks imported by now, band after band, while the others import
        sweep(True)
        importing.join()
    sweep(False)
    for i, a in enumerate(chosen):
        found = outcomes[i]
        if a.module in SAMPLED and len(sampled) < len(bands) and found is not None and i not in stopped:
            outcomes[i] = replace(found, note=_sampled_note(bands, sampled, expected.shape[0]))

    def recheck_for(i: int) -> compare.Recheck:
        def again(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            band = bands[k]
            output = chosen[i].compute(band.problem).output
            assert output is not None
            return rows(band, output), expected[band.r0 : band.r1], scale(band)
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


class Importing:
    """The frameworks importing on a thread of their own (:func:`preload`)."""

    def __init__(self, modules: list[tuple[str, str]]) -> None:
        self._done = {adapter_module: threading.Event() for adapter_module, _ in modules}
        self._modules = modules
        self._switch = sys.getswitchinterval()
        # the import holds the GIL for seconds; at the default 5 ms a switch, convcli's threads, whose
        # numpy calls release and retake it thousands of times, wait on it most of the time (measured:
        # run_layer 0.4 s alone, 4.7-6.5 s beside the import; 1.7 s at 0.1 ms)
        sys.setswitchinterval(min(self._switch, SWITCH_INTERVAL))
        self._thread = threading.Thread(target=self._work, name="convcli-preload", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        for adapter_module, module in self._modules:
            try:
                if adapter_module == "keras":
                    adapt_keras.keras_backend()  # Keras reads its backend once, at import
                importlib.import_module(module)
            except Exception:  # noqa: BLE001,S110 - the adapter meets the same error and words it
                pass
            finally:
                self._done[adapter_module].set()

    def done(self, adapter_module: str) -> bool:
        """Whether ``adapter_module``'s import is over (True for one that is not being imported)."""
        event = self._done.get(adapter_module)
        return event is None or event.is_set()

    def join(self) -> None:
        """Until every import is over; the switch interval back to what it was."""
        self._thread.join()
        sys.setswitchinterval(self._switch)


#: The GIL switch interval while the frameworks import (seconds).
SWITCH_INTERVAL = 1e-4


def preload(adapters: tuple[Adapter, ...] | None = None, *, banded: bool = False) -> Importing:
    """Import the installed frameworks on a thread of their own, while the caller computes.

    Imports take seconds (torch, keras) and mostly one core; convcli's own pass runs meanwhile.
    SciPy first (``scipy.ndimage`` for a ``banded`` layer, its adapter's routine there, else
    ``scipy.signal``), so that its row can be computed while the others import. A failed import is
    left for the adapter to report in its own words. Join before running the other adapters: a
    module half imported there is already in ``sys.modules``.
    """
    chosen = ADAPTERS if adapters is None else adapters
    scipy_module = "scipy.ndimage" if banded else "scipy.signal"
    modules = [(a.module, scipy_module if a.module == "scipy" else a.module) for a in chosen
               if a.module != "numpy" and environment.installed(a.module)]
    modules.sort(key=lambda m: m[0] != "scipy")
    return Importing(modules)


def installable(checked: list[Checked]) -> list[str]:
    """Install hints for the frameworks that were missing."""
    by_name = {a.name: a for a in ADAPTERS}
    return [by_name[c.outcome.framework].install for c in checked
            if c.outcome.status == MISSING and c.outcome.framework in by_name and by_name[c.outcome.framework].install]
