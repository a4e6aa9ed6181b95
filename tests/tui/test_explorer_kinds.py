"""``convcli explore`` on every kind and rank ``run`` shows: the app the command starts points at the
layer's own positions (``--at I`` on a 1-D layer, ``D,ROW,COL`` on a 3-D one), names the layer in its
status line, and its trace is ``run --trace --json``'s."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("textual")

from textual.geometry import Region  # noqa: E402

from convcli.present.describe import fmt  # noqa: E402
from convcli.tui.app import ExploreApp  # noqa: E402

from helpers import SAMPLES  # noqa: E402


@pytest.fixture
def started(monkeypatch):
    """The app ``convcli explore`` would run, kept instead of run."""
    apps: list[ExploreApp] = []
    monkeypatch.setattr(ExploreApp, "run", lambda self, *a, **k: apps.append(self))
    return apps


def text_of(widget) -> str:
    """What ``widget`` shows, as plain text lines."""
    w, h = widget.size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, w, h)))


def screens(app: ExploreApp, in_thread, *keys: str) -> list[dict[str, object]]:
    """The status line, the side panel's trace and the pointer, at the start and after each of ``keys``."""
    async def go():
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            seen = []
            for key in (None, *keys):
                if key is not None:
                    await pilot.press(key)
                    await pilot.pause()
                seen.append({"status": str(app.query_one("#status").render()),
                             "trace": text_of(app.query_one("#trace")),
                             "at": (app.pointer.row, app.pointer.col)})
            return seen

    return in_thread(lambda: asyncio.run(go()))


CASES = [
    ("signal", ("--ndim", "1", "-f", "2", "-k", "5"), "7", (0, 7), "signal.npy · Conv1D (one row)"),
    ("volume", ("--ndim", "3", "-f", "2"), "1,2,3", (2, 3), "volume.npy · Conv3D plane 1 of 2"),
    ("textbook", ("--kind", "transpose", "-k", "2", "--stride", "2"), "2,3", (2, 3), "textbook.npy · Conv2DTranspose"),
    ("image", ("--kind", "separable", "-f", "2", "--depth-multiplier", "2"), "4,5", (4, 5),
     "image.npy · SeparableConv2D"),
    ("image", ("--kind", "depthwise", "-k", "3", "--padding", "same"), "0,6", (0, 6), "image.npy · DepthwiseConv2D"),
]


@pytest.mark.parametrize(("name", "options", "at", "rowcol", "label"), CASES, ids=[c[-1].split(" · ")[1] for c in CASES])
def test_the_explorer_of_every_kind_traces_as_run_does(tmp_path: Path, cli, started, in_thread, name, options, at,
                                                       rowcol, label):
    np.save(tmp_path / "volume.npy", np.random.default_rng(3).normal(size=(4, 6, 7, 2)).astype(np.float32))
    np.save(tmp_path / "image.npy", np.random.default_rng(5).normal(size=(9, 11, 3)).astype(np.float32))
    source = {"signal": SAMPLES / "signal.npy", "textbook": SAMPLES / "textbook.npy",
              "volume": tmp_path / "volume.npy", "image": tmp_path / "image.npy"}[name]
    result = cli("explore", source, *options, "--at", at)
    assert result.exit_code == 0, result.output
    (app,) = started
    assert (app.pointer.row, app.pointer.col) == rowcol
    r = cli("run", source, *options, "--trace", at, "--json")
    assert r.exit_code == 0, r.output
    expected = json.loads(r.stdout)["filters"][0]["trace"]
    trace = app.pointer.trace()
    assert trace.sums.tolist() == expected["channel_sums"]
    assert trace.products.transpose(2, 0, 1).tolist() == expected["products"]
    # the side panel shows those numbers; shift+right moves one position along the row the map draws
    first, moved = screens(app, in_thread, "shift+right")
    assert str(first["status"]).startswith(label)
    for s in expected["channel_sums"]:
        assert f"Σ {fmt(s)}" in str(first["trace"])
    assert f"= {fmt(expected['preactivation'])}" in str(first["trace"])
    assert moved["at"] == (rowcol[0], rowcol[1] + 1)
    *head, last = at.split(",")
    r = cli("run", source, *options, "--trace", ",".join([*head, str(int(last) + 1)]), "--json")
    nxt = json.loads(r.stdout)["filters"][0]["trace"]
    assert f"= {fmt(nxt['preactivation'])}" in str(moved["trace"])


