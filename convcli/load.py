"""Files -> arrays: images through Pillow, ``.npy``/``.npz`` through numpy, numeric text by hand.

:func:`load_input` gives the layer's input as ``(H, W, C)``; :func:`load_array` gives the raw
array of a kernel or bias file. Every expected failure is a :class:`~convcli.errors.LoadError`
(bad usage, such as an unknown layout, a :class:`~convcli.errors.ConfigError`) whose one line
names the file and the problem.

What a file is comes from its first bytes (``\\x93NUMPY`` is ``.npy``, ``PK`` a ``.npz``
archive, otherwise whatever Pillow recognises, otherwise text); the extension only chooses the
error message when nothing fits. Pickles are never loaded: object arrays are refused from the
header, before any data is read.

Numeric text (``.txt``, ``.csv``, ``.tsv``, ``.dat``, or any extension)
    Rows of numbers separated by commas (used whenever a ``,`` appears), else semicolons, else
    tabs or spaces. Lines starting with ``#`` are comments. Extension of plain CSV: **blocks
    separated by blank lines are channels**, stacked on the last axis, so one file holds a
    multi-channel example::

        # R          <- comments do not separate blocks; blank lines do
        1 1
        1 1

        100 100
        100 100

    is ``(2, 2, 2)`` (rows, cols, channels). Every block must have the same shape. Values are
    read as float64.

Not done here: NaN and Inf are kept (:func:`nonfinite` counts them; the CLI warns); EXIF orientation is not applied
(pixels as stored, as the frameworks' decoders do); Pillow reduces 16-bit colour PNGs to 8 bits.
"""

from __future__ import annotations

import math
import os
import re
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from convcli.errors import ConfigError, LoadError

#: Pillow's decompression-bomb *error* threshold (twice its 89,478,485-pixel warning limit).
DEFAULT_MAX_PIXELS = 178_956_970

LAYOUTS = ("channels-last", "channels-first")

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # an archive with members / an empty archive
_IMAGE_MAGICS = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_IMAGE_SUFFIXES = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".gif": "GIF",
    ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WebP", ".ppm": "PPM", ".pgm": "PGM", ".pbm": "PBM",
}  # fmt: skip
_TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".dat")

# Image modes Pillow must convert before numpy sees them, and what they become.
_CONVERT = {
    "1": "L", "PA": "RGBA", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB",
    "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB",
}  # fmt: skip
_BAND_NAMES = {1: ("L",), 2: ("L", "A"), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}
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
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    ValueError,
    EOFError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    MemoryError,
)


@dataclass(frozen=True, eq=False)
class Loaded:
    """An input read from a file: ``array (H, W, C)`` with one name per channel."""

    array: np.ndarray  # (H, W, C), C-contiguous; dtype as stored, or float64 in [0, 1] if normalized
    channel_names: tuple[str, ...]  # ("R", "G", "B"), ("L",), ("L", "A"), ("R", "G", "B", "A"), ("c0", ...)
    path: str  # the path as given
    description: str  # e.g. "PNG image, RGB, 8-bit"


# --------------------------------------------------------------------------------------------
# Public entry points


