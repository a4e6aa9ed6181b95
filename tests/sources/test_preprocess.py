"""convcli.sources.preprocess against Keras itself: preprocess_input's modes, and its image datasets' resize."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from models import keras
from PIL import Image

from convcli.errors import ConfigError, ShapeError
from convcli.sources import preprocess as pp
from convcli.sources.inputs import load_input


def _images(dtype: type, n: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.uniform(0, 255, size=(int(rng.integers(1, 9)), int(rng.integers(1, 9)), 3)).astype(dtype)
            for _ in range(n)]


@pytest.mark.parametrize("mode", ["tf", "torch", "caffe"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_preprocess_is_keras_preprocess_input(mode: str, dtype: type) -> None:
    imagenet_utils = keras().applications.imagenet_utils
    for x in _images(dtype):
        before = x.copy()
        ours = pp.preprocess(x, mode)
        theirs = imagenet_utils.preprocess_input(x.copy(), data_format="channels_last", mode=mode)
        np.testing.assert_array_equal(x, before)  # ours works on a copy
        assert ours.dtype == theirs.dtype == dtype
        np.testing.assert_array_equal(ours, theirs)  # the same operations in the same order


def test_preprocess_by_hand_and_integers_become_float32() -> None:
    x = np.array([[[255, 0, 127.5]]])
    np.testing.assert_allclose(pp.preprocess(x, "tf"), [[[1.0, -1.0, 0.0]]])
    np.testing.assert_allclose(pp.preprocess(x, "unit"), [[[1.0, 0.0, 0.5]]])
    np.testing.assert_array_equal(pp.preprocess(x, "none"), x)
    np.testing.assert_allclose(pp.preprocess(x, "caffe"), [[[127.5 - 103.939, -116.779, 255 - 123.68]]])
    np.testing.assert_allclose(pp.preprocess(x, "torch"),
                               [[[(1 - 0.485) / 0.229, -0.456 / 0.224, (0.5 - 0.406) / 0.225]]])
    u = pp.preprocess(np.full((2, 2, 3), 51, dtype=np.uint8), "unit")
    assert u.dtype == np.float32 and np.allclose(u, 0.2)


def test_preprocess_refusals() -> None:
    with pytest.raises(ShapeError, match="caffe needs 3 channels"):
        pp.preprocess(np.zeros((2, 2, 1)), "caffe")
    with pytest.raises(ShapeError, match="torch needs 3 channels"):
        pp.preprocess(np.zeros((2, 2, 4)), "torch")
    assert pp.preprocess(np.zeros((2, 2, 1)), "tf").shape == (2, 2, 1)
    with pytest.raises(ConfigError) as info:
        pp.preprocess(np.zeros((2, 2, 3)), "imagenet")
    assert info.value.field == "preprocess"
    assert info.value.worded({"preprocess": "--preprocess"}).startswith("--preprocess must be one of none, unit")
    with pytest.raises(ShapeError):
        pp.preprocess(np.zeros((2, 2)), "tf")


def test_describe_is_one_line_per_mode() -> None:
    assert pp.describe("tf") == "tf: x/127.5 - 1, to [-1, 1]"
    for mode in pp.MODES:
        text = pp.describe(mode)
        assert text.startswith(mode + ": ") and "\n" not in text


SIZES = [((11, 17), (5, 7)), ((5, 7), (13, 16)), ((9, 30), (31, 4)), ((1, 1), (3, 3)), ((7, 3), (1, 1)),
         ((6, 6), (6, 6))]


@pytest.mark.parametrize(("src", "dst"), SIZES)
def test_resize_is_keras_image_resize(src: tuple[int, int], dst: tuple[int, int]) -> None:
    """What keras.utils.image_dataset_from_directory calls on the float32 image (bilinear, no antialias)."""
    k = keras()
    x = np.random.default_rng(1).uniform(0, 255, size=(*src, 3)).astype(np.float32)
    theirs = k.ops.convert_to_numpy(k.ops.image.resize(x, dst, interpolation="bilinear", antialias=False))
    ours = pp.resize(x, dst)
    assert ours.shape == (*dst, 3) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4)


def test_resize_by_hand() -> None:
    x = np.array([[0.0, 10.0]])  # (1, 2) -> (1, 4): half-pixel centres at 0.25, 0.75, 1.25, 1.75 of the source
    np.testing.assert_allclose(pp.resize(x, (1, 4)), [[0.0, 2.5, 7.5, 10.0]])
    assert pp.resize(x, (1, 4)).dtype == np.float64
    assert pp.resize(np.zeros((4, 4, 2), dtype=np.uint8), (2, 2)).dtype == np.float32


def test_resize_a_pillow_image_upsampling_is_pillows_bilinear() -> None:
    """Upsampling, Pillow's bilinear and the half-pixel rule agree (to the rounding to 8 bits); shrinking,
    Pillow antialiases and Keras' datasets do not (the documented choice)."""
    u = np.random.default_rng(2).integers(0, 256, size=(5, 7, 3)).astype(np.uint8)
    img = Image.fromarray(u)
    ours = pp.resize(img, (13, 16))
    assert isinstance(ours, Image.Image) and ours.mode == "RGB" and ours.size == (16, 13)
    theirs = np.asarray(img.resize((16, 13), Image.Resampling.BILINEAR), dtype=int)
    assert np.abs(np.asarray(ours, dtype=int) - theirs).max() <= 1
    shrunk = np.asarray(pp.resize(img, (2, 3)), dtype=int)
    np.testing.assert_array_equal(shrunk, np.rint(pp.resize(u, (2, 3))).astype(int))
    with pytest.raises(ConfigError, match="mode P"):
        pp.resize(img.convert("P"), (2, 2))


@pytest.mark.parametrize("bad", [(0, 3), (3,), (2.5, 3), "224", (True, 3), None])
def test_resize_size_is_checked(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        pp.check_size(bad)
    assert info.value.field == "resize"
    assert pp.check_size(224) == (224, 224) and pp.check_size([3, 4]) == (3, 4)


def test_load_input_resizes_images_and_refuses_arrays(tmp_path: Path) -> None:
    u = np.random.default_rng(3).integers(0, 256, size=(12, 8, 3)).astype(np.uint8)
    Image.fromarray(u).save(tmp_path / "a.png")
    loaded = load_input(tmp_path / "a.png", resize=(6, 10))
    assert loaded.array.shape == (6, 10, 3) and loaded.array.dtype == np.float32
    np.testing.assert_allclose(loaded.array, pp.resize(u, (6, 10)))
    assert loaded.description == "PNG image, RGB, 8-bit, resized 12×8 → 6×10 (bilinear)"
    normed = load_input(tmp_path / "a.png", resize=(6, 10), normalize=True)
    np.testing.assert_allclose(normed.array, pp.resize(u, (6, 10)) / 255.0, rtol=1e-6)
    np.save(tmp_path / "a.npy", u)
    with pytest.raises(ConfigError) as info:
        load_input(tmp_path / "a.npy", resize=(6, 10))
    assert info.value.field == "resize"
    assert info.value.worded({"resize": "--resize"}) == (
        f"{tmp_path / 'a.npy'}: an array file is the input as it is: --resize applies to images only "
        "(save the array at the size the model takes)")
    (tmp_path / "a.txt").write_text("1 2\n3 4\n")
    with pytest.raises(ConfigError, match="a text file is the input as it is"):
        load_input(tmp_path / "a.txt", resize=(2, 2))
