"""Signals and volumes from files, read without trusting them: WAV audio and text columns as a 1-D
input ``(L, C)``, multi-frame TIFF and GIF as a 3-D one ``(D, H, W, C)``.

Each reader returns a :class:`Signal`: the array and a one-line description of how it was read
(``WAV, 16-bit PCM, 2 channels, 44100 Hz, 1,000,000 samples, values as stored``). The size a header
claims is checked against the file and against ``max_values`` before anything is read or allocated,
so a WAV header claiming billions of frames, a GIF claiming a thousand large frames or a text file
of one endless line is refused with one :class:`~convcli.errors.LoadError` line naming the file.

- **WAV** (the standard library's :mod:`wave`): integer PCM of 8, 16, 24 or 32 bits, one channel per
  audio channel. Values as stored (8-bit PCM is unsigned, 128 the silence; the others signed) unless
  ``normalize``: then float64 in [-1, 1) (``(v - 128) / 128`` for 8 bits, ``v / 2^(bits-1)`` else).
  Float, A-law, µ-law, ADPCM and the other compressed formats are refused by name.
- **Text columns** (CSV, TSV, ``;`` or whitespace separated): each column a channel, each row a
  sample; a first row with a non-numeric cell is the header and names the channels; any other
  non-numeric or empty cell is refused naming its row (the file's line) and column.
- **Frames** (Pillow): every frame of a TIFF or GIF (any format Pillow reads frames of), in order,
  as the depth axis; the frames must share their size and mode. GIF frames are read as RGB with
  their palette applied (Pillow gives a GIF's later frames in RGB or RGBA).

numpy and the standard library; Pillow imported on use.
"""

from __future__ import annotations

import array
import csv
import io
import os
import warnings
import wave
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from convcli.errors import ConfigError, LoadError
from convcli.sources import sniff

#: The most values (samples × channels, or D·H·W·C) a signal may have: 2^27, half a GB as float32.
DEFAULT_MAX_VALUES = 1 << 27
#: The longest line a text file may have (bytes); longer is refused, never read whole.
LINE_LIMIT = 1 << 20
#: WAV format tags the ``wave`` module refuses, by name.
WAV_FORMATS = {2: "Microsoft ADPCM", 3: "IEEE float", 6: "A-law", 7: "µ-law", 17: "IMA ADPCM", 85: "MP3",
               0xFFFE: "WAVE_FORMAT_EXTENSIBLE"}
#: Suffixes that name a signal file, and the reader of each (the loader may choose by them).
SIGNAL_SUFFIXES = {".wav": "wav", ".wave": "wav", ".csv": "columns", ".tsv": "columns"}


@dataclass(frozen=True, eq=False)
class Signal:
    """A signal read from a file: ``array`` ``(L, C)`` (1-D) or ``(D, H, W, C)`` (3-D), C-contiguous."""

    array: np.ndarray
    channel_names: tuple[str, ...]
    path: str
    description: str
    rate: int | None = None  # samples per second, for WAV


def _check_max(max_values: int | None) -> None:
    if max_values is not None and (isinstance(max_values, bool) or max_values < 1):
        raise ConfigError(f"max_values must be ≥ 1 or None, got {max_values!r}", field="max_values")


def _over(name: str, what: str, count: int, max_values: int | None) -> None:
    if max_values is not None and count > max_values:
        raise LoadError(f"{name}: {what} = {count:,} values is over the limit of {max_values:,}")


# --------------------------------------------------------------------------------------------
# WAV


def _wav_format_tag(name: str) -> int | None:
    """The ``fmt `` chunk's format tag, read by hand (for naming a format ``wave`` refuses), or None."""
    try:
        with open(name, "rb") as fh:
            head = fh.read(12)
            if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            for _ in range(64):  # a few chunks before fmt at most; never a loop over a hostile file
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return None
                size = int.from_bytes(chunk[4:8], "little")
                if chunk[:4] == b"fmt ":
                    tag = fh.read(2)
                    return int.from_bytes(tag, "little") if len(tag) == 2 else None
                fh.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return None
    return None


def _pcm(data: bytes, width: int, channels: int) -> np.ndarray:
    """Little-endian PCM frames as ``(frames, channels)``: uint8, int16, int32 (24 bits sign-extended), int32."""
    flat: np.ndarray
    if width == 1:
        flat = np.frombuffer(data, dtype=np.uint8)
    elif width == 2:
        flat = np.frombuffer(data, dtype="<i2").astype(np.int16)
    elif width == 3:
        b = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        flat = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        flat = (flat ^ 0x800000) - 0x800000  # sign-extend 24 bits
    else:
        flat = np.frombuffer(data, dtype="<i4").astype(np.int32)
    return np.ascontiguousarray(flat.reshape(-1, channels))


