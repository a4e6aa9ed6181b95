"""Time ``convcli`` commands in fresh processes: wall time and peak RSS, by ``/usr/bin/time -v``.

    python benchmarks/bench_run.py [--repeats N] [--busy [--pin]] [--tree DIR ...] -- run photo.jpg -f 4 -q

Each repeat runs every variant once, in turn, so that a machine whose speed drifts (a shared VM)
drifts under all of them alike:

- ``--tree DIR`` (repeatable): the convcli checked out in DIR (``PYTHONPATH=DIR``), e.g. the commit
  before a change beside the change itself; default: this checkout.
- ``--busy``: each command once on a quiet machine and once beside a CPU hog (a subprocess
  spinning ``while True: pass``; ``--pin`` pins it to the last core), alternately.
- ``--tree-memory``: also the peak memory of the command *and every process it starts* (``verify``
  runs the frameworks in a child process, which ``/usr/bin/time``'s peak RSS leaves out): each run in
  a fresh cgroup (v1 memory controller, as root), its ``memory.max_usage_in_bytes``. A warm-up run
  of each tree first puts the files read in the page cache outside the cgroups, so that the peak is
  the processes' own memory, not the frameworks' libraries being read.

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


def _cgroup_root() -> Path:
    """This process's cgroup-v1 memory folder, where a benchmark may make its own."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            root = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            if (root / "memory.max_usage_in_bytes").exists():
                return root
    raise SystemExit("--tree-memory needs the cgroup-v1 memory controller (and root)")


def _in_cgroup(cmd: list[str], env: dict[str, str], cwd: Path, n: int) -> tuple[tuple[float, float, float, int], int]:
    """:func:`_timed` of ``cmd`` run in a fresh cgroup, and that cgroup's peak memory (MB)."""
    group = _cgroup_root() / f"convcli-bench-{os.getpid()}-{n}"
    group.mkdir()
    try:
        wrapped = ["sh", "-c", f'echo $$ > {group / "cgroup.procs"} && exec "$@"', "sh", *cmd]
        m = _timed(wrapped, env, cwd)
        return m, int((group / "memory.max_usage_in_bytes").read_text()) // (1 << 20)
    finally:
        group.rmdir()


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
    ap.add_argument("--tree-memory", action="store_true", help="peak memory of the command and its children (cgroup)")
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
    groups: dict[tuple[str, str], list[int]] = {}
    print(f"convcli {' '.join(args)}")

    def environment(tree: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        env["PYTHONPATH"] = str(tree)
        return env

    if ns.tree_memory:
        for tree in trees:  # the files every run reads, in the page cache before any cgroup
            _timed([sys.executable, "-m", "convcli", *args], environment(tree), tree)
    n = 0
    for i in range(ns.repeats):
        for tree in trees:
            env = environment(tree)
            for load in loads:
                hog = _hog(ns.pin) if load == "busy" else None
                cmd = [sys.executable, "-m", "convcli", *args]  # -m puts the cwd first
                try:
                    if ns.tree_memory:
                        n += 1
                        m, group = _in_cgroup(cmd, env, tree, n)
                        groups.setdefault((tree.name, load), []).append(group)
                    else:
                        m = _timed(cmd, env, tree)
                finally:
                    if hog is not None:
                        hog.kill()
                        hog.wait()
                results.setdefault((tree.name, load), []).append(m)
                tree_text = f"  tree {group:5d} MB" if ns.tree_memory else ""
                print(f"  {i + 1}  {tree.name:<14} {load:<5}  wall {m[0]:6.2f} s  user {m[1]:6.2f} s  "
                      f"sys {m[2]:5.2f} s  peak {m[3]:5d} MB{tree_text}", flush=True)
    print("ranges (wall s, peak MB" + (", tree MB):" if ns.tree_memory else "):"))
    for (tree_name, load), ms in results.items():
        walls, rss = sorted(m[0] for m in ms), [m[3] for m in ms]
        trees_mb = groups.get((tree_name, load))
        print(f"  {tree_name:<14} {load:<5}  {walls[0]:.2f}-{walls[-1]:.2f} s (median {walls[len(walls) // 2]:.2f})"
              f"  {min(rss)}-{max(rss)} MB" + (f"  tree {min(trees_mb)}-{max(trees_mb)} MB" if trees_mb else ""))


if __name__ == "__main__":
    main()
