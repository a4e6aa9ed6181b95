"""An image made into what a trained model was fed: resized, then scaled as its training scaled it.

:func:`resize` is bilinear with half-pixel centres and no antialiasing, on float values: what
``keras.utils.image_dataset_from_directory(image_size=...)`` does (it turns the decoded image into a
float32 array, then ``keras.ops.image.resize(interpolation="bilinear", antialias=False)``, which is
``tf.image.resize``'s default). It is not ``keras.utils.load_img(target_size=...)``, whose default is
Pillow's *nearest* neighbour (and whose ``interpolation="bilinear"`` is Pillow's, which antialiases
when shrinking): the dataset route is the one most Keras models were trained through, and a
nearest-neighbour shrink drops pixels. Upsampling agrees with Pillow's bilinear; shrinking does not.

:func:`preprocess` is ``keras.applications.imagenet_utils.preprocess_input`` for its three modes
(the same operations in the same order, so float32 and float64 results are Keras' to the bit), plus
``none`` and ``unit``. numpy, and Pillow only for a Pillow image given to :func:`resize`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, overload

import numpy as np

from convcli.errors import FIELD, ConfigError, ShapeError

if TYPE_CHECKING:
    from PIL import Image

#: The ``--preprocess`` modes.
MODES = ("none", "unit", "tf", "torch", "caffe")

#: ImageNet's per-channel mean and standard deviation in [0, 1], RGB (Keras' ``torch`` mode).
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
#: The Pillow modes :func:`resize` takes (numpy holds them as they are, and gives them back).
_PIL_MODES = ("L", "LA", "RGB", "RGBA", "I;16", "I", "F")
#: ImageNet's per-channel mean in [0, 255], BGR (Keras' ``caffe`` mode).
CAFFE_MEAN = (103.939, 116.779, 123.68)

_DESCRIBE = {
    "none": "none: the values as stored",
    "unit": "unit: x/255, to [0, 1]",
    "tf": "tf: x/127.5 - 1, to [-1, 1]",
    "torch": "torch: x/255, then minus the ImageNet mean (0.485, 0.456, 0.406), over its std (0.229, 0.224, 0.225)",
    "caffe": "caffe: RGB to BGR, then minus the ImageNet mean (103.939, 116.779, 123.68), no scaling",
}


def describe(mode: str) -> str:
    """One line for the header: what ``mode`` does (``"tf: x/127.5 - 1, to [-1, 1]"``)."""
    return _DESCRIBE[_check_mode(mode)]


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigError(f"{FIELD} must be one of {', '.join(MODES)}, got {mode!r}", field="preprocess")
    return mode


def preprocess(x: np.ndarray, mode: str) -> np.ndarray:
    """``x (H, W, C)`` as ``mode`` scales it, a new array (``x`` is not changed).

    ``tf``, ``torch``, ``caffe``: ``keras.applications.imagenet_utils.preprocess_input(x, mode=...)``
    on channels-last data; ``none``: as stored; ``unit``: ``x / 255``. A float array keeps its
    dtype, integers become float32 (Keras' ``floatx``). ``torch`` and ``caffe`` need 3 channels (RGB).
    """
    _check_mode(mode)
    arr = np.asarray(x)
    if arr.ndim != 3:
        raise ShapeError(f"{FIELD} {mode}: the input must be (H, W, C), got shape {arr.shape}", field="preprocess")
    if mode in ("torch", "caffe") and arr.shape[2] != 3:
        raise ShapeError(f"{FIELD} {mode} needs 3 channels (RGB), the input has {arr.shape[2]}", field="preprocess")
    out = arr.copy() if arr.dtype.kind == "f" else arr.astype(np.float32)
    if mode == "none":
        return out
    if mode == "unit":
        out /= 255.0
        return out
    if mode == "tf":
        out /= 127.5
        out -= 1.0
        return out
    if mode == "torch":
        out /= 255.0
        mean: tuple[float, ...] = TORCH_MEAN
        std: tuple[float, ...] | None = TORCH_STD
    else:
        out = out[..., ::-1].copy()  # RGB -> BGR
        mean, std = CAFFE_MEAN, None
    for c in range(3):
        out[..., c] -= mean[c]
    if std is not None:
        for c in range(3):
            out[..., c] /= std[c]
    return out


def check_size(hw: object) -> tuple[int, int]:
    """``(H, W)``, two whole numbers ≥ 1 (one, ``n``, is ``n×n``), or a :class:`ConfigError` on field ``resize``."""
    if isinstance(hw, (int, np.integer)) and not isinstance(hw, bool):
        hw = (hw, hw)
    if (not isinstance(hw, (tuple, list)) or len(hw) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in hw)):
        raise ConfigError(f"{FIELD} must be two whole numbers ≥ 1 (height, width), got {hw!r}", field="resize")
    return int(hw[0]), int(hw[1])


def _weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights along one axis: half-pixel centres, clamped at the edges."""
    scale = n_in / n_out
    centre = (np.arange(n_out, dtype=np.float64) + 0.5) * scale - 0.5
    centre = np.clip(centre, 0.0, n_in - 1)
    lo = np.floor(centre).astype(np.intp)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, centre - lo


@overload
def resize(img: np.ndarray, hw: tuple[int, int] | int) -> np.ndarray: ...
@overload
def resize(img: Image.Image, hw: tuple[int, int] | int) -> Image.Image: ...


def resize(img: np.ndarray | Image.Image, hw: tuple[int, int] | int) -> np.ndarray | Image.Image:
    """``img`` resized to ``hw = (H, W)`` (an int ``n``: ``n×n``) by bilinear interpolation (half-pixel centres, no antialias).

    An array ``(H, W, C)`` or ``(H, W)`` comes back as an array: float arrays keep their dtype,
    integers become float32 (the values are not rounded, as in Keras' image datasets). A Pillow
    image (mode L, LA, RGB, RGBA, I;16, I or F) comes back as a Pillow image of the same mode, its
    values rounded and clipped to it; other modes (P, CMYK, ...) are refused: convert them first.
    """
    h, w = check_size(hw)
    if not isinstance(img, np.ndarray):
        from PIL import Image

        if img.mode not in _PIL_MODES:
            raise ConfigError(f"{FIELD}: a Pillow image in mode {img.mode} is resized after converting it to one "
                              f"of {', '.join(_PIL_MODES)}", field="resize")
        arr = np.asarray(img)
        out = _resize_array(arr, h, w)
        if arr.dtype.kind in "ui":
            info = np.iinfo(arr.dtype)
            out = np.clip(np.rint(out), info.min, info.max).astype(arr.dtype)
        return Image.fromarray(out.astype(arr.dtype))
    return _resize_array(img, h, w)


def _resize_array(arr: np.ndarray, h: int, w: int) -> np.ndarray:
    if arr.ndim not in (2, 3) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ShapeError(f"{FIELD}: an image must be (H, W) or (H, W, C), got shape {arr.shape}", field="resize")
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)
    src = arr.astype(np.float64)
    lo_y, hi_y, fy = _weights(arr.shape[0], h)
    lo_x, hi_x, fx = _weights(arr.shape[1], w)
    shape = (h, 1) + (1,) * (arr.ndim - 2)
    fy = fy.reshape(shape)
    rows = src[lo_y] * (1.0 - fy) + src[hi_y] * fy
    fx = fx.reshape((1, w) + (1,) * (arr.ndim - 2))
    out = rows[:, lo_x] * (1.0 - fx) + rows[:, hi_x] * fx
    return out.astype(dtype)
