"""numpy work alone and beside a framework's import, in one process: why ``verify`` imports first.

    python benchmarks/bench_contention.py IMAGE [--module torch] [--filters 4]

Times ``convcli.engine.run_layer`` and ``convcli.engine.conv2d`` of IMAGE twice alone, then once
while another thread imports MODULE (at ``verify``'s GIL switch interval), and the import's own
time. Run it in a fresh process: a module already imported imports in no time.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import numpy as np
from PIL import Image

from convcli import engine
from convcli.verify.preload import SWITCH_INTERVAL


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("image")
    ap.add_argument("--module", default="torch")
    ap.add_argument("--filters", type=int, default=4)
    ap.add_argument("--work", choices=["run", "conv"], default="run")
    ns = ap.parse_args()
    x = np.asarray(Image.open(ns.image).convert("RGB"), dtype=np.float32)
    kernel = np.random.default_rng(0).standard_normal((3, 3, 3, ns.filters)).astype(np.float32)
    layer = engine.prepare(x, kernel)

    def work() -> float:
        t = time.perf_counter()
        if ns.work == "run":
            engine.run_layer(layer, None, "linear")
        else:
            engine.conv2d(x, kernel)
        return time.perf_counter() - t

    alone = [work(), work()]
    sys.setswitchinterval(SWITCH_INTERVAL)
    spent: list[float] = []

    def load() -> None:
        t = time.perf_counter()
        __import__(ns.module)
        spent.append(time.perf_counter() - t)

    importer = threading.Thread(target=load)
    importer.start()
    beside = work()
    importer.join()
    print(f"{ns.work} of {x.shape[1]}×{x.shape[0]}, -f {ns.filters}: alone {alone[0]:.2f} / {alone[1]:.2f} s, "
          f"beside import {ns.module} {beside:.2f} s; the import took {spent[0]:.2f} s")


if __name__ == "__main__":
    main()
