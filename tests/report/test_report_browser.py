"""The report in a real browser: pointing at an output position shows `run --trace ROW,COL --json`'s numbers.

Each page is built by ``convcli report`` and opened from disk (``file://``) in chromium.
"""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import SAMPLES, invoke, page_trace

SAMPLE = SAMPLES / "grace_hopper.png"


def build(tmp_path: Path, *args: object, name: str = "report.html") -> Path:
    out = tmp_path / name
    r = invoke("report", *args, "-o", out)
    assert r.exit_code == 0, r.output
    return out


def run_trace(*args: object, at: tuple[int, int], filters: str) -> dict[int, dict[str, Any]]:
    """``run ARGS --trace ROW,COL --filter FILTERS --json``: each filter's trace."""
    r = invoke("run", *args, "--trace", f"{at[0]},{at[1]}", "--filter", filters, "--json")
    assert r.exit_code == 0, r.output
    return {f["index"]: f["trace"] for f in json.loads(r.stdout)["filters"]}


def open_page(page: Any, path: Path, fragment: str = "") -> None:
    page.goto(path.as_uri() + fragment)
    page.wait_for_selector("body[data-ready='1']")


def check_same(shown: dict[str, Any], trace: dict[str, Any], rtol_pre: float) -> None:
    """The page's trace equals run's: window and products to 1e-9 (the same float32 roundings), the
    per-channel sums too; the pre-activation and output within ``rtol_pre`` (the engine's own order)."""
    np.testing.assert_allclose(np.array(shown["patch"]), np.array(trace["patch"]), rtol=1e-9, atol=0)
    np.testing.assert_allclose(np.array(shown["products"]), np.array(trace["products"]), rtol=1e-9, atol=0)
    np.testing.assert_allclose(shown["sums"], trace["channel_sums"], rtol=1e-9, atol=0)
    scale = max(1.0, float(np.abs(trace["products"]).sum()))  # the sum's rounding grows with Σ|x·w|
    assert abs(shown["pre"] - trace["preactivation"]) <= rtol_pre * scale
    assert abs(shown["out"] - trace["output"]) <= rtol_pre * scale


def click_output(page: Any, f: int, at: tuple[int, int], out_hw: tuple[int, int]) -> None:
    """Click output ``at`` on filter ``f``'s pre-activation map (the middle of its cell)."""
    frame = page.locator(f"section.filter[data-filter='{f}'] figure.big .frame").first
    box = frame.bounding_box()
    (r, c), (ho, wo) = at, out_hw
    page.mouse.click(box["x"] + (c + 0.5) / wo * box["width"], box["y"] + (r + 0.5) / ho * box["height"])


def test_clicking_an_output_cell_shows_run_traces_numbers(tmp_path: Path, page: Any):
    args = (SAMPLE, "-f", "4", "--bias", "0.5,-1,2,0", "--activation", "relu")
    path = build(tmp_path, *args)
    open_page(page, path)
    at = (40, 60)
    click_output(page, 0, at, (148, 126))
    shown = page_trace(page)
    assert "output (40, 60)" in shown["position"]
    assert shown["hash"] == "#filter=0&at=40,60"  # the link keeps what was clicked
    check_same(shown, run_trace(*args, at=at, filters="0")[0], 1e-6)
    assert shown["bias"] == 0.5


def test_a_link_opens_its_filter_and_position(tmp_path: Path, page: Any):
    args = (SAMPLE, "-f", "4", "--activation", "tanh", "--bias", "1,2,3,4")
    path = build(tmp_path, *args)
    open_page(page, path, "#filter=1&at=2,3")
    shown = page_trace(page)
    assert "filter 1 · output (2, 3)" in shown["position"]
    assert page.locator("section.filter[data-filter='1']").is_visible()
    assert not page.locator("section.filter[data-filter='0']").is_visible()
    assert page.input_value("#filter") == "1"
    check_same(shown, run_trace(*args, at=(2, 3), filters="1")[1], 1e-6)
    open_page(page, path, "#filter=9&at=2,3")  # a filter the page does not hold: said, not ignored
    assert "--filter 9" in (page.locator("#trace .missing").text_content() or "")


def test_switching_a_channel_off_takes_its_sum_out_of_the_total(tmp_path: Path, page: Any):
    args = (SAMPLE, "-f", "2", "--bias", "0.25,0")
    path = build(tmp_path, *args)
    open_page(page, path, "#filter=0&at=10,20")
    before = page_trace(page)
    page.locator("#trace input[type=checkbox][data-channel='1']").uncheck()
    after = page_trace(page)
    sums = before["sums"]
    assert after["total"] == pytest.approx(sums[0] + sums[2], rel=1e-12)
    assert after["pre"] == pytest.approx(sums[0] + sums[2] + 0.25, rel=1e-12)
    assert after["lost"] == pytest.approx(sums[1], rel=1e-12)
    assert "off" in (page.locator("section.filter[data-filter='0'] figure[data-channel='1']").get_attribute("class") or "")
    # the channel stays off as the position moves: the sum at the new position lacks it too
    page.keyboard.press("ArrowRight")
    moved = page_trace(page)
    assert "output (10, 21)" in moved["position"] and moved["hash"] == "#filter=0&at=10,21"
    assert moved["total"] == pytest.approx(moved["sums"][0] + moved["sums"][2], rel=1e-12)


