"""The same Conv2D through every installed framework: one adapter each, imported only when asked.

Each adapter receives convcli's arrays (channels-last, Keras layouts: ``x (H, W, C)``, ``kernel
(kh, kw, C // groups, F)``, ``bias (F,)``), converts them to its framework's layouts itself,
realises the padding the framework's own way where it has one, and returns the pre-activation
``(H', W', F)`` back in convcli's layout, together with what it did: the version, the permutation,
how the padding was made. Where a framework refuses a configuration it reports the refusal in the
framework's own words instead of failing.

Nothing here imports a framework at module level: ``convcli --help`` and ``convcli run`` never pay
for torch, keras, tensorflow, jax or scipy.

- :mod:`~convcli.verify.problem`: what is asked (:class:`Problem`) and answered (:class:`Outcome`)
- ``adapt_torch``, ``adapt_keras`` (and Keras' backend choice), ``adapt_tensorflow``, ``adapt_jax``,
  ``adapt_scipy``, ``adapt_numpy``: one framework each (named so that none shadows the framework)
- :mod:`~convcli.verify.adapters`: the registry (:data:`ADAPTERS`), :func:`run_adapter`
- :mod:`~convcli.verify.schedule`: :func:`verify`, every adapter over the bands of a layer, compared as
  each band arrives; :mod:`~convcli.verify.executor`: where some adapters compute (the seam), and
  :mod:`~convcli.verify.worker`, the executor in a process of its own; :mod:`~convcli.verify.preload`:
  the frameworks imported ahead on a thread
- :mod:`~convcli.verify.environment`: what is installed, the version of what is imported
- :mod:`~convcli.verify.compare`: the tolerance and the comparison; :mod:`~convcli.verify.reference`:
  convcli's second, einsum implementation

``ADAPTERS`` is re-exported here for reading; the registry that :func:`verify` reads is
``convcli.verify.adapters.ADAPTERS``.
"""

from __future__ import annotations

from convcli.verify.adapt_keras import choose_keras_backend, keras_backend
from convcli.verify.adapters import ADAPTERS, Adapter, installable, run_adapter
from convcli.verify.compare import Comparison
from convcli.verify.problem import (
    COMPUTED,
    MISSING,
    REFUSED,
    SEMANTICS,
    Checked,
    Outcome,
    Problem,
    Refused,
    Unavailable,
)
from convcli.verify.schedule import verify

__all__ = [
    "ADAPTERS", "COMPUTED", "MISSING", "REFUSED", "SEMANTICS", "Adapter", "Checked", "Comparison", "Outcome",
    "Problem", "Refused", "Unavailable", "choose_keras_backend", "installable", "keras_backend", "run_adapter",
    "verify",
]
