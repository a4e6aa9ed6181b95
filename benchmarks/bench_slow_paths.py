"""``run``'s slower paths against plain ``run -f 4`` on a 12 MP photo, in fresh processes.

    python benchmarks/bench_slow_paths.py [--repeats N] [--photo PATH] [--tree DIR ...]

The variants: ``run -f 4 -q`` (the baseline), ``run --init sobel-x -f 4 -q`` (an edge detector:
``--heatmap-stat auto`` picks ``max-abs``, whose block extremes need the partial maps' values) and
``run -f 4 -q --save-maps DIR`` (four 16-bit PNGs). Each repeat runs every variant once, in turn,
so that a machine whose speed drifts (a shared VM) drifts under all of them alike; ``--tree DIR``
(repeatable) runs them with the convcli checked out in DIR as well (``PYTHONPATH=DIR``), e.g. the
commit before a change. Prints each run, then per tree and variant the median wall time and its
ratio to the baseline's median (the goal: at most 1.5).

The photo (made if missing): the sample photo enlarged to 4000×3000 with Pillow, JPEG quality 90.
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are removed from the commands' environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
GOAL = 1.5


def variants(photo: Path, maps: Path) -> dict[str, list[str]]:
    return {
        "run -f 4": ["run", str(photo), "-f", "4", "-q"],
        "run --init sobel-x -f 4": ["run", str(photo), "--init", "sobel-x", "-f", "4", "-q"],
        "run -f 4 --save-maps": ["run", str(photo), "-f", "4", "-q", "--save-maps", str(maps), "--force"],
    }


def make_photo(path: Path) -> None:
    from PIL import Image

    Image.open(HERE / "samples" / "grace_hopper.jpg").resize((4000, 3000)).save(path, quality=90)


def timed(args: list[str], tree: Path, cwd: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["PYTHONPATH"] = str(tree)
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "convcli", *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"convcli {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--photo", type=Path, default=Path(tempfile.gettempdir()) / "photo12.jpg")
    parser.add_argument("--tree", type=Path, action="append", default=[],
                        help="another convcli checkout to time the same way (repeatable)")
    a = parser.parse_args()
    if not a.photo.exists():
        make_photo(a.photo)
    trees = [HERE, *[t.resolve() for t in a.tree]]
    work = Path(tempfile.mkdtemp(prefix="bench_slow_paths_"))
    try:
        runs = variants(a.photo, work / "maps")
        times: dict[tuple[Path, str], list[float]] = {(t, name): [] for t in trees for name in runs}
        for i in range(a.repeats):
            for tree in trees:
                for name, args in runs.items():
                    wall = timed(args, tree, work)
                    times[tree, name].append(wall)
                    print(f"{i + 1}/{a.repeats} {tree.name:>12} {name:<26} {wall:6.2f} s", flush=True)
        for tree in trees:
            base = statistics.median(times[tree, "run -f 4"])
            print(f"\n{tree}:")
            for name in runs:
                walls = times[tree, name]
                med = statistics.median(walls)
                ratio = med / base
                mark = "" if name == "run -f 4" else (" ok" if ratio <= GOAL else f" over {GOAL}×")
                print(f"  {name:<26} median {med:6.2f} s ({min(walls):.2f}-{max(walls):.2f})  {ratio:4.2f}× run -f 4{mark}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