def test_the_page_renders_with_every_request_blocked(tmp_path: Path, page: Any):
    path = build(tmp_path, SAMPLE, "-f", "4")
    asked: list[str] = []

    def refuse(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            asked.append(route.request.url)
            route.abort()

    page.route("**/*", refuse)
    open_page(page, path, "#filter=3&at=5,5")
    assert asked == []  # data: URIs are no requests; nothing else is asked for
    loaded = page.evaluate("() => [...document.images].map(i => i.complete && i.naturalWidth > 0)")
    assert loaded and all(loaded)
    assert page_trace(page)["sums"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_grey_input_and_a_5x5_kernel_trace_exactly(tmp_path: Path, page: Any, dtype: str):
    # one channel: numpy sums each window's 25 products pairwise, and the page follows it (in float32
    # a sequential sum differs in the last bits at most of these positions)
    x = np.random.default_rng(3).normal(size=(23, 19, 1)) * 100
    np.save(tmp_path / "x.npy", x)
    args = (tmp_path / "x.npy", "-f", "3", "-k", "5", "--stride", "2", "--padding", "same",
            "--dtype", dtype, "--activation", "sigmoid", "--bias", "0.1,0.2,-3")
    path = build(tmp_path, *args)
    for f, at in ((0, (0, 0)), (2, (6, 4)), (1, (11, 9)), (0, (5, 5)), (1, (3, 7)), (2, (8, 2))):
        open_page(page, path, f"#filter={f}&at={at[0]},{at[1]}")
        check_same(page_trace(page), run_trace(*args, at=at, filters=str(f))[f], 1e-12 if dtype == "float64" else 1e-6)


def test_a_grouped_strided_dilated_layer_traces_exactly(tmp_path: Path, page: Any):
    x = np.random.default_rng(4).normal(size=(30, 28, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    args = (tmp_path / "x.npy", "-f", "4", "--groups", "2", "-k", "3", "--stride", "2", "--dilation", "2",
            "--padding", "2", "--activation", "elu")
    path = build(tmp_path, *args)
    for f, at in ((3, (0, 0)), (1, (7, 12))):
        open_page(page, path, f"#filter={f}&at={at[0]},{at[1]}")
        check_same(page_trace(page), run_trace(*args, at=at, filters=str(f))[f], 1e-6)


def test_an_input_over_the_budget_is_held_around_at_and_the_page_says_so(tmp_path: Path, page: Any):
    path = build(tmp_path, SAMPLE, "-f", "1", "--data-budget", "0.003", "--at", "100,90")
    open_page(page, path)
    note = page.locator(".held-note").text_content() or ""
    assert "larger than this page's budget" in note
    shown = page_trace(page)
    check_same(shown, run_trace(SAMPLE, "-f", "1", at=(100, 90), filters="0")[0], 1e-6)  # opens where it is exact
    open_page(page, path, "#filter=0&at=0,0")
    assert "does not hold the input" in (page.locator("#trace .unheld").text_content() or "")


def test_a_deep_model_layer_traces_as_run_does(tmp_path: Path, page: Any):
    if importlib.util.find_spec("keras") is None:  # the input of "mid" is what the layers before it make
        pytest.skip("running samples/edges.keras up to a layer needs keras: pip install 'convcli[keras]'")
    args = (SAMPLE, "--model", SAMPLES / "edges.keras", "--layer", "mid")
    path = build(tmp_path, *args)
    open_page(page, path, "#filter=2&at=30,30")
    check_same(page_trace(page), run_trace(*args, at=(30, 30), filters="2")[2], 1e-6)
    path = build(tmp_path, *args, "--filter", "15", name="f15.html")  # a filter beyond the first 4, by --filter
    open_page(page, path, "#filter=15&at=0,63")
    check_same(page_trace(page), run_trace(*args, at=(0, 63), filters="15")[15], 1e-6)


def test_hovering_previews_a_position_and_leaving_returns_to_the_pinned_one(tmp_path: Path, page: Any):
    path = build(tmp_path, SAMPLE, "-f", "1")
    open_page(page, path, "#filter=0&at=5,6")
    frame = page.locator("section.filter[data-filter='0'] figure.big .frame").first
    box = frame.bounding_box()
    page.mouse.move(box["x"] + (100.5 / 126) * box["width"], box["y"] + (70.5 / 148) * box["height"])
    hovered = page_trace(page)
    assert "output (70, 100)" in hovered["position"] and hovered["hash"] == "#filter=0&at=5,6"
    page.mouse.move(box["x"] + box["width"] + 300, box["y"] - 50)  # off the map
    assert "output (5, 6)" in page_trace(page)["position"]


def test_switching_a_channel_off_repaints_the_pre_activation_without_it(tmp_path: Path, page: Any):
    path = build(tmp_path, SAMPLE, "-f", "2", "--bias", "10,0")
    open_page(page, path, "#filter=0&at=40,40")
    page.locator("#trace input[type=checkbox][data-channel='2']").uncheck()
    fig = page.locator("section.filter[data-filter='0'] figure[data-kind='preactivation']")
    assert fig.locator("canvas.without").is_visible()
    assert "without B" in (fig.locator(".without-note").text_content() or "")
    data = page.evaluate("() => JSON.parse(document.getElementById('convcli-data').textContent)")
    held, paint = data["held"], data["paint"]["0"]
    x = np.frombuffer(base64.b64decode(held["x"]["b64"]), np.uint8).reshape(held["x"]["shape"]).astype(np.float64)
    k = np.frombuffer(base64.b64decode(held["kernel"]["b64"]), np.float32).reshape(held["kernel"]["shape"])
    lut = np.array(paint["lut"]).reshape(-1, 3)
    lo, hi = paint["ends"]
    for r, c in ((0, 0), (40, 40), (147, 125), (70, 20)):
        value = float((x[r:r + 3, c:c + 3, :2] * k[:, :, :2, 0]).sum()) + 10  # channels R and G only
        want = lut[int(np.rint(np.clip((value - lo) / (hi - lo), 0, 1) * (len(lut) - 1)))]
        got = page.evaluate(f"""() => [...document.querySelector("section.filter[data-filter='0'] canvas.without")
                                .getContext('2d').getImageData({c}, {r}, 1, 1).data].slice(0, 3)""")
        assert np.abs(np.array(got) - want).max() <= 3, (r, c, got, want)
    page.locator("#trace input[type=checkbox][data-channel='2']").check()
    assert not fig.locator("canvas.without").is_visible()  # every channel again: the map as built


@pytest.mark.parametrize("width, beside", [(1920, True), (1280, False)])
def test_on_a_wide_screen_the_trace_sits_beside_the_maps(tmp_path: Path, page: Any, width: int, beside: bool):
    """At 1920 px the trace is a column of its own right of the maps; at 1280 px it comes under them."""
    path = build(tmp_path, SAMPLE, "-f", "2")
    page.set_viewport_size({"width": width, "height": 1000})
    open_page(page, path)
    maps = page.locator("section.filter").first.bounding_box()
    trace = page.locator("section.trace").bounding_box()
    assert (trace["x"] >= maps["x"] + maps["width"]) is beside
    assert (trace["y"] >= maps["y"] + maps["height"]) is not beside


@pytest.mark.parametrize("activation", ["relu", "tanh"])  # the output on the parts' scale, and on its own
def test_switching_a_channel_off_repaints_the_output_through_the_activation(tmp_path: Path, page: Any, activation: str):
    path = build(tmp_path, SAMPLE, "-f", "2", "--bias", "-40,0", "--activation", activation)
    open_page(page, path, "#filter=0&at=40,40")
    page.locator("#trace input[type=checkbox][data-channel='0']").uncheck()
    fig = page.locator("section.filter[data-filter='0'] figure[data-kind='output']")
    assert fig.locator("canvas.without").is_visible()
    assert "without R" in (fig.locator(".without-note").text_content() or "")
    data = page.evaluate("() => JSON.parse(document.getElementById('convcli-data').textContent)")
    held, paint = data["held"], data["paint"]["0"]["output"]
    x = np.frombuffer(base64.b64decode(held["x"]["b64"]), np.uint8).reshape(held["x"]["shape"]).astype(np.float64)
    k = np.frombuffer(base64.b64decode(held["kernel"]["b64"]), np.float32).reshape(held["kernel"]["shape"])
    lut = np.array(paint["lut"]).reshape(-1, 3)
    lo, hi = paint["ends"]
    act = {"relu": lambda z: max(z, 0.0), "tanh": np.tanh}[activation]
    seen = set()
    for r, c in ((0, 0), (40, 40), (147, 125), (70, 20), (100, 90)):
        value = float(act(float((x[r:r + 3, c:c + 3, 1:] * k[:, :, 1:, 0]).sum()) - 40))  # channels G and B only
        want = lut[int(np.rint(np.clip((value - lo) / (hi - lo), 0, 1) * (len(lut) - 1)))]
        got = page.evaluate(f"""() => [...document.querySelector("section.filter[data-filter='0'] figure[data-kind='output'] canvas.without")
                                .getContext('2d').getImageData({c}, {r}, 1, 1).data].slice(0, 3)""")
        assert np.abs(np.array(got) - want).max() <= 3, (r, c, got, want)
        seen.add(tuple(want))
    assert len(seen) > 1  # not one flat colour: the map changes with the position
    page.locator("#trace input[type=checkbox][data-channel='0']").check()
    assert not fig.locator("canvas.without").is_visible()
