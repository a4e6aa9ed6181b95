"""convcli.conv2d against PyTorch's CPU conv2d and the machine's roofline, side by side.

    python benchmarks/bench_conv.py            # every workload
    python benchmarks/bench_conv.py --quick    # fewer repeats, skips the 12 MP row

Same inputs for both, float32, runs interleaved in one process, best of N. PyTorch gets its native
NCHW layout (the conversion is not timed); without torch installed only convcli and the roofline
are reported. "× roofline" is the time over the lower bound the machine allows: the workload's
FLOPs at the measured sgemm rate, or its minimal memory traffic (input read + output write) at the
measured copy bandwidth, whichever is larger.

numpy runs without huge-page advice, as under the `convcli` command (`NUMPY_MADVISE_HUGEPAGE=0`
unless set: see `convcli/cli/startup.py::no_hugepage_advice`); torch's times improve with it too.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")  # before numpy is imported

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from convcli import engine  # noqa: E402


@dataclass(frozen=True)
class Workload:
    name: str
    h: int
    w: int
    c: int
    f: int
    k: int
    stride: int
    padding: str
    groups: int
    goal: float  # convcli / torch


WORKLOADS = [
    Workload("photo 1 MP", 1024, 1024, 3, 4, 3, 1, "valid", 1, 0.5),
    Workload("photo 12 MP", 3000, 4000, 3, 4, 3, 1, "same", 1, 1.0),
    Workload("stem", 512, 512, 3, 16, 7, 2, "same", 1, 1.5),
    Workload("VGG layer", 224, 224, 64, 128, 3, 1, "same", 1, 1.0),
    Workload("deep layer", 56, 56, 256, 256, 3, 1, "same", 1, 1.0),
    Workload("depthwise", 112, 112, 96, 96, 3, 1, "same", 96, 3.0),
]


def best_of(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: allocations, BLAS threads
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best time of each function, the functions taking turns so that load hits all alike."""
    for fn in fns.values():
        fn()
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def machine_roofline() -> tuple[float, float]:
    """Measured float32 GEMM FLOP/s and copy bandwidth (bytes/s, read + write)."""
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    t = best_of(lambda: a @ a, 5)
    flops = 2 * 2048**3 / t
    src = np.ones(64 * 2**20 // 4, dtype=np.float32)
    dst = np.empty_like(src)
    t = best_of(lambda: np.copyto(dst, src), 5)
    return flops, 2 * src.nbytes / t


def workload_cost(wl: Workload) -> tuple[int, int, tuple[int, int]]:
    ho, wo = engine.output_shape((wl.h, wl.w), (wl.k, wl.k), stride=wl.stride, padding=wl.padding)
    flops = 2 * ho * wo * wl.f * wl.k * wl.k * (wl.c // wl.groups)
    traffic = 4 * (wl.h * wl.w * wl.c + ho * wo * wl.f)
    return flops, traffic, (ho, wo)


def torch_conv(wl: Workload, x: np.ndarray, k: np.ndarray):  # type: ignore[no-untyped-def]
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None, None
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))[None])
    kt = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))
    pads = engine.pad_amounts((wl.h, wl.w), (wl.k, wl.k), stride=wl.stride, padding=wl.padding)
    symmetric = pads[0] == pads[1] and pads[2] == pads[3]

    def run():  # type: ignore[no-untyped-def]
        with torch.no_grad():
            if symmetric:
                return F.conv2d(xt, kt, stride=wl.stride, padding=(pads[0], pads[2]), groups=wl.groups)
            xp = F.pad(xt, (pads[2], pads[3], pads[0], pads[1]))
            return F.conv2d(xp, kt, stride=wl.stride, groups=wl.groups)

    return run, torch.__version__


@dataclass(frozen=True)
class KindWorkload:
    """A layer of another rank through ``engine.bind`` (the path ``convcli run --kind`` computes on)."""

    name: str
    size: tuple[int, ...]
    c: int
    f: int
    k: int
    dilation: int
    padding: str
    goal: float  # convcli / torch


KIND_WORKLOADS = [
    KindWorkload("Conv1D 1M", (1_000_000,), 16, 32, 9, 1, "valid", 1.5),
    KindWorkload("causal d8", (1_000_000,), 16, 32, 9, 8, "causal", 1.5),
    KindWorkload("Conv3D 64³", (64, 64, 64), 8, 16, 3, 1, "valid", 1.5),
]


