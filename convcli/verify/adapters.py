"""The registry: every framework ``convcli verify`` knows, and one adapter run on one problem.

An :class:`Adapter` names a framework, the module that must be importable and how to install it;
its ``compute`` lives in its own ``adapt_*`` module and imports the framework only when called.
:func:`run_adapter` turns a missing framework or a refusal into an :class:`Outcome` instead of an
error. Running every adapter band by band is :mod:`convcli.verify.schedule`'s; importing the
frameworks ahead, :mod:`convcli.verify.preload`'s. numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from convcli.verify import (
    adapt_jax,
    adapt_keras,
    adapt_numpy,
    adapt_scipy,
    adapt_tensorflow,
    adapt_torch,
    environment,
)
from convcli.verify.problem import (
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

#: The registry as convcli ships it: the adapters a worker process runs (it reads its own copy).
BUILTIN = ADAPTERS

#: Adapters light enough to import and compute in this process, never in a worker.
LIGHT = ("numpy", "scipy")


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


def installable(checked: list[Checked]) -> list[str]:
    """Install hints for the frameworks that were missing."""
    by_name = {a.name: a for a in ADAPTERS}
    return [by_name[c.outcome.framework].install for c in checked
            if c.outcome.status == MISSING and c.outcome.framework in by_name and by_name[c.outcome.framework].install]
