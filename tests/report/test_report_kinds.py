"""The report of every kind and rank ``run`` shows: a 1-D layer as its one row, a 3-D layer's depth slice,
a transposed, separable or depthwise layer as the ordinary conv that computes it. Opened in chromium,
the page's trace at ``--at`` is ``run --trace --json``'s, and its header names the layer as it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import SAMPLES, invoke, page_trace

#: (input, options, the --at/--trace of the layer's rank, the (row, col) the page shows, the header's class)
CASES = [
    ("signal", ("--ndim", "1", "-f", "2", "-k", "5", "--bias", "0.5,-1"), "7", (0, 7), "Conv1D"),
    ("textbook", ("--kind", "transpose", "-k", "2", "--stride", "2", "-f", "2"), "2,3", (2, 3), "Conv2DTranspose"),
    ("image", ("--kind", "separable", "-f", "2", "--depth-multiplier", "2", "--activation", "tanh"), "4,5", (4, 5),
     "SeparableConv2D"),
    ("image", ("--kind", "depthwise", "-k", "3", "--padding", "same"), "0,6", (0, 6), "DepthwiseConv2D"),
    ("volume", ("--ndim", "3", "-k", "3", "--padding", "same", "-f", "2"), "1,2,3", (2, 3), "Conv3D"),
]


def inputs(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(7)
    np.save(tmp_path / "image.npy", rng.normal(size=(9, 11, 3)).astype(np.float32))
    np.save(tmp_path / "volume.npy", rng.normal(size=(4, 7, 8, 2)).astype(np.float32))
    return {"signal": SAMPLES / "signal.npy", "textbook": SAMPLES / "textbook.npy",
            "image": tmp_path / "image.npy", "volume": tmp_path / "volume.npy"}


def one_d_model(folder: Path) -> Path:
    """A Keras model of 1-D layers (a deep DepthwiseConv1D among them), saved as .keras."""
    import models

    k = models.keras()
    i = k.Input((24, 2), name="x")
    x = k.layers.Conv1D(3, 3, padding="same", activation="relu", name="c1")(i)
    x = k.layers.DepthwiseConv1D(3, depth_multiplier=2, activation="tanh", name="dw1")(x)
    path = folder / "m1d.keras"
    models.randomise(k.Model(i, x), seed=4).save(path)
    return path


def run_trace(source: Path, options: tuple[str, ...], at: str, f: int) -> dict[str, Any]:
    r = invoke("run", source, *options, "--trace", at, "--filter", str(f), "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["filters"][0]["trace"]


@pytest.mark.parametrize(("name", "options", "at", "rowcol", "keras"), CASES, ids=[c[-1] for c in CASES])
def test_the_page_of_every_kind_traces_as_run_does(tmp_path: Path, page: Any, name: str, options: tuple[str, ...],
                                                   at: str, rowcol: tuple[int, int], keras: str):
    source = inputs(tmp_path)[name]
    out = tmp_path / "r.html"
    r = invoke("report", source, *options, "--at", at, "-o", out)
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert f"{keras}(" in text  # the header's layer row: the layer as asked, not the conv that computes it
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    for f in (0, 1):
        if f:
            page.goto(out.as_uri() + f"#filter=1&at={at}")  # the address takes run --trace's position
            page.wait_for_selector("body[data-ready='1']")
        shown = page_trace(page)
        trace = run_trace(source, options, at, f)
        assert f"filter {f} · output ({rowcol[0]}, {rowcol[1]})" in shown["position"]
        np.testing.assert_allclose(np.array(shown["products"]), np.array(trace["products"]), rtol=1e-9, atol=0)
        np.testing.assert_allclose(np.array(shown["patch"]), np.array(trace["patch"]), rtol=1e-9, atol=0)
        np.testing.assert_allclose(shown["sums"], trace["channel_sums"], rtol=1e-9, atol=0)
        scale = max(1.0, float(np.abs(trace["products"]).sum()))
        assert abs(shown["pre"] - trace["preactivation"]) <= 1e-6 * scale
    # a key press writes the next position to the address as run --trace takes it, in the layer's own axes
    page.keyboard.press("ArrowRight")
    *head, last = at.split(",")
    assert page.evaluate("location.hash") == f"#filter=1&at={','.join([*head, str(int(last) + 1)])}"


def test_a_one_row_map_is_drawn_as_a_band_not_a_hairline(tmp_path: Path, page: Any):
    out = tmp_path / "r.html"
    assert invoke("report", SAMPLES / "signal.npy", "--ndim", "1", "-o", out).exit_code == 0
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    frame = page.locator("figure[data-kind='preactivation'] .frame").first.bounding_box()
    assert frame["width"] / frame["height"] == pytest.approx(12, rel=0.05)  # page.BAND, not 22:1
    mark = page.locator("figure[data-kind='preactivation'] .mark").first.bounding_box()
    assert mark["height"] == pytest.approx(frame["height"], abs=2)  # the mark spans the band's height


def test_the_positions_take_the_layers_rank(tmp_path: Path):
    src = inputs(tmp_path)["volume"]
    out = tmp_path / "r.html"
    r = invoke("report", src, "--ndim", "3", "--at", "1,2,3", "--depth-at", "2", "-o", out)
    assert r.exit_code == 2 and "--at and --depth-at choose different planes (1, 2)" in r.output
    r = invoke("report", SAMPLES / "signal.npy", "--ndim", "1", "--at", "3,4", "-o", out)
    assert r.exit_code == 2 and "--at takes I" in r.output
    r = invoke("report", SAMPLES / "textbook.npy", "--depth-at", "1", "-o", out)
    assert r.exit_code == 2 and "--depth-at chooses a plane of a 3-D layer; this layer is 2-D" in r.output
    assert not out.exists()
    r = invoke("report", src, "--ndim", "3", "--depth-at", "0", "-o", out)
    assert r.exit_code == 0, r.output
    assert "depth slice 0 of the output" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(("fragment", "position"), [("at=0,9", "output (0, 4)"), ("at=9", "output (0, 9)")])
def test_a_one_row_page_takes_the_address_as_run_trace_does(tmp_path: Path, page: Any, fragment: str, position: str):
    """A 1-D page's address is ``at=I``; ``ROW,COL`` (run --trace refuses it too) leaves the start position."""
    out = tmp_path / "r.html"
    assert invoke("report", SAMPLES / "signal.npy", "--ndim", "1", "-k", "5", "--at", "4", "-o", out).exit_code == 0
    page.goto(out.as_uri() + "#filter=0&" + fragment)
    page.wait_for_selector("body[data-ready='1']")
    shown = page.locator("#position").text_content()
    assert shown == f"filter 0 · {position} · run --trace {position[-2]}"


