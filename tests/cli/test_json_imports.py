"""`--json` prints data: the commands' JSON paths import no rich (and no Pillow), the screens do.

Each command runs in a fresh interpreter (this test process has long imported everything), in
process there, so that ``sys.modules`` afterwards holds what the command imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Runs `convcli ARGS...` in-process, then writes the imported modules to stderr after a marker line.
RUN_CLI = """
import sys
from convcli.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
print("--modules--", *sorted(sys.modules), sep="\\n", file=sys.stderr)
"""


def run_cli(*args: str) -> tuple[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", RUN_CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", "NO_COLOR": "1"})
    assert out.returncode == 0, out.stderr
    return out.stdout, out.stderr.split("--modules--\n", 1)[1].split()


def among(modules: list[str], *tops: str) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in tops)


@pytest.mark.parametrize(
    "args",
    [
        ("run", "samples/textbook.npy", "-k", "2", "--json"),
        ("run", "samples/textbook.npy", "-k", "2", "--trace", "1,1", "--json"),
        ("params", "-c", "3", "-f", "8", "--input-size", "32,32", "--json"),
        ("params", "--stack", "conv 8 k3, dw k3", "--input-size", "9,9,3", "--json"),
    ],
)
def test_json_paths_import_no_rich(args):
    stdout, modules = run_cli(*args)
    json.loads(stdout)  # the command did print its JSON
    assert among(modules, "rich", "PIL") == []
    assert [m for m in modules if m.startswith(("convcli.render", "convcli.figure"))] == []


def test_the_screen_path_does_import_rich():
    """The check above can fail: the same command without --json renders with rich."""
    _, modules = run_cli("run", "samples/textbook.npy", "-k", "2")
    assert "rich.console" in modules and "convcli.render.run" in modules
