"""--export .svg/.html is in colour whatever stdout is; stdout itself stays plain."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("suffix, mark", [(".svg", 'fill="#'), (".html", "background-color: #")])
def test_export_is_in_colour_with_stdout_a_file(tmp_path, suffix, mark):
    target = tmp_path / f"report{suffix}"
    out = tmp_path / "stdout.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLORTERM", "TERM")}
    env.update(COLUMNS="100", PYTHONPATH=str(ROOT))
    with out.open("w") as fh:
        subprocess.run([sys.executable, "-m", "convcli", "run", str(ROOT / "samples/grace_hopper.png"), "-f", "2",
                        "--view", "both", "--export", str(target)], stdout=fh, env=env, check=True, cwd=tmp_path)
    text = target.read_text()
    colours = {c for c in ("ffffff", "ffd7d7", "afd7ff", "d75f5f", "5f87d7") if f"#{c}" in text}
    assert mark in text and len(colours) >= 4, colours  # the palette's colours, not a plain page
    assert "\x1b[" not in out.read_text()  # what reached the file is plain
    assert "▀" in text and "▀" not in out.read_text()  # the export draws half-blocks, the file characters
