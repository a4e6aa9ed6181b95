"""Shared pytest set-up: the ``--update-snapshots`` option and fixtures over tests/helpers.py.

Being at the root of tests/, this file also puts tests/ on ``sys.path`` (pytest's default
``prepend`` import mode), so every test module, in whatever folder, can ``import helpers``,
``oracle`` and ``strategies``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import helpers


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots", action="store_true", default=False,
        help="rewrite tests/snapshots/ from what the renderers print now, instead of comparing (review the diff)",
    )


def pytest_configure(config: pytest.Config) -> None:
    helpers.UPDATE_SNAPSHOTS = bool(config.getoption("--update-snapshots"))


@pytest.fixture
def snapshot() -> Callable[[str, str], None]:
    """``snapshot(name, text)``: compare ``text`` with tests/snapshots/NAME (or rewrite it when updating)."""
    return helpers.check_snapshot


@pytest.fixture
def cli() -> Callable[..., object]:
    """``cli(*args, columns=100)``: ``convcli ARGS...`` through Typer's CliRunner, without colour."""
    return helpers.invoke


@pytest.fixture
def textbook(tmp_path: Path) -> Path:
    """The textbook input as an .npy file: a 3×3 image whose channels hold 1, 100 and 10000."""
    x = np.stack([np.full((3, 3), v, dtype=np.float32) for v in (1, 100, 10000)], axis=-1)
    p = tmp_path / "textbook.npy"
    np.save(p, x)
    return p


@pytest.fixture(autouse=True)
def _own_model_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own empty cache of models' layer inputs (convcli.pipeline.cache): none writes the
    user's ~/.cache, and none reads what another test's framework computed."""
    monkeypatch.setenv("CONVCLI_CACHE_DIR", str(tmp_path_factory.mktemp("convcli-cache")))
