"""Fixtures of the explorer's tests: the sample's exploration (computed once) and Textual's snapshots.

The project's own ``snapshot`` fixture (tests/conftest.py, text snapshots) shadows syrupy's, which
``pytest-textual-snapshot``'s ``snap_compare`` is built on: here it is syrupy's again.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

import convcli

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "grace_hopper.png"
#: The layer of every explorer test: the README's first example.
OPTIONS = {"filters": 4, "activation": "relu"}


T = TypeVar("T")


def run_in_thread(fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """``fn(*args, **kw)`` in a thread of its own, for its own asyncio event loop: Playwright's sync API
    (the report's browser tests, earlier in the same session) leaves one running in the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kw).result()


@pytest.fixture
def in_thread() -> Callable[..., Any]:
    """:func:`run_in_thread`: what drives a Textual app in a test."""
    return run_in_thread


@pytest.fixture(scope="session")
def explored() -> convcli.Exploration:
    return convcli.explore(SAMPLE, **OPTIONS)


@pytest.fixture
def snapshot(request: pytest.FixtureRequest):  # noqa: ANN201  (syrupy's type, imported only here)
    syrupy = pytest.importorskip("syrupy")
    from syrupy.extensions.amber import AmberSnapshotExtension
    from syrupy.location import PyTestLocation

    return syrupy.SnapshotAssertion(update_snapshots=request.config.option.update_snapshots,
                                    extension_class=AmberSnapshotExtension, test_location=PyTestLocation(request.node),
                                    session=request.session.config._syrupy)
