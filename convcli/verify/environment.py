"""Which frameworks this interpreter could import, and the version of one already imported.

Asking is cheap: :func:`installed` finds a module without importing it, so listing what is missing
never pays for torch or TensorFlow. Both are :mod:`convcli.sources.frameworks`' (the model readers
ask the same questions), re-exported here. Callers look these functions up here at call time (``from
convcli.verify import environment``; ``environment.installed(...)``), so a test that replaces
:func:`installed` replaces it for the registry and the Keras backend choice alike.
"""

from __future__ import annotations

from convcli.sources.frameworks import installed, version

__all__ = ["installed", "version"]
