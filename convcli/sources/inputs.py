"""Files -> arrays: the layer's input as ``(H, W, C)``, and the raw array of a kernel or bias file.

What a file is comes from its first bytes (:mod:`~convcli.sources.sniff`): ``.npy``/``.npz``
(:mod:`~convcli.sources.arrays`), otherwise whatever Pillow recognises
(:mod:`~convcli.sources.images`), otherwise numeric text (:mod:`~convcli.sources.text`, whose
blank-line-separated blocks are channels). The extension only chooses the error message when
nothing fits. Every expected failure is a :class:`~convcli.errors.LoadError` (bad usage, such as
an unknown layout, a :class:`~convcli.errors.ConfigError`) whose one line names the file and the
problem.

Not done here: NaN and Inf are kept (:func:`nonfinite` counts them; the CLI warns).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from convcli.errors import FIELD, ConfigError, LoadError
from convcli.sources import sniff
from convcli.sources.arrays import check_header, read_numpy
from convcli.sources.images import COLOR_MODES, identify_image, read_image
from convcli.sources.preprocess import check_size
from convcli.sources.preprocess import resize as resize_image
from convcli.sources.text import parse_blocks, read_text, read_text_or_fail

#: Pillow's decompression-bomb *error* threshold (twice its 89,478,485-pixel warning limit).
DEFAULT_MAX_PIXELS = 178_956_970

LAYOUTS = ("channels-last", "channels-first")


@dataclass(frozen=True, eq=False)
class Loaded:
    """An input read from a file: ``array (H, W, C)`` with one name per channel."""

    array: np.ndarray  # (H, W, C), C-contiguous; dtype as stored, or float64 in [0, 1] if normalized
    channel_names: tuple[str, ...]  # ("R", "G", "B"), ("L",), ("L", "A"), ("R", "G", "B", "A"), ("c0", ...)
    path: str  # the path as given
    description: str  # e.g. "PNG image, RGB, 8-bit"
    stored_shape: tuple[int, ...] | None = None  # an array file's shape as stored (None: image, text)


def load_input(
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    layout: str = "channels-last",
    normalize: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    color_mode: str | None = None,
    keep_orientation: bool = False,
    resize: tuple[int, int] | int | None = None,
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
    color_mode : images only, as Keras' ``load_img``: None (default) drops alpha and keeps the other
        channels as stored; ``"grayscale"``, ``"rgb"``, ``"rgba"`` convert as Pillow's L, RGB, RGBA
    keep_orientation : images only: the pixels as stored, EXIF orientation not applied
    resize : images only: ``(H, W)`` (or ``n``: ``n×n``) to resize to, bilinear as Keras' image datasets do
        (:func:`convcli.sources.preprocess.resize`), after the colour mode; the array becomes float32
        (float64 if normalized). An array or text file is the input as it is: refused

    Returns
    -------
    Loaded with ``array (H, W, C)``: images ``uint8`` (``uint16`` for 16-bit grey, ``int32`` for
    mode I, ``float32`` for mode F), arrays in their stored dtype, text float64.
    """
    layout = _check_layout(layout)
    size = None if resize is None else check_size(resize)
    if color_mode is not None and color_mode not in COLOR_MODES:
        raise ConfigError(f"{FIELD} must be grayscale, rgb or rgba, got {color_mode!r}", field="color_mode")
    if max_pixels is not None and (isinstance(max_pixels, bool) or max_pixels < 1):
        raise ConfigError(f"{FIELD} must be ≥ 1 or None, got {max_pixels!r}", field="max_pixels")
    name = sniff.name_of(path)
    head = sniff.head(name)
    if size is not None:
        _check_pixels(name, size[0], size[1], max_pixels)

    if sniff.is_numpy(head):
        if size is not None:
            raise _not_resized(name, "an array file")

        def check(shape: tuple[int, ...], dtype: np.dtype) -> None:
            check_header(name, shape, dtype, "input")
            h, w, _, _ = _plan_hwc(name, shape, layout)
            _check_pixels(name, h, w, max_pixels)

        arr, label = read_numpy(name, head, key, check)
        h, _, c, form = _plan_hwc(name, arr.shape, layout)
        hwc = _to_hwc(arr, layout)
        description = f"{label}, {arr.dtype}, {form}"
        if layout == "channels-last" and arr.ndim >= 3 and h <= 4 < c:
            description += " (channels-first data? use --layout channels-first)"
        elif layout == "channels-first" and arr.ndim >= 3 and _plan_hwc(name, arr.shape, layout)[1] <= 4 < c:
            description += " (channels-last data? use --layout channels-last)"
        names = tuple(f"c{i}" for i in range(hwc.shape[2]))
        stored: tuple[int, ...] | None = tuple(arr.shape)
    else:
        stored = None
        if key is not None:
            raise ConfigError(f"{name}: key {key!r} given, but only a .npz archive holds named arrays")
        image = read_image(name, head, max_pixels, color_mode=color_mode, keep_orientation=keep_orientation)
        if image is not None:
            hwc, names, description = image
        else:
            if size is not None:
                raise _not_resized(name, "a text file")
            blocks = read_text_or_fail(name, head)
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
        hwc = normalized(hwc)
    if size is not None:
        description += f", resized {hwc.shape[0]}×{hwc.shape[1]} → {size[0]}×{size[1]} (bilinear)"
        hwc = resize_image(hwc, size)
    return Loaded(np.ascontiguousarray(hwc), names, name, description, stored)


