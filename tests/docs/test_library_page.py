"""The library page's Python examples run as written (their asserts are the checks)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "library.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples():
    assert len(BLOCKS) >= 2 and any("convcli.explore" in b for b in BLOCKS)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_an_example_runs(code: str, monkeypatch: pytest.MonkeyPatch):
    if "edges.keras" in code:
        pytest.importorskip("h5py")
    monkeypatch.chdir(ROOT)  # the examples name samples/ as a reader in the repository would
    exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_example", "os": os})
