"""A model that never finishes computing a layer's input is stopped: ONNX Runtime runs in a child process
with a time budget (``CONVCLI_UPSTREAM_TIMEOUT``), which Ctrl-C and SIGTERM of convcli end too; Keras runs
in convcli's process, within the same budget."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT, invoke, one_error

pytest.importorskip("onnxruntime")


def loop_model(folder: Path, trips: int = 10**15) -> Path:
    """``image (1, 3, 8, 8)`` → a ``Loop`` of ``trips`` iterations that passes it on unchanged → Conv ``conv``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Identity", ["v_in"], ["v_out"])],
        "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                 helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("Loop", ["trips", "cond", "image"], ["looped"], name="forever", body=body),
             helper.make_node("Conv", ["looped", "W"], ["y"], name="conv")]
    inits = [helper.make_tensor("trips", TensorProto.INT64, [], [trips]),
             helper.make_tensor("cond", TensorProto.BOOL, [], [True]),
             numpy_helper.from_array(np.random.default_rng(0).standard_normal((2, 3, 3, 3)).astype("float32"), "W")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = folder / "loop.onnx"
    onnx.save(model, str(path))
    return path


def image(folder: Path) -> Path:
    """An 8×8 RGB PNG: an image, so the model runs up to the layer on it."""
    from PIL import Image

    path = folder / "img.png"
    Image.fromarray((np.random.default_rng(1).random((8, 8, 3)) * 255).astype("uint8")).save(path)
    return path


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_a_loop_that_never_ends_is_stopped_at_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model, x = loop_model(tmp_path), image(tmp_path)
    monkeypatch.setenv("CONVCLI_UPSTREAM_TIMEOUT", "2")
    start = time.monotonic()
    r = invoke("run", x, "--model", model, "--layer", "conv")
    assert r.exit_code == 1, r.output
    assert time.monotonic() - start < 60
    one_error(r.stderr, f"{model}: ONNX Runtime took more than 2 s to compute the input of 'conv' and was stopped",
              "CONVCLI_UPSTREAM_TIMEOUT")


def test_a_loop_that_ends_gives_the_layer_its_input(tmp_path: Path) -> None:
    """The same graph with 3 trips computes: the Conv's input is the image itself (the Loop passes it on)."""
    model, x = loop_model(tmp_path, trips=3), image(tmp_path)
    out = tmp_path / "out.npz"
    r = invoke("run", x, "--model", model, "--layer", "conv", "--save", out, "--no-partials")
    assert r.exit_code == 0, r.output
    with np.load(out) as saved:
        from PIL import Image

        np.testing.assert_array_equal(saved["input"], np.asarray(Image.open(x), dtype=np.float32))


@pytest.mark.parametrize("value", ["abc", "0", "-3", "inf", "nan"])
def test_a_budget_that_is_no_number_of_seconds_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                value: str) -> None:
    monkeypatch.setenv("CONVCLI_UPSTREAM_TIMEOUT", value)
    r = invoke("run", image(tmp_path), "--model", loop_model(tmp_path), "--layer", "conv")
    assert r.exit_code == 2, r.output
    one_error(r.stderr, f"CONVCLI_UPSTREAM_TIMEOUT='{value}': give the seconds a model may take")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_end_convcli_and_the_model_s_process(tmp_path: Path, sig: int, code: int) -> None:
    model, x = loop_model(tmp_path), image(tmp_path)
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "CONVCLI_UPSTREAM_TIMEOUT": "600",
           "TMPDIR": str(temp)}
    proc = subprocess.Popen([sys.executable, "-m", "convcli", "run", str(x), "--model", str(model), "--layer", "conv"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (children := _children(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert children, "the model's process never started"
        assert list(temp.glob("convcli-upstream-*/x.npy"))  # the image handed over in a private folder
        time.sleep(0.5)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in err
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "Z" in (Path(f"/proc/{pid}") / "stat").read_text().split()[2]
    assert not list(temp.glob("convcli-upstream-*"))  # its folder removed


def test_keras_runs_within_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keras stays in convcli's process (a child would import it again on every run): the budget stops it
    between two of its steps."""
    pytest.importorskip("keras")
    from convcli.sources.models import upstream

    def slow(*args: object) -> None:
        for _ in range(200):
            time.sleep(0.05)  # Python steps: the alarm is raised between them
        raise AssertionError("the budget did not stop it")

    monkeypatch.setattr(upstream, "_keras", slow)
    monkeypatch.setenv("CONVCLI_UPSTREAM_TIMEOUT", "0.5")
    start = time.monotonic()
    r = invoke("run", ROOT / "samples" / "grace_hopper.png", "--model", ROOT / "samples" / "edges.keras",
               "--layer", "mid")
    assert r.exit_code == 1, r.output
    assert time.monotonic() - start < 8
    one_error(r.stderr, "edges.keras: Keras took more than 0.5 s to compute the input of 'mid' and was stopped")


def test_the_budget_keeps_an_alarm_set_before_it() -> None:
    """A caller's own SIGALRM (a hang detector) still fires after Keras' budget: re-armed, not lost."""
    if not hasattr(signal, "setitimer"):
        pytest.skip("no setitimer")
    from convcli.sources.models import child

    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with child.alarm(2):
            assert signal.getitimer(signal.ITIMER_REAL)[0] <= 2  # the budget's, while it runs
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 25 < left <= 30  # the caller's again
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with child.alarm(5):  # the caller's comes first: it holds, and fires its own handler
            time.sleep(1)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
