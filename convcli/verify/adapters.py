"""The registry: every framework ``convcli verify`` knows, run one by one and compared with convcli.

An :class:`Adapter` names a framework, the module that must be importable and how to install it;
its ``compute`` lives in its own ``adapt_*`` module and imports the framework only when called.
:func:`run_adapter` turns a missing framework or a refusal into an :class:`Outcome` instead of an
error; :func:`verify` runs every adapter and compares each result. numpy only.
"""

from __future__ import annotations

import importlib
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
           progress: Progress | None = None, tile_values: int | None = None) -> list[Checked]:
    """Every adapter (default :data:`ADAPTERS`) on ``problem``, each result compared with ``expected (H', W', F)``.

    Large layers go band by band (:func:`convcli.verify.tiles.bands`, ``tile_values`` output values
    each): every framework computes each band under its own padding rules, and the band is compared
    at once (:class:`~convcli.verify.compare.Tally`), so memory stays bounded by a band's arrays, never
    a whole-image float64 copy. An outcome keeps its ``output`` only when the layer is one band.
    """
    bands = tiles.bands(problem, tile_values)
    n = compare.terms(problem.layer)
    dtype = problem.layer.x.dtype
    chosen = ADAPTERS if adapters is None else adapters
    outcomes: list[Outcome | None] = [None] * len(chosen)
    tallies = [compare.Tally(dtype, n) for _ in chosen]
    live = list(range(len(chosen)))  # adapters still computing, band after band
    stopped: set[int] = set()  # adapters that gave no output: nothing to compare

    def scale(band: tiles.Band) -> np.ndarray:
        s = compare.magnitude(band.problem.layer, band.problem.bias)
        return s[band.i0 : band.i0 + band.r1 - band.r0]

    def rows(band: tiles.Band, output: np.ndarray) -> np.ndarray:
        return output[band.i0 : band.i0 + band.r1 - band.r0] if len(bands) > 1 else output

    for k, band in enumerate(bands):
        if not live:
            break
        s = scale(band)
        for i in list(live):
            outcome = run_adapter(chosen[i], band.problem)
            if outcome.status != COMPUTED or outcome.output is None:
                outcomes[i] = outcome  # a refusal or a missing framework: the same for every band
                live.remove(i)
                stopped.add(i)
                continue
            tallies[i].add(k, rows(band, outcome.output), expected[band.r0 : band.r1], s, band.r0)
            if outcomes[i] is None:
                outcomes[i] = outcome if len(bands) == 1 else replace(outcome, output=None)
            if progress is not None:
                progress(chosen[i].name, (k + 1) / len(bands))

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


def preload(adapters: tuple[Adapter, ...] | None = None) -> threading.Thread:
    """Import the installed frameworks on a thread of their own, while the caller computes.

    Imports take seconds (torch, keras) and mostly one core; convcli's own pass runs meanwhile.
    A failed import is left for the adapter to report in its own words. Join the thread before
    running the adapters: a module half imported there is already in ``sys.modules``.
    """
    chosen = ADAPTERS if adapters is None else adapters

    def work() -> None:
        for adapter in chosen:
            if adapter.module == "numpy" or not environment.installed(adapter.module):
                continue
            try:
                if adapter.module == "keras":
                    adapt_keras.keras_backend()  # Keras reads its backend once, at import
                importlib.import_module("scipy.signal" if adapter.module == "scipy" else adapter.module)
            except Exception:  # noqa: BLE001,S110 - the adapter meets the same error and words it
                pass

    thread = threading.Thread(target=work, name="convcli-preload", daemon=True)
    thread.start()
    return thread


def installable(checked: list[Checked]) -> list[str]:
    """Install hints for the frameworks that were missing."""
    by_name = {a.name: a for a in ADAPTERS}
    return [by_name[c.outcome.framework].install for c in checked
            if c.outcome.status == MISSING and c.outcome.framework in by_name and by_name[c.outcome.framework].install]
