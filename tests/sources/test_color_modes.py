"""Images read as the frameworks read them: Keras' load_img colour modes, EXIF orientation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from convcli.errors import ConfigError
from convcli.sources.inputs import load_input


def _rgba(tmp_path: Path) -> tuple[Path, np.ndarray]:
    a = np.random.default_rng(3).integers(0, 256, (5, 7, 4), dtype=np.uint8)
    path = tmp_path / "x.png"
    Image.fromarray(a).save(path)
    return path, a


def test_rgba_default_drops_alpha_and_says_so(tmp_path: Path) -> None:
    path, a = _rgba(tmp_path)
    got = load_input(path)
    np.testing.assert_array_equal(got.array, a[:, :, :3])
    assert got.channel_names == ("R", "G", "B")
    assert got.description == "PNG image, RGBA, RGBA → RGB, alpha dropped (--color-mode rgba keeps it), 8-bit"


def test_rgba_kept_with_rgba(tmp_path: Path) -> None:
    path, a = _rgba(tmp_path)
    got = load_input(path, color_mode="rgba")
    np.testing.assert_array_equal(got.array, a)
    assert got.description == "PNG image, RGBA, 8-bit"


@pytest.mark.parametrize(("mode", "pil"), [("grayscale", "L"), ("rgb", "RGB"), ("rgba", "RGBA")])
def test_color_modes_are_pillows_conversions(tmp_path: Path, mode: str, pil: str) -> None:
    path, a = _rgba(tmp_path)
    want = np.array(Image.fromarray(a).convert(pil))  # the oracle: Pillow, as Keras' load_img calls it
    want = want[:, :, None] if want.ndim == 2 else want
    got = load_input(path, color_mode=mode)
    np.testing.assert_array_equal(got.array, want)
    assert got.array.shape[2] == {"L": 1, "RGB": 3, "RGBA": 4}[pil]


def test_grey_to_rgb_repeats_the_channel(tmp_path: Path) -> None:
    g = np.arange(12, dtype=np.uint8).reshape(3, 4)
    Image.fromarray(g).save(tmp_path / "g.png")
    got = load_input(tmp_path / "g.png", color_mode="rgb")
    np.testing.assert_array_equal(got.array, np.stack([g] * 3, axis=-1))
    assert "L → RGB (--color-mode rgb)" in got.description


def test_unknown_color_mode_is_a_usage_error(tmp_path: Path) -> None:
    path, _ = _rgba(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_input(path, color_mode="cmyk")
    assert info.value.field == "color_mode"


def _oriented(tmp_path: Path, orientation: int) -> tuple[Path, np.ndarray]:
    a = np.random.default_rng(4).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    img = Image.fromarray(a)
    exif = img.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "o.png"
    img.save(path, exif=exif)
    return path, a


def test_exif_orientation_6_is_applied(tmp_path: Path) -> None:
    path, a = _oriented(tmp_path, 6)
    got = load_input(path)
    # 6: the camera was turned a quarter clockwise; viewers turn the stored pixels 90° clockwise
    np.testing.assert_array_equal(got.array, np.rot90(a, k=-1))
    with Image.open(path) as img:
        np.testing.assert_array_equal(got.array, np.array(ImageOps.exif_transpose(img)))
    assert got.description.endswith(", rotated 90° clockwise by EXIF orientation 6")


def test_keep_orientation_keeps_the_stored_pixels(tmp_path: Path) -> None:
    path, a = _oriented(tmp_path, 6)
    got = load_input(path, keep_orientation=True)
    np.testing.assert_array_equal(got.array, a)
    assert "EXIF orientation 6 not applied" in got.description


def test_no_orientation_says_nothing(tmp_path: Path) -> None:
    path, a = _oriented(tmp_path, 1)
    got = load_input(path)
    np.testing.assert_array_equal(got.array, a)
    assert "EXIF" not in got.description
