"""`verify`'s framework process: the same verdicts and numbers as in one process, and no bad day.

The child computes the built-in adapters of the modules it was started on; numpy's einsum is one of
them, so most of these run without any framework installed. The oracle is :func:`schedule.verify`
without a worker, the path every other verify test proves against the frameworks and a naive loop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from convcli import engine
from convcli.verify import adapters, channel, schedule, worker
from convcli.verify.problem import COMPUTED, MISSING, Outcome, Problem, Refused

ROOT = Path(__file__).resolve().parents[2]
NUMPY = next(a for a in adapters.ADAPTERS if a.module == "numpy")
pytestmark = pytest.mark.skipif(not channel.supported(), reason="the worker needs memfd and SOCK_SEQPACKET (Linux)")


def _problem(dtype=np.float32, h=41) -> tuple[Problem, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((h, 13, 3))
    k = rng.standard_normal((3, 3, 3, 2))
    layer = engine.prepare(x, k, padding="same", dtype=dtype)
    bias = rng.standard_normal(2).astype(dtype)
    return Problem(layer, bias, "same"), engine.conv2d(layer.x, layer.kernel, bias, padding="same", dtype=dtype)


def _verdicts(checked):
    return [(c.outcome.framework, c.outcome.status, c.outcome.note,
             None if c.comparison is None else (c.comparison.max_abs, c.comparison.max_rel, c.comparison.ok))
            for c in checked]


@pytest.fixture
def numpy_worker():
    w = worker.Worker.start(["numpy"])
    assert w is not None
    yield w
    w.close()


# ------------------------------------------------------------------------------------------------
# the channel


def test_a_message_crosses_whole_with_its_arrays_out_of_band():
    a, b = channel.pair()
    try:
        big = np.arange(3 * 1000 * 7, dtype=np.float32).reshape(3, 1000, 7)
        message = ("result", {"big": big, "small": np.array([1.5, -2.0]), "empty": np.zeros((0, 4)),
                              "text": "x" * (channel.INLINE + 10), "f64": big.astype(np.float64)[::-1]})
        channel.send(a, message)
        kind, got = channel.recv(b)
        assert kind == "result" and got["text"] == message[1]["text"]
        for key in ("big", "small", "empty", "f64"):
            np.testing.assert_array_equal(got[key], message[1][key])
            assert got[key].dtype == message[1][key].dtype and got[key].shape == message[1][key].shape
        assert not got["big"].flags.writeable  # mapped, not copied
    finally:
        a.close()
        b.close()


def test_the_other_side_closing_is_said_as_closed():
    a, b = channel.pair()
    a.close()
    with pytest.raises(channel.Closed):
        channel.recv(b)
    b.close()


def test_no_descriptor_is_left_open_by_a_round_trip():
    a, b = channel.pair()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        channel.send(a, np.ones((200, 200)))
        assert channel.recv(b).sum() == 40000
    assert len(os.listdir("/proc/self/fd")) == before
    a.close()
    b.close()


# ------------------------------------------------------------------------------------------------
# the same answers as in one process


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tile_values", [None, 5 * 13 * 2])  # one band; bands of 5 rows (9 of them)
def test_the_worker_gives_the_verdicts_and_numbers_of_one_process(numpy_worker, dtype, tile_values):
    problem, expected = _problem(dtype)
    here = schedule.verify(problem, expected, (NUMPY,), tile_values=tile_values)
    away = schedule.verify(problem, expected, (NUMPY,), tile_values=tile_values, executor=numpy_worker)
    assert _verdicts(away) == _verdicts(here)
    assert away[0].outcome.status == COMPUTED and away[0].comparison is not None and away[0].comparison.ok
    if tile_values is None:  # one band: the output itself is kept, as in one process
        np.testing.assert_array_equal(away[0].outcome.output, here[0].outcome.output)


def test_a_wrong_answer_from_the_worker_is_found_as_in_one_process(numpy_worker):
    problem, expected = _problem()
    wrong = expected.copy()
    wrong[20, 6, 1] += 1.0
    away = schedule.verify(problem, wrong, (NUMPY,), tile_values=5 * 13 * 2, executor=numpy_worker)
    here = schedule.verify(problem, wrong, (NUMPY,), tile_values=5 * 13 * 2)
    assert _verdicts(away) == _verdicts(here)
    assert not away[0].comparison.ok and away[0].comparison.problem.startswith("at (20, 6, 1)")


def test_the_progress_of_the_worker_reaches_one(numpy_worker):
    problem, expected = _problem()
    seen: list[tuple[str, float]] = []
    schedule.verify(problem, expected, (NUMPY,), tile_values=5 * 13 * 2, executor=numpy_worker,
                    progress=lambda name, f: seen.append((name, f)))
    fractions = [f for name, f in seen if name == "numpy einsum"]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_a_worker_takes_one_problem_and_refuses_another(numpy_worker):
    problem, expected = _problem()
    assert numpy_worker.compute(problem) and numpy_worker.compute(problem)  # the same: sent once
    other = replace(problem, bias=problem.bias + 1)
    assert not numpy_worker.compute(other)
    # verify on another problem with this worker computes it here, with the right numbers
    checked = schedule.verify(other, expected + 1, (NUMPY,), executor=numpy_worker)
    assert checked[0].comparison is not None and checked[0].comparison.ok


def test_a_replaced_adapter_of_the_same_module_is_computed_here(numpy_worker):
    problem, expected = _problem()
    called = []

    def mine(p: Problem) -> Outcome:
        called.append(p)
        return NUMPY.compute(p)

    custom = adapters.Adapter("numpy einsum", "numpy", "", mine)
    schedule.verify(problem, expected, (custom,), executor=numpy_worker)
    assert called  # not the built-in one: the worker, which runs its own copy, is not asked


# ------------------------------------------------------------------------------------------------
# bad days


def test_a_child_that_dies_before_starting_leaves_the_work_to_this_process():
    w = worker.Worker.start(["numpy"])
    assert w is not None
    try:
        os.kill(w._proc.pid, signal.SIGKILL)
        problem, expected = _problem()
        checked = schedule.verify(problem, expected, (NUMPY,), executor=w)
        assert checked[0].outcome.status == COMPUTED and checked[0].comparison.ok
    finally:
        w.close()


def test_a_child_that_dies_while_computing_gives_an_unavailable_row():
    w = worker.Worker.start(["numpy"])
    assert w is not None
    try:
        assert w.ready()
        os.kill(w._proc.pid, signal.SIGKILL)
        problem, expected = _problem()
        checked = schedule.verify(problem, expected, (NUMPY,), tile_values=5 * 13 * 2, executor=w)
        outcome = checked[0].outcome
        assert outcome.status == MISSING and checked[0].comparison is None
        assert outcome.note == "cannot be used: its process ended (signal 9)"
    finally:
        w.close()


def test_the_child_ends_when_this_process_closes_its_socket():
    w = worker.Worker.start(["numpy"])
    assert w is not None
    assert w.ready()
    w._sock.close()
    deadline = time.monotonic() + 20
    while w._proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert w._proc.returncode == 0
    w.close()


def test_close_ends_and_reaps_the_child_at_once():
    w = worker.Worker.start(["numpy"])
    assert w is not None
    start = time.monotonic()
    w.close()
    assert w._proc.returncode is not None and time.monotonic() - start < 5


def test_the_child_ignores_the_terminals_ctrl_c(numpy_worker):
    assert numpy_worker.ready()
    assert os.getpgid(numpy_worker._proc.pid) != os.getpgid(0)  # its own session: not the terminal's group
    os.kill(numpy_worker._proc.pid, signal.SIGINT)
    problem, expected = _problem()
    checked = schedule.verify(problem, expected, (NUMPY,), executor=numpy_worker)
    assert checked[0].comparison is not None and checked[0].comparison.ok


class _FakeWorker:
    """The :class:`executor.Executor` interface, answering with given results: verify's side alone."""

    modules = ("numpy",)

    def __init__(self, answer):
        self.answer = answer
        self.results: list[worker.Result] = []

    def runs(self, adapter):
        return adapter.module in self.modules

    def ready(self):
        return True

    def compute(self, problem, tile_values=None):
        from convcli.verify import tiles

        self.results = [self.answer(b, k) for k, b in enumerate(tiles.bands(problem, tile_values))]
        return True

    def poll(self):
        out, self.results = self.results, []
        return out

    def wait(self, timeout=None):
        return self.poll()

    def ended(self):
        return ""

    def again(self, module, band):
        return None


