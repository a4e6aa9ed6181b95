"""The registry: every framework ``convcli verify`` knows, run one by one and compared with convcli.

An :class:`Adapter` names a framework, the module that must be importable and how to install it;
its ``compute`` lives in its own ``adapt_*`` module and imports the framework only when called.
:func:`run_adapter` turns a missing framework or a refusal into an :class:`Outcome` instead of an
error; :func:`verify` runs every adapter and compares each result. numpy only.
"""

from __future__ import annotations

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


def verify(problem: Problem, expected: np.ndarray, adapters: tuple[Adapter, ...] | None = None) -> list[Checked]:
    """Every adapter (default :data:`ADAPTERS`) on ``problem``, each result compared with ``expected (H', W', F)``."""
    scale = compare.magnitude(problem.layer, problem.bias)
    n = compare.terms(problem.layer)
    checked = []
    for adapter in ADAPTERS if adapters is None else adapters:
        outcome = run_adapter(adapter, problem)
        if problem.flip and outcome.status == COMPUTED and adapter.module != "scipy":
            outcome = replace(outcome, layout=outcome.layout + "; the kernel flipped by convcli (--flip)")
        comparison = None
        if outcome.output is not None:
            comparison = compare.compare(outcome.output, expected, scale, n=n, dtype=problem.layer.x.dtype)
        checked.append(Checked(outcome, comparison))
    return checked


def installable(checked: list[Checked]) -> list[str]:
    """Install hints for the frameworks that were missing."""
    by_name = {a.name: a for a in ADAPTERS}
    return [by_name[c.outcome.framework].install for c in checked
            if c.outcome.status == MISSING and c.outcome.framework in by_name and by_name[c.outcome.framework].install]
