"""``convcli explore`` on every kind and rank ``run`` shows: the app the command starts points at the
layer's own positions (``--at I`` on a 1-D layer, ``D,ROW,COL`` on a 3-D one), names the layer in its
status line, and its trace is ``run --trace --json``'s."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("textual")

from convcli.tui.app import ExploreApp  # noqa: E402

from helpers import SAMPLES  # noqa: E402


@pytest.fixture
def started(monkeypatch):
    """The app ``convcli explore`` would run, kept instead of run."""
    apps: list[ExploreApp] = []
    monkeypatch.setattr(ExploreApp, "run", lambda self, *a, **k: apps.append(self))
    return apps


def status_of(app: ExploreApp, in_thread) -> str:
    async def go():
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            return str(app.query_one("#status").render())

    return in_thread(lambda: __import__("asyncio").run(go()))


CASES = [
    ("signal", ("--ndim", "1", "-f", "2", "-k", "5"), "7", (0, 7), "signal.npy · Conv1D (one row)"),
    ("volume", ("--ndim", "3", "-f", "2"), "1,2,3", (2, 3), "volume.npy · Conv3D plane 1 of 2"),
    ("textbook", ("--kind", "transpose", "-k", "2", "--stride", "2"), "2,3", (2, 3), "textbook.npy · Conv2DTranspose"),
]


@pytest.mark.parametrize(("name", "options", "at", "rowcol", "label"), CASES, ids=[c[0] for c in CASES])
def test_the_explorer_of_every_kind_traces_as_run_does(tmp_path: Path, cli, started, in_thread, name, options, at,
                                                       rowcol, label):
    np.save(tmp_path / "volume.npy", np.random.default_rng(3).normal(size=(4, 6, 7, 2)).astype(np.float32))
    source = {"signal": SAMPLES / "signal.npy", "textbook": SAMPLES / "textbook.npy",
              "volume": tmp_path / "volume.npy"}[name]
    result = cli("explore", source, *options, "--at", at)
    assert result.exit_code == 0, result.output
    (app,) = started
    assert (app.pointer.row, app.pointer.col) == rowcol
    assert status_of(app, in_thread).startswith(label)
    r = cli("run", source, *options, "--trace", at, "--json")
    assert r.exit_code == 0, r.output
    expected = json.loads(r.stdout)["filters"][0]["trace"]
    trace = app.pointer.trace()
    assert trace.sums.tolist() == expected["channel_sums"]
    assert trace.products.transpose(2, 0, 1).tolist() == expected["products"]


def test_a_depth_at_on_a_2d_layer_is_bad_usage(cli, started):
    result = cli("explore", SAMPLES / "textbook.npy", "--depth-at", "1")
    assert result.exit_code == 2 and "--depth-at chooses a plane of a 3-D layer" in result.output
    assert not started
