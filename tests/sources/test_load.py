"""convcli.sources: images, .npy/.npz and numeric text -> (H, W, C); every bad file -> one LoadError line."""

from __future__ import annotations

import importlib.util
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from convcli.cli.app import FLAGS
from convcli.errors import ConfigError, LoadError
from convcli.sources.inputs import DEFAULT_MAX_PIXELS, Loaded, load_array, load_input

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
DATA = REPO.parent / "shared" / "data"

RNG_SEED = 20240611


def rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


def save_image(path: Path, img: Image.Image, **params: object) -> Path:
    img.save(path, **params)
    return path


def load_error(path: Path | str, **kwargs: object) -> str:
    """The LoadError message of load_input(path); fails if it loads."""
    message = str(load_exc(path, **kwargs))
    assert "\n" not in message
    return message


def load_exc(path: Path | str, **kwargs: object) -> LoadError:
    """The LoadError of load_input(path); fails if it loads."""
    with pytest.raises(LoadError) as info:
        load_input(path, **kwargs)  # type: ignore[arg-type]
    return info.value


# --------------------------------------------------------------------------------------------
# Image modes


@pytest.mark.parametrize(
    ("mode", "channels", "names"),
    [
        ("L", 1, ("L",)),
        ("LA", 2, ("L", "A")),
        ("RGB", 3, ("R", "G", "B")),
        ("RGBA", 4, ("R", "G", "B", "A")),
    ],
)
def test_png_modes_keep_values_as_stored(
    tmp_path: Path, mode: str, channels: int, names: tuple[str, ...]
) -> None:
    a = rng().integers(0, 256, (5, 7, channels), dtype=np.uint8)
    img = Image.fromarray(a[:, :, 0] if channels == 1 else a, mode=mode)
    # alpha is kept only by asking (the default drops it, as Keras' load_img); LA has no
    # framework mode that keeps it as two channels, so it is read with the modes as stored
    from convcli.sources.images import image_array

    if mode in ("LA", "RGBA"):
        with Image.open(save_image(tmp_path / "x.png", img)) as back:
            arr, got_names, text = image_array(back, "x.png")
        np.testing.assert_array_equal(arr, a)
        assert (got_names, text) == (names, mode)
        return
    got = load_input(save_image(tmp_path / "x.png", img))
    assert isinstance(got, Loaded)
    assert got.array.dtype == np.uint8
    assert got.array.shape == (5, 7, channels)
    np.testing.assert_array_equal(got.array, a)
    assert got.channel_names == names
    assert got.description == f"PNG image, {mode}, 8-bit"
    assert got.path == str(tmp_path / "x.png")
    assert got.array.flags.c_contiguous


def _palette_image() -> Image.Image:
    img = Image.new("P", (3, 2))
    img.putpalette([10, 20, 30, 200, 100, 50, 0, 0, 255] + [0] * (256 * 3 - 9))
    img.putdata([0, 1, 2, 2, 1, 0])
    return img


def test_palette_without_transparency_is_rgb(tmp_path: Path) -> None:
    got = load_input(save_image(tmp_path / "p.png", _palette_image()))
    assert got.channel_names == ("R", "G", "B")
    np.testing.assert_array_equal(got.array[0, 0], [10, 20, 30])
    np.testing.assert_array_equal(got.array[0, 1], [200, 100, 50])
    np.testing.assert_array_equal(got.array[1, 0], [0, 0, 255])
    assert "P (palette) converted to RGB" in got.description


def test_palette_with_transparency_is_rgba(tmp_path: Path) -> None:
    got = load_input(save_image(tmp_path / "p.png", _palette_image(), transparency=1), color_mode="rgba")
    assert got.channel_names == ("R", "G", "B", "A")
    np.testing.assert_array_equal(got.array[0, 0], [10, 20, 30, 255])
    np.testing.assert_array_equal(got.array[0, 1, 3], 0)  # palette index 1 is transparent
    np.testing.assert_array_equal(got.array[:, :, 3], [[255, 0, 255], [255, 0, 255]])
    assert "converted to RGBA" in got.description


def test_pa_image_is_rgba() -> None:
    # No common format stores PA, so the mode table is checked on an in-memory image.
    from convcli.sources.images import image_array as _image_array

    img = _palette_image().convert("PA")
    img.putalpha(77)
    arr, names, text = _image_array(img, "pa")
    assert names == ("R", "G", "B", "A")
    np.testing.assert_array_equal(arr[0, 0], [10, 20, 30, 77])
    assert text == "PA converted to RGBA"


def test_bilevel_is_l_with_0_and_255(tmp_path: Path) -> None:
    bits = np.array([[1, 0, 1], [0, 0, 1]], dtype=bool)
    got = load_input(save_image(tmp_path / "b.png", Image.fromarray(bits)))
    assert got.channel_names == ("L",)
    np.testing.assert_array_equal(got.array[:, :, 0], bits.astype(np.uint8) * 255)
    assert "1 converted to L" in got.description


def test_cmyk_jpeg_is_rgb(tmp_path: Path) -> None:
    path = save_image(tmp_path / "c.jpg", Image.new("CMYK", (8, 8), (255, 0, 0, 0)), quality=95)
    got = load_input(path)
    assert got.description == "JPEG image, CMYK converted to RGB, 8-bit"
    assert got.array.shape == (8, 8, 3)
    np.testing.assert_allclose(got.array[4, 4], [0, 255, 255], atol=3)  # cyan


