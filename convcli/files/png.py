"""Greyscale PNGs of an integer array, written fast: the data maps of ``run --save-maps``.

Pillow's encoder tries five row filters on every row and then deflates at level 6: about 9 s
for one 12 MP 16-bit map on the development machine. Here every row is stored unfiltered (maps
of measured values gain little from row filters) and deflated at level 1 when a sample of the
rows says that pays: a smooth map (an edge detector's) shrinks to a fifth in under a second, while
the low bits of a noisy one (random filters) barely compress (to 85 %, for 0.9 s a map), so it is
stored as it is (0.07 s). ``zlib`` releases the GIL: maps encode side by side on threads. Any PNG
reader (Pillow included) reads them back as ``I;16`` or ``L``.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from typing import IO

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: zlib's level: 1 is several times faster than Pillow's 6 on such maps, and the files a fifth larger.
LEVEL = 1
#: Deflate only when a sample of the rows shrinks to at most this fraction of its size.
PAYS = 0.75
#: The sample: this many bands of rows spread over the map, 1/256 of its rows each (1/32 in all:
#: a tenth of a second's deflating would otherwise go into the question alone).
SAMPLE_BANDS = 8


def _chunk(fh: IO[bytes], kind: bytes, data: bytes) -> None:
    """One chunk, its data written as it is (an IDAT is tens of MB: no copy joins it to its frame)."""
    fh.write(struct.pack(">I", len(data)) + kind)
    fh.write(data)
    fh.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


def deflate_level(rows: np.ndarray) -> int:
    """:data:`LEVEL` when deflating ``rows (h, n)`` uint8 pays (a sample shrinks to :data:`PAYS`), else 0 (stored)."""
    h = rows.shape[0]
    band = max(1, h // 256)
    starts = np.unique(np.linspace(0, max(0, h - band), SAMPLE_BANDS).astype(int))
    sample = np.concatenate([rows[s : s + band] for s in starts])
    return LEVEL if len(zlib.compress(sample.data, LEVEL)) <= PAYS * sample.nbytes else 0


def write_grey_png(fh: IO[bytes], pixels: np.ndarray, text: Mapping[str, str] | None = None, *,
                   level: int | None = None) -> None:
    """Write a PNG of ``pixels (h, w)`` uint8 (8-bit greyscale) or uint16 (16-bit) to ``fh``, with
    ``text`` as ``tEXt`` chunks (Latin-1 keys and values, as Pillow's ``PngInfo.add_text`` writes them).
    ``level``: zlib's (0: stored); ``None``: :func:`deflate_level` decides."""
    a = np.asarray(pixels)
    if a.ndim != 2 or a.dtype not in (np.uint8, np.uint16) or a.size == 0:
        raise ValueError(f"a greyscale PNG needs a non-empty (h, w) uint8 or uint16 array, got {a.dtype} {a.shape}")
    h, w = a.shape
    # each row: filter type 0 (none), then its samples, 16-bit ones big-endian
    rows = np.empty((h, 1 + w * a.itemsize), dtype=np.uint8)
    rows[:, 0] = 0
    # the samples written in place, byte-swapped on the way (an unaligned view: no temporary copy)
    rows[:, 1:].view(a.dtype.newbyteorder(">"))[...] = a
    fh.write(SIGNATURE)
    _chunk(fh, b"IHDR", struct.pack(">IIBBBBB", w, h, 8 * a.itemsize, 0, 0, 0, 0))
    for key, value in (text or {}).items():
        _chunk(fh, b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))
    _chunk(fh, b"IDAT", zlib.compress(rows.data, deflate_level(rows) if level is None else level))
    _chunk(fh, b"IEND", b"")
