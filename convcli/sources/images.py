"""Images through Pillow, as ``(H, W, C)`` arrays in the modes numpy can hold.

Pillow's decompression-bomb guard is the pixel limit (set for the one read, then restored), and
every error Pillow or its codecs raise on a damaged file becomes one
:class:`~convcli.errors.LoadError` line. EXIF orientation is applied, as every image viewer and
Pillow's ``ImageOps.exif_transpose`` do (``keep_orientation`` keeps the pixels as stored); the colour
mode follows Keras' ``load_img``: alpha is dropped unless ``color_mode="rgba"``, and ``"grayscale"``,
``"rgb"``, ``"rgba"`` convert as Pillow's modes L, RGB and RGBA do. Pillow reduces 16-bit colour PNGs
to 8 bits. Pillow is imported on use.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import sys
import tempfile
import warnings
import zlib
from collections.abc import Iterator

import numpy as np

from convcli.errors import FIELD, LoadError
from convcli.sources.sniff import IMAGE_SUFFIXES, magic_format, not_readable, reason, suffix

# Image modes Pillow must convert before numpy sees them, and what they become.
_CONVERT = {
    "1": "L", "PA": "RGBA", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB",
    "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB",
}  # fmt: skip
_BAND_NAMES = {1: ("L",), 2: ("L", "A"), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}
#: Keras' ``load_img(color_mode=...)`` names, and the Pillow mode each one is.
COLOR_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
_ORIENTATION = {2: "mirrored", 3: "rotated 180°", 4: "flipped upside down", 5: "transposed",
                6: "rotated 90° clockwise", 7: "transversed", 8: "rotated 90° counter-clockwise"}
_DEPTH = {"uint8": "8-bit", "uint16": "16-bit", "int32": "32-bit integer", "float32": "32-bit float"}

# What Pillow and its codecs raise on a damaged file (after a successful identification).
_IMAGE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    struct.error,
    zlib.error,
    MemoryError,
)


@contextlib.contextmanager
def _codec_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 sent to a scratch file while Pillow's C codecs run, then restored.

    libtiff reports a damaged strip (``ZIPDecode: Decoding error at scanline 0``) by writing to
    stderr from C, before Pillow raises; Pillow offers no way to turn that off (it installs no libtiff
    handlers). What the codecs write is dropped: the error Pillow raises becomes the one ``Error:``
    line. Python's own ``sys.stderr`` is flushed first and untouched; when fd 2 cannot be
    duplicated (no such descriptor) nothing is redirected.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        with tempfile.TemporaryFile() as scratch:
            os.dup2(scratch.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def read_image(
    name: str, head: bytes, max_pixels: int | None, *, color_mode: str | None = None,
    keep_orientation: bool = False,
) -> tuple[np.ndarray, tuple[str, ...], str] | None:
    """``(array (H, W, C), channel names, description)``, or None if Pillow does not know the file.

    ``color_mode``: None keeps the channels as stored but drops alpha (Keras' default, ``"rgb"``,
    drops it too); ``"grayscale"``, ``"rgb"`` or ``"rgba"`` convert as Pillow's L, RGB, RGBA.
    EXIF orientation is applied unless ``keep_orientation``; the description says what was done.
    """
    from PIL import Image, UnidentifiedImageError

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    fmt = magic_format(head) or IMAGE_SUFFIXES.get(suffix(name), "image")
    try:
        with warnings.catch_warnings(), _codec_stderr_silenced():
            # Pillow's own warnings about a damaged file (corrupt EXIF, a truncated tag): the pixels are
            # read all the same, or the error says why not, in one line
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open(name, "rb") as fh:
                try:
                    img = Image.open(fh)
                except UnidentifiedImageError:
                    if magic_format(head) is not None:
                        raise LoadError(not_readable(name, head)) from None
                    return None
                with img:
                    fmt = img.format or fmt
                    img.load()  # decode now, so a truncated file fails here
                    frames = _frame_count(img)
                    img, turn_text = _oriented(img, keep_orientation)
                    arr, names, mode_text = apply_color_mode(*image_array(img, name), color_mode)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        count = f"{int(found.group(1)):,} pixels" if found else "more pixels than allowed"
        raise LoadError(
            "{name}: " + f"the image has {count}, over the limit of {max_pixels:,}; raise it with {FIELD}",
            field="max_pixels", values={"name": name},
        ) from None
    except _IMAGE_ERRORS as exc:
        msg = reason(exc)
        if isinstance(exc, EOFError) or "truncated" in msg.lower():
            raise LoadError(f"{name}: not a readable image (truncated {fmt})") from None
        raise LoadError(f"{name}: not a readable image (corrupt {fmt}: {msg})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    frame_text = f", first of {frames} frames" if frames > 1 else ""
    depth = _DEPTH.get(arr.dtype.name, str(arr.dtype))
    return arr, names, f"{fmt} image{frame_text}, {mode_text}, {depth}{turn_text}"


def _oriented(img, keep: bool):  # type: ignore[no-untyped-def]
    """``(image, text)``: the image turned by its EXIF orientation (unless ``keep``) and what was done."""
    from PIL import ImageOps

    try:
        orientation = int(img.getexif().get(0x0112, 1))
    except (*_IMAGE_ERRORS, TypeError):  # damaged EXIF: the pixels as stored
        return img, ""
    if orientation not in _ORIENTATION:
        return img, ""
    if keep:
        return img, f", EXIF orientation {orientation} not applied (stored pixels, --keep-orientation)"
    turned = ImageOps.exif_transpose(img)
    if turned is None:  # pragma: no cover - only with in_place=True
        return img, ""
    return turned, f", {_ORIENTATION[orientation]} by EXIF orientation {orientation}"


def apply_color_mode(
    arr: np.ndarray, names: tuple[str, ...], text: str, color_mode: str | None
) -> tuple[np.ndarray, tuple[str, ...], str]:
    """An image array (from :func:`image_array`) in ``color_mode``, and its mode text with what was done.

    None: alpha dropped, the other channels as stored (Keras' ``load_img`` default drops alpha).
    ``"grayscale"``, ``"rgb"``, ``"rgba"``: Pillow's conversion to L, RGB, RGBA (8-bit images); a
    16-bit or 32-bit grey image is repeated into R, G and B, with an opaque alpha for ``"rgba"``.
    """
    src = "".join(names)
    if color_mode is None:
        if names[-1] != "A":
            return arr, names, text
        return (np.ascontiguousarray(arr[:, :, :-1]), names[:-1],
                f"{text}, {src} → {src[:-1]}, alpha dropped (--color-mode rgba keeps it)")
    target = COLOR_MODES[color_mode]
    if src == target or (target == "L" and arr.dtype != np.uint8):
        return arr, names, text
    if arr.dtype == np.uint8:
        from PIL import Image

        out = np.array(Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr).convert(target))
        out = out[:, :, np.newaxis] if out.ndim == 2 else out
    else:  # one grey channel of more than 8 bits
        opaque = np.iinfo(arr.dtype).max if arr.dtype.kind in "ui" else 1.0
        out = np.concatenate([arr] * 3 + ([np.full_like(arr, opaque)] if target == "RGBA" else []), axis=2)
    return out, _BAND_NAMES[out.shape[2]], f"{text}, {src} → {target} (--color-mode {color_mode})"


def image_array(img, name: str) -> tuple[np.ndarray, tuple[str, ...], str]:  # type: ignore[no-untyped-def]
    """A loaded Pillow image as ``(H, W, C)`` in the modes numpy can hold; mode text for the description."""
    mode = img.mode
    if mode == "P":
        has_alpha = "transparency" in img.info or (img.palette is not None and img.palette.mode == "RGBA")
        target = "RGBA" if has_alpha else "RGB"
        img, text = img.convert(target), f"P (palette) converted to {target}"
    elif mode in _CONVERT:
        img, text = img.convert(_CONVERT[mode]), f"{mode} converted to {_CONVERT[mode]}"
    elif mode in ("L", "LA", "RGB", "RGBA"):
        text = mode
    elif mode.startswith("I;16"):
        return np.array(img).astype(np.uint16)[:, :, np.newaxis], ("L",), f"{mode} (grey)"
    elif mode in ("I", "F"):
        dtype = np.int32 if mode == "I" else np.float32
        return np.array(img).astype(dtype)[:, :, np.newaxis], ("L",), f"{mode} (grey)"
    else:
        target = "RGBA" if "A" in mode else "RGB"
        try:
            img = img.convert(target)
        except ValueError:
            raise LoadError(f"{name}: image mode {mode} is not supported") from None
        text = f"{mode} converted to {target}"
    arr = np.array(img)
    if arr.ndim == 2:
        arr = arr[:, :, np.newaxis]
    return arr, _BAND_NAMES[arr.shape[2]], text


def _frame_count(img) -> int:  # type: ignore[no-untyped-def]
    try:
        return int(getattr(img, "n_frames", 1))
    except _IMAGE_ERRORS:  # a damaged later frame does not spoil the first
        return 1


def identify_image(name: str) -> str | None:
    """Pillow's name for the file's format, or None; reads the header only."""
    from PIL import Image

    try:
        with warnings.catch_warnings(), _codec_stderr_silenced():
            warnings.simplefilter("ignore", UserWarning)  # corrupt EXIF and the like: only the format is asked
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(name) as img:
                return str(img.format)
    except (*_IMAGE_ERRORS, Image.DecompressionBombError):
        return None
