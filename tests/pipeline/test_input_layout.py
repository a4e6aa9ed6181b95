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