@pytest.mark.parametrize("mode", ["CMYK", "YCbCr", "LAB"])
def test_colour_spaces_are_rgb_exactly_as_pillow_converts(tmp_path: Path, mode: str) -> None:
    a = rng().integers(0, 256, (4, 5, 4 if mode == "CMYK" else 3), dtype=np.uint8)
    img = Image.frombytes(mode, (5, 4), a.tobytes())
    path = save_image(tmp_path / "c.tif", img)
    got = load_input(path)
    with Image.open(path) as reread:
        assert reread.mode == mode
        expected = np.asarray(reread.convert("RGB"))
    assert got.channel_names == ("R", "G", "B")
    np.testing.assert_array_equal(got.array, expected)
    assert f"{mode} converted to RGB" in got.description


def test_16_bit_grey_keeps_values_above_255(tmp_path: Path) -> None:
    a = np.array([[0, 255, 256], [300, 40000, 65535]], dtype=np.uint16)
    got = load_input(save_image(tmp_path / "g16.png", Image.fromarray(a)))
    assert got.array.dtype == np.uint16
    np.testing.assert_array_equal(got.array[:, :, 0], a)
    assert got.channel_names == ("L",)
    assert got.description == "PNG image, I;16 (grey), 16-bit"


def test_big_endian_16_bit_tiff_is_native_uint16(tmp_path: Path) -> None:
    a = np.array([[1, 513], [4097, 65535]], dtype=np.uint16)
    img = Image.frombytes("I;16B", (2, 2), a.astype(">u2").tobytes())
    got = load_input(save_image(tmp_path / "g.tif", img))
    assert got.array.dtype == np.dtype(np.uint16)
    np.testing.assert_array_equal(got.array[:, :, 0], a)


def test_mode_i_is_int32(tmp_path: Path) -> None:
    a = np.array([[-5, 0, 70000], [2**31 - 1, -(2**31), 12]], dtype=np.int32)
    got = load_input(save_image(tmp_path / "i.tif", Image.fromarray(a)))
    assert got.array.dtype == np.int32
    np.testing.assert_array_equal(got.array[:, :, 0], a)
    assert got.description == "TIFF image, I (grey), 32-bit integer"


def test_mode_f_is_float32(tmp_path: Path) -> None:
    a = np.array([[-1.5, 0.0], [3.25e6, 1e-7]], dtype=np.float32)
    got = load_input(save_image(tmp_path / "f.tif", Image.fromarray(a)))
    assert got.array.dtype == np.float32
    np.testing.assert_array_equal(got.array[:, :, 0], a)
    assert got.description == "TIFF image, F (grey), 32-bit float"


# --------------------------------------------------------------------------------------------
# Image formats


def test_jpeg_rgb_is_close_to_what_was_saved(tmp_path: Path) -> None:
    a = np.zeros((16, 16, 3), dtype=np.uint8)
    a[:, :8] = (200, 40, 90)
    a[:, 8:] = (20, 180, 60)
    got = load_input(save_image(tmp_path / "x.jpeg", Image.fromarray(a), quality=100, subsampling=0))
    assert got.description == "JPEG image, RGB, 8-bit"
    np.testing.assert_allclose(got.array[4, 2], [200, 40, 90], atol=4)
    np.testing.assert_allclose(got.array[4, 13], [20, 180, 60], atol=4)


def test_bmp_exact(tmp_path: Path) -> None:
    a = rng().integers(0, 256, (3, 5, 3), dtype=np.uint8)
    got = load_input(save_image(tmp_path / "x.bmp", Image.fromarray(a)))
    np.testing.assert_array_equal(got.array, a)
    assert got.description == "BMP image, RGB, 8-bit"


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (4, 3), c) for c in colours]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    got = load_input(path)
    assert got.array.shape == (3, 4, 3)
    assert (got.array == np.array([255, 0, 0], dtype=np.uint8)).all()
    assert got.description == "GIF image, first of 3 frames, P (palette) converted to RGB, 8-bit"


def test_tiff_rgb_exact(tmp_path: Path) -> None:
    a = rng().integers(0, 256, (6, 4, 3), dtype=np.uint8)
    got = load_input(save_image(tmp_path / "x.tiff", Image.fromarray(a)))
    np.testing.assert_array_equal(got.array, a)
    assert got.description == "TIFF image, RGB, 8-bit"


@pytest.mark.parametrize("channels", [3, 4])
def test_lossless_webp_is_exact(tmp_path: Path, channels: int) -> None:
    a = rng().integers(0, 256, (5, 7, channels), dtype=np.uint8)
    got = load_input(save_image(tmp_path / "x.webp", Image.fromarray(a), lossless=True, exact=True),
                     color_mode="rgba" if channels == 4 else None)
    np.testing.assert_array_equal(got.array, a)
    assert got.description.startswith("WEBP image, RGB")


# --------------------------------------------------------------------------------------------
# normalize


def test_normalize_8_bit(tmp_path: Path) -> None:
    a = np.array([[0, 51, 255]], dtype=np.uint8)
    got = load_input(save_image(tmp_path / "x.png", Image.fromarray(a)), normalize=True)
    assert got.array.dtype == np.float64
    np.testing.assert_allclose(got.array[:, :, 0], [[0.0, 0.2, 1.0]])
    assert got.description.endswith(", normalized to [0, 1]")


