"""A 1-D layer's figure: its title names the layer's own kind and its one axis (the engine runs it
as one row of a 2-D layer, which the title must not show)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers import SAMPLES, invoke

SVG = "{http://www.w3.org/2000/svg}"


def title_of(path: Path) -> str:
    root = ET.fromstring(path.read_text(encoding="utf-8"))
    return "".join(next(root.iter(f"{SVG}text")).itertext())


@pytest.mark.parametrize(("args", "title"), [
    (("--kind", "Conv1D", "-k", "3"), "Conv1D 3, stride 1, no padding, 1 filter, linear · input 24×2 (L, C) → output 22×1"),
    (("--ndim", "1", "-k", "5", "--stride", "2", "--padding", "same", "-f", "2"),
     "Conv1D 5, stride 2, pads (1, 2), 2 filters, linear · input 24×2 (L, C) → output 12×2"),
    (("--kind", "DepthwiseConv1D", "-k", "3"), "DepthwiseConv1D 3, stride 1, no padding, groups 2"),
])
def test_the_title_names_the_1d_layer(args: tuple[str, ...], title: str, tmp_path: Path):
    target = tmp_path / "signal.svg"
    r = invoke("run", SAMPLES / "signal.npy", *args, "--init", "random", "-q", "--figure", target)
    assert r.exit_code == 0, r.output
    text = title_of(target)
    assert title in text and "Conv2D" not in text and "1×" not in text


def test_a_2d_layer_keeps_its_title(tmp_path: Path):
    target = tmp_path / "t.svg"
    assert invoke("run", SAMPLES / "textbook.npy", "-k", "2", "--init", "ones", "-q", "--figure", target).exit_code == 0
    assert "Conv2D 2×2, stride 1, no padding, 1 filter, linear · input 3×3×3 → output 2×2×1" in title_of(target)
