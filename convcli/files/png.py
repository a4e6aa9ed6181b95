"""Greyscale PNGs of an integer array, written fast: the data maps of ``run --save-maps``.

Pillow's encoder tries five row filters on every row and then deflates at level 6: about 9 s
for one 12 MP 16-bit map on the development machine. Here every row is stored unfiltered (maps
of measured values gain little from row filters) and deflated at level 1 when a sample of the
rows says that pays: a smooth map (an edge detector's) shrinks to a fifth in under a second, while
the low bits of a noisy one (random filters) barely compress (to 85 %, for 0.9 s a map), so it is
stored as it is (0.07 s). ``zlib`` releases the GIL: maps encode side by side on threads. Any PNG
reader (Pillow included) reads them back as ``I;16`` or ``L``.

:func:`write_rgb_png` writes ``run --figure``'s picture (a 12 MP photo's 4-filter figure is
1919×6656 RGB, 38 MB): every row filtered "Up" (the difference to the row above: white margins
and smooth panels become zeros), deflated at level 1 in bands of rows that threads encode side by
side, each band's deflate stream ending on a byte boundary (a sync flush) so that the bands join
into one stream, as ``pigz`` does. 0.3 s instead of Pillow's 0.84 s at level 3 (which tries five
filters a row) on the development machine, the file 9 % larger; the bytes do not depend on the threads.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

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


#: The rows of :func:`write_rgb_png` are deflated in bands of about this many bytes (one band per
#: task on the threads; a smaller band compresses a little worse).
RGB_BAND_BYTES = 4 << 20
#: PNG's row filter "Up": each byte minus the byte above it (the first row's "above" is zeros).
FILTER_UP = 2

#: ``run_bands(fn, bands)``: calls ``fn((start, stop))`` for every band, on threads or not (the
#: engine's :func:`convcli.engine.tiles.each` fits); ``None``: one after another here.
BandRunner = Callable[[Callable[[tuple[int, int]], int], list[tuple[int, int]]], None]


def up_rows(pixels: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Rows ``start:stop`` of ``pixels (h, w, 3)`` uint8 as PNG rows filtered "Up": ``(n, 1 + 3w)`` uint8,
    each row's filter byte first (the row above ``start`` read from ``pixels``; above row 0: zeros)."""
    h = pixels.shape[0]
    stop = h if stop is None else stop
    flat = pixels.reshape(h, -1)
    rows = np.empty((stop - start, 1 + flat.shape[1]), dtype=np.uint8)
    rows[:, 0] = FILTER_UP
    first = start
    if start == 0:
        rows[0, 1:] = flat[0]
        first = 1
    np.subtract(flat[first:stop], flat[first - 1 : stop - 1], out=rows[first - start :, 1:])  # modulo 256, as PNG wants
    return rows


_ADLER_BASE = 65521


def adler32_combine(a1: int, a2: int, len2: int) -> int:
    """The Adler-32 of two byte strings joined, from each one's and the second one's length (zlib's
    ``adler32_combine``, which Python's ``zlib`` does not offer)."""
    rem = len2 % _ADLER_BASE
    s1, s2 = a1 & 0xFFFF, (a1 >> 16) & 0xFFFF
    t1, t2 = a2 & 0xFFFF, (a2 >> 16) & 0xFFFF
    sum1 = (s1 + t1 + _ADLER_BASE - 1) % _ADLER_BASE
    sum2 = (rem * s1 + s2 + t2 + _ADLER_BASE - rem) % _ADLER_BASE
    return sum1 | (sum2 << 16)


def deflate_bands(pixels: np.ndarray | Image.Image, level: int, run_bands: BandRunner | None = None) -> bytes:
    """The zlib stream of ``pixels``' PNG rows (:func:`up_rows`; an ``(h, w, 3)`` uint8 array or an RGB
    Pillow image, read a band of rows at a time), its bands filtered and deflated apart (on ``run_bands``)
    and joined: each band a raw deflate stream ending in a sync flush (the last in the final block), the
    Adler-32 combined from the bands'. No copy of the whole picture is made."""
    if isinstance(pixels, np.ndarray):
        (h, w), array = pixels.shape[:2], pixels
        read = lambda a, b: array[a:b]  # noqa: E731
    else:
        (w, h), image = pixels.size, pixels
        read = lambda a, b: np.asarray(image.crop((0, a, w, b)))  # noqa: E731
    per = max(1, RGB_BAND_BYTES // (1 + 3 * w))
    bands = [(s, min(h, s + per)) for s in range(0, h, per)]
    parts: dict[int, tuple[bytes, int, int]] = {}

    def one(band: tuple[int, int]) -> int:
        start, stop = band
        above = max(0, start - 1)  # the row above the band: its first row's "Up" reads it
        rows = up_rows(read(above, stop), start - above, stop - above)
        z = zlib.compressobj(level, zlib.DEFLATED, -15)
        data = z.compress(rows.data) + z.flush(zlib.Z_FINISH if stop == h else zlib.Z_SYNC_FLUSH)
        parts[start] = (data, zlib.adler32(rows.data), rows.nbytes)
        return stop - start

    if run_bands is None or len(bands) < 2:
        for band in bands:
            one(band)
    else:
        run_bands(one, bands)
    check = 1  # the Adler-32 of nothing
    for s, _ in bands:
        check = adler32_combine(check, parts[s][1], parts[s][2])
    # zlib's header (deflate, 32 KiB window; FLEVEL 0, "fastest", with the check bits), the bands, Adler-32
    return b"\x78\x01" + b"".join(parts[s][0] for s, _ in bands) + struct.pack(">I", check)


def write_rgb_png(fh: IO[bytes], pixels: np.ndarray | Image.Image, *, level: int = LEVEL,
                  run_bands: BandRunner | None = None) -> None:
    """Write a PNG of ``pixels`` (an ``(h, w, 3)`` uint8 array or an RGB Pillow image: 8-bit RGB) to ``fh``:
    rows filtered "Up", deflated at ``level`` in bands (:func:`deflate_bands`, on ``run_bands`` when given)."""
    source: np.ndarray | Image.Image
    if isinstance(pixels, np.ndarray):
        a = np.ascontiguousarray(pixels)
        if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8 or a.size == 0:
            raise ValueError(f"an RGB PNG needs a non-empty (h, w, 3) uint8 array, got {a.dtype} {a.shape}")
        (h, w), source = a.shape[:2], a
    else:
        if pixels.mode != "RGB" or 0 in pixels.size:
            raise ValueError(f"an RGB PNG needs a non-empty RGB image, got {pixels.mode} {pixels.size}")
        (w, h), source = pixels.size, pixels
    fh.write(SIGNATURE)
    _chunk(fh, b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    _chunk(fh, b"IDAT", deflate_bands(source, level, run_bands))
    _chunk(fh, b"IEND", b"")
