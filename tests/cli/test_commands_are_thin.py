"""The command line is a thin client of the pipeline: short functions, a short ``run`` command module."""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[2] / "convcli" / "cli"


def long_functions(source: str, limit: int) -> list[tuple[str, int]]:
    """``(name, lines)`` of every function in ``source`` longer than ``limit`` lines."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
            if lines > limit:
                found.append((node.name, lines))
    return found


def test_the_checker_finds_a_long_function():
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    assert long_functions(f"def f():\n{body}\n", 60) == [("f", 62)]
    assert long_functions("def g():\n    return 1\n", 60) == []


def test_no_function_in_cli_is_over_60_lines():
    found = {p.name: long_functions(p.read_text(encoding="utf-8"), 60) for p in sorted(CLI.glob("*.py"))}
    assert {name: f for name, f in found.items() if f} == {}


def test_the_run_command_module_is_short():
    assert len((CLI / "run.py").read_text(encoding="utf-8").splitlines()) < 150