def kind_runs(wl: KindWorkload, x: np.ndarray, k: np.ndarray) -> dict[str, Callable[[], object]]:
    """convcli's output of ``wl`` (a 1-D layer as the 2-D layer of one row, cut in pieces along it; a 3-D one
    on the general path, whose stride-1 layers take the flattened grid) and
    torch's ``conv1d``/``conv3d`` (causal pads by ``F.pad``), on the same float32 arrays."""
    from convcli.engine.conv import conv_region
    from convcli.layer.spec import ConvSpec

    n = len(wl.size)
    spec = ConvSpec("conv", wl.c, wl.f, (wl.k,) * n, (1,) * n, (wl.dilation,) * n, wl.padding, ndim=n)

    def ours() -> object:
        layer = engine.bind(spec, x, k)
        if n == 1:
            row = engine.one_row(layer)
            return conv_region(row, (0, 1), (0, row.geometry.out_hw[1]))
        return engine.layer_output(layer)

    fns: dict[str, Callable[[], object]] = {"convcli": ours}
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return fns
    xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 0))[None])
    kt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(k, (-1, -2), (0, 1))))
    conv = F.conv1d if n == 1 else F.conv3d
    left = (wl.k - 1) * wl.dilation if wl.padding == "causal" else 0

    def theirs() -> object:
        with torch.no_grad():
            return conv(F.pad(xt, (left, 0)) if left else xt, kt, dilation=wl.dilation)

    fns["torch"] = theirs
    return fns


