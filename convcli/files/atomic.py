"""A file written whole or not at all, and never over a file it may not replace.

The bytes go to a temporary file beside the target; the last step puts it in place:

* with ``force``: ``os.replace`` (atomic within a folder: readers see the old file or the new one);
* without: ``os.link(tmp, target)`` then unlink the temporary name. ``link`` fails when anything
  exists at the target, so a file that appeared there while the command computed is never replaced,
  whatever checked earlier. Where the file system has no hard links (FAT, some network mounts), a
  placeholder is created at the target with ``O_CREAT | O_EXCL`` (which also fails if anything is
  there) and the temporary file is renamed over that placeholder: the target is still never taken
  from anyone else, but a reader may, for an instant, see the empty placeholder.

In every case a target that is one of the files the command reads (:mod:`convcli.reads`) is refused
just before the last step. Any failure, including Ctrl-C and SIGTERM (:mod:`convcli.cli.signals`),
removes the temporary file; an ``OSError`` becomes one :class:`SaveError` naming the target.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

from convcli import reads
from convcli.errors import SaveError
from convcli.text import shown

# link(2) errors that mean "this file system has no hard links", not "the target is taken"
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV, errno.ENOSYS}


def refuse_input(target: Path, inputs: Sequence[str | os.PathLike[str]] = ()) -> None:
    """Raise :class:`SaveError` when ``target`` is a file this command reads (compared by identity)."""
    if reads.input_at(target, tuple(inputs)) is not None:
        raise SaveError(f"{shown(target)} is an input file; convcli never overwrites its inputs")


@contextlib.contextmanager
def _holding_signals() -> Iterator[None]:
    """Hold back :data:`_HELD` for the block (where the platform can; not on Windows)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _place(tmp: str, target: Path, force: bool) -> None:
    """Move the finished temporary file to ``target``: replacing only with ``force``."""
    if force:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise SaveError(f"{shown(target)} appeared while convcli was working; "
                        "it was left as it is (pass --force to replace it)") from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        with _holding_signals():  # no Ctrl-C or SIGTERM between the placeholder and the rename
            try:
                os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                raise SaveError(f"{shown(target)} appeared while convcli was working; "
                                "it was left as it is (pass --force to replace it)") from None
            try:
                os.replace(tmp, target)
            except BaseException:
                Path(target).unlink(missing_ok=True)  # our own placeholder
                raise
        return
    os.unlink(tmp)


#: Held back while the temporary file is created: handled inside mkstemp, either would leave a file
#: that no cleanup knows the name of.
_HELD = {signal.SIGINT, signal.SIGTERM}


def atomic_write(target: Path, write: Callable[[IO[bytes]], object], *, force: bool = True,
                 inputs: Sequence[str | os.PathLike[str]] = ()) -> None:
    """Run ``write(fh)`` on a temporary file beside ``target``, then put it at ``target``
    (:func:`atomic_file`, whose rules it follows)."""
    with atomic_file(target, force=force, inputs=inputs) as fh:
        write(fh)


#: Seconds between the writeback a helper thread starts while a file is being written.
SYNC_EVERY = 0.25


@contextlib.contextmanager
def _syncing(fd: int) -> Iterator[None]:
    """While the block runs, ``fdatasync(fd)`` every :data:`SYNC_EVERY` seconds on a helper thread,
    so that the data reaches the disk while the work goes on and the final ``fsync`` has little
    left (1.1 GB of ``run --save``: 1.2 s at the end otherwise). Its errors are the final ``fsync``'s
    to report."""
    import threading

    stop = threading.Event()
    flush = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync

    def sync() -> None:
        while not stop.wait(SYNC_EVERY):
            try:
                flush(fd)
            except OSError:
                return

    thread = threading.Thread(target=sync, name="convcli-writeback", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def atomic_file(target: Path, *, force: bool = True, inputs: Sequence[str | os.PathLike[str]] = ()) -> Iterator[IO[bytes]]:
    """A temporary file beside ``target`` to write in the block; put at ``target`` when the block ends
    without an exception, removed when it raises (Ctrl-C and SIGTERM included).

    ``force=False``: refuse (``SaveError``) if anything exists at ``target`` by then; ``force=True``
    replaces an existing file atomically. Never writes a file this command reads (``inputs`` and
    :mod:`convcli.reads`). Call :func:`convcli.files.targets.check_target` first, so that the
    common refusals come before the work. The block may compute while it writes (``run --save``
    streams the partials as the pass makes them): the target is untouched until it has ended.
    """
    tmp: str | None = None
    try:
        with _holding_signals():  # a held signal is handled once ``tmp`` is set: the cleanup knows the name
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            with _syncing(fh.fileno()):
                yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _finish(tmp, target, force, inputs)
        tmp = None
    except BaseException as exc:  # includes KeyboardInterrupt and SIGTERM: leave no temporary file behind
        _failed(tmp, target, exc)
        raise


@contextlib.contextmanager
def atomic_path(target: Path, *, force: bool = True, inputs: Sequence[str | os.PathLike[str]] = ()) -> Iterator[Path]:
    """A temporary file's path beside ``target``, for a writer that opens its file by name (ffmpeg),
    ending in ``target``'s suffix (the writer picks its format by it); put at ``target`` when the
    block ends without an exception, removed when it raises, as :func:`atomic_file` does."""
    tmp: str | None = None
    try:
        with _holding_signals():
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
        os.close(fd)
        yield Path(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _finish(tmp, target, force, inputs)
        tmp = None
    except BaseException as exc:
        _failed(tmp, target, exc)
        raise


def _finish(tmp: str, target: Path, force: bool, inputs: Sequence[str | os.PathLike[str]]) -> None:
    """The written temporary file at ``target``, with the permissions a plain open() gives."""
    umask = os.umask(0)  # mkstemp makes the file private (0600)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    refuse_input(target, inputs)
    _place(tmp, target, force)


def _failed(tmp: str | None, target: Path, exc: BaseException) -> None:
    """No temporary file left behind; an ``OSError`` as one :class:`SaveError` naming ``target``."""
    if tmp is not None:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    if isinstance(exc, OSError):
        raise SaveError(f"{shown(target)}: could not write ({_reason(exc)})") from exc
