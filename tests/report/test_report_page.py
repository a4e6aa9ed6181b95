"""The report as a file: one self-contained page, within its size, holding exactly what it says it holds."""

from __future__ import annotations

import base64
import html
import itertools
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli import engine
from convcli.report import build_report
from convcli.report.held import DATA_BUDGET, as_bytes, exact_span, held_numbers
from convcli.report.model import PANEL_LIMIT
from convcli.report.page import script_json

from helpers import SAMPLES, invoke, textbook_result

SAMPLE = SAMPLES / "grace_hopper.png"


class Refs(HTMLParser):
    """Every src and href of a page, its script tags' attributes and its <img> sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.images: list[tuple[int, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.refs += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "action", "poster")]
        if tag == "script":
            self.scripts.append(a)
        if tag == "img":
            self.images.append((int(a["width"] or 0), int(a["height"] or 0)))


def parsed(path: Path) -> tuple[str, Refs]:
    text = path.read_text(encoding="utf-8")
    refs = Refs()
    refs.feed(text)
    return text, refs


def build(tmp_path: Path, *args: object) -> Path:
    out = tmp_path / "report.html"
    r = invoke("report", *args, "-o", out)
    assert r.exit_code == 0, r.output
    return out


def test_the_page_is_one_file_that_refers_to_nothing_outside(tmp_path: Path):
    path = build(tmp_path, SAMPLE, "-f", "4", "--activation", "relu")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    text, refs = parsed(path)
    assert refs.refs and all(r.startswith("data:image/png;base64,") for r in refs.refs), refs.refs
    assert not re.search(r"https?://|//cdn|<link\b|@import|url\(", text)
    assert all("src" not in s for s in refs.scripts)  # every script inline


def test_the_sample_page_stays_small(tmp_path: Path):
    path = build(tmp_path, SAMPLE, "-f", "4")
    assert path.stat().st_size < 1_000_000


def test_a_photo_larger_than_the_panels_is_drawn_as_block_means_and_held_in_part(tmp_path: Path):
    big = tmp_path / "big.png"
    Image.open(SAMPLE).resize((1200, 1400), Image.Resampling.BICUBIC).save(big)
    path = build(tmp_path, big, "-f", "4")
    text, refs = parsed(path)
    assert refs.images and max(max(wh) for wh in refs.images) <= PANEL_LIMIT
    assert path.stat().st_size < 5_000_000
    assert "larger than this page's budget" in html.unescape(text)  # 1200×1400×3 bytes > 2.5 MB: said on the page


def test_an_image_is_held_as_bytes_and_fractions_in_the_compute_dtype():
    x = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    stored = as_bytes(x)
    assert stored is not None and stored.dtype == np.uint8 and np.array_equal(stored, x)
    for y in (x + 0.5, x - 1, x * 20, np.where(x == 3, np.nan, x)):  # fractions, negatives, beyond 255, NaN
        assert as_bytes(y) is None
    layer = engine.prepare(x + 0.5, np.ones((1, 1, 3, 1), np.float32))
    assert held_numbers(layer, np.zeros(1, np.float32), [0]).data["x"]["type"] == "f32"


def test_the_commands_default_budget_is_the_pages():
    from convcli.cli.report import DATA_BUDGET_MB

    assert DATA_BUDGET_MB * 1e6 == DATA_BUDGET


@pytest.mark.parametrize(("stride", "pad", "k", "dilation"), [(1, 0, 3, 1), (2, 1, 3, 1), (1, 2, 5, 2), (3, 0, 1, 1)])
def test_the_exact_span_is_where_every_tap_inside_the_input_is_held(stride: int, pad: int, k: int, dilation: int):
    in_n = 40
    out_n = (in_n + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    for held in itertools.combinations(range(0, in_n + 1, 7), 2):
        want = [o for o in range(out_n)
                if all(not 0 <= o * stride - pad + i * dilation < in_n or held[0] <= o * stride - pad + i * dilation < held[1]
                       for i in range(k))]
        got = exact_span(out_n, in_n, held, stride, pad, k, dilation)
        assert list(range(*got)) == want


def test_the_held_input_fits_the_budget_around_the_position():
    x = np.random.default_rng(0).integers(0, 256, size=(300, 200, 3)).astype(np.float32)
    layer = engine.prepare(x, np.ones((3, 3, 3, 2), np.float32))
    held = held_numbers(layer, np.zeros(2, np.float32), [0, 1], budget=30_000, at=(250, 20))
    (r0, r1), (c0, c1) = held.rows, held.cols
    assert (r1 - r0) * (c1 - c0) * 3 + layer.kernel.nbytes <= 30_000
    assert r0 <= 250 < r1 - 2 and c0 <= 20 < c1 - 2  # the taps of (250, 20) are held
    raw = base64.b64decode(held.data["x"]["b64"])
    assert np.array_equal(np.frombuffer(raw, np.uint8).reshape(r1 - r0, c1 - c0, 3), x[r0:r1, c0:c1])
    assert held.note and f"rows {r0}–{r1 - 1}" in held.note
    whole = held_numbers(layer, np.zeros(2, np.float32), [1], budget=10**9)
    assert whole.note is None and whole.rows == (0, 300) and whole.data["kernel"]["shape"] == [3, 3, 3, 1]


def test_text_from_files_cannot_become_markup():
    assert script_json({"name": "</script><script>alert(1)</script>"}).count("<") == 0
    info, result = textbook_result()
    from dataclasses import replace

    info = replace(info, path="<img src=x onerror=alert(1)>.npy", channel_names=("<b>", "G&", "B"))
    page = build_report(result, info, "valid", "--init ones", [0])
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;.npy" in page
    assert "<b>" not in page
    data = re.search(r'<script type="application/json" id="convcli-data">(.*?)</script>', page, re.S)
    assert data is not None and json.loads(data.group(1))["geometry"]["names"] == ["<b>", "G&", "B"]


def test_the_command_needs_a_page_to_write_and_never_replaces_one_unasked(tmp_path: Path):
    r = invoke("report", SAMPLE)
    assert r.exit_code == 2 and "-o FILE.html" in r.output
    (tmp_path / "old.html").write_text("keep")
    r = invoke("report", SAMPLE, "-o", tmp_path / "old.html")
    assert r.exit_code == 1 and "--force" in r.output
    assert (tmp_path / "old.html").read_text() == "keep"
    r = invoke("report", SAMPLE, "-o", tmp_path / "page.txt")
    assert r.exit_code != 0 and ".html" in r.output
    r = invoke("report", SAMPLE, "-o", tmp_path / "p.html", "--at", "500,1")
    assert r.exit_code == 1 and "outside" in r.output and not (tmp_path / "p.html").exists()
