"""Rewrite every pasted output in README.md and docs/**/*.md with what the command prints now.

Usage: python docs/paste.py [FILE.md ...]   (default: README.md and every page under docs/)

A pasted output is a fenced block that opens with a console fence and whose first line is
``$ convcli ARGS`` followed by output lines. The command runs in-process as the tests run it
(``tests/docs/test_pasted_outputs.py``): 100 columns, no colour, from the repository root. A comment
on the line before the fence says what the output needs, for example::

    <!-- needs: torch keras scipy; not: tensorflow jax; env: KERAS_BACKEND=torch -->
    <!-- exit: 1 -->            (the output is stderr, and the command exits 1)

``env:`` sets environment variables (``NAME=VALUE``, separated by spaces) while the command runs.

A block whose needs this environment does not meet is left as it is (and named on stderr). Run it
after a deliberate change of a screen, then review the diff: nobody pastes by hand.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FENCE = "```"
PROMPT = "$ convcli "
MARKER = re.compile(r"^<!--\s*(.*?)\s*-->$")
COLUMNS = 100


@dataclass
class Block:
    """One pasted output: where it is, its command and the output lines pasted under it."""

    path: Path
    line: int  #: 1-based line of the command (``$ convcli ...``)
    command: str  #: the command line without ``$ ``
    output: list[str]  #: the pasted lines, as written
    needs: list[str] = field(default_factory=list)  #: modules that must be importable
    excludes: list[str] = field(default_factory=list)  #: modules that must not be
    exit_code: int = 0  #: the expected exit status; not 0: the output is stderr
    env: dict[str, str] = field(default_factory=dict)  #: environment variables set for the command

    @property
    def args(self) -> list[str]:
        return shlex.split(self.command.removeprefix("convcli "))

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    """README.md and every Markdown page of the docs, in a fixed order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _marker(line: str) -> dict[str, str]:
    """``<!-- needs: a b; not: c; exit: 1 -->`` as ``{"needs": "a b", "not": "c", "exit": "1"}``."""
    m = MARKER.match(line.strip())
    if not m:
        return {}
    parts = (p.split(":", 1) for p in m.group(1).split(";") if ":" in p)
    return {k.strip(): v.strip() for k, v in parts}


def blocks(path: Path) -> Iterator[tuple[Block, int, int]]:
    """Each pasted output of ``path`` with the 0-based line span of its output ``[start, stop)``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == FENCE + "console" and i + 1 < len(lines) and lines[i + 1].startswith(PROMPT):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == FENCE), len(lines))
            output = lines[i + 2:end]
            # a block of commands only (each line a prompt) shows no output: nothing to check
            if any(not line.startswith("$ ") for line in output):
                marker = _marker(lines[i - 1]) if i > 0 else {}
                env = dict(item.split("=", 1) for item in marker.get("env", "").split())
                yield Block(path, i + 2, lines[i + 1][2:], output, marker.get("needs", "").split(),
                            marker.get("not", "").split(), int(marker.get("exit", "0")), env), i + 2, end
            i = end
        i += 1


def all_blocks(paths: list[Path] | None = None) -> list[Block]:
    return [b for p in (paths or pages()) for b, _, _ in blocks(p)]


def unmet(block: Block) -> str | None:
    """Why this environment cannot make ``block``'s output, or None when it can."""
    missing = [m for m in block.needs if importlib.util.find_spec(m) is None]
    present = [m for m in block.excludes if importlib.util.find_spec(m) is not None]
    if missing:
        return f"needs {', '.join(missing)}"
    if present:
        return f"made without {', '.join(present)}"
    return None


def run(block: Block) -> tuple[int, str]:
    """``block``'s command in-process from the repository root: its exit code and what it printed
    (stdout, or stderr when the block expects a failure)."""
    from typer.testing import CliRunner

    from convcli.cli import app

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        r = CliRunner().invoke(app, block.args, env={**block.env, "COLUMNS": str(COLUMNS), "NO_COLOR": "1"})
    finally:
        os.chdir(cwd)
    return r.exit_code, r.stdout if block.exit_code == 0 else r.stderr


def paste(path: Path) -> int:
    """Rewrite ``path``'s pasted outputs; the number of blocks rewritten."""
    lines = path.read_text(encoding="utf-8").splitlines()
    spans = list(blocks(path))
    done = 0
    for block, start, stop in reversed(spans):  # from the end, so earlier spans keep their lines
        why = unmet(block)
        if why:
            print(f"{block.id}: left as it is ({why})", file=sys.stderr)
            continue
        code, out = run(block)
        if code != block.exit_code:
            raise SystemExit(f"{block.id}: `{block.command}` exited {code}, not {block.exit_code}:\n{out}")
        lines[start:stop] = [line.rstrip() for line in out.rstrip("\n").splitlines()]
        done += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return done


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    for path in [Path(a).resolve() for a in argv] or pages():
        print(f"{path.relative_to(ROOT)}: {paste(path)} pasted")


if __name__ == "__main__":
    main(sys.argv[1:])
