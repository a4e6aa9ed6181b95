"""convcli: see what a convolution layer does to the channels of an image.

The public API is re-exported here lazily, so that ``convcli --help`` does not pay for numpy; type
checkers see the real functions through the ``TYPE_CHECKING`` imports below (the package ships
``py.typed``), so ``from convcli import conv2d`` types as the function it is.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convcli.engine.activations import activate as activate
    from convcli.engine.bind import param_count as param_count
    from convcli.engine.conv import conv2d as conv2d
    from convcli.engine.conv import partial_sums as partial_sums
    from convcli.errors import ConfigError as ConfigError
    from convcli.errors import ConvcliError as ConvcliError
    from convcli.errors import LoadError as LoadError
    from convcli.errors import ResourceError as ResourceError
    from convcli.errors import SaveError as SaveError
    from convcli.errors import ShapeError as ShapeError
    from convcli.layer.geometry import conv_geometry as conv_geometry
    from convcli.layer.geometry import output_shape as output_shape
    from convcli.layer.geometry import pad_amounts as pad_amounts
    from convcli.pipeline.explore import Exploration as Exploration
    from convcli.pipeline.explore import explore as explore

_EXPORTS = {
    "explore": "convcli.pipeline.explore",
    "Exploration": "convcli.pipeline.explore",
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
