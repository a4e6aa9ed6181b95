"""`run` reads inputs as the frameworks do: --semantics torch reads arrays channels-first,
--color-mode and EXIF orientation reach the loader, and the header says what was done."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from helpers import invoke
from oracle import naive_conv2d


def _json(*args: object) -> dict:
    r = invoke("run", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_torch_semantics_reads_an_array_channels_first(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((3, 8, 10)).astype(np.float32)  # (C, H, W), as torch holds it
    np.save(tmp_path / "x.npy", x)
    got = _json(tmp_path / "x.npy", "--semantics", "torch", "--init", "ones")
    assert got["input"]["shape"] == [8, 10, 3]  # JSON shapes are (H, W, C)
    want = naive_conv2d(x.transpose(1, 2, 0).astype(np.float64), np.ones((3, 3, 3, 1)))
    np.testing.assert_allclose(got["filters"][0]["output_max"], want.max(), rtol=1e-5)
    screen = invoke("run", tmp_path / "x.npy", "--semantics", "torch").stdout
    assert "channels-first (3, 8, 10) · 3×8×10 (C, H, W)" in screen


def test_layout_overrides_the_semantics(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((8, 10, 3), np.float32))
    got = _json(tmp_path / "x.npy", "--semantics", "torch", "--layout", "channels-last")
    assert got["input"]["shape"] == [8, 10, 3]
    assert _json(tmp_path / "x.npy")["input"]["shape"] == [8, 10, 3]  # keras: channels-last, as before


def test_color_mode_and_orientation_options(tmp_path: Path) -> None:
    a = np.random.default_rng(1).integers(0, 256, (6, 9, 4), dtype=np.uint8)
    img = Image.fromarray(a)
    exif = img.getexif()
    exif[0x0112] = 8
    img.save(tmp_path / "x.png", exif=exif)
    assert _json(tmp_path / "x.png")["input"]["shape"] == [9, 6, 3]  # turned, alpha dropped
    assert _json(tmp_path / "x.png", "--color-mode", "rgba")["input"]["shape"] == [9, 6, 4]
    assert _json(tmp_path / "x.png", "--color-mode", "grayscale", "--keep-orientation")["input"]["shape"] == [6, 9, 1]
    said = _json(tmp_path / "x.png")["input"]["description"]
    assert said == ("PNG image, RGBA, RGBA → RGB, alpha dropped (--color-mode rgba keeps it), 8-bit, "
                    "rotated 90° counter-clockwise by EXIF orientation 8")
    assert "RGBA → RGB, alpha dropped" in invoke("run", tmp_path / "x.png", columns=200).stdout
