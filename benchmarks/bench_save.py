"""``np.savez`` against convcli's ``save_npz`` on the same arrays, alternately, in one process.

    python benchmarks/bench_save.py RESULT.npz [--repeats N] [--dir DIR]

RESULT.npz is any archive (e.g. one ``convcli run photo.jpg -f 4 --save RESULT.npz`` wrote); its
arrays are loaded once, then written to DIR (default: beside RESULT) by ``np.savez`` (to a path,
as a user would call it), by ``np.savez`` + ``fsync`` (what an atomic write adds) and by
``convcli.files.writers.save_npz`` (temporary file, one-pass write, fsync, rename), in turn.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from convcli.files.writers import save_npz


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("result", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None)
    ns = ap.parse_args()
    with np.load(ns.result) as z:
        arrays = {k: z[k] for k in z.files}
    size = sum(a.nbytes for a in arrays.values())
    print(f"{len(arrays)} arrays, {size / 1e6:.0f} MB: " + ", ".join(f"{k} {a.shape}" for k, a in arrays.items()))
    out = ns.dir or ns.result.parent
    target = out / ".bench_save.npz"

    def plain() -> None:
        np.savez(target, **arrays)

    def plain_fsync() -> None:
        with open(target, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())

    def convcli() -> None:
        save_npz(target, arrays)

    ways = {"np.savez": plain, "np.savez + fsync": plain_fsync, "convcli save_npz": convcli}
    times: dict[str, list[float]] = {k: [] for k in ways}
    try:
        for _ in range(ns.repeats):
            for name, fn in ways.items():
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
                target.unlink()
    finally:
        target.unlink(missing_ok=True)
    for name, ts in times.items():
        print(f"  {name:<18} {min(ts):.2f}-{max(ts):.2f} s  ({' · '.join(f'{t:.2f}' for t in ts)})")


if __name__ == "__main__":
    main()