def test_normalize_16_bit(tmp_path: Path) -> None:
    a = np.array([[0, 13107, 65535]], dtype=np.uint16)
    got = load_input(save_image(tmp_path / "x.png", Image.fromarray(a)), normalize=True)
    np.testing.assert_allclose(got.array[:, :, 0], [[0.0, 0.2, 1.0]])


def test_normalize_int32_image_divides_by_int32_max(tmp_path: Path) -> None:
    a = np.array([[0, 2**31 - 1]], dtype=np.int32)
    got = load_input(save_image(tmp_path / "x.tif", Image.fromarray(a)), normalize=True)
    np.testing.assert_allclose(got.array[:, :, 0], [[0.0, 1.0]])


def test_normalize_keeps_floats(tmp_path: Path) -> None:
    a = np.array([[-2.5, 7.0]], dtype=np.float32)
    got = load_input(save_image(tmp_path / "x.tif", Image.fromarray(a)), normalize=True)
    assert got.array.dtype == np.float64
    np.testing.assert_array_equal(got.array[:, :, 0], [[-2.5, 7.0]])
    assert got.description.endswith(", float values kept (normalize scales integers only)")


def test_normalize_uint8_array(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.array([[0, 255], [102, 51]], dtype=np.uint8))
    got = load_input(tmp_path / "x.npy", normalize=True)
    np.testing.assert_allclose(got.array[:, :, 0], [[0.0, 1.0], [0.4, 0.2]])


# --------------------------------------------------------------------------------------------
# Pixel limit (decompression bombs)


def test_default_max_pixels_is_pillows_error_threshold() -> None:
    assert DEFAULT_MAX_PIXELS == 178_956_970 == 2 * 89_478_485


@pytest.mark.parametrize("limit", [5_000, 4_000])  # Pillow's warning (> limit) and error (> 2·limit)
def test_image_over_the_pixel_limit(tmp_path: Path, limit: int) -> None:
    path = save_image(tmp_path / "big.png", Image.new("L", (100, 100)))
    exc = load_exc(path, max_pixels=limit)
    message = exc.worded(FLAGS)  # as the CLI words it; the library names the field
    assert str(path) in message
    assert "10,000 pixels" in message
    assert f"{limit:,}" in message
    assert "--max-pixels" in message
    assert exc.field == "max_pixels" and str(exc).endswith("raise it with max_pixels")
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # restored


def test_pixel_limit_none_and_exact_limit_allow_the_image(tmp_path: Path) -> None:
    path = save_image(tmp_path / "big.png", Image.new("L", (100, 100), 9))
    assert load_input(path, max_pixels=None).array.shape == (100, 100, 1)
    assert load_input(path, max_pixels=10_000).array[50, 50, 0] == 9
    assert Image.MAX_IMAGE_PIXELS == 89_478_485


def test_pixel_limit_applies_to_arrays_before_reading(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((3, 40, 50)))
    exc = load_exc(tmp_path / "x.npy", layout="channels-first", max_pixels=1999)
    message = exc.worded(FLAGS)
    assert "40×50 = 2,000 pixels" in message
    assert "--max-pixels" in message
    assert exc.field == "max_pixels" and "raise it with max_pixels" in str(exc)