def read_wav(path: str | os.PathLike[str], *, normalize: bool = False,
             max_values: int | None = DEFAULT_MAX_VALUES) -> Signal:
    """A PCM WAV file as ``(L, C)``: ``L`` frames (samples per channel), one channel per audio channel.

    Values as stored (uint8 for 8 bits, int16, int32 for 24 and 32 bits) or, with ``normalize``,
    float64 in [-1, 1). The header's frame count is checked against the file's size and ``max_values``
    (samples × channels) before the samples are read.
    """
    _check_max(max_values)
    name = sniff.name_of(path)
    head = sniff.head(name)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise LoadError(f"{name}: not a WAV file (it does not start with RIFF....WAVE)")
    try:
        with open(name, "rb") as fh, wave.open(fh, "rb") as wf:
            channels, width, rate, frames = wf.getnchannels(), wf.getsampwidth(), wf.getframerate(), wf.getnframes()
            if channels < 1 or not 1 <= width <= 4:
                raise LoadError(f"{name}: a WAV header of {channels} channels and {8 * width}-bit samples "
                                "cannot be read")
            if frames < 1:
                raise LoadError(f"{name}: the WAV file holds no samples")
            held = os.fstat(fh.fileno()).st_size - fh.tell()
            claimed = frames * channels * width
            if claimed > held:
                raise LoadError(f"{name}: the WAV header claims {frames:,} frames ({claimed:,} bytes) but the file "
                                f"holds {max(0, held):,} bytes of samples (truncated or damaged)")
            _over(name, f"{frames:,} samples × {channels} channels", frames * channels, max_values)
            data = wf.readframes(frames)
    except wave.Error as exc:
        tag = _wav_format_tag(name)
        what = WAV_FORMATS.get(tag, f"format tag {tag}") if tag is not None else str(exc)
        raise LoadError(f"{name}: not an integer PCM WAV file ({what}); convcli reads 8-, 16-, 24- and 32-bit "
                        "PCM (convert it, e.g. sox in.wav -e signed -b 16 out.wav)") from None
    except (EOFError, OSError) as exc:
        raise LoadError(f"{name}: not a readable WAV file ({sniff.reason(exc)})") from None
    if len(data) != claimed:
        raise LoadError(f"{name}: the WAV file ended after {len(data) // (channels * width):,} of its "
                        f"{frames:,} frames (truncated)")
    x = _pcm(data, width, channels)
    values = "values as stored" + (" (unsigned: 128 is silence)" if width == 1 else "")
    if normalize:
        x = (x.astype(np.float64) - 128.0) / 128.0 if width == 1 else x / float(1 << (8 * width - 1))
        values = "normalized to [-1, 1]"
    names = ("L", "R") if channels == 2 else tuple(f"c{i}" for i in range(channels))
    description = (f"WAV, {8 * width}-bit PCM, {channels} channel{'s' * (channels != 1)}, {rate} Hz, "
                   f"{frames:,} samples, {values}")
    return Signal(np.ascontiguousarray(x), names, name, description, rate)


# --------------------------------------------------------------------------------------------
# Text columns


def _lines(name: str, fh: io.TextIOBase) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of the file, each at most :data:`LINE_LIMIT` long, blank and ``#`` lines left out."""
    number = 0
    while True:
        line = fh.readline(LINE_LIMIT + 1)
        if not line:
            return
        number += 1
        if len(line) > LINE_LIMIT and not line.endswith("\n"):
            raise LoadError(f"{name}: line {number} is longer than {LINE_LIMIT:,} characters; not a column file")
        text = line.strip()
        if text and not text.startswith("#"):
            yield number, text


def _delimiter(line: str) -> str | None:
    """The first data line's separator: ``,``, tab or ``;``; None for whitespace."""
    return next((d for d in (",", "\t", ";") if d in line), None)


