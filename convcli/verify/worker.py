"""The frameworks of ``convcli verify`` imported and run in a process of their own.

Importing PyTorch and Keras takes about 4 s of one core and holds that process's GIL throughout;
numpy work beside it runs hardly faster than after it (benchmarks/README.md, sessions 8 and 9).
In a second process the imports run on the other core while verify reads the input and computes
convcli's own result, numpy's and SciPy's; the frameworks' results come back band by band
(:mod:`convcli.verify.channel`: arrays in memory files, never copied through a pipe), at most
:data:`AHEAD` bands ahead of the comparison.

The parent's side is :class:`Worker`; :func:`main` (run as :data:`CHILD`) is the child's. The
child imports each module in order on its main thread, while a second thread computes each band
of each module as soon as that module is imported. It ignores the terminal's Ctrl-C (its own
session) and ends when the parent closes its socket (:meth:`Worker.close` kills it at once: it
holds nothing worth keeping). An error in a framework becomes that framework's row; a child that
ends before it is ready leaves its work to the parent, one that ends later leaves its rows
"unavailable", saying how it ended. numpy only in the parent.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from convcli.verify import adapters, channel, environment, preload, tiles
from convcli.verify.executor import Result, same_problem
from convcli.verify.problem import Outcome, Problem

#: What the child runs (``python -c CHILD FD MODULE...``): its module imported by name, so that what it
#: sends unpickles here, and without ``-m``'s warning about a module its package imports.
CHILD = "import sys; from convcli.verify.worker import main; main(sys.argv[1:])"


class Worker:
    """The child process, from the parent's side (an :class:`~convcli.verify.executor.Executor`): it
    was started on :data:`modules` (adapter modules, in the order they import), and computes bands of
    the problem given to :meth:`compute`."""

    def __init__(self, modules: tuple[str, ...], proc: subprocess.Popen[bytes], sock: socket.socket,
                 stderr: Any) -> None:
        self.modules = modules
        self._proc, self._sock, self._stderr = proc, sock, stderr
        self._ready: bool | None = None  # None: not yet heard from; False: it ended before being ready
        self._results: list[Result] = []
        self._ended = ""
        self._problem: tuple[Problem, int | None] | None = None

    @classmethod
    def start(cls, modules: list[str]) -> Worker | None:
        """A child importing ``modules`` (adapter modules: ``torch``, ``keras``, ...), or None where
        one cannot be started (another platform, no interpreter to run)."""
        if not modules or not channel.supported() or not sys.executable:
            return None
        mine, theirs = channel.pair()
        root = str(Path(__file__).resolve().parents[2])  # the folder holding this convcli
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        # its OpenMP threads sleep between bands instead of spinning on the cores this process computes on
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", CHILD, str(theirs.fileno()), *modules],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=env,
                pass_fds=(theirs.fileno(),), start_new_session=True,
            )
        except OSError:
            mine.close()
            stderr.close()
            return None
        finally:
            theirs.close()
        return cls(tuple(modules), proc, mine, stderr)

    def runs(self, adapter: adapters.Adapter) -> bool:
        """Whether ``adapter`` computes in the child: a built-in one (the child reads its own copy of
        the registry) of a module it imported."""
        return adapter in adapters.BUILTIN and adapter.module in self.modules

    def ready(self) -> bool:
        """Whether the child started and runs convcli (waits for its first word); False when it
        ended before that, and the caller computes in-process instead."""
        while self._ready is None:
            self._read()
        return self._ready

    def compute(self, problem: Problem, tile_values: int | None = None) -> bool:
        """Have the child compute every band of ``problem`` (cut as :func:`convcli.verify.tiles.bands`
        cuts it with ``tile_values``) with each of :data:`modules`; the results come through
        :meth:`poll` and :meth:`wait`. One problem per worker: given again, the same problem is not
        sent twice (True); another one is refused (False), and the caller computes it itself."""
        if self._problem is not None:
            return same_problem(self._problem, (problem, tile_values))
        self._problem = (problem, tile_values)
        self._send(("problem", problem, tile_values))
        return True

    def again(self, module: str, band: int) -> Result | None:
        """``module``'s band ``band`` once more (for a verdict that needs it twice), waiting for it;
        None when the child has ended."""
        self._send(("again", module, band))
        while not self._ended:
            for i, r in enumerate(self._results):
                if (r.module, r.band) == (module, band):
                    self._send(("taken", 1))
                    return self._results.pop(i)
            self._read()
        return None

    def poll(self) -> list[Result]:
        """The results that have arrived, without waiting."""
        while not self._ended:
            try:
                self._read(block=False)
            except BlockingIOError:
                break
        out, self._results = self._results, []
        if out:
            self._send(("taken", len(out)))  # the child may compute that many bands more
        return out

    def wait(self, timeout: float | None = None) -> list[Result]:
        """At least one result (waiting up to ``timeout`` seconds; none when it passes)."""
        if not self._results and not self._ended:
            self._sock.settimeout(timeout)
            try:
                self._read()
            except TimeoutError:
                pass
            finally:
                self._sock.settimeout(None)
        return self.poll()

    def ended(self) -> str:
        """Empty while the child runs; else how it ended, for the rows it never answered."""
        return self._ended

    def close(self) -> None:
        """End the child now (it holds nothing worth keeping) and free what it left."""
        self._sock.close()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._stderr.close()

    def _send(self, message: Any) -> None:
        if not self._ended:
            try:
                channel.send(self._sock, message)
            except OSError:
                self._end()

    def _read(self, block: bool = True) -> None:
        """One message from the child, kept; its end noted."""
        if self._ended:
            return
        if not block:
            self._sock.setblocking(False)
        try:
            message = channel.recv(self._sock)
        except (channel.Closed, ConnectionError):
            self._end()
            return
        finally:
            if not block:
                self._sock.setblocking(True)
        kind = message[0]
        if kind == "ready":
            self._ready = True
        elif kind == "result":
            self._results.append(message[1])

    def _end(self) -> None:
        try:
            code = self._proc.wait(timeout=5)  # its socket is closed: it is ending, or ended
        except subprocess.TimeoutExpired:  # a send that failed while it still runs: stop it
            self._proc.kill()
            code = self._proc.wait()
        if self._ready is None:
            self._ready = False
        self._stderr.seek(0)
        lines = [line for line in self._stderr.read().decode(errors="replace").splitlines() if line.strip()]
        if code < 0:  # killed: what it wrote before is not the reason
            self._ended = f"its process ended (signal {-code})"
        else:
            self._ended = f"its process ended (exit status {code}" + (f": {lines[-1].strip()[:200]})" if lines else ")")


def start_worker(chosen: tuple[adapters.Adapter, ...] | None = None) -> Worker | None:
    """A process importing the installed frameworks that this one has not imported (but the light
    ones, computed here): a :class:`Worker`, or None where there is nothing for it or it cannot
    start. Pass it to :func:`convcli.verify.schedule.verify`, and close it after."""
    if chosen is None:
        chosen = adapters.ADAPTERS
    modules = [a.module for a in chosen if a in adapters.BUILTIN and a.module not in adapters.LIGHT
               and a.module not in sys.modules and environment.installed(a.module)]
    return Worker.start(modules)


# ------------------------------------------------------------------------------------------------
# the child


def main(argv: list[str]) -> None:
    """The child: ``FD MODULE...``. Never returns; ends with ``os._exit``, skipping the frameworks'
    second-long teardown."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(fileno=int(argv[0]))
    try:
        _Child(sock, argv[1:]).run()
    except BaseException as exc:  # noqa: BLE001 - the parent reads this line as the reason
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        os._exit(1)
    os._exit(0)


