"""``convcli verify``'s pipeline as a library: the report as data, progress through hooks, no typer or rich."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from convcli import engine
from convcli.errors import ResourceError
from convcli.pipeline.verify import verify_layer
from convcli.verify import adapt_numpy, adapters, problem

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class _Built:
    layer: engine.Layer
    bias: np.ndarray | None
    padding: str = "same"
    activation: str = "relu"
    use_bias: bool = True


def _built() -> _Built:
    rng = np.random.default_rng(2)
    layer = engine.prepare(rng.standard_normal((12, 10, 3)), rng.standard_normal((3, 3, 3, 4)), padding="same",
                           dtype="float32")
    return _Built(layer, rng.standard_normal(4).astype(np.float32))


class _Recorder:
    def __init__(self) -> None:
        self.said: list[str] = []

    def built(self) -> None:
        self.said.append("built")

    def importing(self, fraction: float) -> None:
        self.said.append("importing")

    def imported(self) -> None:
        self.said.append("imported")

    def computing(self, fraction: float) -> None:
        assert 0 <= fraction <= 1
        if self.said[-1] != "computing":
            self.said.append("computing")

    def computed(self, result: engine.LayerResult) -> None:
        self.said.append("computed")

    def comparing(self, framework: str, fraction: float) -> None:
        assert framework == "numpy einsum" and 0 <= fraction <= 1
        if self.said[-1] != "comparing":
            self.said.append("comparing")

    def compared(self) -> None:
        self.said.append("compared")


@pytest.fixture
def numpy_only(monkeypatch):
    monkeypatch.setattr(adapters, "ADAPTERS", (adapters.ADAPTERS[-1],))


def test_the_report_holds_convcli_s_result_and_each_framework_s_verdict(numpy_only):
    given = _built()
    built, report = verify_layer(lambda: given)
    assert built is given
    assert [c.outcome.framework for c in report.checked] == ["numpy einsum"]
    assert report.checked[0].comparison is not None and report.checked[0].comparison.ok
    assert report.differ == [] and report.disagreement() is None
    expected = engine.conv2d(given.layer.x, given.layer.kernel, given.bias, padding="same")
    np.testing.assert_allclose(report.result.preactivation, expected, rtol=1e-5, atol=1e-5)
    assert report.terms == 3 * 3 * 3 + 1 and report.rtol > 0 and report.installable == []


def test_the_hooks_hear_each_stage_in_order(numpy_only):
    hooks = _Recorder()
    verify_layer(_built, hooks=hooks)
    assert [s for s in hooks.said if s != "importing"] == ["built", "imported", "computing", "computed",
                                                            "comparing", "compared"]


def test_a_framework_that_differs_is_worded_for_the_error(monkeypatch):
    def off(p):
        o = adapt_numpy.compute(p)
        out = o.output.copy()
        out[2, 1, 0] += 1.0
        return problem.Outcome("Broken", "0.1", problem.COMPUTED, "as is", "none", out)

    monkeypatch.setattr(adapters, "ADAPTERS", (adapters.Adapter("Broken", "numpy", "", off), adapters.ADAPTERS[-1]))
    _, report = verify_layer(_built)
    assert [c.outcome.framework for c in report.differ] == ["Broken"]
    assert report.disagreement().startswith("Broken differs from convcli at (2, 1, 0):")  # type: ignore[union-attr]


def test_a_layer_that_cannot_fit_is_refused_before_the_pass(numpy_only, monkeypatch):
    from convcli.pipeline import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: (1000, "free memory"))
    hooks = _Recorder()
    with pytest.raises(ResourceError):
        verify_layer(_built, hooks=hooks)
    assert hooks.said == []


def test_the_pipeline_imports_neither_typer_nor_rich():
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from convcli import engine\n"
        "from convcli.pipeline.verify import verify_layer\n"
        "from convcli.verify import adapters\n"
        "adapters.ADAPTERS = (adapters.ADAPTERS[-1],)\n"
        "class B:\n"
        "    layer = engine.prepare(np.ones((6, 5, 2)), np.ones((3, 3, 2, 2)), dtype='float32')\n"
        "    bias, padding, activation, use_bias = None, 'valid', 'linear', True\n"
        "_, report = verify_layer(B)\n"
        "assert report.disagreement() is None\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_report_holds_the_emulated_tf32_and_bf16_errors_of_the_layer(monkeypatch):
    from convcli.engine.precision import emulate
    from convcli.engine.precision_errors import error_summary

    monkeypatch.setattr(adapters, "ADAPTERS", (adapters.ADAPTERS[-1],))
    built = _built()
    _, report = verify_layer(lambda: built)
    assert set(report.emulated) == {"tf32", "bf16"}
    # the same layer's pre-activation, emulated directly: the report's numbers are its total max |error|
    g = built.layer.geometry
    for p, value in report.emulated.items():
        em = emulate(built.layer.x, built.layer.kernel, built.bias, "linear", p, padding="same", stride=g.stride)
        assert value == error_summary(em).total.max_abs
    assert 0 < report.emulated["tf32"] < report.emulated["bf16"]
    assert report.largest_difference is not None and report.largest_difference <= report.emulated["tf32"]
    assert report.emulated_rows is None


def test_a_large_layer_s_emulated_errors_are_measured_on_a_band_of_rows(monkeypatch):
    from convcli.engine.precision import emulate
    from convcli.engine.precision_errors import error_parts
    from convcli.pipeline import verify as pipeline_verify

    monkeypatch.setattr(pipeline_verify, "EXPLAINED_VALUES", 10 * 4 * 3)  # 3 of the 12 output rows
    built = _built()
    emulated, rows = pipeline_verify.emulated_errors(built)
    assert rows == (4, 7)
    # the same as the whole layer's errors restricted to those rows ('same' padding included)
    for p, value in emulated.items():
        em = emulate(built.layer.x, built.layer.kernel, built.bias, "linear", p, padding="same")
        worst = max(float(np.abs(error_parts(em, f, rows, (0, 10)).difference).max()) for f in range(4))
        assert value == pytest.approx(worst, rel=1e-12)