def _cells(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [c.strip() for c in next(csv.reader([line], delimiter=delimiter))]


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def read_columns(path: str | os.PathLike[str], *, max_values: int | None = DEFAULT_MAX_VALUES) -> Signal:
    """A text file of columns (CSV, TSV, ``;`` or whitespace separated) as ``(L, C)`` float64: each row a
    sample, each column a channel. A first row with a non-numeric cell is a header naming the channels."""
    _check_max(max_values)
    name = sniff.name_of(path)
    head = sniff.head(name)
    if b"\x00" in head:
        raise LoadError(f"{name}: not text (binary data); expected columns of numbers")
    values = array.array("d")
    names: list[str] | None = None
    delimiter: str | None = None
    width = 0
    rows = 0
    try:
        with open(name, encoding="utf-8-sig", newline="") as fh:
            for number, line in _lines(name, fh):
                if not width:
                    delimiter = _delimiter(line)
                cells = _cells(line, delimiter)
                parsed = [_number(c) for c in cells]
                if not width:
                    width = len(cells)
                    if any(v is None for v in parsed):  # the header
                        names = [c or f"c{i}" for i, c in enumerate(cells)]
                        continue
                if len(cells) != width:
                    raise LoadError(f"{name}: line {number} has {len(cells)} columns, the first row {width}")
                bad = next((i for i, v in enumerate(parsed) if v is None), None)
                if bad is not None:
                    column = f"column {bad + 1}" + (f" ({names[bad]})" if names else "")
                    cell = cells[bad][:40]
                    raise LoadError(f"{name}: line {number}, {column}: {cell!r} is not a number"
                                    if cell else f"{name}: line {number}, {column} is empty")
                _over(name, f"{rows + 1:,} rows × {width} columns", (rows + 1) * width, max_values)
                values.extend(parsed)  # type: ignore[arg-type]  # every cell parsed: no None left
                rows += 1
    except UnicodeDecodeError:
        raise LoadError(f"{name}: not UTF-8 text; expected columns of numbers") from None
    except csv.Error as exc:
        raise LoadError(f"{name}: not readable as columns ({exc})") from None
    except OSError as exc:
        raise LoadError(f"{name}: cannot be read ({sniff.reason(exc)})") from None
    if not rows:
        raise LoadError(f"{name}: holds no rows of numbers" + (" (only a header)" if names else ""))
    x = np.frombuffer(values, dtype=np.float64).reshape(rows, width).copy()
    sep = {",": "comma", "\t": "tab", ";": "semicolon", None: "whitespace"}[delimiter]
    header = f", header {', '.join(names)}" if names else ""
    description = (f"text columns ({sep}-separated{header}), {width} column{'s' * (width != 1)} → "
                   f"{width} channel{'s' * (width != 1)}, {rows:,} samples")
    return Signal(x, tuple(names) if names else tuple(f"c{i}" for i in range(width)), name, description)


# --------------------------------------------------------------------------------------------
# Frames


def read_frames(path: str | os.PathLike[str], *, max_pixels: int | None = 178_956_970,
                max_values: int | None = DEFAULT_MAX_VALUES) -> Signal:
    """Every frame of a multi-frame image (TIFF, GIF) as ``(D, H, W, C)``, the frames as the depth.

    ``max_pixels`` bounds one frame (Pillow's decompression-bomb guard), ``max_values`` the whole
    volume ``D·H·W·C``, both before a frame is decoded. GIF frames are RGB (palette applied); other
    formats' frames are as stored and must share one mode and size.
    """
    from PIL import Image, UnidentifiedImageError

    _check_max(max_values)
    name = sniff.name_of(path)
    sniff.head(name)
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open(name, "rb") as fh, Image.open(fh) as img:
                return _frames(name, img, max_values)
    except UnidentifiedImageError:
        raise LoadError(f"{name}: not an image Pillow can read frames of (TIFF, GIF)") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise LoadError(f"{name}: a frame has more pixels than the limit of {max_pixels:,}") from None
    except LoadError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, MemoryError) as exc:
        raise LoadError(f"{name}: not a readable multi-frame image ({sniff.reason(exc)})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _frame_array(img, gif: bool, name: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    """One decoded frame as ``(H, W, C)``."""
    from convcli.sources.images import image_array

    if gif:
        img = img.convert("RGB")
    arr, _, _ = image_array(img, name)
    return arr


def _frames(name: str, img, max_values: int | None) -> Signal:  # type: ignore[no-untyped-def]
    fmt = img.format or "image"
    gif = fmt == "GIF"
    depth = int(getattr(img, "n_frames", 1))
    w, h = img.size
    bands = 3 if gif else len(img.getbands())
    _over(name, f"{depth:,} frames × {h}×{w} × {bands} channels", depth * h * w * bands, max_values)
    first = _frame_array(img, gif, name)
    out = np.empty((depth, *first.shape), dtype=first.dtype)
    out[0] = first
    for d in range(1, depth):
        img.seek(d)
        frame = _frame_array(img, gif, name)
        if frame.shape != first.shape or frame.dtype != first.dtype:
            raise LoadError(f"{name}: frame {d} is {frame.shape[1]}×{frame.shape[0]} with {frame.shape[2]} "
                            f"channels ({frame.dtype}), frame 0 {first.shape[1]}×{first.shape[0]} with "
                            f"{first.shape[2]} ({first.dtype}); the frames of a volume must match")
        out[d] = frame
    names = {1: ("L",), 2: ("L", "A"), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}.get(
        out.shape[3], tuple(f"c{i}" for i in range(out.shape[3])))
    mode = "RGB (palette applied)" if gif else img.mode
    description = (f"{fmt}, {depth} frame{'s' * (depth != 1)} of {w}×{h} as the depth, {mode}, {out.dtype} "
                   f"→ (D, H, W, C) {tuple(out.shape)}")
    return Signal(out, names, name, description)


def read_signal(path: str | os.PathLike[str], *, normalize: bool = False,
                max_values: int | None = DEFAULT_MAX_VALUES) -> Signal:
    """The signal in ``path`` by its content: ``RIFF…WAVE`` a WAV file, a TIFF or GIF magic frames, else
    text columns."""
    name = sniff.name_of(path)
    head = sniff.head(name)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return read_wav(name, normalize=normalize, max_values=max_values)
    if sniff.magic_format(head) in ("TIFF", "GIF"):
        return read_frames(name, max_values=max_values)
    return read_columns(name, max_values=max_values)
