"""How the ``convcli`` process ends: at once, once a framework is loaded.

Python's own shutdown tears down every module and object one by one: after ``import torch, keras``
that is 1.2-1.4 s of a 5.7 s ``python -c "import torch, keras"`` on the machine of
``benchmarks/README.md`` (``os._exit`` instead: 4.3 s), paid by every ``verify`` and every ``run
--model`` that ran a framework, after the last line was printed. So when one of :data:`HEAVY` is
imported, :func:`leave` flushes the output, runs the ``atexit`` handlers (what a library registers to
finish its work) and ends the process with ``os._exit``; otherwise it exits as usual. The files
convcli writes are complete and closed long before (:mod:`convcli.files.atomic`). Only the console
script and ``python -m convcli`` end this way: the app called in-process (tests, a notebook) returns
or raises ``SystemExit`` as any click app does.
"""

from __future__ import annotations

import atexit
import os
import sys

from convcli.cli.app import app

#: Modules whose teardown at exit takes about a second.
HEAVY = ("torch", "keras", "tensorflow", "jax", "onnxruntime")


def main() -> None:
    """The ``convcli`` command."""
    try:
        app(prog_name="convcli")
    except SystemExit as exc:
        leave(exc.code)
    leave(0)


def leave(code: object) -> None:
    """End the process with ``code`` (``sys.exit``'s meaning: None is 0, a text is printed and is 1),
    skipping the interpreter's teardown when a :data:`HEAVY` module is loaded."""
    if not any(name in sys.modules for name in HEAVY):
        raise SystemExit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        sys.stderr.write(f"{code}\n")
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said on it
            status = status or 1
    os._exit(status)
