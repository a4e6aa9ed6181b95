"""Start-up stays lazy: what `import convcli.cli` and `convcli --help` import, not how long they take.

Each check runs in a fresh interpreter, since this test process has long imported everything. The
timings themselves are in benchmarks/bench_startup.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Modules that only the commands that compute need (numpy, Pillow and what imports them), and the
#: heavy rich and Typer modules that help never renders.
HEAVY = ("numpy", "PIL", "pydantic", "importlib.metadata", "rich.markdown", "rich.traceback",
         *(f"convcli.{m}" for m in ("engine", "render", "load", "fastconv", "frameworks", "kernels", "counts",
                                    "explain", "compare", "save", "render_verify", "reference")))

#: Runs `convcli ARGS...` in-process, then prints the imported modules after a marker line.
RUN_CLI = """
import sys
from convcli.cli import app
sys.argv = ["convcli", *sys.argv[1:]]
try:
    app()
except SystemExit:
    pass
print("--modules--")
print("\\n".join(sorted(sys.modules)))
"""


def python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1", **(env or {})}, timeout=60)
    assert out.returncode == 0, out.stderr
    return out


def heavy_among(modules: list[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_importing_the_cli_imports_nothing_heavy():
    out = python("-c", "import convcli.cli, sys; print('\\n'.join(sorted(sys.modules)))")
    assert heavy_among(out.stdout.split()) == []


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["params", "--help"], ["run"]],
                         ids=" ".join)
def test_help_imports_nothing_heavy(args: list[str]):
    out = python("-c", RUN_CLI, *args)
    shown, modules = out.stdout.split("--modules--\n")
    assert "Usage: convcli" in shown
    assert heavy_among(modules.split()) == []


def test_help_reads_the_same_with_typers_real_rich_imports():
    """The help drawn with stand-ins for rich's Markdown and Traceback equals the help drawn without."""
    lean = python("-c", RUN_CLI, "run", "--help").stdout
    full = python("-c", "import rich.markdown, rich.traceback\n" + RUN_CLI, "run", "--help").stdout
    assert lean.split("--modules--")[0] == full.split("--modules--")[0]
    assert "rich.markdown" in full.split("--modules--")[1].split()  # so the stand-ins were not used


def test_stand_ins_are_the_real_rich_classes_when_used():
    code = """
from convcli.cli.startup import import_lean_rich_utils
import_lean_rich_utils()
import typer.rich_utils as ru
from typer.models import DeveloperExceptionConfig
assert "rich.markdown" not in __import__("sys").modules
md = ru._make_rich_text(text="**bold**", style="", markup_mode="markdown")
try:
    1 / 0
except ZeroDivisionError as exc:
    tb = ru.get_traceback(exc, DeveloperExceptionConfig(pretty_exceptions_show_locals=False), [])
import rich.markdown, rich.traceback
assert type(md) is rich.markdown.Markdown, type(md)
assert type(tb) is rich.traceback.Traceback, type(tb)
"""
    python("-c", code)


def test_version_is_the_package_metadata():
    out = python("-c", RUN_CLI, "--version")
    shown, modules = out.stdout.split("--modules--\n")
    assert shown == f"convcli {version('convcli')}\n"
    assert "numpy" not in modules.split()


def test_version_attribute_is_lazy_and_right():
    import convcli

    assert convcli.__version__ == version("convcli")
    assert "__version__" in convcli.__all__
    out = python("-c", "import convcli, sys; print('importlib.metadata' in sys.modules, convcli.__version__)")
    assert out.stdout.split() == ["False", version("convcli")]


ASK_NUMPY = RUN_CLI.replace('print("--modules--")', """import numpy as np
print("advice", np._core.multiarray._set_madvise_hugepage(True))
print("--modules--")""")


@pytest.mark.parametrize(("env", "advice"), [({}, "False"), ({"NUMPY_MADVISE_HUGEPAGE": "1"}, "True")],
                         ids=["default", "user-says-1"])
def test_commands_turn_numpys_hugepage_advice_off_unless_the_user_set_it(env: dict[str, str], advice: str):
    """numpy reads NUMPY_MADVISE_HUGEPAGE when imported, after the CLI started; the user's value wins."""
    clean = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    out = subprocess.run([sys.executable, "-c", ASK_NUMPY, "params", "--in-channels", "3", "--filters", "1", "--kernel-size", "3"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60,
                         env={**clean, "COLUMNS": "100", "NO_COLOR": "1", **env})
    assert out.returncode == 0, out.stderr
    assert "parameters" in out.stdout and f"advice {advice}" in out.stdout
