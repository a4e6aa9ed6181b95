"""The pipeline's run: the archive written on the way, progress as a callback, the budget and overflow as data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convcli.errors import ResourceError
from convcli.pipeline import memory
from convcli.pipeline.build import build_layer
from convcli.pipeline.request import Request
from convcli.pipeline.run import Archive, overflow_warning, run


def test_a_run_streams_its_partials_into_the_archive_and_reports_progress(tmp_path: Path):
    x = np.random.default_rng(1).standard_normal((12, 10, 4))
    built = build_layer(Request(x, filters=3, groups=1, activation="relu", bias=0.25))
    fractions: list[float] = []
    result = run(built, archive=Archive(tmp_path / "r.npz"), progress=fractions.append)
    assert fractions and fractions[-1] == pytest.approx(1.0)
    with np.load(tmp_path / "r.npz") as saved:
        assert sorted(saved.files) == Archive(tmp_path / "r.npz").names()
        partials = saved["partials"]
        assert partials.shape == (10, 8, 4, 3)
        np.testing.assert_allclose(partials.sum(axis=2) + 0.25, result.preactivation, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(saved["output"], result.output)


def test_an_archive_without_partials_holds_the_rest(tmp_path: Path):
    built = build_layer(Request(np.ones((5, 5, 2)), init="ones"))
    run(built, archive=Archive(tmp_path / "r.npz", partials=False))
    with np.load(tmp_path / "r.npz") as saved:
        assert sorted(saved.files) == ["bias", "input", "kernel", "output", "preactivation"]


def test_results_that_overflow_the_dtype_are_a_warning_as_data():
    built = build_layer(Request(np.full((4, 4, 1), 1e38), init="ones"))
    line = overflow_warning(run(built))
    assert line is not None and line.startswith("the results overflow float32 (±Inf or NaN in filter 0)")
    assert overflow_warning(run(build_layer(Request(np.ones((4, 4, 1)), init="ones")))) is None


def test_the_budget_refuses_a_run_larger_than_the_memory_left(monkeypatch: pytest.MonkeyPatch):
    built = build_layer(Request(np.ones((40, 40, 3)), filters=8))
    monkeypatch.setattr(memory, "available_bytes", lambda: (1000, "free"))
    with pytest.raises(ResourceError, match=r"the 38×38×8 output and the 2 rows of a figure would need"):
        memory.check_run_fits(built.layer, stream_partials=False, also=[(10**6, "the 2 rows of a figure")])
    monkeypatch.setattr(memory, "available_bytes", lambda: (10**12, "free"))
    memory.check_run_fits(built.layer, stream_partials=True)


def test_the_memory_advice_reads_the_process_settings(monkeypatch: pytest.MonkeyPatch):
    from convcli.settings import SETTINGS

    monkeypatch.setattr(SETTINGS, "dtype", "float32")
    assert memory.advice() == ["fewer --filters", "a smaller image"]
    monkeypatch.setattr(SETTINGS, "dtype", "float64")
    assert memory.advice()[0] == "--dtype float32"


def _refusal(layer, *, stream_partials: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(memory, "available_bytes", lambda: (1000, "free"))
    with pytest.raises(ResourceError) as caught:
        memory.check_run_fits(layer, stream_partials=stream_partials)
    return str(caught.value)


def test_the_save_refusal_names_no_partials_when_they_are_most_of_it(monkeypatch: pytest.MonkeyPatch):
    from convcli import engine

    wide = build_layer(Request(np.ones((128, 128, 256), dtype=np.float32), filters=64)).layer  # Cg·F partials vs 2·F maps
    narrow = build_layer(Request(np.ones((512, 512, 3), dtype=np.float32), filters=64)).layer  # partials: under half
    streamed = engine.run_bytes(wide, stream_partials=True) - engine.run_bytes(wide)
    assert 2 * streamed > engine.run_bytes(wide, stream_partials=True)
    saved = _refusal(wide, stream_partials=True, monkeypatch=monkeypatch)
    assert "; use --no-partials (the partials held for --save take" in saved
    assert "--no-partials" not in _refusal(wide, stream_partials=False, monkeypatch=monkeypatch)
    assert "--no-partials" not in _refusal(narrow, stream_partials=True, monkeypatch=monkeypatch)