def test_pixel_limit_applies_to_text(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("1 2 3\n4 5 6\n")
    assert "2×3 = 6 pixels" in load_error(tmp_path / "x.txt", max_pixels=5)


@pytest.mark.parametrize("bad", [0, -1, True])
def test_bad_max_pixels_is_usage_error(tmp_path: Path, bad: int) -> None:
    with pytest.raises(ConfigError):
        load_input(tmp_path / "x.png", max_pixels=bad)


# --------------------------------------------------------------------------------------------
# Broken and missing files


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rng().integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_truncated_png(tmp_path: Path) -> None:
    data = _png_bytes()
    path = tmp_path / "x.png"
    path.write_bytes(data[: len(data) // 2])
    assert load_error(path) == f"{path}: not a readable image (truncated PNG)"


def test_png_cut_inside_its_header(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(_png_bytes()[:30])
    message = load_error(path)
    assert message.startswith(f"{path}: not a readable image (")
    assert "PNG" in message


def test_png_with_corrupt_data(tmp_path: Path) -> None:
    data = bytearray(_png_bytes())
    data[data.find(b"IDAT") + 20] ^= 0xFF
    path = tmp_path / "x.png"
    path.write_bytes(bytes(data))
    assert load_error(path).startswith(f"{path}: not a readable image (corrupt PNG")


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = save_image(
        tmp_path / "x.jpg", Image.fromarray(rng().integers(0, 256, (64, 64, 3), dtype=np.uint8))
    )
    path.write_bytes(path.read_bytes()[:700])
    assert load_error(path) == f"{path}: not a readable image (truncated JPEG)"


def test_missing_file(tmp_path: Path) -> None:
    assert load_error(tmp_path / "nope.png") == f"{tmp_path / 'nope.png'}: no such file"


def test_directory(tmp_path: Path) -> None:
    assert load_error(tmp_path) == f"{tmp_path}: is a directory, not a file"


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.npy").write_bytes(b"")
    assert load_error(tmp_path / "e.npy") == f"{tmp_path / 'e.npy'}: is empty (0 bytes)"


def test_missing_array_file_for_load_array(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no such file"):
        load_array(tmp_path / "k.npy", what="kernel")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("x.bin", "not an image, a .npy/.npz array or numeric text"),
        ("x.npy", "not a .npy file (it does not start with the \\x93NUMPY magic)"),
        ("x.npz", "not a .npz archive (not a zip file)"),
        ("x.png", "not a readable image (no image format recognised in it)"),
        ("x.csv", "not text (binary data); expected rows of numbers"),
    ],
)
def test_binary_garbage_gets_the_message_its_name_suggests(tmp_path: Path, name: str, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(bytes(range(256)) * 4)
    assert load_error(path) == f"{path}: {expected}"


# --------------------------------------------------------------------------------------------
# Content decides, not the extension


def test_png_bytes_named_npy_load_as_image(tmp_path: Path) -> None:
    a = rng().integers(0, 256, (3, 4, 3), dtype=np.uint8)
    path = tmp_path / "liar.npy"
    Image.fromarray(a).save(path, format="PNG")
    got = load_input(path)
    np.testing.assert_array_equal(got.array, a)
    assert got.description == "PNG image, RGB, 8-bit"


def test_npy_bytes_named_png_load_as_array(tmp_path: Path) -> None:
    a = np.arange(6, dtype=np.int16).reshape(2, 3)
    with open(tmp_path / "liar.png", "wb") as fh:
        np.save(fh, a)
    got = load_input(tmp_path / "liar.png")
    np.testing.assert_array_equal(got.array[:, :, 0], a)
    assert got.array.dtype == np.int16


def test_npz_bytes_named_txt_load_as_archive(tmp_path: Path) -> None:
    with open(tmp_path / "liar.txt", "wb") as fh:
        np.savez(fh, only=np.ones((2, 2, 2)))
    assert load_input(tmp_path / "liar.txt").description.startswith(".npz array 'only'")


def test_text_with_any_extension_loads(tmp_path: Path) -> None:
    (tmp_path / "m.matrix").write_text("1 2\n3 4\n")
    np.testing.assert_array_equal(load_input(tmp_path / "m.matrix").array[:, :, 0], [[1, 2], [3, 4]])


def test_non_numeric_text_named_npy_is_not_a_npy_file(tmp_path: Path) -> None:
    (tmp_path / "x.npy").write_text("hello\n")
    assert (
        load_error(tmp_path / "x.npy")
        == f"{tmp_path / 'x.npy'}: not a .npy file (it does not start with the \\x93NUMPY magic)"
    )


# --------------------------------------------------------------------------------------------
# .npy arrays and layouts


def test_2d_array_is_one_channel(tmp_path: Path) -> None:
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    np.save(tmp_path / "x.npy", a)
    got = load_input(tmp_path / "x.npy")
    assert got.array.shape == (3, 4, 1)
    np.testing.assert_array_equal(got.array[:, :, 0], a)
    assert got.channel_names == ("c0",)
    assert got.description == ".npy array, float64, 2-D (3, 4) -> 1 channel"


def test_3d_channels_last_is_kept(tmp_path: Path) -> None:
    a = rng().normal(size=(4, 5, 3))
    np.save(tmp_path / "x.npy", a)
    got = load_input(tmp_path / "x.npy")
    np.testing.assert_array_equal(got.array, a)
    assert got.channel_names == ("c0", "c1", "c2")
    assert got.description == ".npy array, float64, channels-last (4, 5, 3)"


def test_3d_channels_first_is_transposed_and_contiguous(tmp_path: Path) -> None:
    a = np.arange(2 * 3 * 4, dtype=np.int32).reshape(2, 3, 4)  # (C, H, W)
    np.save(tmp_path / "x.npy", a)
    got = load_input(tmp_path / "x.npy", layout="channels-first")
    assert got.array.shape == (3, 4, 2)
    assert got.array[1, 2, 0] == a[0, 1, 2] == 6
    assert got.array[1, 2, 1] == a[1, 1, 2] == 18
    assert got.array.flags.c_contiguous
    assert got.description == ".npy array, int32, channels-first (2, 3, 4)"


def test_underscore_layout_spelling_is_accepted(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 3, 4)))
    assert load_input(tmp_path / "x.npy", layout="channels_first").array.shape == (3, 4, 2)


def test_channels_last_reading_of_likely_channels_first_data_hints(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((3, 32, 32)))
    got = load_input(tmp_path / "x.npy")
    assert got.array.shape == (3, 32, 32)  # still read as asked
    assert "use --layout channels-first" in got.description


@pytest.mark.parametrize(
    ("shape", "layout", "pick"),
    [
        ((1, 3, 4, 2), "channels-last", lambda a: a[0]),
        ((1, 2, 3, 4), "channels-first", lambda a: a[0].transpose(1, 2, 0)),
    ],
)
def test_batch_of_one_is_squeezed(tmp_path: Path, shape: tuple[int, ...], layout: str, pick) -> None:  # type: ignore[no-untyped-def]
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    np.save(tmp_path / "x.npy", a)
    got = load_input(tmp_path / "x.npy", layout=layout)
    assert got.array.shape == (3, 4, 2)
    np.testing.assert_array_equal(got.array, pick(a))
    assert "batch of 1" in got.description


def test_batch_of_several_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((4, 8, 8, 3)))
    message = load_error(tmp_path / "x.npy")
    assert "(4, 8, 8, 3)" in message
    assert "batch of 4" in message


@pytest.mark.parametrize(("shape", "words"), [((), "0-D"), ((5,), "1-D"), ((1, 1, 2, 2, 2), "5 dimensions")])
def test_arrays_that_are_not_images(tmp_path: Path, shape: tuple[int, ...], words: str) -> None:
    np.save(tmp_path / "x.npy", np.ones(shape))
    message = load_error(tmp_path / "x.npy")
    assert message.startswith(f"{tmp_path / 'x.npy'}: ")
    assert words in message
    assert str(shape) in message


def test_bad_layout_is_config_error_exit_2(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 2)))
    with pytest.raises(ConfigError) as info:
        load_input(tmp_path / "x.npy", layout="NCHW")
    assert info.value.exit_code == 2
    assert "'NCHW'" in str(info.value)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "int64", "float16", "float32"])
