"""A deep model layer explored twice: the first run computes its input with the model's framework, the
second reads it from the cache (convcli/pipeline/cache.py) and shows it with other view options.

    KERAS_BACKEND=torch python benchmarks/bench_model_cache.py              # 3 rounds of each
    KERAS_BACKEND=torch python benchmarks/bench_model_cache.py --rounds 5 --no-onnx

Models, on a 224×224 image (samples/grace_hopper.png, --resize 224,224):

- ``samples/edges.keras``, layer ``mid`` (its input is what ``scale`` and ``edges`` make: Keras, in
  convcli's process);
- a ResNet-18 (torchvision's architecture, written out here with random weights, no torchvision
  needed), exported with ``torch.onnx.export(dynamo=False)``, layer ``/layer3/layer3.0/conv2/Conv``
  (ONNX Runtime, in a child process). Skipped without torch or onnxruntime, or with ``--no-onnx``.

Each round uses a fresh, empty cache folder (``CONVCLI_CACHE_DIR``): ``first`` is ``convcli run ... -q``
with the cache empty, ``second`` the same layer again with ``--filter 2-3 --view numbers``, ``no-cache``
the second with ``--no-cache`` (what every re-run cost before the cache). Every command runs in a fresh
subprocess, stdout discarded; the table gives the best and the median wall time of the rounds, and the best CPU time (steadier
than the wall time on a loaded machine). The goal
of issue #23: the second run ≤ 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "samples" / "grace_hopper.png"


def resnet18_onnx(path: Path) -> Path:
    """A ResNet-18 (BasicBlock, [2, 2, 2, 2], 1000 classes) with random weights, exported to ``path``."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                               if stride != 1 or cin != cout else None)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return self.relu(y + (x if self.downsample is None else self.downsample(x)))

    class ResNet18(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            widths = [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]
            for i, (cin, cout, stride) in enumerate(widths, 1):
                setattr(self, f"layer{i}", nn.Sequential(Block(cin, cout, stride), Block(cout, cout, 1)))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    torch.manual_seed(0)
    net = ResNet18().eval()
    with torch.no_grad():  # trained-like statistics: the exporter folds each BatchNorm into its Conv, and
        for m in net.modules():  # equal folded biases would be merged into one initializer shared by Identity nodes
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    torch.onnx.export(net, (torch.zeros(1, 3, 224, 224),), str(path), input_names=["x"], output_names=["y"],
                      dynamo=False)
    return path


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds of wall time from spawning ``argv`` to its exit, and of CPU time (user + system) it and its
    children took; a failing command is an error, not a fast run."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    if r.returncode:
        sys.exit(f"{' '.join(argv)} failed:\n{r.stderr}")
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-onnx", action="store_true", help="only samples/edges.keras")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.setdefault("KERAS_BACKEND", "torch")
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("samples/edges.keras 'mid'", str(ROOT / "samples" / "edges.keras"), "mid", [])]
        if not args.no_onnx:
            try:
                import onnxruntime  # noqa: F401

                t0 = time.perf_counter()
                model = resnet18_onnx(Path(tmp) / "resnet18.onnx")
                print(f"ResNet-18 exported in {time.perf_counter() - t0:.1f} s")
                cases.append(("ResNet-18 .onnx '/layer3/layer3.0/conv2/Conv'", str(model),
                              "/layer3/layer3.0/conv2/Conv", ["--preprocess", "torch"]))
            except ImportError as exc:
                print(f"ResNet-18 skipped: {exc}")
        base = [sys.executable, "-m", "convcli", "run", str(PHOTO), "--resize", "224,224", "-q"]
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for r in range(args.rounds):
            for title, model_path, layer, extra in cases:
                own = {**env, "CONVCLI_CACHE_DIR": os.path.join(tmp, f"cache-{r}-{len(times)}")}
                argv = [*base, "--model", model_path, "--layer", layer, *extra]
                again = [*argv, "--filter", "2-3", "--view", "numbers"]
                for what, command in (("first", argv), ("second", again), ("no-cache", [*again, "--no-cache"])):
                    times.setdefault((title, what), []).append(timed(command, own))
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, {args.rounds} rounds; seconds of wall time (best, median) and of CPU "
          "time (user + system, the model's process included; best)\n")
    print(f"{'model, layer':50} {'run':9} {'best':>6} {'median':>7} {'cpu':>6}")
    for (title, what), ts in times.items():
        walls = [w for w, _ in ts]
        print(f"{title:50} {what:9} {min(walls):6.2f} {statistics.median(walls):7.2f} {min(c for _, c in ts):6.2f}")


if __name__ == "__main__":
    main()
