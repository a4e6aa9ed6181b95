"""convcli: see what a convolution layer does to the channels of an image.

The public API is re-exported here lazily, so that ``convcli --help`` does not pay for numpy.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "conv2d": "convcli.engine.conv",
    "partial_sums": "convcli.engine.conv",
    "output_shape": "convcli.layer.geometry",
    "pad_amounts": "convcli.layer.geometry",
    "param_count": "convcli.engine.bind",
    "conv_geometry": "convcli.layer.geometry",
    "activate": "convcli.engine.activations",
    "ConvcliError": "convcli.errors",
    "ConfigError": "convcli.errors",
    "ShapeError": "convcli.errors",
    "LoadError": "convcli.errors",
    "SaveError": "convcli.errors",
    "ResourceError": "convcli.errors",
}

__version__: str  # from the package metadata, looked up on first use by __getattr__
__all__ = ["__version__", *_EXPORTS]


def _package_version() -> str:
    # importlib.metadata costs ~15 ms of start-up (it imports email, zipfile, csv, ...): only
    # `convcli --version` and callers of convcli.__version__ pay for it.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("convcli")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value = globals()["__version__"] = _package_version()  # computed once
        return value
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'convcli' has no attribute {name!r}")