def test_dtype_as_stored(tmp_path: Path, dtype: str) -> None:
    a = np.arange(8).reshape(2, 2, 2).astype(dtype)
    np.save(tmp_path / "x.npy", a)
    got = load_input(tmp_path / "x.npy")
    assert got.array.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got.array, a)


def test_big_endian_array_becomes_native(tmp_path: Path) -> None:
    a = np.array([[1.5, -2.0], [3.0, 1e300]], dtype=">f8")
    np.save(tmp_path / "x.npy", a)
    got = load_input(tmp_path / "x.npy")
    assert got.array.dtype == np.dtype("=f8")
    np.testing.assert_array_equal(got.array[:, :, 0], a)


def test_fortran_order_array_comes_back_c_contiguous(tmp_path: Path) -> None:
    a = np.asfortranarray(np.arange(24.0).reshape(2, 3, 4))
    np.save(tmp_path / "x.npy", a)
    got = load_input(tmp_path / "x.npy")
    assert got.array.flags.c_contiguous
    np.testing.assert_array_equal(got.array, a)


def test_nan_and_inf_are_kept(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.array([[np.nan, np.inf], [-np.inf, 1.0]]))
    a = load_input(tmp_path / "x.npy").array[:, :, 0]
    assert np.isnan(a[0, 0])
    assert a[0, 1] == np.inf
    assert a[1, 0] == -np.inf


@pytest.mark.parametrize(
    ("array", "words"),
    [
        (np.array([[1 + 2j, 0j]]), "holds complex numbers (complex128)"),
        (np.array([[True, False]]), "holds booleans"),
        (np.array([["a", "b"]]), "holds strings"),
        (np.zeros((2, 2), dtype=[("x", "f8"), ("y", "i4")]), "holds records"),
        (np.array([["2024-01-01"]], dtype="datetime64[D]"), "has dtype datetime64[D]"),
        (np.zeros((0, 3)), "is empty (shape (0, 3))"),
    ],
)
def test_refused_arrays(tmp_path: Path, array: np.ndarray, words: str) -> None:
    np.save(tmp_path / "x.npy", array)
    message = load_error(tmp_path / "x.npy")
    assert message.startswith(f"{tmp_path / 'x.npy'}: the input ")
    assert words in message
    with pytest.raises(LoadError, match="the kernel "):
        load_array(tmp_path / "x.npy", what="kernel")


def test_truncated_npy_data(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.ones((10, 10)))
    path = tmp_path / "x.npy"
    path.write_bytes(path.read_bytes()[:-40])
    message = load_error(path)
    assert "header claims shape (10, 10) float64 (800 bytes)" in message
    assert "only 760 bytes" in message


def test_npy_header_claiming_a_huge_shape_is_refused_without_allocating(tmp_path: Path) -> None:
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000, 3), }"
    header = header.ljust(118) + "\n"
    path = tmp_path / "huge.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 64)
    message = load_error(path, max_pixels=None)
    assert "header claims shape (1000000, 1000000, 3) float64 (24,000,000,000,000 bytes)" in message
    with pytest.raises(LoadError, match="header claims"):
        load_array(path)


def test_npy_with_a_broken_header(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': nope}\n" + b"\0" * 16)
    assert load_error(path).startswith(f"{path}: not a readable numpy file (")


def test_key_for_a_npy_file_is_usage_error(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 2)))
    with pytest.raises(ConfigError, match="single array"):
        load_input(tmp_path / "x.npy", key="a")


def test_key_for_an_image_is_usage_error(tmp_path: Path) -> None:
    path = save_image(tmp_path / "x.png", Image.new("L", (2, 2)))
    with pytest.raises(ConfigError, match="only a .npz archive"):
        load_input(path, key="a")


# --------------------------------------------------------------------------------------------
# .npz archives


def test_npz_with_one_array(tmp_path: Path) -> None:
    a = rng().normal(size=(3, 4, 2)).astype(np.float32)
    np.savez_compressed(tmp_path / "x.npz", image=a)
    got = load_input(tmp_path / "x.npz")
    np.testing.assert_array_equal(got.array, a)
    assert got.description == ".npz array 'image', float32, channels-last (3, 4, 2)"


