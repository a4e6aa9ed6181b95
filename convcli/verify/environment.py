"""Which frameworks this interpreter could import, and the version of one already imported.

Asking is cheap: :func:`installed` finds a module without importing it, so listing what is missing
never pays for torch or TensorFlow. Callers look these functions up here at call time (``from
convcli.verify import environment``; ``environment.installed(...)``), so a test that replaces
:func:`installed` replaces it for the registry and the Keras backend choice alike.
"""

from __future__ import annotations

import importlib.util
import sys


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