def test_the_page_of_a_deep_1d_model_layer_traces_as_run_does(tmp_path: Path, page: Any):
    """--model --layer of a DepthwiseConv1D after a Conv1D: the page's trace at I is run --trace I's, on the
    input the model computed for it."""
    options = ("--model", str(one_d_model(tmp_path)), "--layer", "dw1")
    out = tmp_path / "r.html"
    r = invoke("report", SAMPLES / "signal.npy", *options, "-o", out)
    assert r.exit_code == 0, r.output
    assert "DepthwiseConv1D(" in out.read_text(encoding="utf-8")
    page.goto(out.as_uri() + "#filter=3&at=9")
    page.wait_for_selector("body[data-ready='1']")
    shown = page.evaluate("""() => ({sums: [...document.querySelectorAll('#trace output.sum')].map(o => Number(o.dataset.v)),
        pre: Number(document.querySelector('#trace output.pre').dataset.v), position: document.getElementById('position').textContent})""")
    trace = run_trace(SAMPLES / "signal.npy", options, "9", 3)
    assert shown["position"] == "filter 3 · output (0, 9) · run --trace 9"
    np.testing.assert_allclose(shown["sums"], trace["channel_sums"], rtol=1e-9, atol=0)
    assert abs(shown["pre"] - trace["preactivation"]) <= 1e-6 * max(1.0, abs(trace["preactivation"]))