def load_input(
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    layout: str = "channels-last",
    normalize: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Loaded:
    """Read an image, ``.npy``, ``.npz`` or numeric text file as an ``(H, W, C)`` input.

    Parameters
    ----------
    path : the file; its contents, not its extension, decide how it is read
    key : the array to take from a ``.npz`` holding several (refused for other files)
    layout : for ``.npy``/``.npz`` arrays only: ``"channels-last"`` reads 3-D as ``(H, W, C)``,
        ``"channels-first"`` as ``(C, H, W)``. 2-D ``(H, W)`` is one channel; 4-D must be a batch
        of one, ``(1, H, W, C)`` or ``(1, C, H, W)``. Images and text have a fixed layout.
    normalize : divide integers by their dtype's maximum (255, 65535, 2**31 - 1, ...); floats
        are kept; the result is float64
    max_pixels : refuse inputs with more than ``H·W`` pixels (``None``: no limit); for images
        this is Pillow's decompression-bomb guard

    Returns
    -------
    Loaded with ``array (H, W, C)``: images ``uint8`` (``uint16`` for 16-bit grey, ``int32`` for
    mode I, ``float32`` for mode F), arrays in their stored dtype, text float64.
    """
    layout = _check_layout(layout)
    if max_pixels is not None and (isinstance(max_pixels, bool) or max_pixels < 1):
        raise ConfigError(f"max_pixels must be ≥ 1 or None, got {max_pixels!r}")
    name = _name(path)
    head = _head(name)

    if head.startswith(_NPY_MAGIC) or head.startswith(_ZIP_MAGICS):

        def check(shape: tuple[int, ...], dtype: np.dtype) -> None:
            _check_header(name, shape, dtype, "input")
            h, w, _, _ = _plan_hwc(name, shape, layout)
            _check_pixels(name, h, w, max_pixels)

        arr, label = _read_numpy(name, head, key, check)
        h, _, c, form = _plan_hwc(name, arr.shape, layout)
        hwc = _to_hwc(arr, layout)
        description = f"{label}, {arr.dtype}, {form}"
        if layout == "channels-last" and arr.ndim >= 3 and h <= 4 < c:
            description += " (channels-first data? use --layout channels-first)"
        names = tuple(f"c{i}" for i in range(hwc.shape[2]))
    else:
        if key is not None:
            raise ConfigError(f"{name}: key {key!r} given, but only a .npz archive holds named arrays")
        image = _read_image(name, head, max_pixels)
        if image is not None:
            hwc, names, description = image
        else:
            blocks = _read_text_or_fail(name, head)
            hwc = np.stack(blocks, axis=-1)
            _check_pixels(name, hwc.shape[0], hwc.shape[1], max_pixels)
            n = len(blocks)
            description = f"text, {n} block{'s' * (n > 1)} -> {n} channel{'s' * (n > 1)}"
            names = tuple(f"c{i}" for i in range(n))
    if normalize:
        kind = hwc.dtype.kind
        description += {"u": ", normalized to [0, 1]", "i": ", normalized to [-1, 1]"}.get(
            kind, ", float values kept (normalize scales integers only)"
        )
        hwc = _normalized(hwc)
    return Loaded(np.ascontiguousarray(hwc), names, name, description)


def load_array(
    path: str | os.PathLike[str], *, key: str | None = None, what: str = "array", key_option: str = "--key"
) -> np.ndarray:
    """Raw numeric array from ``.npy``, ``.npz`` (one array, or ``key``) or numeric text.

    Used for inputs, kernels and bias files; ``what`` names the array in error messages
    ("kernel", "bias"). Any number of dimensions, real numbers only (no bool, complex, strings
    or objects), not empty; native byte order, C-contiguous. Text gives a 2-D ``(rows, cols)``
    array for one block, ``(rows, cols, blocks)`` for several (blocks on the last axis), so a
    one-line bias file comes back as ``(1, F)``.
    """
    name = _name(path)
    head = _head(name)
    if head.startswith(_NPY_MAGIC) or head.startswith(_ZIP_MAGICS):

        def check(shape: tuple[int, ...], dtype: np.dtype) -> None:
            _check_header(name, shape, dtype, what)

        arr, _ = _read_numpy(name, head, key, check, key_option)
        # Not np.ascontiguousarray: it turns a 0-D array (a scalar bias) into 1-D.
        return arr if arr.flags.c_contiguous else arr.copy(order="C")
    if key is not None:
        raise ConfigError(f"{name}: key {key!r} given, but only a .npz archive holds named arrays")
    text = _read_text(name)
    if text is None:
        fmt = _identify_image(name)
        if fmt is not None:
            raise LoadError(f"{name}: is a {fmt} image; a {what} file must be .npy, .npz or numeric text")
        raise LoadError(_not_readable(name, head))
    try:
        blocks = _parse_text(name, text)
    except LoadError:
        if _suffix(name) == ".npy" or _suffix(name) == ".npz" or _suffix(name) in _IMAGE_SUFFIXES:
            raise LoadError(_not_readable(name, head)) from None
        raise
    return blocks[0] if len(blocks) == 1 else np.stack(blocks, axis=-1)


def nonfinite(arr: np.ndarray) -> tuple[int, int, tuple[int, ...] | None]:
    """``(NaN count, ±Inf count, index of the first non-finite value)`` of ``arr`` (e.g. ``(H, W, C)``).

    The first is in C order (row, then column, then channel); ``None`` when every value is finite.
    Integer arrays are always finite.
    """
    if arr.dtype.kind != "f":
        return 0, 0, None
    bad = ~np.isfinite(arr)
    if not bad.any():
        return 0, 0, None
    n_nan = int(np.count_nonzero(np.isnan(arr)))
    first = np.unravel_index(int(np.argmax(bad)), arr.shape)
    return n_nan, int(np.count_nonzero(bad)) - n_nan, tuple(int(i) for i in first)


# --------------------------------------------------------------------------------------------
# Files and their first bytes


def _name(path: str | os.PathLike[str]) -> str:
    return os.fsdecode(os.fspath(path))


def _suffix(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def _check_layout(layout: str) -> str:
    norm = str(layout).strip().lower().replace("_", "-")
    if norm not in LAYOUTS:
        raise ConfigError(f"layout must be 'channels-last' or 'channels-first', got {layout!r}")
    return norm


def _head(name: str) -> bytes:
    """The first 16 bytes of a regular, non-empty, readable file."""
    try:
        st = os.stat(name)
    except (FileNotFoundError, NotADirectoryError):
        raise LoadError(f"{name}: no such file") from None
    except (OSError, ValueError) as exc:
        raise LoadError(f"{name}: cannot be read ({_reason(exc)})") from None
    if stat.S_ISDIR(st.st_mode):
        raise LoadError(f"{name}: is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise LoadError(f"{name}: is not a regular file")
    if st.st_size == 0:
        raise LoadError(f"{name}: is empty (0 bytes)")
    try:
        with open(name, "rb") as fh:
            return fh.read(16)
    except OSError as exc:
        raise LoadError(f"{name}: cannot be read ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _magic_format(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((fmt for magic, fmt in _IMAGE_MAGICS if head.startswith(magic)), None)


def _not_readable(name: str, head: bytes) -> str:
    """The message for a file nothing could read, worded by what it claims to be."""
    suffix = _suffix(name)
    if suffix == ".npy":
        return f"{name}: not a .npy file (it does not start with the \\x93NUMPY magic)"
    if suffix == ".npz":
        return f"{name}: not a .npz archive (not a zip file)"
    fmt = _magic_format(head)
    if fmt is not None:
        return f"{name}: not a readable image (truncated or corrupt {fmt}: Pillow cannot read its header)"
    if suffix in _IMAGE_SUFFIXES:
        return f"{name}: not a readable image (no image format recognised in it)"
    if suffix in _TEXT_SUFFIXES:
        return f"{name}: not text (binary data); expected rows of numbers"
    return f"{name}: not an image, a .npy/.npz array or numeric text"


# --------------------------------------------------------------------------------------------
# .npy and .npz


def _read_numpy(
    name: str,
    head: bytes,
    key: str | None,
    check: Callable[[tuple[int, ...], np.dtype], None],
    key_option: str = "--key",
) -> tuple[np.ndarray, str]:
    """The array of a ``.npy`` file or one member of a ``.npz``, and a label for it.

    ``check(shape, dtype)`` sees the header before any data is read, so object dtypes (pickles),
    wrong kinds and oversize shapes are refused without reading or allocating the data.
    """
    if head.startswith(_NPY_MAGIC):
        if key is not None:
            raise ConfigError(f"{name}: key {key!r} given, but a .npy file holds a single array")
        try:
            with open(name, "rb") as fh:
                shape, dtype = _npy_header(fh)
                check(shape, dtype)
                _check_data_size(name, shape, dtype, os.fstat(fh.fileno()).st_size - fh.tell())
                fh.seek(0)
                arr = np.load(fh, allow_pickle=False, mmap_mode=None)
        except LoadError:
            raise
        except ValueError as exc:
            raise LoadError(_numpy_reason(name, exc)) from None
        except (OSError, EOFError, MemoryError) as exc:
            raise LoadError(f"{name}: not a readable .npy file ({_reason(exc)})") from None
        label = ".npy array"
    else:
        arr, member = _read_npz(name, key, check, key_option)
        label = f".npz array {member!r}"
    if not isinstance(arr, np.ndarray):  # np.load returns arrays for these magics; be sure
        raise LoadError(f"{name}: does not hold a numpy array")
    return arr.astype(arr.dtype.newbyteorder("="), copy=False), label


def _read_npz(
    name: str, key: str | None, check: Callable[[tuple[int, ...], np.dtype], None], key_option: str = "--key"
) -> tuple[np.ndarray, str]:
    try:
        # Our own handle: np.load leaks the one it opens when the zip turns out to be broken.
        with open(name, "rb") as raw, np.load(raw, allow_pickle=False, mmap_mode=None) as npz:
            zf = npz.zip
            members = [m for m in zf.namelist() if m.endswith(".npy")]
            keys = [m[: -len(".npy")] for m in members]
            listing = ", ".join(keys)
            if not keys:
                raise LoadError(f"{name}: the archive holds no arrays")
            if key is None:
                if len(keys) > 1:
                    raise LoadError(f"{name} holds {len(keys)} arrays ({listing}); choose one with {key_option}")
                key = keys[0]
            wanted = key.removesuffix(".npy")
            if wanted not in keys:
                n = len(keys)
                raise LoadError(
                    f"{name} has no array named {key!r}; it holds {n} array{'s' * (n > 1)} ({listing})"
                )
            member = members[keys.index(wanted)]
            with zf.open(member) as fh:
                if fh.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
                    raise LoadError(f"{name}: member {member!r} is not a .npy array")
                fh.seek(0)
                shape, dtype = _npy_header(fh)
                check(shape, dtype)
                _check_data_size(name, shape, dtype, zf.getinfo(member).file_size - fh.tell(), member)
            arr = npz[wanted]
    except LoadError:
        raise
    except ValueError as exc:
        raise LoadError(_numpy_reason(name, exc)) from None
    except _ZIP_ERRORS as exc:
        raise LoadError(f"{name}: not a readable .npz archive ({_reason(exc)})") from None
    return arr, wanted


def _npy_header(fh) -> tuple[tuple[int, ...], np.dtype]:  # type: ignore[no-untyped-def]
    """``(shape, dtype)`` from a ``.npy`` header (a literal, parsed safely); ``fh`` is left at the data."""
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    # Version 3.0 differs from 2.0 only by a UTF-8 header, which only structured dtypes need.
    reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, _fortran, dtype = reader(fh)
    return tuple(int(n) for n in shape), np.dtype(dtype)


def _check_data_size(
    name: str, shape: tuple[int, ...], dtype: np.dtype, available: int, member: str = ""
) -> None:
    needed = math.prod(shape) * dtype.itemsize
    if needed > available:
        where = f"member {member!r} holds" if member else "the file holds"
        raise LoadError(
            f"{name}: the header claims shape {shape} {dtype} ({needed:,} bytes) "
            f"but {where} only {max(available, 0):,} bytes of data (truncated or corrupt)"
        )


def _numpy_reason(name: str, exc: ValueError) -> str:
    text = str(exc)
    if "allow_pickle" in text or "pickle" in text.lower():
        return f"{name}: object arrays are refused (pickles are never loaded)"
    return f"{name}: not a readable numpy file ({text.splitlines()[0] if text else 'bad header'})"


def _check_header(name: str, shape: tuple[int, ...], dtype: np.dtype, what: str) -> None:
    """Refuse what is not an array of real numbers, from its shape and dtype alone."""
    if dtype.hasobject:
        raise LoadError(f"{name}: object arrays are refused (pickles are never loaded)")
    kind = dtype.kind
    if kind == "b":
        raise LoadError(
            f"{name}: the {what} holds booleans; only real numbers are taken (save it as 0/1 numbers)"
        )
    if kind == "c":
        raise LoadError(f"{name}: the {what} holds complex numbers ({dtype}); only real numbers are taken")
    if kind in "USV":
        held = "records (a structured dtype)" if dtype.names else "strings or raw bytes"
        raise LoadError(f"{name}: the {what} holds {held}, dtype {dtype}; only real numbers are taken")
    if kind not in "iuf":
        raise LoadError(f"{name}: the {what} has dtype {dtype}; only real numbers are taken")
    if math.prod(shape) == 0:
        raise LoadError(f"{name}: the {what} is empty (shape {shape})")


# --------------------------------------------------------------------------------------------
# Arrays as (H, W, C)


def _plan_hwc(name: str, shape: tuple[int, ...], layout: str) -> tuple[int, int, int, str]:
    """``(H, W, C, form)`` that an array of ``shape`` becomes, ``form`` in words."""
    ndim = len(shape)
    want = "(H, W, C)" if layout == "channels-last" else "(C, H, W)"
    if ndim < 2:
        raise LoadError(
            f"{name}: a {ndim}-D array {shape} is not an image; need (H, W), {want} or a batch of 1"
        )
    if ndim > 4:
        raise LoadError(f"{name}: the array has {ndim} dimensions {shape}; at most 4 (a batch of 1)")
    if ndim == 2:
        return shape[0], shape[1], 1, f"2-D {shape} -> 1 channel"
    form = f"{layout} {shape}"
    if ndim == 4:
        if shape[0] != 1:
            raise LoadError(
                f"{name}: shape {shape} is a batch of {shape[0]} inputs; convcli takes one (save x[0:1])"
            )
        form = f"batch of 1, {form}"
        shape = shape[1:]
    if layout == "channels-first":
        c, h, w = shape
    else:
        h, w, c = shape
    return h, w, c, form


def _to_hwc(arr: np.ndarray, layout: str) -> np.ndarray:
    if arr.ndim == 4:
        arr = arr[0]
    if arr.ndim == 2:
        return arr[:, :, np.newaxis]
    return arr.transpose(1, 2, 0) if layout == "channels-first" else arr


def _check_pixels(name: str, h: int, w: int, max_pixels: int | None) -> None:
    if max_pixels is not None and h * w > max_pixels:
        raise LoadError(
            f"{name}: {h}×{w} = {h * w:,} pixels is over the limit of {max_pixels:,}; raise it with --max-pixels"
        )


def _normalized(arr: np.ndarray) -> np.ndarray:
    """Integers divided by their dtype's maximum, as float64; floats kept (as float64)."""
    out = arr.astype(np.float64)
    if arr.dtype.kind in "ui":
        out /= float(np.iinfo(arr.dtype).max)
    return out


# --------------------------------------------------------------------------------------------
# Images


def _read_image(
    name: str, head: bytes, max_pixels: int | None
) -> tuple[np.ndarray, tuple[str, ...], str] | None:
    """``(array (H, W, C), channel names, description)``, or None if Pillow does not know the file."""
    from PIL import Image, UnidentifiedImageError

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    fmt = _magic_format(head) or _IMAGE_SUFFIXES.get(_suffix(name), "image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open(name, "rb") as fh:
                try:
                    img = Image.open(fh)
                except UnidentifiedImageError:
                    if _magic_format(head) is not None:
                        raise LoadError(_not_readable(name, head)) from None
                    return None
                with img:
                    fmt = img.format or fmt
                    img.load()  # decode now, so a truncated file fails here
                    arr, names, mode_text = _image_array(img, name)
                    frames = _frame_count(img)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        count = f"{int(found.group(1)):,} pixels" if found else "more pixels than allowed"
        raise LoadError(
            f"{name}: the image has {count}, over the limit of {max_pixels:,}; raise it with --max-pixels"
        ) from None
    except _IMAGE_ERRORS as exc:
        msg = _reason(exc)
        if isinstance(exc, EOFError) or "truncated" in msg.lower():
            raise LoadError(f"{name}: not a readable image (truncated {fmt})") from None
        raise LoadError(f"{name}: not a readable image (corrupt {fmt}: {msg})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    frame_text = f", first of {frames} frames" if frames > 1 else ""
    return arr, names, f"{fmt} image{frame_text}, {mode_text}, {_DEPTH.get(arr.dtype.name, str(arr.dtype))}"


def _image_array(img, name: str) -> tuple[np.ndarray, tuple[str, ...], str]:  # type: ignore[no-untyped-def]
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


def _identify_image(name: str) -> str | None:
    """Pillow's name for the file's format, or None; reads the header only."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(name) as img:
                return str(img.format)
    except (*_IMAGE_ERRORS, Image.DecompressionBombError):
        return None


# --------------------------------------------------------------------------------------------
# Numeric text


def _read_text(name: str) -> str | None:
    """The file's text, or None if it is binary (NUL bytes, or neither UTF-8 nor UTF-16 with a BOM)."""
    try:
        with open(name, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise LoadError(f"{name}: cannot be read ({_reason(exc)})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _read_text_or_fail(name: str, head: bytes) -> list[np.ndarray]:
    """Blocks of a text file that no other reader took; a non-text file gets the message its name suggests."""
    text = _read_text(name)
    if text is None:
        raise LoadError(_not_readable(name, head))
    try:
        return _parse_text(name, text)
    except LoadError:
        if _suffix(name) in (".npy", ".npz") or _suffix(name) in _IMAGE_SUFFIXES:
            raise LoadError(_not_readable(name, head)) from None
        raise


def _parse_text(name: str, text: str) -> list[np.ndarray]:
    """Blocks of rows of numbers, each a float64 ``(rows, cols)`` array of the same shape."""
    lines = text.splitlines()
    data = [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]
    if not data:
        raise LoadError(f"{name}: holds no numbers (only blank or comment lines)")
    joined = "\n".join(data)
    sep = "," if "," in joined else ";" if ";" in joined else None
    sep_name = {",": "commas", ";": "semicolons", None: "spaces or tabs"}[sep]

    blocks: list[tuple[int, int, list[list[float]]]] = []  # (first line, last line, rows)
    rows: list[list[float]] = []
    first = last = 0
    first_data_line = True
    for lineno, line in enumerate(lines, 1):
        s = line.strip()
        if not s:
            if rows:
                blocks.append((first, last, rows))
                rows = []
            continue
        if s.startswith("#"):
            continue
        cells = [c.strip() for c in s.split(sep)] if sep else s.split()
        row = []
        for col, cell in enumerate(cells, 1):
            try:
                row.append(float(cell))
            except ValueError:
                shown = repr(cell if len(cell) <= 20 else cell[:17] + "...")
                what = "an empty cell" if not cell else f"{shown} is not a number"
                hint = " (comment out a header line with '#')" if first_data_line else ""
                raise LoadError(
                    f"{name}: line {lineno}, column {col}: {what} (separated by {sep_name}){hint}"
                ) from None
        first_data_line = False
        if rows and len(row) != len(rows[0]):
            raise LoadError(
                f"{name}: line {lineno} has {len(row)} values but line {first} has {len(rows[0])}; "
                "rows of a block must have the same length"
            )
        if not rows:
            first = lineno
        rows.append(row)
        last = lineno
    if rows:
        blocks.append((first, last, rows))

    arrays = [np.array(r, dtype=np.float64) for _, _, r in blocks]
    shape0 = arrays[0].shape
    for i, ((a, b, _), arr) in enumerate(zip(blocks, arrays, strict=True)):
        if arr.shape != shape0:
            raise LoadError(
                f"{name}: block {i + 1} (lines {a}-{b}) is {arr.shape[0]}×{arr.shape[1]} but block 1 is "
                f"{shape0[0]}×{shape0[1]}; all blocks (channels) must have the same shape"
            )
    return arrays
