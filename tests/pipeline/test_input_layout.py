"""An array whose channels could be its first or its last axis: read by the layout, and said once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convcli.pipeline.build import build_layer
from convcli.pipeline.request import Request
from convcli.sources.inputs import either_layout

from helpers import ROOT, invoke


@pytest.mark.parametrize(("shape", "either"), [
    ((3, 3, 3), True), ((1, 3, 3, 3), True), ((3, 224, 3), True),
    ((224, 224, 3), False), ((3, 224, 224), False), ((4, 4, 1), False), ((5, 5), False), ((1, 5, 1), False),
])
def test_either_layout_is_equal_first_and_last_axes(shape: tuple[int, ...], either: bool) -> None:
    assert either_layout(shape) is either


def _built(path: Path, **options: object):
    return build_layer(Request(input=path, kernel_size=2, init="ones", **options))  # type: ignore[arg-type]


def test_a_cube_read_channels_first_by_torch_semantics_is_one_warning_that_names_the_reading(tmp_path: Path) -> None:
    np.save(tmp_path / "cube.npy", np.zeros((3, 3, 3), dtype=np.float32))
    keras = _built(tmp_path / "cube.npy").warnings
    torch = _built(tmp_path / "cube.npy", semantics="torch").warnings
    assert keras == ()  # channels-last, every input's documented reading: the Quickstart's sample says nothing
    assert len(torch) == 1
    assert "a 3×3×3 array could be (H, W, C) or (C, H, W); read as (C, H, W), as --semantics torch" in torch[0]
    assert "--layout channels-last or channels-first" in torch[0]
    assert _built(tmp_path / "cube.npy", semantics="torch", layout="channels-first").warnings == ()
    np.save(tmp_path / "photo.npy", np.zeros((6, 5, 3), dtype=np.float32))
    assert _built(tmp_path / "photo.npy").warnings == ()


def test_the_textbook_read_as_torch_says_how_and_how_to_choose() -> None:
    r = invoke("run", ROOT / "samples/textbook.npy", "--semantics", "torch",
               "--kernel", ROOT / "samples/kernel_ones_2x2_torch.npy")
    assert r.exit_code == 0, r.output
    warnings = [line for line in r.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "read as (C, H, W)" in warnings[0] and "--layout" in warnings[0]
    chosen = invoke("run", ROOT / "samples/textbook.npy", "--semantics", "torch", "--layout", "channels-last",
                    "--kernel", ROOT / "samples/kernel_ones_2x2_torch.npy")
    assert chosen.exit_code == 0 and chosen.stderr == "" and "40404" in chosen.stdout


@pytest.mark.parametrize("model, layer, shape", [
    ("edges.safetensors", "edges", (3, 20, 16)),      # weights only: the first layer's 3 channels
    ("edges.safetensors", "edges", (1, 3, 20, 16)),   # a batch of one, as torch saves activations
    ("edges.onnx", "edges", (3, 20, 16)),
    ("edges.keras", "mid", (8, 20, 16)),              # a deep layer's input, as PyTorch would store it
])
def test_an_activation_stored_channels_first_is_pointed_to_layout(tmp_path: Path, model: str, layer: str,
                                                                   shape: tuple[int, ...]) -> None:
    """A (C, H, W) or (1, C, H, W) array given to a model's layer names --layout channels-first, and that works."""
    pytest.importorskip("h5py")
    if model.endswith(".onnx"):
        pytest.importorskip("onnx")
    np.save(tmp_path / "act.npy", np.random.default_rng(0).random(shape).astype(np.float32))
    args = ["run", tmp_path / "act.npy", "--model", ROOT / "samples" / model, "--layer", layer, "--json"]
    r = invoke(*args)
    assert r.exit_code == 1, r.output
    dims = "×".join(map(str, shape))
    assert r.stderr.strip().endswith(f"the {dims} array reads as PyTorch's (C, H, W): give --layout channels-first")
    fixed = invoke(*args, "--layout", "channels-first")
    assert fixed.exit_code == 0, fixed.output