class _Child:
    """The main thread imports the modules one by one; a second thread computes each band of each
    module as soon as that module is imported, so PyTorch's bands (whose convolution releases the
    GIL) are computed while Keras still imports."""

    def __init__(self, sock: socket.socket, modules: list[str]) -> None:
        self.sock, self.modules = sock, modules
        self.imported: set[str] = set()
        self.bands: list[Any] = []
        self.todo: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.ahead = 0  # results sent that the parent has not yet taken

    def run(self) -> None:
        channel.send(self.sock, ("ready",))
        server = threading.Thread(target=self._serve_or_end, name="convcli-worker", daemon=True)
        server.start()
        for module in self.modules:
            preload.import_for(module, module)
            with self.lock:
                self.imported.add(module)
        server.join()

    def _serve_or_end(self) -> None:
        try:
            self._serve()
        except channel.Closed:
            os._exit(0)
        except BaseException as exc:  # noqa: BLE001 - the parent reads this line as the reason
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            os._exit(1)

    def _serve(self) -> None:
        """Compute what is asked and imported, band by band; between bands, read what has arrived
        (waiting a little when nothing can be computed yet)."""
        import select

        while True:
            with self.lock:
                ready = None if self.ahead >= AHEAD else next((t for t in self.todo if t[0] in self.imported), None)
                if ready is not None:
                    self.todo.remove(ready)
            wait = 0.0 if ready is not None else POLL
            while select.select([self.sock], [], [], wait)[0]:
                self._take(channel.recv(self.sock))
                wait = 0.0
            if ready is not None:
                self._answer(*ready)

    def _take(self, message: Any) -> None:
        kind = message[0]
        with self.lock:
            if kind == "problem":
                _, problem, tile_values = message
                self.bands = tiles.bands(problem, tile_values)
                self.todo.extend((m, k) for m in self.modules for k in range(len(self.bands)))
            elif kind == "taken":
                self.ahead -= message[1]
            elif kind == "again":
                self.todo.insert(0, (message[1], message[2]))

    def _answer(self, module: str, k: int) -> None:
        adapter = next(a for a in adapters.ADAPTERS if a.module == module)
        try:
            outcome = adapters.run_adapter(adapter, self.bands[k].problem)
        except Exception as exc:  # noqa: BLE001 - becomes the framework's row, not the end of verify
            result = Result(module, k, None, f"{type(exc).__name__}: {exc}".splitlines()[0])
        else:
            # plain types only: torch.__version__ is a TorchVersion, which would import torch to unpickle
            output = None if outcome.output is None else np.ascontiguousarray(outcome.output)
            outcome = Outcome(str(outcome.framework), str(outcome.version), str(outcome.status), str(outcome.layout),
                              str(outcome.padding), output, str(outcome.note))
            result = Result(module, k, outcome)
        with self.lock:
            self.ahead += 1
        channel.send(self.sock, ("result", result))


#: Seconds the child waits for a message while nothing it was asked can be computed yet.
POLL = 0.02
#: Results the child sends ahead of the parent's comparison (each a band's output in memory).
AHEAD = 4
