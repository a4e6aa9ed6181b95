"""``verify`` of every kind and rank the engine computes: one layer as each framework's own N-d op computes it.

A :class:`KindProblem` is the layer as asked (its :class:`~convcli.layer.spec.ConvSpec`: kind, rank,
padding and padding mode), the input ``(*S, C)``, the kernel in the kind's Keras layout and the bias;
each framework's ``compute_kind`` (in its ``adapt_*`` module) computes the pre-activation ``(*S', F)``
with its own layer or function (``torch.nn.Conv1d`` with ``padding_mode``, ``keras.layers.Conv3D``,
...), or refuses in its row what it cannot express (Keras has no padding modes; a framework without
an N-d adapter says so). numpy only.
"""

from __future__ import annotations

from collections.abc import Callable

from convcli.verify import environment
from convcli.verify.kind_problem import KindProblem
from convcli.verify.problem import MISSING, REFUSED, Outcome, Refused, Unavailable, first_line


def _not_written(framework: str) -> Callable[[KindProblem], Outcome]:
    def compute(p: KindProblem) -> Outcome:
        raise Refused(f"convcli has no {p.spec.ndim}-D {p.spec.kind} adapter for {framework} yet "
                      f"({p.spec.keras_name}); the frameworks above compute it")

    return compute


def kind_adapters() -> tuple[tuple[str, str, str, Callable[[KindProblem], Outcome]], ...]:
    """``(name, module, install hint, compute_kind)`` of every framework, in the order of the verify table."""
    from convcli.verify import adapt_keras, adapt_numpy, adapt_scipy_kinds, adapt_torch

    return (
        ("PyTorch", "torch", "pip install 'convcli[torch]'", adapt_torch.compute_kind),
        ("Keras", "keras", "pip install 'convcli[keras]'", adapt_keras.compute_kind),
        ("TensorFlow", "tensorflow", "pip install tensorflow", _not_written("TensorFlow")),
        ("JAX", "jax", "pip install 'convcli[jax]'", _not_written("JAX")),
        ("SciPy", "scipy", "pip install 'convcli[scipy]'", adapt_scipy_kinds.compute_kind),
        ("numpy einsum", "numpy", "", adapt_numpy.compute_kind),
    )


def run_kind_adapter(name: str, module: str, install: str, compute: Callable[[KindProblem], Outcome],
                     problem: KindProblem) -> Outcome:
    """One framework on ``problem``: its outcome, a refusal or a missing framework as an outcome, not an error."""
    if not environment.installed(module):
        return Outcome(name, "", MISSING, note=f"not installed: {install}")
    try:
        return compute(problem)
    except Refused as exc:
        return Outcome(name, environment.version(module), REFUSED, note=str(exc))
    except Unavailable as exc:
        return Outcome(name, environment.version(module), MISSING, note=first_line(exc))
