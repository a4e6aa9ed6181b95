"""Arrays -> files, safely: never the input, never an existing file without ``force``, never half-written.

A file is written to a temporary name in the target's own folder and renamed over the target
only once complete, so a failure or Ctrl-C leaves either the old file or nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from convcli.errors import ConfigError, SaveError

if TYPE_CHECKING:
    from PIL import Image

#: Picture formats by file extension, as Pillow names them.
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}

# Lossless or near-lossless: a figure is mostly thin lines and small text, which JPEG's default
# chroma subsampling and lossy WebP smear.
_IMAGE_OPTIONS: dict[str, dict[str, object]] = {
    "PNG": {},
    "JPEG": {"quality": 95, "subsampling": 0},
    "WEBP": {"lossless": True},
}


def _either(suffixes: Sequence[str]) -> str:
    return suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"


def check_target(
    target: str | os.PathLike[str],
    *,
    force: bool,
    inputs: Sequence[str | os.PathLike[str]] = (),
    suffix: str | Sequence[str] = ".npz",
) -> Path:
    """Refuse a target that is an input, exists (without ``force``), or has no folder to go in.

    ``suffix`` is the one extension allowed, or several (``IMAGE_FORMATS``); compared lower-case.
    """
    path = Path(target)
    suffixes = (suffix,) if isinstance(suffix, str) else tuple(suffix)
    allowed = _either(suffixes)
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"{target}: the output file must end in {allowed}")
    for src in inputs:
        if Path(src).exists() and path.exists() and path.resolve() == Path(src).resolve():
            raise SaveError(f"{target} is an input file; convcli never overwrites its inputs")
    if path.is_dir():
        raise SaveError(f"{target} is a folder; give a file name ending in {allowed}")
    if path.exists() and not force:
        raise SaveError(f"{target} exists; pass --force to replace it")
    if not path.parent.is_dir():
        raise SaveError(f"{target}: the folder {path.parent} does not exist")
    return path


def atomic_write(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Run ``write(fh)`` on a temporary file beside ``target``, then rename it over ``target``.

    The rename is atomic within a folder, so readers see the old file or the whole new one. Any
    failure, including Ctrl-C, removes the temporary file; an ``OSError`` becomes a
    :class:`SaveError` naming ``target``. Call :func:`check_target` first.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); give it the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException as exc:  # includes KeyboardInterrupt: leave no temporary file behind
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise SaveError(f"{target}: could not write ({exc.strerror or exc})") from exc
        raise


def save_npz(target: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``target`` (an ``.npz``) atomically; call :func:`check_target` first."""
    atomic_write(target, lambda fh: np.savez(fh, **arrays))  # type: ignore[arg-type]


def save_image(image: Image.Image, target: Path, *, text: Mapping[str, str] | None = None) -> None:
    """Write ``image`` atomically in the format its extension names (:data:`IMAGE_FORMATS`).

    JPEG gets an RGB copy (it stores neither alpha nor 16 bits). ``text`` goes into PNG ``tEXt``
    chunks (other formats ignore it). Call :func:`check_target` with ``suffix=IMAGE_FORMATS`` first.
    """
    from PIL import PngImagePlugin, features

    fmt = IMAGE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{target}: a picture must end in {_either(list(IMAGE_FORMATS))}")
    if fmt == "WEBP" and not features.check("webp"):
        raise ConfigError(f"{target}: this Pillow was built without WebP support; use .png")
    options = dict(_IMAGE_OPTIONS[fmt])
    if fmt == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    if fmt == "PNG" and text:
        info = PngImagePlugin.PngInfo()
        for key, value in text.items():
            info.add_text(key, value)
        options["pnginfo"] = info
    try:
        atomic_write(target, lambda fh: image.save(fh, format=fmt, **options))
    except ValueError as exc:  # Pillow: a mode this format cannot store
        raise SaveError(f"{target}: cannot store a {image.mode} image as {fmt} ({exc})") from exc