def test_npz_key_chooses(tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", a=np.zeros((2, 2)), b=np.full((2, 3), 7.0), c=np.ones((1, 1)))
    assert load_input(tmp_path / "x.npz", key="b").array.shape == (2, 3, 1)
    assert load_input(tmp_path / "x.npz", key="b.npy").array[0, 0, 0] == 7.0
    np.testing.assert_array_equal(load_array(tmp_path / "x.npz", key="b"), np.full((2, 3), 7.0))


def test_npz_with_several_arrays_needs_a_key(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", a=np.zeros(2), b=np.zeros(2), c=np.zeros(2))
    path = tmp_path / "a.npz"
    assert load_exc(path).worded(FLAGS) == f"{path} holds 3 arrays (a, b, c); choose one with --key"
    assert load_error(path) == f"{path} holds 3 arrays (a, b, c); choose one with key"
    with pytest.raises(LoadError) as info:
        load_array(path)
    assert info.value.worded(FLAGS).endswith("holds 3 arrays (a, b, c); choose one with --key")
    with pytest.raises(LoadError) as info:
        load_array(path, key_field="kernel_key")
    assert info.value.field == "kernel_key"
    assert info.value.worded(FLAGS).endswith("holds 3 arrays (a, b, c); choose one with --kernel-key")


def test_npz_unknown_key_lists_the_names(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", x=np.zeros((2, 2)), y=np.zeros((2, 2)))
    path = tmp_path / "a.npz"
    assert load_error(path, key="z") == f"{path} has no array named 'z'; it holds 2 arrays (x, y)"


def test_npz_with_no_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "e.npz")
    assert load_error(tmp_path / "e.npz") == f"{tmp_path / 'e.npz'}: the archive holds no arrays"


def test_zip_with_other_members_uses_only_the_npy_ones(tmp_path: Path) -> None:
    path = tmp_path / "z.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "not an array")
        with zf.open("w.npy", "w") as fh:
            np.save(fh, np.full((2, 2), 3.0))
    np.testing.assert_array_equal(load_array(path), np.full((2, 2), 3.0))
    other = tmp_path / "only_text.npz"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "not an array")
    assert "holds no arrays" in load_error(other)


def test_npz_member_that_is_not_npy(tmp_path: Path) -> None:
    path = tmp_path / "z.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.npy", "plain text pretending")
    assert load_error(path) == f"{path}: member 'a.npy' is not a .npy array"


def test_truncated_npz(tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "x.npz", a=rng().normal(size=(50, 50)))
    path = tmp_path / "x.npz"
    path.write_bytes(path.read_bytes()[:200])
    assert load_error(path).startswith(f"{path}: not a readable .npz archive (")


def test_npz_member_with_truncated_data(tmp_path: Path) -> None:
    path = tmp_path / "z.npz"
    full = tmp_path / "full.npy"
    np.save(full, np.ones((4, 4)))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.npy", full.read_bytes()[:-16])
    message = load_error(path)
    assert "header claims shape (4, 4) float64 (128 bytes)" in message
    assert "member 'a.npy' holds only 112 bytes" in message


def test_complex_in_npz_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "k.npz", k=np.ones((2, 2), dtype=complex))
    with pytest.raises(LoadError, match="the bias holds complex numbers"):
        load_array(tmp_path / "k.npz", what="bias")


# --------------------------------------------------------------------------------------------
# Pickles are never loaded


