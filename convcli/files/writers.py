"""Arrays and pictures -> files, atomically: ``.npz`` archives and PNG/JPEG/WebP pictures.

Call :func:`convcli.files.targets.check_target` on the target first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from convcli.errors import ConfigError, SaveError
from convcli.files.atomic import atomic_write
from convcli.files.targets import IMAGE_FORMATS, _either

if TYPE_CHECKING:
    from PIL import Image

# Lossless or near-lossless: a figure is mostly thin lines and small text, which JPEG's default
# chroma subsampling and lossy WebP smear.
_IMAGE_OPTIONS: dict[str, dict[str, object]] = {
    "PNG": {},
    "JPEG": {"quality": 95, "subsampling": 0},
    "WEBP": {"lossless": True},
}


Inputs = Sequence[str | os.PathLike[str]]


def save_npz(target: Path, arrays: Mapping[str, np.ndarray], *, force: bool = True, inputs: Inputs = ()) -> None:
    """Write ``arrays`` to ``target`` (an ``.npz``) atomically; call ``check_target`` first.

    ``force=False`` refuses a file that appeared at ``target`` meanwhile (:func:`atomic_write`).
    """
    atomic_write(target, lambda fh: np.savez(fh, **arrays), force=force, inputs=inputs)  # type: ignore[arg-type]


def save_image(image: Image.Image, target: Path, *, text: Mapping[str, str] | None = None, force: bool = True,
               inputs: Inputs = ()) -> None:
    """Write ``image`` atomically in the format its extension names (:data:`IMAGE_FORMATS`).

    JPEG gets an RGB copy (it stores neither alpha nor 16 bits). ``text`` goes into PNG ``tEXt``
    chunks (other formats ignore it). Call ``check_target`` with ``suffix=IMAGE_FORMATS`` first;
    ``force`` and ``inputs`` as for :func:`save_npz`.
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
        atomic_write(target, lambda fh: image.save(fh, format=fmt, **options), force=force, inputs=inputs)
    except ValueError as exc:  # Pillow: a mode this format cannot store
        raise SaveError(f"{target}: cannot store a {image.mode} image as {fmt} ({exc})") from exc
