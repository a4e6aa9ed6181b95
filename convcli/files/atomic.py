"""A file written whole or not at all: to a temporary name in the target's folder, then renamed over it.

A failure or Ctrl-C leaves either the old file or nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from convcli.errors import SaveError


def atomic_write(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Run ``write(fh)`` on a temporary file beside ``target``, then rename it over ``target``.

    The rename is atomic within a folder, so readers see the old file or the whole new one. Any
    failure, including Ctrl-C, removes the temporary file; an ``OSError`` becomes a
    :class:`SaveError` naming ``target``. Call :func:`convcli.files.targets.check_target` first.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); give it the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException as exc:  # includes KeyboardInterrupt: leave no temporary file behind
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise SaveError(f"{target}: could not write ({exc.strerror or exc})") from exc
        raise