def test_an_error_in_the_child_becomes_the_frameworks_row():
    problem, expected = _problem()
    fake = _FakeWorker(lambda band, k: worker.Result("numpy", k, None, "RuntimeError: oneDNN gave up"))
    checked = schedule.verify(problem, expected, (NUMPY,), executor=fake)  # type: ignore[arg-type]
    assert checked[0].outcome.status == MISSING
    assert checked[0].outcome.note == "cannot be used: RuntimeError: oneDNN gave up"
    assert checked[0].comparison is None


def test_a_refusal_from_the_child_is_the_frameworks_row():
    problem, expected = _problem()

    def refuse(band, k):
        try:
            raise Refused("numpy refuses, in its own words")
        except Refused as exc:
            return worker.Result("numpy", k, Outcome("numpy einsum", "2", "refused", note=str(exc)))

    checked = schedule.verify(problem, expected, (NUMPY,), tile_values=5 * 13 * 2,
                              executor=_FakeWorker(refuse))  # type: ignore[arg-type]
    assert checked[0].outcome.status == "refused" and checked[0].comparison is None


def test_results_arriving_in_any_order_are_compared_with_their_own_rows():
    problem, expected = _problem()
    tile_values = 5 * 13 * 2

    class Shuffled(_FakeWorker):
        def compute(self, problem, tile_values=None):
            super().compute(problem, tile_values)
            self.results.reverse()
            return True

    fake = Shuffled(lambda band, k: worker.Result("numpy", k, NUMPY.compute(band.problem)))
    away = schedule.verify(problem, expected, (NUMPY,), tile_values=tile_values, executor=fake)  # type: ignore[arg-type]
    here = schedule.verify(problem, expected, (NUMPY,), tile_values=tile_values)
    assert _verdicts(away) == _verdicts(here)


