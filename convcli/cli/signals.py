"""SIGTERM ends a command the way Ctrl-C does: the writers remove their temporary files.

The handler raises :class:`Terminated` in the main thread; every writer's cleanup catches
``BaseException`` (:func:`convcli.files.atomic.atomic_write`, ``figure.maps.save_maps``), and the app
turns it into ``Error: terminated`` with exit code 143 (128 + SIGTERM), as a shell reports a process
killed by that signal. ``Terminated`` is not an ``Exception``, so no ``except Exception`` on the way
(a reader that turns any failure into "cannot read") can swallow it.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

#: The exit code of a command ended by SIGTERM.
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived: unwind like ``KeyboardInterrupt``, cleaning up, and exit 143."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def begin_command() -> None:
    """Before a command runs: a fresh register of the files it reads, and SIGTERM handled.

    Both are undone when the command's context closes, so a process that runs the app in-process
    (a test runner) gets its own SIGTERM handler back. Only the main thread may set a signal
    handler; elsewhere SIGTERM keeps its old meaning.
    """
    from typer._click.globals import get_current_context  # typer vendors click (convcli.cli.startup)

    from convcli import reads

    undo = [reads.begin()]
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)

        def restore() -> None:
            signal.signal(signal.SIGTERM, previous)

        undo.append(restore)
    ctx = get_current_context(silent=True)
    if ctx is not None:
        for step in reversed(undo):
            ctx.call_on_close(step)
