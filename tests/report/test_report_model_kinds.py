"""``report --model FILE --layer NAME`` on Keras layers of every kind and rank ``run --model`` explores
(a deep DepthwiseConv1D, a Conv3D, a Conv2DTranspose and the SeparableConv2D after it): opened in
chromium, the page's trace at ``--at`` is ``run --model ... --trace --json``'s, and its header names the
layer's own Keras class, as ``run``'s does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import models
import numpy as np
import pytest

from helpers import invoke, page_trace

#: model -> (input shape, its layers' names)
SHAPES = models.KINDS_SHAPES

#: (model, layer, the --at/--trace of the layer's rank, the (row, col) the page shows, the header's class)
CASES = [
    ("m1d", "dw1", "6", (0, 6), "DepthwiseConv1D"),
    ("m2d", "up", "3,4", (3, 4), "Conv2DTranspose"),
    ("m2d", "sep", "2,5", (2, 5), "SeparableConv2D"),
    ("m3d", "c3", "1,2,3", (2, 3), "Conv3D"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Each model saved as .keras, with its input as a .npy ``(L, C)`` / ``(H, W, C)`` / ``(D, H, W, C)``."""
    k = models.keras()
    folder = tmp_path_factory.mktemp("report_model_kinds")
    out = {}
    for name, shape in SHAPES.items():
        model = models.kinds_model(k, name)
        np.save(folder / f"{name}.npy", np.random.default_rng(5).standard_normal(shape).astype(np.float32))
        model.save(folder / f"{name}.keras")
        out[name] = (folder / f"{name}.keras", folder / f"{name}.npy")
    return out


@pytest.mark.parametrize(("name", "layer", "at", "rowcol", "keras"), CASES, ids=[c[1] for c in CASES])
def test_the_page_of_a_model_layer_of_every_kind_traces_as_run_does(tmp_path: Path, page: Any, files: Any,
                                                                    name: str, layer: str, at: str,
                                                                    rowcol: tuple[int, int], keras: str):
    model, source = files[name]
    out = tmp_path / "r.html"
    r = invoke("report", source, "--model", model, "--layer", layer, "--at", at, "-o", out)
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert f"{keras}(" in text and f"&#x27;{layer}&#x27;" in text  # the header: the layer as the file has it
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    shown = page_trace(page)
    r = invoke("run", source, "--model", model, "--layer", layer, "--trace", at, "--filter", "0", "--json")
    assert r.exit_code == 0, r.output
    trace = json.loads(r.stdout)["filters"][0]["trace"]
    assert f"filter 0 · output ({rowcol[0]}, {rowcol[1]})" in shown["position"]
    assert np.array(trace["products"]).size > 0
    np.testing.assert_allclose(np.array(shown["products"]), np.array(trace["products"]), rtol=1e-9, atol=0)
    np.testing.assert_allclose(np.array(shown["patch"]), np.array(trace["patch"]), rtol=1e-9, atol=0)
    np.testing.assert_allclose(shown["sums"], trace["channel_sums"], rtol=1e-9, atol=0)
    scale = max(1.0, float(np.abs(trace["products"]).sum()))
    assert abs(shown["pre"] - trace["preactivation"]) <= 1e-6 * scale
