"""Which frameworks this interpreter could import, their versions, and the backend Keras computes on.

Asking is cheap: :func:`installed` finds a module without importing it. Keras picks its backend once,
at import, so the choice is made here before Keras is imported: :func:`choose_keras_backend` decides,
:func:`keras_backend` applies it. Both ``convcli verify`` (:mod:`convcli.verify.adapt_keras`) and the
model readers that run a model (:mod:`convcli.sources.models.upstream`) go through it, so the process
makes one choice. Nothing here imports a framework.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

#: The module each Keras backend needs.
KERAS_BACKEND_MODULE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": "numpy",
                        "openvino": "openvino"}

#: Why convcli chose Keras' backend, if it did (Keras reads KERAS_BACKEND once, at import).
_KERAS_CHOICE = {"note": ""}


class NoBackend(Exception):
    """Keras is installed but none of its backends is (or ``KERAS_BACKEND`` names a missing one)."""


def installed(module: str) -> bool:
    """Whether ``module`` (a top-level name: ``'torch'``) can be imported here, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def version(module: str) -> str:
    """The version of ``module`` if it has been imported ('' if not); Keras' names its backend."""
    mod = sys.modules.get(module)
    if mod is None:
        return ""
    if module == "keras":
        return f"{mod.__version__} ({mod.backend.backend()} backend)"
    return str(getattr(mod, "__version__", ""))


def keras_config_backend() -> str | None:
    """The backend named in keras.json (where Keras itself looks), if any."""
    if "KERAS_HOME" in os.environ:
        home = Path(os.environ["KERAS_HOME"])
    else:
        base = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
        home = base / ".keras"
    try:
        backend = json.loads((home / "keras.json").read_text(encoding="utf-8")).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return backend if isinstance(backend, str) else None


def choose_keras_backend(explicit: str | None, from_file: str | None,
                         have: Callable[[str], bool]) -> tuple[str, str | None]:
    """The backend Keras should import with, and the value to give ``KERAS_BACKEND`` (None: leave it).

    Keras picks its backend once, at import: ``KERAS_BACKEND``, else keras.json, else TensorFlow.
    When the choice comes from keras.json or the default and is not installed, an installed one
    (torch, then jax) is used instead; an explicit ``KERAS_BACKEND`` is always respected.
    Raises :class:`NoBackend` when no usable backend is installed.
    """
    configured = explicit or from_file or "tensorflow"
    if have(KERAS_BACKEND_MODULE.get(configured, configured)):
        return configured, None
    if explicit:
        raise NoBackend(f"KERAS_BACKEND={explicit} but {explicit} is not installed")
    for alternative in ("torch", "jax"):
        if have(alternative):
            return alternative, alternative
    raise NoBackend(f"Keras' {configured} backend is not installed; pip install 'convcli[keras]' (torch backend)")


def keras_backend(have: Callable[[str], bool] | None = None) -> tuple[str, str]:
    """The backend Keras computes on here, and a note when convcli chose it (see :func:`choose_keras_backend`).

    ``have`` answers whether a module is installed (default :func:`installed`). Call it before
    ``import keras``: once Keras is imported, its backend is what it is.
    """
    if "keras" in sys.modules:
        return str(sys.modules["keras"].backend.backend()), _KERAS_CHOICE["note"]
    explicit = os.environ.get("KERAS_BACKEND") or None
    from_file = keras_config_backend()
    backend, set_env = choose_keras_backend(explicit, from_file, have or installed)
    if set_env is not None:
        os.environ["KERAS_BACKEND"] = set_env
        configured = from_file or "tensorflow"
        source = "keras.json" if from_file else "Keras' default"
        _KERAS_CHOICE["note"] = (f"the {configured} backend ({source}) is not installed, so convcli set "
                                 f"KERAS_BACKEND={set_env}")
    return backend, _KERAS_CHOICE["note"]
