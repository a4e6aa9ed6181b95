"""The libraries convcli reads model files through keep their warnings about a file to themselves: the
user sees convcli's one line (or its output), never torch's or onnx's ``UserWarning`` beside it. Run
in a process of their own: pytest records warnings before they could reach stderr."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT
from hostile_models import one_error, onnx_conv, small_png


def _convcli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", "NO_COLOR": "1"}
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run([sys.executable, "-m", "convcli", *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_protocol_4_pickle_is_one_line_without_torchs_warning(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    with open(tmp_path / "p4.pt", "wb") as fh:
        pickle.dump({"a": 1}, fh, protocol=4)
    r = _convcli(tmp_path, "layers", "p4.pt")
    assert r.returncode == 1, r.stderr
    one_error(r.stderr, "p4.pt: refused: its pickle needs more than tensors")


def test_an_unknown_external_data_key_brings_no_onnx_warning(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    import onnx
    from onnx import helper

    relu = [helper.make_node("Relu", ["image"], ["r"], name="relu")]
    model = onnx.load(str(onnx_conv(tmp_path / "plain.onnx", before=relu, reads="r")))
    onnx.save_model(model, str(tmp_path / "m.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="w.bin", size_threshold=0)
    model = onnx.load(str(tmp_path / "m.onnx"), load_external_data=False)
    for tensor in model.graph.initializer:
        entry = tensor.external_data.add()
        entry.key, entry.value = "bogus", "1"
    onnx.save(model, str(tmp_path / "m.onnx"))
    small_png(tmp_path)
    r = _convcli(tmp_path, "run", "img.png", "--model", "m.onnx", "--layer", "conv", "--save", "out.npz")
    assert r.returncode == 0, r.stderr
    assert "Warning" not in r.stderr and "bogus" not in r.stderr, r.stderr
    assert (tmp_path / "out.npz").exists()
