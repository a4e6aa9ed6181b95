"""The error for a model reader whose optional package is not installed (one module every reader imports,
so that none imports the package that dispatches to it)."""

from __future__ import annotations

from convcli.errors import LoadError

INSTALL = "pip install 'convcli[models]'"


def missing(package: str, fmt: str, install: str = INSTALL) -> LoadError:
    """The one-line error for an optional dependency that is not installed."""
    return LoadError(f"reading {fmt} files needs the {package} package: {install}")
