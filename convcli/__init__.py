"""convcli: see what a convolution layer does to the channels of an image.

The public API is re-exported here lazily, so that ``convcli --help`` does not pay for numpy.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("convcli")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

_EXPORTS = {
    "conv2d": "convcli.engine",
    "partial_sums": "convcli.engine",
    "output_shape": "convcli.engine",
    "pad_amounts": "convcli.engine",
    "param_count": "convcli.engine",
    "conv_geometry": "convcli.engine",
    "activate": "convcli.engine",
    "ConvcliError": "convcli.errors",
    "ConfigError": "convcli.errors",
    "ShapeError": "convcli.errors",
    "LoadError": "convcli.errors",
    "SaveError": "convcli.errors",
    "ResourceError": "convcli.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'convcli' has no attribute {name!r}")
