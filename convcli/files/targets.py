"""Where an output may go: never an input, never an existing file without ``force``, never a missing folder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from convcli.errors import ConfigError, SaveError

#: Picture formats by file extension, as Pillow names them.
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def _either(suffixes: Sequence[str]) -> str:
    """``".a"``, ``".a or .b"``, ``".a, .b or .c"``."""
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
        raise SaveError("{target} exists; pass {field} to replace it", field="force", values={"target": target})
    if not path.parent.is_dir():
        raise SaveError(f"{target}: the folder {path.parent} does not exist")
    return path
