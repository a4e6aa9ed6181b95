"""``report --precision``: the pointed position in the format, beside float64, as ``run --precision --json`` gives it.

The page emulates the position from the input and kernels it holds (``report.js``); these tests open
it in chromium and compare each part with ``run --trace ROW,COL --precision P --json``'s window.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convcli.present.describe import fmt

from helpers import SAMPLES, invoke

SAMPLE = SAMPLES / "grace_hopper.png"
TEXTBOOK = (SAMPLES / "textbook.npy", "-k", "2", "--init", "ones", "--activation", "relu")


def build(tmp_path: Path, *args: object, name: str = "report.html") -> Path:
    out = tmp_path / name
    r = invoke("report", *args, "-o", out)
    assert r.exit_code == 0, r.output
    return out


def open_page(page: Any, path: Path, fragment: str = "") -> None:
    page.goto(path.as_uri() + fragment)
    page.wait_for_selector("body[data-ready='1']")


def click_output(page: Any, f: int, at: tuple[int, int], out_hw: tuple[int, int]) -> None:
    """Click output ``at`` on filter ``f``'s pre-activation map."""
    box = page.locator(f"section.filter[data-filter='{f}'] figure.big .frame").first.bounding_box()
    (r, c), (ho, wo) = at, out_hw
    page.mouse.click(box["x"] + (c + 0.5) / wo * box["width"], box["y"] + (r + 0.5) / ho * box["height"])


def shown(page: Any) -> dict[str, dict[str, float]]:
    """The precision table's numbers by row (``data-part``) and column (exact, emulated, error)."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#trace table.precision tbody tr')]
        .map(tr => [tr.dataset.part, Object.fromEntries([...tr.querySelectorAll('td[data-v]')]
            .map(td => [td.className, Number(td.dataset.v)]))]))""")


