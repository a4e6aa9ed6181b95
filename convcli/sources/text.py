"""Numeric text: rows of numbers, blank-line-separated blocks (channels), ``#`` comments.

Rows are separated by commas (used whenever a ``,`` appears), else semicolons, else tabs or
spaces. Extension of plain CSV: **blocks separated by blank lines are channels**, stacked on the
last axis by the caller, so one file holds a multi-channel example::

    # R          <- comments do not separate blocks; blank lines do
    1 1
    1 1

    100 100
    100 100

is two ``(2, 2)`` blocks. Every block must have the same shape. Values are read as float64.
"""

from __future__ import annotations

import codecs
import os

import numpy as np

from convcli.errors import LoadError, ResourceError
from convcli.sources.sniff import IMAGE_SUFFIXES, not_readable, reason, suffix

#: How much of a file is read to tell text from binary data.
SNIFF_BYTES = 1 << 16
#: The largest numeric text read (1 GiB): it is read whole and its numbers become Python floats
#: before they become an array, several times its size; a larger array belongs in a .npy file.
MAX_TEXT_BYTES = 1 << 30


def _is_text(head: bytes, whole: bool) -> bool:
    """Whether ``head`` (the whole file when ``whole``) looks like text: no NUL byte, valid UTF-8
    (a character cut at the end of a partial head does not count against it)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with a BOM: decoded (and judged) whole
    if b"\x00" in head:
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=whole)
    except UnicodeDecodeError:
        return False
    return True


def read_text(name: str) -> str | None:
    """The file's text, or None if it is binary (NUL bytes, or neither UTF-8 nor UTF-16 with a BOM).

    Binary data is told from the first :data:`SNIFF_BYTES`, so a huge binary (or sparse) file is
    refused without being read; text over :data:`MAX_TEXT_BYTES` is refused with its size.
    """
    try:
        with open(name, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
            size = os.fstat(fh.fileno()).st_size
            whole = len(head) < SNIFF_BYTES
            if not _is_text(head, whole):
                return None
            if size > MAX_TEXT_BYTES:
                raise LoadError(
                    f"{name}: {size / 2**30:.1f} GiB of text is more than the {MAX_TEXT_BYTES / 2**30:.0f} GiB "
                    "convcli reads as numeric text; save the array as .npy instead")
            data = head if whole else head + fh.read()
    except OSError as exc:
        raise LoadError(f"{name}: cannot be read ({reason(exc)})") from None
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


def read_text_or_fail(name: str, head: bytes) -> list[np.ndarray]:
    """Blocks of a text file that no other reader took; a non-text file gets the message its name suggests."""
    text = read_text(name)
    if text is None:
        raise LoadError(not_readable(name, head))
    return parse_blocks(name, head, text)


def parse_blocks(name: str, head: bytes, text: str) -> list[np.ndarray]:
    """:func:`parse_text`, but text in a file named as binary (``.npy``, ``.png`` ...) is refused as that.

    Numbers parsed from text take many times the file's size on the way (a Python float per cell):
    running out of memory there is one error naming the file, not a bare "out of memory".
    """
    try:
        return parse_text(name, text)
    except MemoryError:
        raise ResourceError(f"{name}: ran out of memory reading it as numeric text ({len(text):,} characters); "
                            "save the array as .npy instead") from None
    except LoadError:
        if suffix(name) in (".npy", ".npz") or suffix(name) in IMAGE_SUFFIXES:
            raise LoadError(not_readable(name, head)) from None
        raise


def parse_text(name: str, text: str) -> list[np.ndarray]:
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
