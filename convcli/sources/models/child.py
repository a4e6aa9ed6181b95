"""A model run up to a layer in a process of its own: a time budget, and Ctrl-C or SIGTERM end it.

ONNX Runtime computes a graph in one call that holds the main thread: a ``Loop`` of 10^15 iterations
never returns, and a Python signal handler (Ctrl-C's, SIGTERM's) never runs. In a child process the
parent keeps its signals: it waits in short slices, and when Ctrl-C or SIGTERM arrives (raised in the
parent as ``KeyboardInterrupt`` / ``Terminated``) or the budget (:func:`budget`, default
:data:`TIMEOUT` s, ``CONVCLI_UPSTREAM_TIMEOUT`` to change it) runs out, it kills the child and removes
its folder.

Nothing comes back pickled: the parent hands the child its image as an ``.npy`` file and its arguments
as JSON in a private folder (``mkdtemp``: mode 0700, removed afterwards); the child writes the array
with ``np.save`` and a small JSON document saying how it ended; the parent reads them back with
``np.load(allow_pickle=False)`` and ``json``, checked. An expected failure in the child (a convcli
error) comes back as its class name, message and field, and is raised again here.

The same machinery reads a Keras file's listing before convcli's process does
(:func:`convcli.sources.models.hdf5.read_in_child`, a budget of its own): libhdf5 can crash or hang
on a damaged file.

The child's side is :func:`serve` (its task function named by the parent, in a module the child
imports by name); it runs in its own session, so the terminal's Ctrl-C reaches the parent alone.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from convcli.errors import ConfigError, ConvcliError, LoadError, ResourceError, ShapeError
from convcli.text import shown

#: Seconds a model may take to compute a layer's input, unless ``CONVCLI_UPSTREAM_TIMEOUT`` says otherwise.
TIMEOUT = 300.0
TIMEOUT_ENV = "CONVCLI_UPSTREAM_TIMEOUT"
#: What the child runs (``python -c CHILD FOLDER``).
CHILD = "import sys; from convcli.sources.models.child import serve; serve(sys.argv[1])"
#: The errors that come back from the child as themselves.
ERRORS: dict[str, type[ConvcliError]] = {c.__name__: c for c in (LoadError, ShapeError, ConfigError, ResourceError)}
#: The most bytes of the child's JSON answer read.
ANSWER_BYTES = 1 << 20


def budget(env: str = TIMEOUT_ENV, default: float = TIMEOUT, what: str = "a model may take to compute a layer's "
           "input") -> float:
    """The seconds a model may take to compute a layer's input: ``CONVCLI_UPSTREAM_TIMEOUT``, else :data:`TIMEOUT`
    (another ``env``, its ``default`` and ``what`` the seconds are for: another budget)."""
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(f"{env}={shown(raw)!r}: give the seconds {what}, a number above 0 (default {default:g})")
    return seconds


class OverBudget(Exception):  # noqa: N818 - a condition, as TimeoutError
    """The child ran past its budget and was stopped."""


class Died(LoadError):
    """The child ended without an answer: killed by a signal (a crash in a library's C code, out of
    memory) or an exit of its own; ``rc`` is its exit code (``-N``: signal N)."""

    def __init__(self, message: str, rc: int) -> None:
        super().__init__(message)
        self.rc = rc


class _Expired(BaseException):
    """The in-process budget ran out: a ``BaseException``, so that no framework's ``except Exception`` takes it."""


