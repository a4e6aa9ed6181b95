"""What a file is, from its first bytes (its name only words the error when nothing fits).

``\\x93NUMPY`` is ``.npy``, ``PK`` a ``.npz`` archive, an image magic an image; anything else is
tried as an image by Pillow, then as numeric text. Every failure here is a
:class:`~convcli.errors.LoadError` naming the file.
"""

from __future__ import annotations

import os
import stat

from convcli import reads
from convcli.errors import LoadError

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # an archive with members / an empty archive
_IMAGE_MAGICS = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
IMAGE_SUFFIXES = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".gif": "GIF",
    ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WebP", ".ppm": "PPM", ".pgm": "PGM", ".pbm": "PBM",
}  # fmt: skip
TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".dat")


def name_of(path: str | os.PathLike[str]) -> str:
    """The path as text, as messages show it."""
    return os.fsdecode(os.fspath(path))


def suffix(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def is_numpy(head: bytes) -> bool:
    """Whether the first bytes are a ``.npy`` file's or a ``.npz`` (zip) archive's."""
    return head.startswith(NPY_MAGIC) or head.startswith(ZIP_MAGICS)


def head(name: str) -> bytes:
    """The first 16 bytes of a regular, non-empty, readable file."""
    try:
        st = os.stat(name)
    except (FileNotFoundError, NotADirectoryError):
        raise LoadError(f"{name}: no such file") from None
    except (OSError, ValueError) as exc:
        raise LoadError(f"{name}: cannot be read ({reason(exc)})") from None
    reads.register(name)  # a file this command reads: no writer may replace it
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
        raise LoadError(f"{name}: cannot be read ({reason(exc)})") from None


def reason(exc: BaseException) -> str:
    """The short reason an OS or library exception gives, for one line of message."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def magic_format(head: bytes) -> str | None:
    """The image format the first bytes announce (``"PNG"``, ``"WebP"`` ...), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((fmt for magic, fmt in _IMAGE_MAGICS if head.startswith(magic)), None)


def not_readable(name: str, head: bytes) -> str:
    """The message for a file nothing could read, worded by what it claims to be."""
    ext = suffix(name)
    if ext == ".npy":
        return f"{name}: not a .npy file (it does not start with the \\x93NUMPY magic)"
    if ext == ".npz":
        return f"{name}: not a .npz archive (not a zip file)"
    fmt = magic_format(head)
    if fmt is not None:
        return f"{name}: not a readable image (truncated or corrupt {fmt}: Pillow cannot read its header)"
    if ext in IMAGE_SUFFIXES:
        return f"{name}: not a readable image (no image format recognised in it)"
    if ext in TEXT_SUFFIXES:
        return f"{name}: not text (binary data); expected rows of numbers"
    return f"{name}: not an image, a .npy/.npz array or numeric text"
