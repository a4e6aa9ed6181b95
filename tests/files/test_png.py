"""The greyscale PNG writer of ``--save-maps``: any reader gets the pixels and the text back."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from convcli.files import png


def written(pixels: np.ndarray, **kwargs) -> Image.Image:
    fh = io.BytesIO()
    png.write_grey_png(fh, pixels, {"convcli": '{"filter": 0, "offset": -1.5}'}, **kwargs)
    fh.seek(0)
    image = Image.open(fh)
    image.load()
    return image


@pytest.mark.parametrize("dtype, mode", [(np.uint16, "I;16"), (np.uint8, "L")])
@pytest.mark.parametrize("level", [None, 0, 1])
def test_pixels_and_text_read_back(dtype, mode, level):
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, np.iinfo(dtype).max, size=(37, 53), endpoint=True).astype(dtype)
    image = written(pixels, level=level)
    assert image.mode == mode
    np.testing.assert_array_equal(np.asarray(image), pixels)
    assert image.text["convcli"] == '{"filter": 0, "offset": -1.5}'


def test_deflated_only_where_it_pays():
    rng = np.random.default_rng(4)
    noise = rng.integers(0, 65535, size=(256, 300), endpoint=True).astype(np.uint16)
    smooth = np.tile(np.arange(300, dtype=np.uint16) * 200, (256, 1))
    rows = lambda a: np.ascontiguousarray(a.astype(">u2").view(np.uint8))  # noqa: E731
    assert png.deflate_level(rows(noise)) == 0
    assert png.deflate_level(rows(smooth)) == png.LEVEL
    fh = io.BytesIO()
    png.write_grey_png(fh, smooth)
    assert len(fh.getvalue()) < smooth.nbytes / 4


def test_refuses_what_is_not_a_greyscale_map():
    with pytest.raises(ValueError, match="uint8 or uint16"):
        png.write_grey_png(io.BytesIO(), np.zeros((4, 4), np.float32))
