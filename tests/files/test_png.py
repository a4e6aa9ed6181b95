"""The greyscale PNG writer of ``--save-maps``: any reader gets the pixels and the text back."""

from __future__ import annotations

import io
import zlib

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


def read_rgb(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.mode == "RGB"
    return np.asarray(image)


def rgb_bytes(pixels: np.ndarray, **kwargs) -> bytes:
    fh = io.BytesIO()
    png.write_rgb_png(fh, pixels, **kwargs)
    return fh.getvalue()


def threaded(fn, bands):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(3) as pool:
        assert sum(pool.map(fn, reversed(bands))) == bands[-1][1]  # out of order: the bytes must not care


@pytest.mark.parametrize("band_bytes", [1, 700, png.RGB_BAND_BYTES])
@pytest.mark.parametrize("level", [0, 1, 6])
def test_rgb_reads_back_in_pillow_whatever_the_bands(monkeypatch, band_bytes, level):
    """Pillow (an independent decoder) gets the pixels back, one band or many (one row a band), on threads or not."""
    monkeypatch.setattr(png, "RGB_BAND_BYTES", band_bytes)
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 255, size=(23, 41, 3), endpoint=True).astype(np.uint8)
    pixels[5:9] = 255  # flat rows: "Up" differences of 0
    pixels[12:, :, 1] = np.arange(41, dtype=np.uint8) * 6  # a gradient, the same down the rows
    plain = rgb_bytes(pixels, level=level)
    np.testing.assert_array_equal(read_rgb(plain), pixels)
    # zlib itself (which checks the Adler-32 that Pillow skips) inflates the IDAT to the rows filtered Up
    at = plain.index(b"IDAT")
    size = int.from_bytes(plain[at - 4 : at], "big")
    assert zlib.decompress(plain[at + 4 : at + 4 + size]) == png.up_rows(pixels).tobytes()
    assert rgb_bytes(pixels, level=level, run_bands=threaded) == plain


def test_rgb_rows_are_filtered_up_and_one_pixel_works():
    pixels = np.array([[[10, 200, 3], [0, 0, 0]], [[9, 201, 3], [255, 1, 2]]], dtype=np.uint8)
    rows = png.up_rows(pixels)
    np.testing.assert_array_equal(rows, [[2, 10, 200, 3, 0, 0, 0], [2, 255, 1, 0, 255, 1, 2]])
    one = np.array([[[1, 2, 3]]], dtype=np.uint8)
    np.testing.assert_array_equal(read_rgb(rgb_bytes(one)), one)


def test_rgb_figure_sized_white_compresses_hard():
    white = np.full((600, 500, 3), 255, np.uint8)
    assert len(rgb_bytes(white)) < white.nbytes / 100


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8),
                                 np.zeros((4, 4, 3), np.float32), np.zeros((0, 4, 3), np.uint8)])
def test_rgb_refuses_what_is_not_rgb(bad):
    with pytest.raises(ValueError, match="RGB PNG"):
        png.write_rgb_png(io.BytesIO(), bad)


def test_a_band_of_rows_is_filtered_as_in_the_whole_and_adler_combines():
    rng = np.random.default_rng(6)
    pixels = rng.integers(0, 255, size=(9, 7, 3), endpoint=True).astype(np.uint8)
    whole = png.up_rows(pixels)
    for start, stop in [(0, 3), (3, 4), (4, 9), (8, 9)]:
        np.testing.assert_array_equal(png.up_rows(pixels, start, stop), whole[start:stop])
    for a, b in [(b"", b""), (b"abc", b""), (b"", b"xyz"), (bytes(range(256)) * 300, b"\xff" * 70000),
                 (rng.bytes(100_003), rng.bytes(65_521 * 2 + 5))]:
        assert png.adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)


@pytest.mark.parametrize("band_bytes", [1, 700, png.RGB_BAND_BYTES])
def test_rgb_from_a_pillow_image_is_the_same_file_as_from_its_array(monkeypatch, band_bytes):
    """A Pillow image is read a band of rows at a time (no whole copy): the same bytes as its array's."""
    monkeypatch.setattr(png, "RGB_BAND_BYTES", band_bytes)
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, size=(19, 33, 3), endpoint=True).astype(np.uint8)
    image = Image.fromarray(pixels)
    assert rgb_bytes(image, run_bands=threaded) == rgb_bytes(pixels)
    np.testing.assert_array_equal(read_rgb(rgb_bytes(image)), pixels)
    with pytest.raises(ValueError, match="RGB PNG"):
        png.write_rgb_png(io.BytesIO(), image.convert("L"))