# ------------------------------------------------------------------------------------------------
# the frameworks, when installed


def test_torch_in_the_worker_gives_the_numbers_of_one_process_and_is_never_imported_here():
    pytest.importorskip("torch")
    code = (
        "import sys, numpy as np\n"
        "from convcli import engine\n"
        "from convcli.verify import adapters, schedule, worker\n"
        "from convcli.verify.problem import Problem\n"
        "rng = np.random.default_rng(0)\n"
        "layer = engine.prepare(rng.standard_normal((60, 17, 3)), rng.standard_normal((3, 3, 3, 4)),"
        " stride=2, padding='same', dtype='float32')\n"
        "bias = rng.standard_normal(4).astype(np.float32)\n"
        "p = Problem(layer, bias, 'same')\n"
        "expected = engine.conv2d(layer.x, layer.kernel, bias, stride=2, padding='same')\n"
        "torch_adapter = next(a for a in adapters.ADAPTERS if a.module == 'torch')\n"
        "w = worker.start_worker((torch_adapter,))\n"
        "assert w is not None and w.modules == ('torch',)\n"
        "c = schedule.verify(p, expected, (torch_adapter,), tile_values=5 * 9 * 4, executor=w)[0]\n"
        "w.close()\n"
        "print(c.outcome.status, c.outcome.version, c.comparison.ok, repr(c.comparison.max_abs),"
        " 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    status, version, ok, max_abs, imported_here = out.stdout.split()
    assert (status, ok, imported_here) == ("computed", "True", "False")
    import torch

    assert version == torch.__version__
    # the same numbers in one process
    rng = np.random.default_rng(0)
    layer = engine.prepare(rng.standard_normal((60, 17, 3)), rng.standard_normal((3, 3, 3, 4)), stride=2,
                           padding="same", dtype="float32")
    bias = rng.standard_normal(4).astype(np.float32)
    expected = engine.conv2d(layer.x, layer.kernel, bias, stride=2, padding="same")
    torch_adapter = next(a for a in adapters.ADAPTERS if a.module == "torch")
    here = schedule.verify(Problem(layer, bias, "same"), expected, (torch_adapter,), tile_values=5 * 9 * 4)[0]
    assert float(max_abs) == here.comparison.max_abs


def test_start_worker_skips_what_is_imported_here_and_the_light_modules(monkeypatch):
    monkeypatch.setattr(worker.Worker, "start", classmethod(lambda cls, modules: modules))
    monkeypatch.setitem(sys.modules, "keras", sys.modules.get("keras") or object())
    monkeypatch.setattr(adapters.environment, "installed", lambda module: True)
    modules = worker.start_worker()
    assert "keras" not in modules and "numpy" not in modules and "scipy" not in modules
    assert set(modules) <= {"torch", "tensorflow", "jax"}


def test_the_cli_verify_with_a_worker_prints_what_it_prints_in_one_process(tmp_path):
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from convcli.cli import app

    args = ["verify", str(ROOT / "samples" / "grace_hopper.jpg"), "-f", "2", "--stride", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    out = subprocess.run([sys.executable, "-m", "convcli", *args], capture_output=True, text=True, cwd=tmp_path,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(worker, "start_worker", lambda *a: None)  # everything in this process
        here = CliRunner().invoke(app, args, env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
    finally:
        mp.undo()
    assert here.exit_code == 0, here.output
    assert out.stdout == here.stdout
    assert "PyTorch" in out.stdout and "agrees" in out.stdout

