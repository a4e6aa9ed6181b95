"""docs/results.md documents `run --json` field by field: every key the command writes is in its
tables, and every key in its tables is one the command writes."""

from __future__ import annotations

import json
import re

import pytest

from helpers import ROOT, invoke

PAGE = ROOT / "docs" / "results.md"


def documented(section: str) -> set[str]:
    """The keys named in the first column of the table under ``### section`` of the page."""
    text = PAGE.read_text(encoding="utf-8")
    body = text.split(f"\n### {section}\n", 1)[1].split("\n#", 1)[0]
    keys: set[str] = set()
    for row in body.splitlines()[2:]:
        if row.startswith("| ") and not row.startswith("|---"):
            keys |= set(re.findall(r"`([a-z_]+)`", row.split(" | ")[0]))
    return keys


@pytest.fixture(scope="module")
def doc() -> dict:
    r = invoke("run", ROOT / "samples" / "textbook.npy", "-k", "2", "--init", "ones", "--activation", "relu",
               "--trace", "0,0", "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_every_top_level_key_is_documented(doc: dict) -> None:
    tables = documented("The whole layer") | documented("With other options") | {"input", "layer", "filters"}
    assert set(doc) <= tables
    assert documented("The whole layer") <= set(doc)


@pytest.mark.parametrize("section, path", [
    ("`input`", ("input",)),
    ("`layer`", ("layer",)),
    ("`filters`: one object per filter shown in detail", ("filters", 0)),
    ("`trace` (with `--trace ROW,COL`)", ("filters", 0, "trace")),
])
def test_each_object_is_documented_key_by_key(doc: dict, section: str, path: tuple) -> None:
    obj = doc
    for step in path:
        obj = obj[step]
    assert set(obj) == documented(section)


def test_the_window_is_spelt_as_on_screen_and_as_documented(doc: dict) -> None:
    """The screen says "rows 0–1" for the textbook's 2×2 output; the JSON says [0, 1], and the page says so."""
    assert doc["window"] == {"rows": [0, 1], "cols": [0, 1]}
    assert '`"rows": [0, 1]` is what the screen prints as "rows 0–1"' in PAGE.read_text(encoding="utf-8")


def test_precision_keys_are_documented() -> None:
    r = invoke("run", ROOT / "samples" / "textbook.npy", "-k", "2", "--init", "ones", "--activation", "relu",
               "--precision", "bf16", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    tables = documented("The whole layer") | documented("With other options") | {"input", "layer", "filters"}
    assert set(doc) <= tables
    emulated = documented("With `--precision`: each filter's emulated window")
    assert set(doc["filters"][0]) == documented("`filters`: one object per filter shown in detail") - {"trace"} | emulated
    assert set(doc["filters"][0]["window_errors"]) == {"channels", "bias", "accumulation", "output_rounding"}
    assert set(doc["errors"]) == documented("`errors` (with `--precision`)")
