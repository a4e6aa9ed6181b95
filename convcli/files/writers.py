"""Arrays and pictures -> files, atomically: ``.npz`` archives and PNG/JPEG/WebP pictures.

Call :func:`convcli.files.targets.check_target` on the target first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

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


#: Bytes handed to zipfile (and so to zlib's CRC and the file) per write: large, but a slice of the array, never a copy.
NPZ_CHUNK = 1 << 24


def save_npz(target: Path, arrays: Mapping[str, np.ndarray], *, force: bool = True, inputs: Inputs = (),
             compress: bool = False) -> None:
    """Write ``arrays`` to ``target`` (an ``.npz``) atomically; call ``check_target`` first.

    The archive is the one ``np.savez`` (``np.savez_compressed`` with ``compress``) writes, each
    array an ``NAME.npy`` entry, read back by ``np.load``; the data go from the arrays themselves
    to the file in one pass, without the per-chunk copy ``np.savez`` makes (:func:`_write_npz`).
    ``force=False`` refuses a file that appeared at ``target`` meanwhile (:func:`atomic_write`).
    """
    atomic_write(target, lambda fh: _write_npz(fh, arrays, compress), force=force, inputs=inputs)


def _write_npz(fh: IO[bytes], arrays: Mapping[str, np.ndarray], compress: bool) -> None:
    """``np.savez(fh, **arrays)``: a ZIP64 archive of ``.npy`` entries (deflated when ``compress``).

    A C-contiguous array is written as slices of its own memory (zipfile computes the CRC on them
    and writes them straight through); any other array a block of rows at a time, made contiguous.
    """
    import zipfile

    from numpy.lib import format as npy

    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(fh, mode="w", compression=method, allowZip64=True) as archive:
        for name, value in arrays.items():
            a = np.asanyarray(value)
            with archive.open(f"{name}.npy", "w", force_zip64=True) as out:
                if a.dtype.hasobject or a.size == 0:  # numpy's own way (object arrays, empty ones)
                    npy.write_array(out, a)
                    continue
                header = npy.header_data_from_array_1_0(a)
                try:
                    npy.write_array_header_1_0(out, header)
                except ValueError:  # a header longer than 64 KiB (a very long shape): format 2.0
                    npy.write_array_header_2_0(out, header)
                if a.flags.c_contiguous or a.flags.f_contiguous:
                    # the header says Fortran order for an F-only array, whose transpose is C-contiguous
                    flat = (a if a.flags.c_contiguous else a.T).reshape(-1)
                    data = memoryview(flat.view(np.uint8))  # type: ignore[arg-type]
                else:
                    rows = max(1, NPZ_CHUNK // max(1, a[0].nbytes))
                    for r in range(0, a.shape[0], rows):
                        out.write(memoryview(np.ascontiguousarray(a[r : r + rows]).reshape(-1).view(np.uint8)))  # type: ignore[arg-type]
                    continue
                for start in range(0, data.nbytes, NPZ_CHUNK):
                    out.write(data[start : start + NPZ_CHUNK])


def save_image(image: Image.Image, target: Path, *, text: Mapping[str, str] | None = None, force: bool = True,
               inputs: Inputs = (), png_level: int | None = None) -> None:
    """Write ``image`` atomically in the format its extension names (:data:`IMAGE_FORMATS`).

    JPEG gets an RGB copy (it stores neither alpha nor 16 bits). ``text`` goes into PNG ``tEXt``
    chunks (other formats ignore it). ``png_level``: zlib's level for a PNG (Pillow's default 6
    if ``None``; a figure takes 3: 2.3× faster to write, no larger). Call ``check_target`` with
    ``suffix=IMAGE_FORMATS`` first; ``force`` and ``inputs`` as for :func:`save_npz`.
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
    if fmt == "PNG" and png_level is not None:
        options["compress_level"] = png_level
    if fmt == "PNG" and text:
        info = PngImagePlugin.PngInfo()
        for key, value in text.items():
            info.add_text(key, value)
        options["pnginfo"] = info
    try:
        atomic_write(target, lambda fh: image.save(fh, format=fmt, **options), force=force, inputs=inputs)
    except ValueError as exc:  # Pillow: a mode this format cannot store
        raise SaveError(f"{target}: cannot store a {image.mode} image as {fmt} ({exc})") from exc
