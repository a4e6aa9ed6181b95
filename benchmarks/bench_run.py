"""Time ``convcli`` commands in fresh processes: wall time and peak RSS, by ``/usr/bin/time -v``.

    python benchmarks/bench_run.py [--repeats N] [--busy [--pin]] [--tree DIR ...] -- run photo.jpg -f 4 -q

Each repeat runs every variant once, in turn, so that a machine whose speed drifts (a shared VM)
drifts under all of them alike:

- ``--tree DIR`` (repeatable): the convcli checked out in DIR (``PYTHONPATH=DIR``), e.g. the commit
  before a change beside the change itself; default: this checkout.
- ``--busy``: each command once on a quiet machine and once beside a CPU hog (a subprocess
  spinning ``while True: pass``; ``--pin`` pins it to the last core), alternately.

``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are removed from the commands' environment (they are
set on these machines for old OpenBLAS builds and slow a current numpy; tests keep them).
Prints one line per run and, per variant, the range of wall times and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
TIME = "/usr/bin/time"


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float, int]:
    """Wall s, user s, system s and peak RSS (MB) of ``cmd``, measured by ``/usr/bin/time -v``."""
    r = subprocess.run([TIME, "-v", *cmd], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       check=False)
    if r.returncode != 0 and "Exit status: 0" not in r.stderr:
        # `verify` exits 1 on a disagreement: still timed; anything else is shown
        if "Exit status: 1" not in r.stderr:
            sys.stderr.write(r.stderr[-2000:])
    err = r.stderr

    def field(name: str) -> str:
        m = re.search(rf"{re.escape(name)}: (.+)", err)
        if m is None:
            raise SystemExit(f"no {name!r} in {TIME}'s report:\n{err[-2000:]}")
        return m.group(1).strip()

    wall_text = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    parts = [float(p) for p in wall_text.split(":")]
    wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    return wall, float(field("User time (seconds)")), float(field("System time (seconds)")), \
        int(field("Maximum resident set size (kbytes)")) // 1024


def _hog(pin: bool) -> subprocess.Popen[bytes]:
    code = "import os\n"
    if pin:
        code += f"os.sched_setaffinity(0, {{{(os.cpu_count() or 1) - 1}}})\n"
    code += "while True: pass\n"
    return subprocess.Popen([sys.executable, "-c", code])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--busy", action="store_true", help="alternate quiet runs with runs beside a CPU hog")
    ap.add_argument("--pin", action="store_true", help="pin the hog to the last core")
    ap.add_argument("--tree", action="append", default=[], help="a convcli checkout to time (repeatable)")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="-- then the convcli arguments")
    ns = ap.parse_args()
    args = ns.args[1:] if ns.args[:1] == ["--"] else ns.args
    # paths are the caller's: the commands run in each tree's folder
    args = [str(Path(a).resolve()) if not a.startswith("-") and Path(a).exists() else a for a in args]
    if not args:
        ap.error("give the convcli arguments after --")
    if not Path(TIME).exists():
        raise SystemExit(f"{TIME} is missing: apt-get install time")
    trees = [Path(t).resolve() for t in ns.tree] or [HERE]
    loads = ["quiet", "busy"] if ns.busy else ["quiet"]
    results: dict[tuple[str, str], list[tuple[float, float, float, int]]] = {}
    print(f"convcli {' '.join(args)}")
    for i in range(ns.repeats):
        for tree in trees:
            env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
            env["PYTHONPATH"] = str(tree)
            for load in loads:
                hog = _hog(ns.pin) if load == "busy" else None
                try:
                    m = _timed([sys.executable, "-m", "convcli", *args], env, tree)  # -m puts the cwd first
                finally:
                    if hog is not None:
                        hog.kill()
                        hog.wait()
                results.setdefault((tree.name, load), []).append(m)
                print(f"  {i + 1}  {tree.name:<14} {load:<5}  wall {m[0]:6.2f} s  user {m[1]:6.2f} s  "
                      f"sys {m[2]:5.2f} s  peak {m[3]:5d} MB", flush=True)
    print("ranges (wall s, peak MB):")
    for (tree_name, load), ms in results.items():
        walls, rss = sorted(m[0] for m in ms), [m[3] for m in ms]
        print(f"  {tree_name:<14} {load:<5}  {walls[0]:.2f}-{walls[-1]:.2f} s (median {walls[len(walls) // 2]:.2f})"
              f"  {min(rss)}-{max(rss)} MB")


if __name__ == "__main__":
    main()
