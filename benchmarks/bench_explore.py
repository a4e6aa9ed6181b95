"""Start-up and keypress latency of ``convcli explore``'s app: on the sample, and on a 12 MP photo (the
sample JPEG resized up to 4000×3000), 4 filters, relu. Goals: the first frame in under 1 s after the
pipeline's run, a keypress redrawn in under 100 ms.

    python benchmarks/bench_explore.py [--presses N] [--quick] [--eager]

In one process, headless (Textual's ``run_test`` at 160×50): ``convcli.explore`` computes the maps
(timed, for reference), then the app starts and draws its first frame (its heatmap's block means are
made then; the first frame is timed until the map's lines are drawn), then each key is pressed and
waited for (Textual's ``Pilot.pause``: until the process is idle) until the app has
redrawn: ``x`` (bound to nothing: what Pilot and Textual's own redraw cost), arrows (a new position's
trace), space (a channel off), ``]`` (a new filter), ``t`` (the numbers view and back), ``p`` (the
pre-activation and back). Each key's first press is shown apart: what the app computes on first use
(a map's block means, its range) shows there, not in the median.

Before the first key the app's warm-up (the other maps' block means and ranges, made in a thread after
the first frame) is waited for and timed from the first frame, as a person takes longer than that to
press a key; ``--eager`` presses at once instead, while it runs. ``--quick`` skips the 12 MP row.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

KEYS = ["x", "right", "down", "left", "up", "shift+right", "space", "space", "right_square_bracket", "t", "right", "t",
        "p", "p"]


def photo_12mp(folder: Path) -> Path:
    from PIL import Image

    out = folder / "photo12.jpg"
    Image.open(HERE / "samples" / "grace_hopper.jpg").convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS) \
        .save(out, quality=90)
    return out


async def measure(ex, presses: int, eager: bool) -> tuple[float, float, dict[str, list[float]]]:
    from convcli.tui.app import ExploreApp, MapView

    app = ExploreApp(ex.result, ex.built.loaded.channel_names, "bench")
    t0 = time.perf_counter()
    async with app.run_test(size=(160, 50)) as pilot:
        # the first frame: until the map's lines are drawn (Pilot.pause waits until the process is idle,
        # which would count the warm-up thread too)
        while app.query_one(MapView).placed is None:
            await asyncio.sleep(0.002)
        first = time.perf_counter() - t0
        t = time.perf_counter()
        if not eager:
            await pilot.pause()
            await app.workers.wait_for_complete()
        warm = time.perf_counter() - t
        times: dict[str, list[float]] = {}
        for _ in range(presses):
            for key in KEYS:
                t = time.perf_counter()
                await pilot.press(key)
                await pilot.pause()
                times.setdefault(key, []).append(time.perf_counter() - t)
    return first, warm, times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presses", type=int, default=5, help="rounds of the keys")
    ap.add_argument("--quick", action="store_true", help="the sample only")
    ap.add_argument("--eager", action="store_true", help="press the first key at once, during the warm-up")
    ns = ap.parse_args()
    import convcli

    with tempfile.TemporaryDirectory() as tmp:
        rows = [("sample 150×128", HERE / "samples" / "grace_hopper.png")]
        if not ns.quick:
            rows.append(("12 MP 4000×3000", photo_12mp(Path(tmp))))
        print(f"{'input':18} {'run s':>6} {'first frame s':>14} {'warm-up s':>9}  "
              "keypress ms (first press / median / max), per key")
        for name, path in rows:
            t = time.perf_counter()
            ex = convcli.explore(path, filters=4, activation="relu")
            run_s = time.perf_counter() - t
            first, warm, times = asyncio.run(measure(ex, ns.presses, ns.eager))
            keys = ", ".join(f"{k} {v[0] * 1e3:.0f}/{statistics.median(v) * 1e3:.0f}/{max(v) * 1e3:.0f}"
                             for k, v in times.items())
            print(f"{name:18} {run_s:6.2f} {first:14.2f} {warm:9.2f}  {keys}")


if __name__ == "__main__":
    main()
