"""Every pasted output in README.md and docs/ is what its command prints now.

A pasted output is a console block whose first line is ``$ convcli ...`` (``docs/paste.py`` finds
them, and rewrites them after a deliberate change). Each runs in-process at 100 columns without
colour, from the repository root, with the environment variables its marker sets, and its stdout
(stderr for a block marked ``exit: N``) is compared line by line. Version numbers are masked; a
block made with optional frameworks is skipped, with the reason, where they are missing (or, for
``not:``, present).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from helpers import ROOT, invoke


def _paste_module():
    spec = importlib.util.spec_from_file_location("convcli_docs_paste", ROOT / "docs" / "paste.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


paste = _paste_module()
BLOCKS = paste.all_blocks()

# 2.13.0+cpu, 3.15.1: never 6.1e-05 or 1.3e-07
VERSION = re.compile(r"(?<![\w.])\d+\.\d+\.\d+(?:[+\w.-]*\w)?(?= |\)|$)")


def masked(lines: list[str], *, spaces: bool) -> list[str]:
    """Lines without trailing blanks and with version numbers masked; with ``spaces``, runs of spaces
    made one too: a table's columns widen with the frameworks' versions, nothing else may differ."""
    out = [VERSION.sub("V", line.rstrip()) for line in lines]
    return [re.sub(r" +", " ", line) for line in out] if spaces else out


def test_the_docs_have_pasted_outputs() -> None:
    """The finder finds the blocks: the Quickstart's and each command page's."""
    files = {b.path.relative_to(ROOT).as_posix() for b in BLOCKS}
    assert "README.md" in files
    for page in ("run", "verify", "params", "layers", "explain"):
        assert f"docs/commands/{page}.md" in files
    assert BLOCKS[0].command.startswith("convcli run samples/textbook.npy")


def test_a_marker_names_what_a_block_needs(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("text\n<!-- needs: torch keras; not: jax; exit: 1; env: A=1 B=x=y -->\n```console\n$ convcli run x\n"
                    "Error: x\n```\n\n```console\n$ convcli run a\n$ convcli run b\n```\n", encoding="utf-8")
    found = [b for b, _, _ in paste.blocks(page)]
    assert len(found) == 1  # a block of commands only has no output to check
    b = found[0]
    assert (b.line, b.args, b.output) == (4, ["run", "x"], ["Error: x"])
    assert (b.needs, b.excludes, b.exit_code, b.env) == (["torch", "keras"], ["jax"], 1, {"A": "1", "B": "x=y"})


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_pasted_output_is_what_the_command_prints(block, monkeypatch: pytest.MonkeyPatch) -> None:
    why = paste.unmet(block)
    if why:
        pytest.skip(f"{block.id} is made in another environment: {why}")
    monkeypatch.chdir(ROOT)
    for name, value in block.env.items():
        monkeypatch.setenv(name, value)
    r = invoke(*block.args)
    assert r.exit_code == block.exit_code, r.output
    got = (r.stdout if block.exit_code == 0 else r.stderr).rstrip("\n").splitlines()
    spaces = bool(block.needs)  # versions of optional frameworks set column widths
    assert masked(got, spaces=spaces) == masked(block.output, spaces=spaces)
