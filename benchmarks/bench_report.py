"""File size and build time of ``convcli report``: on the sample, and on a 12 MP photo (the sample JPEG
resized up to 4000×3000), 4 filters. Goal: under 5 MB and 3 s for 12 MP.

    python benchmarks/bench_report.py [--repeats N] [--quick]

Each row runs, in fresh processes and in turn, ``convcli run IMAGE -f 4 -q`` (the same load and pass,
printed as tables: what the report adds is the rest) and ``convcli report IMAGE -f 4 -o OUT.html``,
and prints the median wall times, the report's slowest and its median CPU time (user + system, of
convcli and its child processes: what the machine's load does not add), and the page's size.
``--quick`` skips the 12 MP row.

Measured 2026-12-08 on the shared 2-core machine (load average 3.8-4.8), median of 5
(docs/performance.md, "The report"):

    input                run s  report s  max s  CPU s  page MB
    sample 150×128        0.83      0.68   0.70   0.68     0.64
    12 MP 4000×3000       1.47      1.76   1.82   1.80     4.43

The 12 MP page holds 2.5 MB of exact input around the chosen position (``--data-budget``), not the
36 MB photo; its 19 pictures are block means at 256 cells a side.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def wall(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """``cmd``'s wall time and its CPU time (user + system: what a busy machine's load does not add)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=HERE, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def photo_12mp(folder: Path) -> Path:
    from PIL import Image

    out = folder / "photo12.jpg"
    Image.open(HERE / "samples" / "grace_hopper.jpg").convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS) \
        .save(out, quality=90)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="the sample only")
    ns = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = [("sample 150×128", HERE / "samples" / "grace_hopper.png")]
        if not ns.quick:
            rows.append(("12 MP 4000×3000", photo_12mp(folder)))
        page = folder / "report.html"
        print(f"{'input':18} {'run s':>7} {'report s':>9} {'max s':>6} {'CPU s':>6} {'page MB':>8}")
        for name, image in rows:
            runs, reports = [], []
            for _ in range(ns.repeats):
                runs.append(wall([sys.executable, "-m", "convcli", "run", str(image), "-f", "4", "-q"], env)[0])
                reports.append(wall([sys.executable, "-m", "convcli", "report", str(image), "-f", "4", "-o", str(page),
                                     "--force"], env))
            size = page.stat().st_size / 1e6
            walls = [w for w, _ in reports]
            print(f"{name:18} {statistics.median(runs):7.2f} {statistics.median(walls):9.2f} {max(walls):6.2f} "
                  f"{statistics.median(c for _, c in reports):6.2f} {size:8.2f}")


if __name__ == "__main__":
    main()
