"""The files this command reads: registered once, by identity, and never written by any writer.

Identity is the file itself (``st_dev``, ``st_ino``), not its spelling: ``./x``, ``x``, a symlink
and a hard link to ``x`` are all ``x``. The CLI opens a fresh register for each command
(:func:`begin`) and declares its inputs before it checks its targets; the sources also register
every file they open, so a file read later (a model file, say) is covered too. Outside a command
(library use) nothing is registered unless :func:`begin` was called, and writers only consult the
``inputs`` they are given.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextvars import ContextVar

_Identity = tuple[int, int]

# identity -> the name it was first read by; None: no command is running
_READ: ContextVar[dict[_Identity, str] | None] = ContextVar("convcli_read_files", default=None)


def _identity(path: str | os.PathLike[str]) -> _Identity | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # missing, unreadable folder, NUL in the name: not a file read
        return None
    return st.st_dev, st.st_ino


def begin() -> Callable[[], None]:
    """Start a new command with an empty register; returns the call that ends it (restores the old one)."""
    token = _READ.set({})
    return lambda: _READ.reset(token)


def register(*paths: str | os.PathLike[str] | None) -> None:
    """Note ``paths`` (``None`` and missing files are skipped) as read by this command."""
    read = _READ.get()
    if read is None:
        return
    for path in paths:
        if path is None:
            continue
        ident = _identity(path)
        if ident is not None:
            read.setdefault(ident, os.fspath(path))


def input_at(target: str | os.PathLike[str], also: tuple[str | os.PathLike[str], ...] = ()) -> str | None:
    """The name of the file read (registered, or in ``also``) that ``target`` is, else ``None``."""
    ident = _identity(target)
    if ident is None:
        return None
    read = _READ.get() or {}
    if ident in read:
        return read[ident]
    for path in also:
        if _identity(path) == ident:
            return os.fspath(path)
    return None
