"""Arrays and pictures -> files, atomically: ``.npz`` archives and PNG/JPEG/WebP pictures.

Call :func:`convcli.files.targets.check_target` on the target first.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from convcli.errors import ConfigError, SaveError
from convcli.files.atomic import atomic_file, atomic_path, atomic_write
from convcli.files.targets import IMAGE_FORMATS, either

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
    to the file in one pass, without the per-chunk copy ``np.savez`` makes (:class:`NpzArchive`).
    ``force=False`` refuses a file that appeared at ``target`` meanwhile (:func:`atomic_write`).
    """
    with npz_archive(target, force=force, inputs=inputs, compress=compress) as archive:
        for name, value in arrays.items():
            archive.add(name, value)


@contextlib.contextmanager
def npz_archive(target: Path, *, force: bool = True, inputs: Inputs = (), compress: bool = False) -> Iterator[NpzArchive]:
    """An :class:`NpzArchive` written to a temporary file and put at ``target`` when the block ends
    (:func:`~convcli.files.atomic.atomic_file`): arrays can be added while they are computed."""
    with atomic_file(target, force=force, inputs=inputs) as fh, NpzArchive(fh, compress) as archive:
        yield archive


class NpzArchive:
    """What ``np.savez(fh, **arrays)`` writes: a ZIP64 archive of ``NAME.npy`` entries (deflated
    when ``compress``), written entry by entry, one of them possibly row block by row block
    (:meth:`rows`) as the blocks are computed.

    A C-contiguous array is written as slices of its own memory (zipfile computes the CRC on them
    and writes them straight through); any other array a block of rows at a time, made contiguous.
    """

    def __init__(self, fh: IO[bytes], compress: bool = False) -> None:
        import zipfile

        method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        self._zip = zipfile.ZipFile(fh, mode="w", compression=method, allowZip64=True)
        self._open: RowEntry | None = None

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is None and self._open is not None:
            raise ValueError(f"{self._open.name}.npy has {self._open.done} of its {self._open.shape[0]} rows")
        self._zip.close()

    def add(self, name: str, value: np.ndarray) -> None:
        """``value`` as the entry ``NAME.npy``."""
        from numpy.lib import format as npy

        a = np.asanyarray(value)
        with self._entry(name) as out:
            if a.dtype.hasobject or a.size == 0:  # numpy's own way (object arrays, empty ones)
                npy.write_array(out, a)
                return
            _header(out, npy.header_data_from_array_1_0(a))
            if a.flags.c_contiguous or a.flags.f_contiguous:
                # the header says Fortran order for an F-only array, whose transpose is C-contiguous
                _write_flat(out, a if a.flags.c_contiguous else a.T)
            else:
                rows = max(1, NPZ_CHUNK // max(1, a[0].nbytes))
                for r in range(0, a.shape[0], rows):
                    _write_flat(out, np.ascontiguousarray(a[r : r + rows]))

    @contextlib.contextmanager
    def rows(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> Iterator[RowEntry]:
        """The entry ``NAME.npy`` of an array ``shape`` (C order) written in blocks of its leading
        rows, in order, with :meth:`RowEntry.write`; all ``shape[0]`` rows by the end of the block."""
        from numpy.lib import format as npy

        if self._open is not None:
            raise ValueError(f"{self._open.name}.npy is still being written")
        with self._entry(name) as out:
            _header(out, {"descr": npy.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": tuple(shape)})
            entry = self._open = RowEntry(name, tuple(shape), np.dtype(dtype), out)
            yield entry
            self._open = None
            if entry.done != shape[0]:
                raise ValueError(f"{name}.npy has {entry.done} of its {shape[0]} rows")

    def _entry(self, name: str) -> IO[bytes]:
        return self._zip.open(f"{name}.npy", "w", force_zip64=True)


class RowEntry:
    """One ``.npy`` entry being written block by block (:meth:`NpzArchive.rows`)."""

    def __init__(self, name: str, shape: tuple[int, ...], dtype: np.dtype, out: IO[bytes]) -> None:
        self.name, self.shape, self.dtype, self._out = name, shape, dtype, out
        self.done = 0  # rows written

    def write(self, block: np.ndarray) -> None:
        """The next ``len(block)`` rows: ``block`` is ``(rows, *shape[1:])`` of the entry's dtype."""
        if block.shape[1:] != self.shape[1:] or block.dtype != self.dtype or self.done + len(block) > self.shape[0]:
            raise ValueError(f"{self.name}.npy: a block {block.shape} {block.dtype} does not fit rows "
                             f"{self.done}+ of {self.shape} {self.dtype}")
        _write_flat(self._out, np.ascontiguousarray(block))
        self.done += len(block)


def _header(out: IO[bytes], header: dict[str, object]) -> None:
    from numpy.lib import format as npy

    try:
        npy.write_array_header_1_0(out, header)
    except ValueError:  # a header longer than 64 KiB (a very long shape): format 2.0
        npy.write_array_header_2_0(out, header)


def _write_flat(out: IO[bytes], a: np.ndarray) -> None:
    """A C-contiguous array's bytes, in :data:`NPZ_CHUNK` slices of its own memory."""
    data = memoryview(a.reshape(-1).view(np.uint8))  # type: ignore[arg-type]
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
        raise ConfigError(f"{target}: a picture must end in {either(list(IMAGE_FORMATS))}")
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


#: A figure saved as PDF is its picture on one page at this many pixels an inch (a 1920-px figure:
#: 13.3 inches wide, a slide's width): Pillow writes a raster PDF, the text is pixels, not vector.
PDF_DPI = 144.0


def save_pdf(image: Image.Image, target: Path, *, force: bool = True, inputs: Inputs = ()) -> None:
    """Write ``image`` as a one-page raster PDF (Pillow's PDF writer, the page the picture at
    :data:`PDF_DPI`), atomically; call ``check_target`` first."""
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    atomic_write(target, lambda fh: rgb.save(fh, format="PDF", resolution=PDF_DPI), force=force, inputs=inputs)


def save_text(text: str, target: Path, *, force: bool = True, inputs: Inputs = ()) -> None:
    """Write ``text`` as UTF-8 (an SVG document, say), atomically; call ``check_target`` first."""
    atomic_write(target, lambda fh: fh.write(text.encode("utf-8")), force=force, inputs=inputs)


#: A GIF animation's palette: fewer colours than GIF's 256 keep a photo's frames smaller (its grey
#: tiles in 128 levels at most), the maps' colours still told apart.
GIF_COLOURS = 128

#: Animations by extension, as Pillow names them.
ANIMATION_FORMATS = {".gif": "GIF", ".webp": "WEBP", ".png": "PNG", ".apng": "PNG", ".mp4": "MP4"}
#: how to get what an MP4 needs (imageio-ffmpeg: ffmpeg's program in a wheel)
MP4_EXTRA = "pip install 'convcli[mp4]'"
#: imageio-ffmpeg's quality (1-10) of the MP4's H.264: 8 keeps the frames' small numbers legible
MP4_QUALITY = 8


def mp4_available() -> bool:
    """Whether imageio-ffmpeg (the ``mp4`` extra) is installed; found without importing it."""
    import importlib.util

    return importlib.util.find_spec("imageio_ffmpeg") is not None


def save_animation(frames: Iterable[Image.Image], target: Path, *, fps: float, force: bool = True,
                   inputs: Inputs = ()) -> None:
    """Write ``frames`` (RGB pictures of one size, made as they are written: one in memory at a
    time for GIF, PNG and MP4) as an animation that loops, ``fps`` frames a second: GIF (every frame in
    the first frame's palette), lossless WebP or animated PNG (all frames in memory), or an H.264 MP4
    through imageio-ffmpeg (the ``mp4`` extra; it plays once), by extension."""
    from PIL import features

    fmt = ANIMATION_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{target}: an animation must end in {either(list(ANIMATION_FORMATS))}")
    if fmt == "WEBP" and not features.check("webp"):
        raise ConfigError(f"{target}: this Pillow was built without WebP support; use .gif")
    if fmt == "MP4" and not mp4_available():
        raise ConfigError(f"{target}: MP4 needs the mp4 extra: {MP4_EXTRA}")
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ConfigError(f"{target}: an animation needs at least one frame")
    if fmt == "MP4":
        _save_mp4(first, it, target, fps, force=force, inputs=inputs)
        return
    duration = max(20, round(1000 / fps))
    rest: Iterable[Image.Image] = it
    if fmt == "GIF":
        # one palette (no dithering): a pixel that does not change keeps its index, and the GIF
        # stores only what changed from frame to frame
        from PIL import Image as PILImage

        palette = _Palette(first.quantize(colors=GIF_COLOURS, method=PILImage.Quantize.MEDIANCUT), first)
        first = palette.indexed(first)
        rest = palette.deltas(it)
    else:
        rest = list(it)  # Pillow's WebP and APNG writers take a list (and keep every frame anyway)
    options: dict[str, object] = {"save_all": True, "append_images": rest, "duration": duration, "loop": 0}
    if fmt == "GIF":  # the pixels a frame keeps from the one before are transparent (disposal 1: kept)
        options.update(optimize=False, transparency=GIF_COLOURS, disposal=1)
    elif fmt == "WEBP":
        options.update(lossless=True, method=0)
    else:
        options["compress_level"] = 3
    atomic_write(target, lambda fh: first.save(fh, format=fmt, **options), force=force, inputs=inputs)


def _save_mp4(first: Image.Image, rest: Iterator[Image.Image], target: Path, fps: float, *, force: bool,
              inputs: Inputs) -> None:
    """The frames as H.264 in yuv420p (what every player plays), each padded by its own edge to even
    sides (yuv420p halves the colour's resolution); ffmpeg writes a temporary file by name, put in place
    when it has ended (:func:`~convcli.files.atomic.atomic_path`)."""
    import imageio_ffmpeg

    w, h = first.size
    size = (w + w % 2, h + h % 2)

    def even(frame: Image.Image) -> bytes:
        rgb = np.asarray(frame.convert("RGB"))
        if rgb.shape[:2] != (h, w):
            raise ValueError(f"an MP4's frames are all {w}×{h}; one is {rgb.shape[1]}×{rgb.shape[0]}")
        return np.ascontiguousarray(np.pad(rgb, ((0, size[1] - h), (0, size[0] - w), (0, 0)), mode="edge")).tobytes()

    with atomic_path(target, force=force, inputs=inputs) as path:
        writer = imageio_ffmpeg.write_frames(str(path), size, fps=fps, codec="libx264", quality=MP4_QUALITY,
                                             macro_block_size=1, ffmpeg_log_level="error")
        writer.send(None)  # starts ffmpeg
        try:
            for frame in itertools.chain((first,), rest):
                writer.send(even(frame))
        finally:
            writer.close()  # waits for ffmpeg to finish the file (or stops it)


class _Palette:
    """A GIF's one palette (median cut of the first frame, its page colour exact) and each frame's
    pixels mapped to their nearest entry, colour by colour (Pillow's own mapping goes through a
    coarse colour cube: a white page came out 252 grey)."""

    def __init__(self, quantized: Image.Image, first: Image.Image) -> None:
        entries = np.array(quantized.getpalette() or [0, 0, 0], dtype=np.int64).reshape(-1, 3)
        page = np.asarray(first.convert("RGB"), dtype=np.int64)[0, 0]
        entries[int(np.abs(entries - page).sum(axis=1).argmin())] = page
        self.entries = entries
        # GIF_COLOURS entries at most, then the transparent index GIF_COLOURS: 256 in all
        self.flat = entries.astype(np.uint8).ravel().tolist() + [0, 0, 0] * (256 - len(entries))
        self.known: dict[int, int] = {}
        self.previous: np.ndarray | None = None

    def deltas(self, frames: Iterable[Image.Image]) -> Iterator[Image.Image]:
        """Each frame indexed, the pixels unchanged since the frame before made transparent
        (:data:`GIF_COLOURS`): LZW then stores long runs of one index where nothing moved."""
        from PIL import Image as PILImage

        for frame in frames:
            indices = self.indices(frame)
            delta = indices.copy()
            if self.previous is not None:
                delta[indices == self.previous] = GIF_COLOURS
            self.previous = indices
            out = PILImage.fromarray(delta, mode="P")
            out.putpalette(self.flat)
            yield out

    def indexed(self, frame: Image.Image) -> Image.Image:
        from PIL import Image as PILImage

        indices = self.indices(frame)
        self.previous = indices
        out = PILImage.fromarray(indices, mode="P")
        out.putpalette(self.flat)
        return out

    def indices(self, frame: Image.Image) -> np.ndarray:

        rgb = np.asarray(frame.convert("RGB"), dtype=np.int64)
        packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        colours, inverse = np.unique(packed, return_inverse=True)
        new = [c for c in colours.tolist() if c not in self.known]
        if new:
            c = np.array(new, dtype=np.int64)
            rgb_new = np.stack([c >> 16, (c >> 8) & 255, c & 255], axis=1)
            nearest = ((rgb_new[:, None, :] - self.entries[None]) ** 2).sum(axis=2).argmin(axis=1)
            self.known.update(zip(new, nearest.tolist(), strict=True))
        lookup = np.array([self.known[c] for c in colours.tolist()], dtype=np.uint8)
        return np.asarray(lookup[inverse.reshape(packed.shape)])
