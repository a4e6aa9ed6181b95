"""The precision emulation's cost: `run`'s engine pass against the emulated pass, on a 12 MP photo.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_precision.py [--repeats N] [--quick]

The photo is ``samples/grace_hopper.jpg`` resized to 4000×3000 (12 MP), float32, with a seeded
random 3×3×3×4 kernel, bias and ReLU. In one process, runs interleaved, best of N:

- ``run``: :func:`convcli.engine.run_layer`, the pass ``convcli run`` makes (output, statistics,
  channel shares);
- ``emulate PREC``: :func:`convcli.engine.precision.emulate` (round the input and kernel, the
  float32 sum of the rounded arrays, the output stored in the format) for tf32, bf16, fp16, and
  fp16 with ``accumulate="fp16"`` (each add rounded: a loop over taps and channels);
- ``errors bf16``: :func:`convcli.engine.precision_errors.error_summary`, the per-channel error
  table over the whole layer (two float64 partial passes);
- ``pipeline run`` and ``pipeline run --precision bf16``: what ``convcli run`` computes, through the
  application layer (:func:`convcli.pipeline.run.run`, then
  :func:`convcli.pipeline.precision.run_emulated`: the run, the emulation and its error table) on the
  same photo with a preset random 3×3 kernel of 4 filters; their ratio is what the option costs.

Each line gives the time and its ratio to ``run``; ``run + emulate`` over ``run`` is what
``--precision`` adds to the command (goal: at most 2×). ``--quick`` uses a 1 MP photo and skips
the fp16 adder and the error table.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")  # as under the convcli command

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from convcli import engine  # noqa: E402
from convcli.engine.precision import emulate  # noqa: E402
from convcli.engine.precision_errors import error_summary  # noqa: E402
from convcli.pipeline.build import build_layer  # noqa: E402
from convcli.pipeline.precision import run_emulated  # noqa: E402
from convcli.pipeline.request import Request  # noqa: E402
from convcli.pipeline.run import run  # noqa: E402


def photo(width: int, height: int) -> np.ndarray:
    """``samples/grace_hopper.jpg`` resized to ``(height, width, 3)`` float32."""
    with Image.open(ROOT / "samples" / "grace_hopper.jpg") as im:
        return np.asarray(im.convert("RGB").resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def best(fn: Callable[[], object], times: list[float]) -> None:
    t = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    w, h = (1155, 866) if args.quick else (4000, 3000)
    x = photo(w, h)
    rng = np.random.default_rng(0)
    limit = np.sqrt(6 / (3 * 3 * 3 + 3 * 3 * 4))
    kernel = rng.uniform(-limit, limit, (3, 3, 3, 4)).astype(np.float32)
    bias = rng.uniform(-1, 1, 4).astype(np.float32)
    layer = engine.prepare(x, kernel, padding="same")
    cases: dict[str, Callable[[], object]] = {
        "run": lambda: engine.run_layer(layer, bias, "relu"),
        "emulate tf32": lambda: emulate(x, kernel, bias, "relu", "tf32", padding="same"),
        "emulate bf16": lambda: emulate(x, kernel, bias, "relu", "bf16", padding="same"),
        "emulate fp16": lambda: emulate(x, kernel, bias, "relu", "fp16", padding="same"),
    }
    if not args.quick:
        em = emulate(x, kernel, bias, "relu", "bf16", padding="same")
        cases["emulate fp16, fp16 adder"] = lambda: emulate(x, kernel, bias, "relu", "fp16", "fp16", padding="same")
        cases["errors bf16 (table)"] = lambda: error_summary(em)
    built = build_layer(Request(x, filters=4, kernel_size=3, padding="same", activation="relu", seed=0))
    cases["pipeline run"] = lambda: run(built)
    cases["pipeline run --precision bf16"] = lambda: run_emulated(built, "bf16")
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, fn in cases.items():
            best(fn, times[name])
    base = min(times["run"])
    print(f"{w}×{h} photo ({w * h / 1e6:.1f} MP), 3×3×3×4 kernel, 'same', ReLU; best of {args.repeats}")
    for name, ts in times.items():
        t = min(ts)
        extra = "" if name == "run" else f"   run + this: {(base + t) / base:.2f}× run"
        print(f"  {name:<30} {t:7.3f} s   {t / base:5.2f}× run{extra}")
    plain, emulated = min(times["pipeline run"]), min(times["pipeline run --precision bf16"])
    print(f"  run --precision bf16 / run, through the pipeline: {emulated / plain:.2f}× (goal ≤ 2×)")


if __name__ == "__main__":
    main()
