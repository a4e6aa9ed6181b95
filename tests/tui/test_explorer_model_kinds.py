"""``convcli explore --model FILE --layer NAME`` on Keras layers of every kind and rank ``run --model``
explores (a deep DepthwiseConv1D, a Conv2DTranspose, the SeparableConv2D after it, a Conv3D): the app the
command starts opens at the layer's own ``--at`` (I, ROW,COL or D,ROW,COL), names the layer's class in its
status line, and its trace, before and after shift+right (one position along the row), is ``run --model ... --trace --json``'s."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import models
import numpy as np
import pytest

pytest.importorskip("textual")

from convcli.tui.app import ExploreApp  # noqa: E402

#: model -> its input's shape
SHAPES = models.KINDS_SHAPES

#: (model, layer, --at, the (row, col) the map opens at, the position one step right as run --trace takes it,
#: the class the status line names)
CASES = [
    ("m1d", "dw1", "6", (0, 6), "7", "DepthwiseConv1D"),
    ("m2d", "up", "3,4", (3, 4), "3,5", "Conv2DTranspose"),
    ("m2d", "sep", "2,5", (2, 5), "2,6", "SeparableConv2D"),
    ("m3d", "c3", "1,2,3", (2, 3), "1,2,4", "Conv3D"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, Any]]:
    """Each model saved as .keras (and kept), with its input as a .npy."""
    k = models.keras()
    folder = tmp_path_factory.mktemp("explore_model_kinds")
    out = {}
    for name, shape in SHAPES.items():
        model = models.kinds_model(k, name)
        model.save(folder / f"{name}.keras")
        np.save(folder / f"{name}.npy", np.random.default_rng(5).standard_normal(shape).astype(np.float32))
        out[name] = (folder / f"{name}.keras", folder / f"{name}.npy", model)
    return out


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[ExploreApp]:
    """The app ``convcli explore`` would run, kept instead of run."""
    apps: list[ExploreApp] = []
    monkeypatch.setattr(ExploreApp, "run", lambda self, *a, **k: apps.append(self))
    return apps


@pytest.mark.parametrize(("name", "layer", "at", "rowcol", "right", "keras"), CASES, ids=[c[1] for c in CASES])
def test_the_explorer_of_a_model_layer_of_every_kind_traces_as_run_does(files, cli, started, in_thread, name,
                                                                        layer, at, rowcol, right, keras):
    model, source, _ = files[name]
    result = cli("explore", source, "--model", model, "--layer", layer, "--at", at)
    assert result.exit_code == 0, result.output
    (app,) = started
    assert (app.pointer.row, app.pointer.col) == rowcol

    async def go() -> tuple[str, Any, Any]:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            status = str(app.query_one("#status").render())
            first = app.pointer.trace()
            await pilot.press("shift+right")  # one position (a plain arrow may move a cell of several)
            await pilot.pause()
            return status, first, app.pointer.trace()

    status, first, moved = in_thread(lambda: asyncio.run(go()))
    assert keras in status
    assert (app.pointer.row, app.pointer.col) == (rowcol[0], rowcol[1] + 1)
    for position, trace in ((at, first), (right, moved)):
        r = cli("run", source, "--model", model, "--layer", layer, "--trace", position, "--json")
        assert r.exit_code == 0, r.output
        expected = json.loads(r.stdout)["filters"][0]["trace"]
        assert len(expected["channel_sums"]) > 0
        assert trace.sums.tolist() == expected["channel_sums"]
        assert trace.products.transpose(2, 0, 1).tolist() == expected["products"]


@pytest.mark.parametrize(("name", "layer", "keras"), [(c[0], c[1], c[-1]) for c in CASES], ids=[c[1] for c in CASES])
def test_the_notebook_view_of_a_model_layer_of_every_kind_is_the_layer_keras_computes(files, tmp_path, name, layer,
                                                                                      keras):
    """``convcli.explore(x, model=..., layer=...)``: its output is Keras' own output of that layer (in the
    layer's own axes), and its repr, screen, HTML and report name the file's class, as run's header does."""
    import convcli

    from helpers import draw

    k = models.keras()
    model_file, source, model = files[name]
    ex = convcli.explore(source, model=model_file, layer=layer)
    x = np.load(source)
    theirs = k.ops.convert_to_numpy(k.Model(model.inputs, model.get_layer(layer).output)(x[None]))[0]
    assert ex.output.shape == theirs.shape
    np.testing.assert_allclose(ex.output, theirs, rtol=1e-4, atol=1e-5)
    assert f"{keras} " in repr(ex)
    assert f"{keras}(" in draw(ex, width=120)
    assert f"{keras}(" in ex._repr_html_()
    assert f"{keras}(" in ex.report(tmp_path / "r.html").read_text(encoding="utf-8")
