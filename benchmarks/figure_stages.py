"""Where ``convcli run ARGS --figure OUT.png`` spends its time: the figure's stages, in checkouts side by side.

    python benchmarks/figure_stages.py [--repeats N] [--tree DIR ...] -- photo.jpg -f 4 -q

Each repeat runs, for every ``--tree`` in turn, a fresh process of that checkout's ``convcli run ARGS
--figure OUT.png --force`` with its planning (``figure.plan.plan_figure``), drawing
(``figure.draw.draw_figure``), PNG writing (``files.png.write_rgb_png``) and the whole figure
(``cli.picture_output.write_figure``) timed: wall and CPU (``time.process_time``: every thread), which a
loaded machine disturbs far less than the wall. Prints every run and each tree's medians.
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are removed from the commands' environment.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

#: Run in the child: wrap the stages, run the CLI, print the times as one JSON line on stderr.
CHILD = r"""
import atexit, functools, json, sys, time
import convcli.cli.picture_output as po, convcli.figure.draw as dr, convcli.figure.plan as pl, convcli.files.png as png
times = {}
def wrap(mod, name, label):
    f = getattr(mod, name)
    @functools.wraps(f)
    def timed(*a, **k):
        t, c = time.perf_counter(), time.process_time()
        try:
            return f(*a, **k)
        finally:
            w, u = times.get(label, (0.0, 0.0))
            times[label] = (w + time.perf_counter() - t, u + time.process_time() - c)
    setattr(mod, name, timed)
wrap(pl, "plan_figure", "plan"); wrap(dr, "draw_figure", "draw"); wrap(png, "write_rgb_png", "png")
wrap(po, "write_figure", "figure")
atexit.register(lambda: print("STAGES " + json.dumps(times), file=sys.stderr, flush=True))
sys.argv = ["convcli", *sys.argv[1:]]
from convcli.cli.exits import main
main()
"""

STAGES = ("plan", "draw", "png", "figure")


def one(tree: Path, args: list[str], out: Path) -> dict[str, tuple[float, float]]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["PYTHONPATH"] = str(tree)
    env.setdefault("KERAS_BACKEND", "torch")
    done = subprocess.run([sys.executable, "-c", CHILD, "run", *args, "--figure", str(out), "--force"],
                          cwd=tree, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in done.stderr.splitlines() if line.startswith("STAGES ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"Error: {tree}: the run failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return {k: tuple(v) for k, v in json.loads(lines[-1][len("STAGES "):]).items()}  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tree", action="append", type=Path, help="a convcli checkout to time (repeatable)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then the arguments after `convcli run`")
    ns = parser.parse_args()
    args = [a for a in ns.args if a != "--"] if ns.args[:1] == ["--"] else ns.args
    if not args:
        parser.error("give the arguments of `convcli run` after --")
    trees = [t.resolve() for t in (ns.tree or [Path(__file__).resolve().parent.parent])]
    runs: dict[Path, list[dict[str, tuple[float, float]]]] = {t: [] for t in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(1, ns.repeats + 1):
            for i, tree in enumerate(trees):
                got = one(tree, args, Path(tmp) / f"figure{i}.png")
                runs[tree].append(got)
                print(f"{r:3}  {tree.name:14}" + "".join(
                    f"  {s} {got.get(s, (0, 0))[0]:.2f}/{got.get(s, (0, 0))[1]:.2f} s" for s in STAGES), flush=True)
    print("medians (wall / CPU s):")
    for tree in trees:
        print(f"  {tree.name:14}" + "".join(
            f"  {s} {statistics.median(x.get(s, (0, 0))[0] for x in runs[tree]):.2f}"
            f"/{statistics.median(x.get(s, (0, 0))[1] for x in runs[tree]):.2f} s" for s in STAGES))


if __name__ == "__main__":
    main()
