"""Arrays -> files, safely: never the input, never an existing file without ``force``, never half-written.

A file is written to a temporary name in the target's own folder and renamed over the target
only once complete, so a failure or Ctrl-C leaves either the old file or nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from convcli.errors import ConfigError, SaveError


def check_target(
    target: str | os.PathLike[str], *, force: bool, inputs: Sequence[str | os.PathLike[str]] = (), suffix: str = ".npz"
) -> Path:
    """Refuse a target that is an input, exists (without ``force``), or has no folder to go in."""
    path = Path(target)
    if path.suffix.lower() != suffix:
        raise ConfigError(f"{target}: the output file must end in {suffix}")
    for src in inputs:
        if Path(src).exists() and path.exists() and path.resolve() == Path(src).resolve():
            raise SaveError(f"{target} is an input file; convcli never overwrites its inputs")
    if path.is_dir():
        raise SaveError(f"{target} is a folder; give a file name ending in {suffix}")
    if path.exists() and not force:
        raise SaveError(f"{target} exists; pass --force to replace it")
    if not path.parent.is_dir():
        raise SaveError(f"{target}: the folder {path.parent} does not exist")
    return path


def save_npz(target: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``target`` (an ``.npz``) atomically; call :func:`check_target` first."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:  # includes KeyboardInterrupt: leave no temporary file behind
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise SaveError(f"{target}: could not write ({exc.strerror or exc})") from exc
        raise