class _Boom:
    """Unpickling this creates ``marker``: proof that a pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def _pickled_npy(path: Path, marker: Path) -> Path:
    np.save(path, np.array([_Boom(marker), 1], dtype=object), allow_pickle=True)
    return path


def test_crafted_pickle_npy_really_runs_code_when_allowed(tmp_path: Path) -> None:
    # The control: proves the crafted file is live, so the refusals below mean something.
    marker = tmp_path / "ran"
    np.load(_pickled_npy(tmp_path / "evil.npy", marker), allow_pickle=True)
    assert marker.exists()


def test_pickle_npy_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = _pickled_npy(tmp_path / "evil.npy", marker)
    assert load_error(path) == f"{path}: object arrays are refused (pickles are never loaded)"
    with pytest.raises(LoadError, match="object arrays are refused"):
        load_array(path, what="kernel")
    assert not marker.exists()


def test_pickle_in_npz_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.npz"
    np.savez(path, a=np.array([_Boom(marker)], dtype=object))
    with np.load(path, allow_pickle=True) as control_npz:
        control_npz["a"]
    assert marker.exists()  # control: the member is a live pickle
    marker.unlink()
    assert load_error(path) == f"{path}: object arrays are refused (pickles are never loaded)"
    assert "object arrays are refused" in load_error(path, key="a")
    with pytest.raises(LoadError, match="object arrays are refused"):
        load_array(path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, pickle.HIGHEST_PROTOCOL])
def test_bare_pickle_named_npy_is_refused_and_never_run(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.npy"
    path.write_bytes(pickle.dumps(_Boom(marker), protocol=protocol))
    assert "not a .npy file" in load_error(path)
    with pytest.raises(LoadError, match="not a .npy file"):
        load_array(path)
    assert not marker.exists()


# --------------------------------------------------------------------------------------------
# Numeric text


@pytest.mark.parametrize(
    "text",
    [
        "1,2,3\n4,5,6\n",
        "1, 2, 3\n4 ,5 , 6\n",
        "1;2;3\n4;5;6\n",
        "1\t2\t3\n4\t5\t6\n",
        "1 2 3\n4   5 6\n",
        "  1 \t 2 3\n4 5\t\t6   \n",
        "1,2,3\r\n4,5,6\r\n",
        "\ufeff1,2,3\n4,5,6",
    ],
)
def test_text_delimiters(tmp_path: Path, text: str) -> None:
    (tmp_path / "x.csv").write_bytes(text.encode("utf-8"))
    got = load_input(tmp_path / "x.csv")
    assert got.array.dtype == np.float64
    np.testing.assert_array_equal(got.array[:, :, 0], [[1, 2, 3], [4, 5, 6]])
    assert got.description == "text, 1 block -> 1 channel"
    assert got.channel_names == ("c0",)


def test_utf16_text_with_bom(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_bytes("1\t2\n3\t4\n".encode("utf-16"))
    np.testing.assert_array_equal(load_array(tmp_path / "x.txt"), [[1, 2], [3, 4]])


def test_text_numbers_in_every_spelling(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("-1.5 +2 1e3\n.25 nan -inf\n")
    a = load_array(tmp_path / "x.txt")
    np.testing.assert_array_equal(a[0], [-1.5, 2.0, 1000.0])
    assert a[1, 0] == 0.25
    assert np.isnan(a[1, 1])
    assert a[1, 2] == -np.inf


def test_text_blocks_are_channels_and_comments_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text(
        "# a 2x3 image, 2 channels\n1 2 3\n# inside a block: still block 1\n4 5 6\n\n\n\n10 20 30\n40 50 60\n\n\n"
    )
    got = load_input(tmp_path / "x.txt")
    assert got.array.shape == (2, 3, 2)
    np.testing.assert_array_equal(got.array[:, :, 0], [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(got.array[:, :, 1], [[10, 20, 30], [40, 50, 60]])
    assert got.channel_names == ("c0", "c1")
    assert got.description == "text, 2 blocks -> 2 channels"


def test_text_blocks_of_different_shapes(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1,2\n3,4\n\n5,6,7\n8,9,0\n")
    message = load_error(tmp_path / "x.csv")
    assert message == (
        f"{tmp_path / 'x.csv'}: block 2 (lines 4-5) is 2×3 but block 1 is 2×2; "
        "all blocks (channels) must have the same shape"
    )


def test_text_non_numeric_cell_names_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("# header\n1,2,3\n4,five,6\n")
    assert load_error(tmp_path / "x.csv") == (
        f"{tmp_path / 'x.csv'}: line 3, column 2: 'five' is not a number (separated by commas)"
    )


def test_text_header_row_gets_a_hint(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    message = load_error(tmp_path / "x.csv")
    assert "line 1, column 1: 'a' is not a number" in message
    assert "comment out a header line with '#'" in message


def test_text_empty_cell(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1,2,3\n4,,6\n")
    assert "line 2, column 2: an empty cell" in load_error(tmp_path / "x.csv")


def test_text_ragged_rows(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("1 2 3\n4 5 6\n7 8\n")
    assert load_error(tmp_path / "x.txt") == (
        f"{tmp_path / 'x.txt'}: line 3 has 2 values but line 1 has 3; rows of a block must have the same length"
    )


def test_text_with_only_comments(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("# nothing\n\n   \n# here\n")
    assert (
        load_error(tmp_path / "x.txt")
        == f"{tmp_path / 'x.txt'}: holds no numbers (only blank or comment lines)"
    )


def test_text_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_bytes("1,2\n3,\xe9\n".encode("latin-1"))
    assert (
        load_error(tmp_path / "x.csv")
        == f"{tmp_path / 'x.csv'}: not text (binary data); expected rows of numbers"
    )


def test_layout_does_not_apply_to_text(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("1 2\n\n3 4\n")
    got = load_input(tmp_path / "x.txt", layout="channels-first")
    assert got.array.shape == (1, 2, 2)
    np.testing.assert_array_equal(got.array[0], [[1, 3], [2, 4]])


# --------------------------------------------------------------------------------------------
# load_array: raw arrays for kernels and biases


@pytest.mark.parametrize("shape", [(), (4,), (3, 3), (2, 2, 3, 1), (1, 3, 2, 2), (1, 1, 1, 1, 2)])
def test_load_array_keeps_any_shape(tmp_path: Path, shape: tuple[int, ...]) -> None:
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) + 1
    np.save(tmp_path / "k.npy", a)
    got = load_array(tmp_path / "k.npy", what="kernel")
    assert got.shape == shape
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, a)


def test_load_array_text_one_block_is_2d(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("0.5, -1\n")
    got = load_array(tmp_path / "b.txt", what="bias")
    assert got.shape == (1, 2)
    np.testing.assert_array_equal(got, [[0.5, -1.0]])


def test_load_array_text_blocks_stack_on_the_last_axis(tmp_path: Path) -> None:
    (tmp_path / "k.txt").write_text("1 2\n3 4\n\n5 6\n7 8\n\n9 10\n11 12\n")
    got = load_array(tmp_path / "k.txt")
    assert got.shape == (2, 2, 3)
    np.testing.assert_array_equal(got[:, :, 1], [[5, 6], [7, 8]])
    np.testing.assert_array_equal(got[0, 0], [1, 5, 9])


def test_load_array_refuses_an_image_and_says_what_it_is(tmp_path: Path) -> None:
    path = save_image(tmp_path / "k.png", Image.new("RGB", (3, 3)))
    with pytest.raises(LoadError) as info:
        load_array(path, what="kernel")
    assert str(info.value) == f"{path}: is a PNG image; a kernel file must be .npy, .npz or numeric text"


def test_load_array_bad_text_names_line(tmp_path: Path) -> None:
    (tmp_path / "k.csv").write_text("1,2\n3,x\n")
    with pytest.raises(LoadError, match=r"k\.csv: line 2, column 2: 'x' is not a number"):
        load_array(tmp_path / "k.csv", what="kernel")


def test_load_array_key_for_text_is_usage_error(tmp_path: Path) -> None:
    (tmp_path / "k.csv").write_text("1,2\n")
    with pytest.raises(ConfigError):
        load_array(tmp_path / "k.csv", key="k")


# --------------------------------------------------------------------------------------------
# Properties


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 3),
    st.sampled_from([",", ";", "\t", " "]),
    st.integers(0, 2**32 - 1),
)
def test_text_round_trip_is_exact(rows: int, cols: int, blocks: int, sep: str, seed: int) -> None:
    import tempfile

    a = np.random.default_rng(seed).normal(scale=1e3, size=(rows, cols, blocks))
    text = "\n\n".join(
        "\n".join(sep.join(repr(float(v)) for v in row) for row in a[:, :, b]) for b in range(blocks)
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.txt"
        path.write_text(text)
        got = load_input(path)
    np.testing.assert_array_equal(got.array, a)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 5), st.booleans(), st.integers(0, 2**32 - 1))
def test_channels_first_equals_transposed_channels_last(
    h: int, w: int, c: int, batch: bool, seed: int
) -> None:
    import tempfile

    x = np.random.default_rng(seed).integers(-100, 100, size=(h, w, c)).astype(np.int16)
    first = x.transpose(2, 0, 1)[None] if batch else x.transpose(2, 0, 1)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "f.npy", first)
        got = load_input(Path(tmp) / "f.npy", layout="channels-first")
    np.testing.assert_array_equal(got.array, x)
    assert got.array.flags.c_contiguous


# --------------------------------------------------------------------------------------------
# The sample files


def test_textbook_npy_and_csv_hold_the_same_values() -> None:
    npy = load_input(SAMPLES / "textbook.npy")
    csv = load_input(SAMPLES / "textbook.csv")
    assert npy.array.shape == csv.array.shape == (3, 3, 3)
    assert npy.array.dtype == np.float32
    np.testing.assert_array_equal(npy.array, csv.array)
    for c, value in enumerate([1.0, 100.0, 10000.0]):
        assert (npy.array[:, :, c] == value).all()


def test_sample_photos() -> None:
    small = load_input(SAMPLES / "grace_hopper.png")
    assert small.array.shape == (150, 128, 3)
    assert small.description == "PNG image, RGB, 8-bit"
    big = load_input(SAMPLES / "grace_hopper.jpg")
    assert big.array.shape == (600, 512, 3)
    assert big.description == "JPEG image, RGB, 8-bit"


def test_sample_kernels() -> None:
    keras = load_array(SAMPLES / "kernel_ones_2x2_keras.npy")
    torch = load_array(SAMPLES / "kernel_ones_2x2_torch.npy")
    assert keras.shape == (2, 2, 3, 1)
    assert torch.shape == (1, 3, 2, 2)
    assert (keras == 1).all()
    np.testing.assert_array_equal(torch.transpose(2, 3, 1, 0), keras)
    sobel = load_array(SAMPLES / "kernel_sobel_x.csv")
    np.testing.assert_array_equal(sobel, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    rgb = load_array(SAMPLES / "kernel_rgb_keras.npy")
    assert rgb.shape == (3, 3, 3, 2)
    np.testing.assert_array_equal(rgb[:, :, 0, 0], sobel)
    np.testing.assert_array_equal(rgb[:, :, 1, 0], np.zeros((3, 3)))
    np.testing.assert_array_equal(rgb[:, :, 2, 0], -sobel)
    np.testing.assert_allclose(rgb[:, :, 1, 1], np.full((3, 3), 1 / 9), rtol=1e-6)
    assert not rgb[:, :, [0, 2], 1].any()


@pytest.mark.skipif(not (DATA / "grace_hopper.jpg").is_file(), reason="needs ../shared/data/grace_hopper.jpg")
def test_make_samples_reproduces_the_files(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.make(DATA, tmp_path)
    assert {p.name for p in written} == {
        "grace_hopper.jpg", "grace_hopper.png", "textbook.npy", "textbook.csv", "kernel_ones_2x2_keras.npy",
        "kernel_ones_2x2_torch.npy", "kernel_sobel_x.csv", "kernel_rgb_keras.npy", "signal.npy", "chirp.wav",
    }  # fmt: skip
    for path in written:
        if path.suffix == ".png":  # compare pixels: zlib output may differ between builds
            with Image.open(path) as made, Image.open(SAMPLES / path.name) as stored:
                np.testing.assert_array_equal(np.asarray(made), np.asarray(stored))
        else:
            assert path.read_bytes() == (SAMPLES / path.name).read_bytes(), path.name