def interleaved_cpu(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, tuple[float, float]]:
    """:func:`interleaved`, with the best CPU time (every thread of the process) beside the best wall time:
    on a loaded machine the wall time counts the waits for a core, the CPU time the work."""
    for fn in fns.values():
        fn()
    best = {name: (float("inf"), float("inf")) for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def kind_rows(rng: np.random.Generator, repeats: int, only: str) -> None:
    """The Conv1D and Conv3D rows: convcli and torch CPU in one process, interleaved, best of ``repeats``
    (wall and CPU time, each the best of its own)."""
    header = (f"{'layer':<12} {'convcli ms':>10} {'torch ms':>9} {'ratio':>6} {'goal':>5}"
              f" {'convcli cpu':>11} {'torch cpu':>9} {'cpu ratio':>9}")
    print(header)
    print("-" * len(header))
    for wl in KIND_WORKLOADS:
        if only not in wl.name:
            continue
        x = rng.random((*wl.size, wl.c), dtype=np.float32)
        k = (rng.random((*(wl.k,) * len(wl.size), wl.c, wl.f), dtype=np.float32) - 0.5).astype(np.float32)
        best = interleaved_cpu(kind_runs(wl, x, k), repeats)
        (ours, ours_cpu), (theirs, theirs_cpu) = best["convcli"], best.get("torch", (float("nan"),) * 2)
        print(f"{wl.name:<12} {ours * 1e3:10.1f} {theirs * 1e3:9.1f} {ours / theirs:6.2f} {wl.goal:5.1f}"
              f" {ours_cpu * 1e3:11.1f} {theirs_cpu * 1e3:9.1f} {ours_cpu / theirs_cpu:9.2f}")


# ------------------------------------------------------------------------------------------------
# The transposed and separable kinds (convcli.engine.transpose, convcli.engine.separable)


def transposed_and_separable(rng: np.random.Generator, repeats: int, only: str = "") -> None:
    """Conv2DTranspose 128² 64 → 32 k4 s2 (``same``: PyTorch's padding 1) and SeparableConv2D
    112² 64 → 128 (k3 ``same``, M 1: torch's grouped conv then a 1×1 conv), each beside PyTorch."""
    from convcli.engine import separable, transpose

    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        torch = None  # type: ignore[assignment]

    def channels_first(a: np.ndarray):  # type: ignore[no-untyped-def]
        return torch.from_numpy(np.ascontiguousarray(np.moveaxis(a, -1, 0))[None])

    rows: list[tuple[str, dict[str, Callable[[], object]], float]] = []
    x = rng.random((128, 128, 64), dtype=np.float32)
    k = (rng.random((4, 4, 32, 64), dtype=np.float32) - 0.5).astype(np.float32)  # (kh, kw, F, C)
    fns: dict[str, Callable[[], object]] = {
        "convcli": lambda: transpose.conv_transpose(x, k, stride=2, padding="same")}
    if torch is not None:
        xt, wt = channels_first(x), torch.from_numpy(transpose.kernel_to_torch(k))
        fns["torch"] = lambda: F.conv_transpose2d(xt, wt, stride=2, padding=1)
    rows.append(("transpose 2D", fns, 1.5))

    x = rng.random((112, 112, 64), dtype=np.float32)
    dw = (rng.random((3, 3, 64, 1), dtype=np.float32) - 0.5).astype(np.float32)
    pw = (rng.random((1, 1, 64, 128), dtype=np.float32) - 0.5).astype(np.float32)
    fns = {"convcli": lambda: separable.separable_conv(x, dw, pw, padding="same")}
    if torch is not None:
        xt = channels_first(x)
        dwt = torch.from_numpy(np.ascontiguousarray(dw.transpose(2, 3, 0, 1)))  # (C·M, 1, kh, kw)
        pwt = torch.from_numpy(np.ascontiguousarray(pw.transpose(3, 2, 0, 1)))  # (F, C·M, 1, 1)
        fns["torch"] = lambda: F.conv2d(F.conv2d(xt, dwt, padding=1, groups=64), pwt)
    rows.append(("separable 2D", fns, 1.5))

    for name, row, goal in rows:
        if only not in name:
            continue
        if torch is not None:
            with torch.no_grad():
                best = interleaved(row, repeats)
        else:
            best = interleaved(row, repeats)
        ours, theirs = best["convcli"], best.get("torch")
        ratio = ours / theirs if theirs else float("nan")
        print(f"{name:<12} {ours * 1e3:10.1f} {theirs * 1e3 if theirs else float('nan'):9.1f} {ratio:6.2f} "
              f"{goal:5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats; skip the 12 MP row")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", default="", help="run only workloads whose name contains this text")
    parser.add_argument("--kinds", action="store_true", help="only the rows of the other kinds: Conv1D, Conv3D, "
                        "Conv2DTranspose, SeparableConv2D")
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    if args.kinds:
        kind_rows(np.random.default_rng(0), repeats, args.only)
        transposed_and_separable(np.random.default_rng(0), repeats, args.only)
        return

    flops_rate, bandwidth = machine_roofline()
    print(f"machine: {platform.processor() or platform.machine()}, numpy {np.__version__}, "
          f"python {platform.python_version()}")
    print(f"roofline: sgemm {flops_rate / 1e9:.0f} GFLOP/s, copy {bandwidth / 1e9:.1f} GB/s")
    rows = []
    header = f"{'workload':<12} {'convcli ms':>10} {'torch ms':>9} {'ratio':>6} {'goal':>5} {'× roofline':>10}"
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    torch_version = None
    for wl in WORKLOADS:
        if args.quick and wl.h * wl.w > 4_000_000 or args.only not in wl.name:
            continue
        x = rng.random((wl.h, wl.w, wl.c), dtype=np.float32)
        k = (rng.random((wl.k, wl.k, wl.c // wl.groups, wl.f), dtype=np.float32) - 0.5).astype(np.float32)
        fns: dict[str, Callable[[], object]] = {
            "convcli": lambda x=x, k=k, wl=wl: engine.conv2d(x, k, stride=wl.stride, padding=wl.padding,
                                                             groups=wl.groups)
        }
        t_run, torch_version = torch_conv(wl, x, k)
        if t_run is not None:
            fns["torch"] = t_run
        best = interleaved(fns, repeats)
        flops, traffic, _ = workload_cost(wl)
        bound = max(flops / flops_rate, traffic / bandwidth)
        ours = best["convcli"]
        theirs = best.get("torch")
        ratio = ours / theirs if theirs else float("nan")
        print(f"{wl.name:<12} {ours * 1e3:10.1f} {theirs * 1e3 if theirs else float('nan'):9.1f} "
              f"{ratio:6.2f} {wl.goal:5.1f} {ours / bound:10.1f}")
        rows.append((wl, ours, theirs))
    if torch_version:
        print(f"torch {torch_version}, threads {__import__('torch').get_num_threads()}")
    else:
        print("torch not installed: ratios need `pip install torch==2.13.0`")

    # partial sums: what `convcli run` computes for display and for --save
    x = rng.random((1024, 1024, 3), dtype=np.float32)
    k = rng.random((3, 3, 3, 4), dtype=np.float32)
    t_win = best_of(lambda: engine.partial_sums(x, k, window=(480, 544, 480, 544)), repeats)
    t_full = best_of(lambda: engine.partial_sums(x, k), max(1, repeats // 2))
    print(f"partial_sums 1 MP, 3 -> 4: 64×64 window {t_win * 1e3:.2f} ms, whole image {t_full * 1e3:.0f} ms")
    print()
    kind_rows(rng, repeats, args.only)
    transposed_and_separable(rng, repeats, args.only)


if __name__ == "__main__":
    main()
