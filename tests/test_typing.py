"""The layer spec and the engine type-check under ``mypy --strict`` (pyproject holds the same flags
for them, so a plain ``mypy convcli`` keeps them so too)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _mypy() -> str:
    mypy = shutil.which("mypy") or str(Path(sys.executable).with_name("mypy"))
    if not Path(mypy).exists():
        pytest.skip("mypy is not installed (pip install '.[dev]')")
    return mypy


def test_layer_and_engine_pass_mypy_strict():
    # the modules they import (the package's lazy API names the pipeline) are read, not judged here
    r = subprocess.run([_mypy(), "--strict", "--follow-imports=silent", "convcli/layer", "convcli/engine"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr

