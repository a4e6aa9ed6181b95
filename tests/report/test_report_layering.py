"""report/ is a view: it lays out present/ and figure/'s scales with Pillow, never rich, typer or the CLI.

Asked of ruff as tests/test_layering.py asks it: one import in a file that does not exist, placed in
convcli/report/ (``--stdin-filename``), so that the folder's ruff.toml decides.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def ruff(code: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(exe).exists():
        pytest.skip("ruff is not installed (pip install '.[test]' brings it)")
    return subprocess.run([exe, "check", "--no-cache", "--select", "TID", "--stdin-filename",
                           "convcli/report/probe.py", "-"], input=code + "print(locals())\n",
                          capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("code", ["from rich.text import Text\n", "import typer\n",
                                  "from convcli.render import run\n", "from convcli.cli import app\n",
                                  "from convcli.verify import adapters\n"])
def test_report_may_not_import_a_terminal_view_or_the_cli(code: str):
    r = ruff(code)
    assert r.returncode == 1 and "TID251" in r.stdout, r.stdout


def test_report_may_import_pillow_present_and_figure():
    r = ruff("from PIL import Image\nfrom convcli.present import colour\nfrom convcli.figure.plan import Scale\n")
    assert r.returncode == 0, r.stdout
