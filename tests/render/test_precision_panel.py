"""The precision view on screen: float64 beside the emulated format, part by part."""

from __future__ import annotations

import numpy as np
import pytest
from rich.cells import cell_len

from convcli.engine.precision import emulate
from convcli.present.describe import fmt
from convcli.present.precision import precision_window
from convcli.render.precision import precision_panel

from helpers import draw

TEXTBOOK = np.stack([np.full((3, 3), v, dtype=np.float32) for v in (1.0, 100.0, 10000.0)], axis=-1)


def test_textbook_in_bfloat16_shows_where_each_number_comes_from():
    view = precision_window(emulate(TEXTBOOK, np.ones((2, 2, 3, 1)), 0.0, "relu", "bf16"), 0, 0, 0, "RGB")
    out = draw(precision_panel(view), width=80)
    lines = out.splitlines()
    assert any("channel B" in line and "10000 → 9984" in line and "40000" in line and "39936" in line
               and line.rstrip().endswith("-64") for line in lines)
    assert any("stored in bfloat16" in line and "40448" in line and "+108" in line for line in lines)
    assert any("sum in float32" in line and "40340" in line for line in lines)
    assert any(line.lstrip().startswith("output") and "40404" in line and "40448" in line and "+44" in line
               for line in lines)
    assert "the largest part: stored in bfloat16" in out


@pytest.mark.parametrize("width", [80, 100, 120])
def test_fits_the_screen_without_cutting_numbers(width: int):
    rng = np.random.default_rng(1)
    em = emulate(rng.uniform(0, 255, (8, 8, 3)), rng.standard_normal((3, 3, 3, 2)), [0.1, -0.3], "relu", "fp16")
    view = precision_window(em, 1, 2, 3, "RGB")
    out = draw(precision_panel(view), width=width)
    assert max(cell_len(line) for line in out.splitlines()) <= width
    assert "…" not in out
    assert fmt(view.emulated) in out and fmt(view.exact) in out


def test_an_exact_result_says_so():
    view = precision_window(emulate(TEXTBOOK, np.ones((2, 2, 3, 1)), 0.0, "relu", "tf32"), 0, 0, 0, "RGB")
    out = draw(precision_panel(view))
    assert "TF32 gives the float64 result here." in out and "stored in float32" in out
