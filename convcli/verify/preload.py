"""The frameworks imported ahead, on a thread of this process, while the caller reads its input.

Used where no worker process imports them (:mod:`convcli.verify.worker`), and for SciPy, whose
module depends on the layer's size. The worker's child imports with :func:`import_for` too, so
that Keras' backend is chosen the same way in both. numpy only.
"""

from __future__ import annotations

import importlib
import sys
import threading

from convcli.verify import adapt_keras, adapters, environment


def import_for(adapter_module: str, module: str) -> None:
    """Import ``module`` for the adapter of ``adapter_module`` (Keras' backend chosen first: Keras
    reads it once, at import). A failure is left for the adapter to meet and word."""
    try:
        if adapter_module == "keras":
            adapt_keras.keras_backend()
        importlib.import_module(module)
    except Exception:  # noqa: BLE001,S110 - the adapter meets the same error and words it
        pass


class Importing:
    """The frameworks importing on a thread of their own (:func:`preload`), in the order given, and
    any module :meth:`also` adds later, until :meth:`join`."""

    def __init__(self, modules: list[tuple[str, str]]) -> None:
        import queue

        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._done: dict[str, threading.Event] = {}
        self._switch = sys.getswitchinterval()
        # the import holds the GIL for seconds; at the default 5 ms a switch, the main thread's
        # own work beside it (reading and decoding the input) waits on it most of the time
        sys.setswitchinterval(min(self._switch, SWITCH_INTERVAL))
        for entry in modules:
            self.also(*entry)
        self._thread = threading.Thread(target=self._work, name="convcli-preload", daemon=True)
        self._thread.start()

    def also(self, adapter_module: str, module: str) -> None:
        """Import ``module`` too (for the adapter of ``adapter_module``), after the others."""
        self._done[adapter_module] = threading.Event()
        self._queue.put((adapter_module, module))

    def _work(self) -> None:
        while (entry := self._queue.get()) is not None:
            adapter_module, module = entry
            try:
                import_for(adapter_module, module)
            finally:
                self._done[adapter_module].set()

    def done(self, adapter_module: str) -> bool:
        """Whether ``adapter_module``'s import is over (True for one that is not being imported)."""
        event = self._done.get(adapter_module)
        return event is None or event.is_set()

    def fraction(self) -> float:
        """The share of the imports asked for that are over, 0 to 1."""
        return sum(e.is_set() for e in self._done.values()) / max(1, len(self._done))

    def join(self, timeout: float | None = None) -> bool:
        """Until every import is over (or ``timeout`` seconds): whether they are; the switch
        interval back to what it was once they are."""
        if self._thread.is_alive():
            self._queue.put(None)  # a second None is never read: the thread has stopped at the first
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        sys.setswitchinterval(self._switch)
        return True

    def abandon(self) -> None:
        """Import nothing more and leave the thread (a daemon) to end with the process; the switch
        interval back."""
        self._queue.put(None)
        sys.setswitchinterval(self._switch)


#: The GIL switch interval while the frameworks import (seconds).
SWITCH_INTERVAL = 1e-4


def preload(chosen: tuple[adapters.Adapter, ...] | None = None, *, skip: tuple[str, ...] = ()) -> Importing:
    """Import the installed frameworks (but SciPy, numpy and the modules of ``skip``) on a thread of
    their own, while the caller reads its input; join before computing.

    Measured on a 12 MP photo (benchmarks/README.md): numpy work *beside* an import runs hardly
    faster than after it, since the import holds the GIL (convcli's pass: 0.3 s alone, 1.8 s beside
    ``import torch``), so convcli computes after the join; what overlaps is the reading and decoding
    of the input. SciPy's module depends on the layer's size (:func:`scipy_module`): add it with
    :meth:`Importing.also` once that is known. A failed import is left for the adapter to report in
    its own words.
    """
    if chosen is None:
        chosen = adapters.ADAPTERS
    return Importing([(a.module, a.module) for a in chosen
                      if a.module not in (*adapters.LIGHT, *skip) and environment.installed(a.module)])


def scipy_module(banded: bool) -> str:
    """What SciPy's adapter imports: ``scipy.ndimage`` for a layer of several bands, else ``scipy.signal``."""
    return "scipy.ndimage" if banded else "scipy.signal"