@contextlib.contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raise :class:`OverBudget` from the block when it runs past ``seconds`` (``SIGALRM``, in the main
    thread: between two of the framework's Python steps, so one long operation ends first). Without
    ``setitimer`` or outside the main thread, no budget."""
    import signal
    import threading

    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _Expired

    pending = signal.getitimer(signal.ITIMER_REAL)[0]
    if 0 < pending <= seconds:  # someone's alarm (a test's hang detector) comes first: theirs holds
        yield
        return
    start = time.monotonic()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Expired:
        raise OverBudget(f"stopped after {seconds:g} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if pending:  # a later alarm that was set before: armed again for what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(pending - (time.monotonic() - start), 1e-3))


def run(task: str, args: dict[str, Any], x: np.ndarray, files: dict[str, bytes] | None = None,
        seconds: float | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """``(array, answer)``: ``task`` (``"module:function"``, called as ``function(x, folder, **args)`` and
    returning ``(array, dict of JSON values)``) run on ``x`` in a child process within ``seconds``
    (:func:`budget` unless given); ``files`` (name: bytes) are written in its ``folder`` first.

    Raises the child's convcli error again, :class:`OverBudget` when it was stopped, :class:`LoadError`
    when it ended without an answer (killed: out of memory?).
    """
    seconds = budget() if seconds is None else seconds
    folder = tempfile.mkdtemp(prefix="convcli-upstream-")
    try:
        np.save(os.path.join(folder, "x.npy"), np.ascontiguousarray(x), allow_pickle=False)
        for file, data in (files or {}).items():
            Path(folder, os.path.basename(file)).write_bytes(data)
        Path(folder, "args.json").write_text(json.dumps({"task": task, "args": args, "parent": os.getpid(),
                                                         "budget": seconds}), encoding="utf-8")
        root = str(Path(__file__).resolve().parents[3])  # the folder holding this convcli
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        with open(os.path.join(folder, "stderr"), "wb") as err:
            try:
                proc = subprocess.Popen([sys.executable, "-c", CHILD, folder], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True)
            except (OSError, ValueError) as exc:  # no interpreter to run (an embedded Python), no processes left
                raise LoadError(f"could not start a process to compute the model in ({shown(str(exc))})") from None
        try:
            rc = _wait(proc, seconds)
        finally:  # Ctrl-C, SIGTERM (convcli.cli.signals) or the budget: the child goes at once
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if rc is None:
            raise OverBudget(f"stopped after {seconds:g} s")
        return _answer(folder, rc)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wait(proc: subprocess.Popen[bytes], seconds: float) -> int | None:
    """The child's exit code, or None when it still runs after ``seconds``; the parent's signal
    handlers run between short waits."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return proc.wait(timeout=min(left, 0.1))
    return proc.poll()


def _answer(folder: str, rc: int) -> tuple[np.ndarray, dict[str, Any]]:
    path = os.path.join(folder, "answer.json")
    try:
        with open(path, "rb") as fh:
            answer = json.loads(fh.read(ANSWER_BYTES))
    except (OSError, ValueError):
        answer = None
    if not isinstance(answer, dict):
        how = f"was killed by signal {-rc}" if rc < 0 else f"ended with exit code {rc}"
        raise Died(f"the process computing the model {how} before it answered" + _last_line(folder)
                   + (" (out of memory?)" if rc == -9 else ""), rc)
    error = answer.get("error")
    if isinstance(error, dict):
        cls = ERRORS.get(str(error.get("class")), LoadError)
        values = error.get("values")
        raise cls(str(error.get("message", "")), field=error.get("field"), also=error.get("also"),
                  values=values if isinstance(values, dict) else None)
    try:
        y = np.load(os.path.join(folder, "y.npy"), allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise LoadError(f"the process computing the model wrote no readable array ({shown(str(exc))})") from None
    return y, answer


def _last_line(folder: str) -> str:
    try:
        with open(os.path.join(folder, "stderr"), "rb") as fh:
            fh.seek(max(0, os.fstat(fh.fileno()).st_size - 2000))
            lines = fh.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return f": {shown(lines[-1])[:300]}" if lines else ""


def serve(folder: str) -> None:
    """The child: run the task ``args.json`` names on ``x.npy``; write ``y.npy`` and ``answer.json``."""
    args = json.loads(Path(folder, "args.json").read_text(encoding="utf-8"))
    _watch(int(args["parent"]), float(args["budget"]))
    module, _, function = str(args["task"]).partition(":")
    task: Callable[..., tuple[np.ndarray, dict[str, Any]]] = getattr(importlib.import_module(module), function)
    x = np.load(os.path.join(folder, "x.npy"), allow_pickle=False)
    try:
        y, answer = task(x, folder, **args["args"])
    except ConvcliError as exc:
        answer = {"error": {"class": type(exc).__name__, "message": exc.message, "field": exc.field,
                            "also": exc.also, "values": {k: str(v) for k, v in exc.values.items()}}}
    else:
        np.save(os.path.join(folder, "y.npy"), np.ascontiguousarray(y), allow_pickle=False)
    Path(folder, "answer.json").write_text(json.dumps(answer), encoding="utf-8")


def _watch(parent: int, seconds: float) -> None:
    """End the child when its parent is gone (killed with SIGKILL: nobody would stop it) or well past the
    budget, from a thread (ONNX Runtime releases the GIL while it computes)."""
    import threading

    end = time.monotonic() + seconds + 10

    def watch() -> None:
        while os.getppid() == parent and time.monotonic() < end:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, name="convcli-watch-parent", daemon=True).start()