def test_the_arrows_move_along_a_one_row_map(cli, started, in_thread):
    result = cli("explore", SAMPLES / "signal.npy", "--ndim", "1", "-k", "5", "--at", "3")
    assert result.exit_code == 0, result.output
    (app,) = started
    seen = screens(app, in_thread, "up", "down", "shift+left", "shift+right", "shift+right")
    assert [s["at"] for s in seen] == [(0, 3), (0, 3), (0, 3), (0, 2), (0, 3), (0, 4)]


def test_a_depth_at_on_a_2d_layer_is_bad_usage(cli, started):
    result = cli("explore", SAMPLES / "textbook.npy", "--depth-at", "1")
    assert result.exit_code == 2 and "--depth-at chooses a plane of a 3-D layer" in result.output
    assert not started


def test_a_one_row_map_fills_its_line_and_marks_the_cursor(cli, started):
    """A 1-D layer's map is a band one line tall (each cell's colour in both halves), not a half-block
    hairline; the cursor's cell keeps its colour in the lower half under the ink."""
    from convcli.tui.panels import MapCells
    from convcli.tui.state import Pointer

    assert cli("explore", SAMPLES / "signal.npy", "--ndim", "1", "-k", "5", "--at", "3").exit_code == 0
    (app,) = started
    pointer = Pointer(app.pointer.result)
    cells = MapCells()
    (line,) = cells.lines(pointer, 1)
    assert sum(len(s.text) for s in line) == 20 and len(line) > 1  # one cell per position, in their colours
    assert all(s.style.color == s.style.bgcolor for s in line)
    per_cell = [s.style for s in line for _ in s.text]
    marked = [s.style for s in cells.line(pointer, 1, 0, (0, 3)) for _ in s.text]
    assert [j for j in range(20) if marked[j] != per_cell[j]] == [3]  # the cursor's cell only
    assert marked[3].bgcolor == per_cell[3].bgcolor and marked[3].color != per_cell[3].color


def test_the_explorer_of_a_deep_1d_model_layer_traces_as_run_does(tmp_path: Path, cli, started, in_thread):
    """--model --layer of a DepthwiseConv1D after a Conv1D, at I: the side panel shows run --trace I's sums."""
    import models

    k = models.keras()
    i = k.Input((24, 2), name="x")
    x = k.layers.Conv1D(3, 3, padding="same", activation="relu", name="c1")(i)
    x = k.layers.DepthwiseConv1D(3, depth_multiplier=2, activation="tanh", name="dw1")(x)
    path = tmp_path / "m1d.keras"
    models.randomise(k.Model(i, x), seed=4).save(path)
    options = ("--model", str(path), "--layer", "dw1", "--filter", "3")
    result = cli("explore", SAMPLES / "signal.npy", *options, "--at", "9")
    assert result.exit_code == 0, result.output
    (app,) = started
    r = cli("run", SAMPLES / "signal.npy", *options, "--trace", "9", "--json")
    assert r.exit_code == 0, r.output
    expected = json.loads(r.stdout)["filters"][0]["trace"]
    (seen,) = screens(app, in_thread)
    assert seen["at"] == (0, 9) and str(seen["status"]).startswith("signal.npy · DepthwiseConv1D (one row)")
    assert app.pointer.trace().sums.tolist() == expected["channel_sums"]
    for s in expected["channel_sums"]:
        assert f"Σ {fmt(s)}" in str(seen["trace"])
