"""A 3-D layer's figure: drawn one output plane at a time, its title still gives the whole layer
(kd×kh×kw, its strides and pads on every axis, its shapes) and which depth slice is shown."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from helpers import invoke

SVG = "{http://www.w3.org/2000/svg}"


def title_of(path: Path) -> str:
    """The figure's title, its wrapped lines joined (the title is the first texts, in bold)."""
    root = ET.fromstring(path.read_text(encoding="utf-8"))
    lines = [t for t in root.iter(f"{SVG}text") if t.get("font-weight") == "bold" and t.get("font-size") == "18"]
    return " ".join("".join(t.itertext()) for t in lines)


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    path = tmp_path / "vol.npy"
    np.save(path, np.random.default_rng(0).standard_normal((5, 8, 8, 2)).astype(np.float32))
    return path


@pytest.mark.parametrize(("args", "title"), [
    ((), "Conv3D 3×3×3, stride 1, no padding, 1 filter, linear · depth slice 1 of 3 (input planes 1, 2, 3)"
         " · input 5×8×8×2 (D, H, W, C) → output 3×6×6×1"),
    (("--depth-at", "0", "--padding", "same"),
     "Conv3D 3×3×3, stride 1, pads (1, 1) × (1, 1) × (1, 1), 1 filter, linear · depth slice 0 of 5"
     " (input planes -1 (padding), 0, 1) · input 5×8×8×2 (D, H, W, C) → output 5×8×8×1"),
])
def test_the_title_names_the_whole_3d_kernel_and_the_slice(volume: Path, args: tuple[str, ...], title: str,
                                                            tmp_path: Path):
    target = tmp_path / "f.svg"
    r = invoke("run", volume, "--ndim", "3", "-k", "3", *args, "--init", "random", "-q", "--figure", target)
    assert r.exit_code == 0, r.output
    text = title_of(target)
    assert " ".join(title.split()) in " ".join(text.split()), text
    assert "Conv3D 3×3," not in text  # the 2-D slice's kernel is not the layer's


def test_a_strided_uneven_kernel_reads_the_planes_its_stride_says(volume: Path, tmp_path: Path):
    """kd 2, stride 2: output plane 2 reads input planes 4 and 5 (5 is past the 5-plane input: 'same' padding)."""
    target = tmp_path / "f.svg"
    r = invoke("run", volume, "--ndim", "3", "-k", "2,3,3", "--stride", "2", "--padding", "same", "--depth-at", "2",
               "--init", "random", "-q", "--figure", target)
    assert r.exit_code == 0, r.output
    text = " ".join(title_of(target).split())
    assert "Conv3D 2×3×3, stride 2, pads (0, 1) × (0, 1) × (0, 1)" in text
    assert "depth slice 2 of 3 (input planes 4, 5 (padding))" in text
    assert "output 3×4×4×1" in text