def load_array(
    path: str | os.PathLike[str], *, key: str | None = None, what: str = "array", key_field: str = "key"
) -> np.ndarray:
    """Raw numeric array from ``.npy``, ``.npz`` (one array, or ``key``) or numeric text.

    Used for inputs, kernels and bias files; ``what`` names the array in error messages
    ("kernel", "bias"). Any number of dimensions, real numbers only (no bool, complex, strings
    or objects), not empty; native byte order, C-contiguous. Text gives a 2-D ``(rows, cols)``
    array for one block, ``(rows, cols, blocks)`` for several (blocks on the last axis), so a
    one-line bias file comes back as ``(1, F)``.
    """
    name = sniff.name_of(path)
    head = sniff.head(name)
    if sniff.is_numpy(head):

        def check(shape: tuple[int, ...], dtype: np.dtype) -> None:
            check_header(name, shape, dtype, what)

        arr, _ = read_numpy(name, head, key, check, key_field)
        # Not np.ascontiguousarray: it turns a 0-D array (a scalar bias) into 1-D.
        return arr if arr.flags.c_contiguous else arr.copy(order="C")
    if key is not None:
        raise ConfigError(f"{name}: key {key!r} given, but only a .npz archive holds named arrays")
    text = read_text(name)
    if text is None:
        fmt = identify_image(name)
        if fmt is not None:
            raise LoadError(f"{name}: is a {fmt} image; a {what} file must be .npy, .npz or numeric text")
        raise LoadError(sniff.not_readable(name, head))
    blocks = parse_blocks(name, head, text)
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


def _not_resized(name: str, what: str) -> ConfigError:
    return ConfigError("{name}: " + f"{what} is the input as it is: {FIELD} applies to images only (save the "
                       "array at the size the model takes)", field="resize", values={"name": name})


def _check_layout(layout: str) -> str:
    norm = str(layout).strip().lower().replace("_", "-")
    if norm not in LAYOUTS:
        raise ConfigError(f"{FIELD} must be 'channels-last' or 'channels-first', got {layout!r}", field="layout")
    return norm


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


def either_layout(shape: tuple[int, ...]) -> bool:
    """Whether an array of ``shape`` (3-D, or 4-D with a batch of 1) reads as well channels-last as
    channels-first: its first and last axes, the two places of the channels, are equal (``3×3×3``,
    ``3×224×3``). (Unequal ones are read by the layout, and a header hints when C looks swapped.)"""
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    return len(shape) == 3 and shape[0] == shape[2] > 1


def _to_hwc(arr: np.ndarray, layout: str) -> np.ndarray:
    if arr.ndim == 4:
        arr = arr[0]
    if arr.ndim == 2:
        return arr[:, :, np.newaxis]
    return arr.transpose(1, 2, 0) if layout == "channels-first" else arr


def _check_pixels(name: str, h: int, w: int, max_pixels: int | None) -> None:
    if max_pixels is not None and h * w > max_pixels:
        raise LoadError(
            "{name}: " + f"{h}×{w} = {h * w:,} pixels is over the limit of {max_pixels:,}; raise it with {FIELD}",
            field="max_pixels", values={"name": name},
        )


def normalized(arr: np.ndarray) -> np.ndarray:
    """Integers divided by their dtype's maximum, as float64; floats kept (as float64); any shape."""
    out = arr.astype(np.float64)
    if arr.dtype.kind in "ui":
        out /= float(np.iinfo(arr.dtype).max)
    return out
