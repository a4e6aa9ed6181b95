"""Time ``convcli run --figure`` (and ``--animate``) beside ``convcli run`` alone, in fresh processes,
side by side in checkouts.

    python benchmarks/bench_figure.py [--repeats N] [--tree DIR ...] [--figure-width PX] [--animate]
        [--frames N] -- photo.jpg -f 4 -q

With ``--animate`` a third variant runs ``run ARGS --animate OUT.gif`` (``--frames`` positions, by
default the CLI's: 60 along a path through a large output) in the trees that have it; goals: a
figure ≤ 2.5 s, a 60-frame animation ≤ 10 s on a 12 MP photo.

Each repeat runs, for every ``--tree`` in turn, ``run ARGS`` and then ``run ARGS --figure OUT.png``
(``/usr/bin/time -v``: wall, user, system, peak RSS; :mod:`bench_run`'s measurement), so a machine
whose speed drifts drifts under all of them alike. ``--figure-width`` is passed only to trees that
have it (a checkout before it draws its own default). Prints every run, then per tree the medians
and the ratios ``figure / run`` (time and peak memory), the figure's own cost (``figure - run``),
and each tree's medians against the first
tree's. ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are removed from the commands' environment.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import HERE, TIME, _timed  # noqa: E402


def _has_width(tree: Path, env: dict[str, str]) -> bool:
    return _has_option(tree, env, "--figure-width")


def _has_option(tree: Path, env: dict[str, str], option: str) -> bool:
    r = subprocess.run([sys.executable, "-m", "convcli", "run", "--help"], env={**env, "COLUMNS": "200"},
                       cwd=tree, capture_output=True, text=True, check=False)
    return option in r.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tree", action="append", default=[], help="a convcli checkout to time (repeatable)")
    ap.add_argument("--figure-width", type=int, default=None, help="passed to the trees that have it")
    ap.add_argument("--animate", action="store_true", help="also time run ARGS --animate OUT.gif")
    ap.add_argument("--frames", type=int, default=None, help="--frames for --animate")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="-- then the arguments after `convcli run`")
    ns = ap.parse_args()
    args = ns.args[1:] if ns.args[:1] == ["--"] else ns.args
    args = [str(Path(a).resolve()) if not a.startswith("-") and Path(a).exists() else a for a in args]
    if not args:
        ap.error("give the `convcli run` arguments after --")
    if not Path(TIME).exists():
        raise SystemExit(f"{TIME} is missing: apt-get install time")
    trees = [Path(t).resolve() for t in ns.tree] or [HERE]
    out = Path(tempfile.mkdtemp(prefix="bench_figure_")) / "figure.png"
    gif = out.with_name("animation.gif")
    envs, widths = {}, {}
    for tree in trees:
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        env["PYTHONPATH"] = str(tree)
        envs[tree] = env
        widths[tree] = ["--figure-width", str(ns.figure_width)] if ns.figure_width and _has_width(tree, env) else []
    results: dict[tuple[str, str], list[tuple[float, float, float, int]]] = {}
    variants = ("run", "figure", "animate") if ns.animate else ("run", "figure")
    frames = ["--frames", str(ns.frames)] if ns.frames else []
    animating = {tree: ns.animate and _has_option(tree, envs[tree], "--animate") for tree in trees}
    print(f"convcli run {' '.join(args)} [--figure {out.name} --force]")
    for i in range(ns.repeats):
        for tree in trees:
            for variant in variants:
                if variant == "animate" and not animating[tree]:
                    continue
                extra = {"run": [], "figure": ["--figure", str(out), "--force", *widths[tree]],
                         "animate": ["--animate", str(gif), "--force", *frames]}[variant]
                m = _timed([sys.executable, "-m", "convcli", "run", *args, *extra], envs[tree], tree)
                results.setdefault((tree.name, variant), []).append(m)
                print(f"  {i + 1}  {tree.name:<14} {variant:<6}  wall {m[0]:6.2f} s  user {m[1]:6.2f} s  "
                      f"sys {m[2]:5.2f} s  peak {m[3]:5d} MB", flush=True)
        if out.exists():
            from PIL import Image

            with Image.open(out) as im:
                size = im.size
            print(f"     (last figure: {size[0]}×{size[1]} px, {out.stat().st_size / 2**20:.1f} MiB)")
        if gif.exists():
            from PIL import Image

            with Image.open(gif) as im:
                size, n = im.size, im.n_frames
            print(f"     (last animation: {n} frames of {size[0]}×{size[1]} px, {gif.stat().st_size / 2**20:.2f} MiB)")

    def med(tree: str, variant: str, field: int) -> float:
        return statistics.median(m[field] for m in results[tree, variant])

    print("medians (wall s, user s, peak MB) and ratios:")
    first = trees[0].name
    for tree in trees:
        t = tree.name
        run_w, fig_w = med(t, "run", 0), med(t, "figure", 0)
        run_u, fig_u = med(t, "run", 1), med(t, "figure", 1)
        run_m, fig_m = med(t, "run", 3), med(t, "figure", 3)
        walls = sorted(m[0] for m in results[t, "figure"])
        print(f"  {t:<14} run {run_w:.2f} s / {run_u:.2f} s / {run_m:.0f} MB   figure {fig_w:.2f} s "
              f"({walls[0]:.2f}-{walls[-1]:.2f}) / {fig_u:.2f} s / {fig_m:.0f} MB   figure÷run: wall {fig_w / run_w:.2f}×, "
              f"user {fig_u / run_u:.2f}×, peak {fig_m / run_m:.2f}×")
        print(f"  {'':<14} the figure's own cost (figure - run, medians): wall {fig_w - run_w:+.2f} s, "
              f"user {fig_u - run_u:+.2f} s")
        if (t, "animate") in results:
            an_w, an_m = med(t, "animate", 0), med(t, "animate", 3)
            print(f"  {'':<14} animate {an_w:.2f} s / {med(t, 'animate', 1):.2f} s / {an_m:.0f} MB   "
                  f"animate÷run: wall {an_w / run_w:.2f}×")
        if t != first:
            print(f"  {'':<14} against {first}: run wall {run_w / med(first, 'run', 0):.2f}×, "
                  f"figure wall {fig_w / med(first, 'figure', 0):.2f}×, user {fig_u / med(first, 'figure', 1):.2f}×, "
                  f"peak {fig_m / med(first, 'figure', 3):.2f}×")


if __name__ == "__main__":
    main()
