"""The public API: ``from convcli import conv2d`` gives the engine's function, lazily at run time and
as the real function to a type checker (the TYPE_CHECKING imports in ``convcli/__init__.py``)."""

from __future__ import annotations

import ast
import importlib
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import convcli

ROOT = Path(__file__).resolve().parents[1]


def type_checking_imports() -> dict[str, str]:
    """``name -> module`` of every import under ``if TYPE_CHECKING:`` in convcli/__init__.py."""
    tree = ast.parse((ROOT / "convcli" / "__init__.py").read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module
                for alias in imp.names:
                    found[alias.asname or alias.name] = imp.module
    return found


def test_every_public_name_is_typed_from_the_module_that_serves_it():
    typed = type_checking_imports()
    exported = {n for n in convcli.__all__ if n != "__version__"}
    assert set(typed) == exported
    for name, module in typed.items():
        obj = getattr(convcli, name)
        assert obj is getattr(importlib.import_module(module), name), name
        if inspect.isfunction(obj):
            assert obj.__module__ == module, name


def test_conv2d_types_as_a_function():
    mypy = shutil.which("mypy") or str(Path(sys.executable).with_name("mypy"))
    if not Path(mypy).exists():
        pytest.skip("mypy is not installed (pip install '.[dev]')")
    code = "from convcli import conv2d, pad_amounts\nreveal_type(conv2d)\nreveal_type(pad_amounts)\n"
    r = subprocess.run([mypy, "--no-incremental", "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert 'Revealed type is "def (x: numpy.ndarray' in r.stdout, r.stdout
    assert "-> tuple[int, int, int, int]" in r.stdout, r.stdout


def test_the_package_ships_py_typed():
    assert (ROOT / "convcli" / "py.typed").is_file()
    assert 'convcli = ["py.typed"]' in (ROOT / "pyproject.toml").read_text()
