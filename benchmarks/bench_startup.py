"""Wall time of ``convcli --help``, ``convcli explain`` and ``convcli --version``, beside bare Python.

    python benchmarks/bench_startup.py              # 10 runs of each, interleaved
    python benchmarks/bench_startup.py --runs 30
    python benchmarks/bench_startup.py --convcli /path/to/venv/bin/convcli

Each command runs in a fresh subprocess (stdout and stderr discarded), the commands interleaved
round-robin so that a burst of load from other jobs hits all of them alike; the table gives the best
and the median wall time. The best is the number to compare with the goals of issue #5 (``--help``
≤ 0.25 s, ``explain`` ≤ 0.6 s): the median shows how noisy the machine was. ``python -c pass`` and
``python -c "import typer"`` are the floor that no change in convcli can go below.

The console script is the one installed beside the running interpreter (not a ``$PATH`` shim such as
pyenv's, which adds its own ~0.1 s); an editable install also pays for its import finder at every
start-up, which a regular install (what CI and users have) does not. To see where the time goes:
``python -X importtime -c "import convcli.cli"`` and
``python -m cProfile -s cumtime -m convcli --help | head -40``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def console_script(given: str | None) -> str:
    """The ``convcli`` script of the running interpreter's environment, else the one on ``$PATH``."""
    if given:
        return given
    beside = Path(sys.executable).parent / "convcli"
    if beside.exists():
        return str(beside)
    found = shutil.which("convcli")
    if found is None:
        sys.exit("no convcli console script found: pip install the project, or pass --convcli PATH")
    return found


def wall(argv: list[str]) -> float:
    """Seconds from spawning ``argv`` to its exit; a failing command is an error, not a fast run."""
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (default 10)")
    parser.add_argument("--convcli", help="console script to time (default: the one beside this python)")
    args = parser.parse_args()

    exe = console_script(args.convcli)
    # Goals of issue #5, in seconds; None: a reference row.
    commands: list[tuple[str, list[str], float | None]] = [
        ("python -c pass", [sys.executable, "-c", "pass"], None),
        ("python -c 'import typer'", [sys.executable, "-c", "import typer"], None),
        ("convcli --version", [exe, "--version"], None),
        ("convcli --help", [exe, "--help"], 0.25),
        ("convcli explain", [exe, "explain"], 0.6),
    ]
    # COLUMNS fixes the help's width, so every run renders the same thing whatever the terminal.
    os.environ.setdefault("COLUMNS", "100")
    # As users run it: with bytecode cached. Without a __pycache__ (PYTHONDONTWRITEBYTECODE set, as
    # some sandboxes do) an editable install compiles convcli's sources at every start, ~10 ms more.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for _, argv, _ in commands:  # warm-up: the OS file cache and __pycache__
        wall(argv)
    times: dict[str, list[float]] = {name: [] for name, _, _ in commands}
    for _ in range(args.runs):
        for name, argv, _ in commands:
            times[name].append(wall(argv))

    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{args.runs} runs each, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"convcli: {exe}")
    print()
    print("| command | best s | median s | goal s |")
    print("|---|---:|---:|---:|")
    for name, _, goal in commands:
        t = times[name]
        mark = "" if goal is None else f"{goal:.2f}" + (" ✓" if min(t) <= goal else " ✗")
        print(f"| {name} | {min(t):.3f} | {statistics.median(t):.3f} | {mark} |")


if __name__ == "__main__":
    main()
