"""Where an output may go: never an input, never an existing file without ``force``, never a missing folder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from convcli import reads
from convcli.errors import ConfigError, SaveError
from convcli.text import shown

#: Picture formats by file extension, as Pillow names them.
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def either(suffixes: Sequence[str]) -> str:
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

    An input is any file in ``inputs`` or registered in :mod:`convcli.reads`, compared by identity
    (a hard link or ``./x`` for ``x`` is the same file), with or without ``force``. The writers
    check again at their last step (:func:`convcli.files.atomic.atomic_write`).

    ``suffix`` is the one extension allowed, or several (``IMAGE_FORMATS``); compared lower-case.
    """
    path = Path(target)
    name = shown(target)
    suffixes = (suffix,) if isinstance(suffix, str) else tuple(suffix)
    allowed = either(suffixes)
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"{name}: the output file must end in {allowed}")
    if reads.input_at(path, tuple(inputs)) is not None:
        raise SaveError(f"{name} is an input file; convcli never overwrites its inputs")
    try:
        if path.is_dir():
            raise SaveError(f"{name} is a folder; give a file name ending in {allowed}")
        if path.exists() and not force:
            raise SaveError("{target} exists; pass {field} to replace it", field="force", values={"target": name})
        if not path.parent.is_dir():
            raise SaveError(f"{name}: the folder {shown(path.parent)} does not exist")
    except OSError as exc:  # a folder on the way without search permission, say
        raise SaveError(f"{name}: cannot be written ({exc.strerror or exc})") from exc
    return path
