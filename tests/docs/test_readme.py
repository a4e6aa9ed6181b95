"""The README's Quickstart works as written: its one-line install runs the command whose output is
pasted under it (that output itself is checked with every other in test_pasted_outputs.py)."""

from __future__ import annotations

import os

from helpers import ROOT, invoke


def test_readme_quickstart_output_is_true():
    """The output pasted under the Quickstart is what the command prints at 100 columns."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("\n", 1)[1] for b in section.split("```")[1::2]]  # without the language tag
    commands = [b for b in blocks if "convcli run" in b and "pip install" in b]
    assert commands, "the Quickstart must install and run convcli in one command"
    cmd = commands[0].strip().splitlines()[-1]
    run_args = cmd.split("convcli run", 1)[1].split()
    pasted = next(b for b in blocks if "convcli run" in b and "╭" in b and "pip install" not in b)
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        r = invoke("run", *run_args)
    finally:
        os.chdir(cwd)
    assert r.exit_code == 0, r.output
    want = [line.rstrip() for line in pasted.strip("\n").splitlines() if line.strip()]
    got = [line.rstrip() for line in r.stdout.splitlines() if line.strip()]
    assert want[0] == f"$ {cmd.split('&& ')[-1]}"  # the pasted block starts with the prompt line
    assert got == want[1:]


def test_readme_links_to_every_docs_page():
    """The README is the way in: each page of docs/ is one click away."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))
    assert [p for p in pages if f"]({p})" not in text and p != "docs/index.md"] == []
