"""What ONNX Runtime says reaches the user only through convcli's one escaped ``Error:`` line (its own
log, written to the process's stderr, would print a node name from the file raw), and the files an
ONNX model reads beside it (its external data) are inputs that no output replaces."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT, invoke
from hostile_models import one_error, onnx_conv, small_image, small_png

pytest.importorskip("onnxruntime")

FORGED = "re\x1bshape\r\nError: forged\x9b\u202e"


def _convcli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """convcli in a process of its own: ONNX Runtime writes its log to file descriptor 2 itself."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "convcli", *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_run_time_failure_is_one_escaped_line(tmp_path: Path) -> None:
    from onnx import helper, numpy_helper

    shape = numpy_helper.from_array(np.array([1, 3, 7, 7], "int64"), "shape")  # 192 values cannot be 147
    onnx_conv(tmp_path / "m.onnx", before=[helper.make_node("Reshape", ["image", "shape"], ["r"], name=FORGED)],
              reads="r", inits=[shape])
    small_png(tmp_path)
    r = _convcli(tmp_path, "run", "img.png", "--model", "m.onnx", "--layer", "conv", "--save", "out.npz")
    assert r.returncode == 1, r.stderr
    line = one_error(r.stderr, "m.onnx: ONNX Runtime cannot compute the input of 'conv'",
                     r"re\x1bshape\r\nError: forged\x9b\u202e", "cannot be reshaped")
    assert "\x1b" not in r.stderr and "\r" not in r.stderr and "\u202e" not in r.stderr
    assert line.count("Error:") == 2  # the forged one is inside the escaped name, on the same line
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("target", ["weights.npz", "./weights.npz"])
def test_the_external_data_file_is_never_a_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  target: str) -> None:
    import onnx

    monkeypatch.chdir(tmp_path)
    model = onnx.load(str(onnx_conv(tmp_path / "plain.onnx")))
    onnx.save_model(model, str(tmp_path / "m.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.npz", size_threshold=0)
    before = (tmp_path / "weights.npz").read_bytes()
    small_image(tmp_path)
    r = invoke("run", "x.npy", "--model", "m.onnx", "--layer", "conv", "--save", target, "--force")
    assert r.exit_code == 1, r.output
    one_error(r.stderr, "is an input file; convcli never overwrites its inputs")
    assert (tmp_path / "weights.npz").read_bytes() == before