def run_window(*args: object, at: tuple[int, int], f: int) -> dict[str, Any]:
    """run's emulated output and error parts at ``at`` for filter ``f``."""
    r = invoke("run", *args, "--trace", f"{at[0]},{at[1]}", "--filter", str(f), "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    (r0, _), (c0, _) = doc["window"]["rows"], doc["window"]["cols"]
    i, j = at[0] - r0, at[1] - c0
    entry = next(e for e in doc["filters"] if e["index"] == f)
    e = entry["window_errors"]
    return {"output": entry["window_emulated_output"][i][j], "channels": [c[i][j] for c in e["channels"]],
            "bias": e["bias"], "accumulation": e["accumulation"][i][j], "rounding": e["output_rounding"][i][j],
            "trace": entry["trace"], "errors": doc["errors"]}


def test_the_textbook_in_bfloat16_shows_9984_39936_and_40448(tmp_path: Path, page: Any):
    path = build(tmp_path, *TEXTBOOK, "--precision", "bf16")
    open_page(page, path, "#filter=0&at=1,0")
    rows = shown(page)
    text = page.locator("#trace .emulation").inner_text()
    assert "10000 → 9984" in text
    assert rows["channel-2"] == {"exact": 40000, "emulated": 39936, "error": -64}
    assert rows["accumulation"]["emulated"] == 40340 and rows["output-rounding"] == {"emulated": 40448, "error": 108}
    assert rows["output"] == {"exact": 40404, "emulated": 40448, "error": 44}
    assert "the largest part: stored in bfloat16" in text
    run = run_window(*TEXTBOOK, "--precision", "bf16", at=(1, 0), f=0)
    assert run["output"] == rows["output"]["emulated"]
    assert [rows[f"channel-{c}"]["error"] for c in range(3)] == run["channels"]
    assert rows["output-rounding"]["error"] == run["rounding"] and rows["accumulation"]["error"] == run["accumulation"]
    # the whole layer's table, as run's error summary
    table = page.locator("section.precision table.errors")
    assert table.locator("tr.total td").first.inner_text() == fmt(run["errors"]["total"]["max_abs"]) == "44"
    assert "output rounding" in table.locator("tr.dominant").inner_text()


@pytest.mark.parametrize(("precision", "accumulate"), [("bf16", None), ("tf32", None), ("fp16", "fp16"), ("fp16", None)])
def test_a_clicked_cell_of_the_photo_gives_runs_emulated_numbers(tmp_path: Path, page: Any, precision: str,
                                                                 accumulate: str | None):
    args = (SAMPLE, "-f", "2", "--init", "random", "--seed", "3", "--bias", "0.3,-0.7", "--activation", "tanh",
            "--precision", precision, *(("--accumulate", accumulate) if accumulate else ()))
    path = build(tmp_path, *args)
    open_page(page, path)
    at = (40, 60)
    click_output(page, 0, at, (148, 126))  # a click, then the filter list
    page.select_option("#filter", "1")
    rows = shown(page)
    run = run_window(*args, at=at, f=1)
    scale = float(np.abs(run["trace"]["products"]).sum()) + 0.7
    got = [rows[f"channel-{c}"]["error"] for c in range(3)]
    np.testing.assert_allclose(got, run["channels"], rtol=0, atol=1e-12 * scale)  # float64 sums of the same products
    assert rows["bias"]["error"] == pytest.approx(run["bias"], abs=1e-15)
    if accumulate == "fp16":  # the engine's own order: the same roundings, the same numbers
        assert rows["accumulation"]["error"] == pytest.approx(run["accumulation"], abs=1e-12 * scale)
        assert rows["output"]["emulated"] == run["output"]
    else:  # BLAS's order: within float32's 2γ(n)Σ|x·w| and one more rounding of the stored result
        n = 27
        gamma = n * 2.0**-24 / (1 - n * 2.0**-24)
        assert abs(rows["accumulation"]["error"] - run["accumulation"]) <= 2 * gamma * scale
        eps = {"bf16": 2.0**-7, "tf32": 2.0**-23, "fp16": 2.0**-10}[precision]
        assert abs(rows["output"]["emulated"] - run["output"]) <= eps * max(1.0, abs(run["output"]))


def test_clicking_moves_the_precision_panel_and_an_unheld_position_has_none(tmp_path: Path, page: Any):
    args = (SAMPLE, "-f", "2", "--precision", "bf16")
    path = build(tmp_path, *args)
    open_page(page, path)
    click_output(page, 0, (10, 20), (148, 126))
    assert "output (10, 20)" in page.locator("#trace .emulation h3").inner_text()
    big = build(tmp_path, SAMPLE, "-f", "1", "--precision", "bf16", "--data-budget", "0.01", name="small.html")
    open_page(page, big, "#filter=0&at=0,0")
    assert page.locator("#trace .unheld").count() == 1 and page.locator("#trace .emulation").count() == 0


def test_a_precision_the_page_cannot_take_is_a_usage_error(tmp_path: Path):
    r = invoke("report", SAMPLE, "--precision", "tf32", "--accumulate", "fp16", "-o", tmp_path / "r.html")
    assert r.exit_code == 2 and "--accumulate" in r.output and not (tmp_path / "r.html").exists()
    r = invoke("report", SAMPLE, "--precision", "bf17", "-o", tmp_path / "r.html")
    assert r.exit_code == 2 and "--precision" in r.output


def test_the_error_table_names_channels_as_run_does(tmp_path: Path):
    """Channel names for a plain layer; for a grouped one the summary's parts are positions within a
    group, so their indices (as run's table)."""
    import re

    page = build(tmp_path, SAMPLE, "-f", "2", "--precision", "tf32").read_text()
    assert re.findall(r"<tr class=\"[^\"]*\"><th>(channel [^<]*)</th>", page) == ["channel R", "channel G", "channel B"]
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(1).normal(size=(9, 9, 4)).astype(np.float32))
    grouped = build(tmp_path, x, "-f", "2", "--groups", "2", "--precision", "bf16", name="g.html").read_text()
    assert re.findall(r"<tr class=\"[^\"]*\"><th>(channel [^<]*)</th>", grouped) == ["channel 0", "channel 1"]
