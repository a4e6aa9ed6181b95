"""The ``convcli.verify`` package: numpy only until an adapter runs, and its seams hold.

Each import check runs in a fresh interpreter, since this test process has long imported torch.
"""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import convcli.verify
from convcli import engine
from convcli.verify import adapters, compare, environment
from convcli.verify.problem import COMPUTED, MISSING, Outcome, Problem

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "convcli" / "verify"
FRAMEWORKS = ("torch", "keras", "tensorflow", "jax", "scipy")
MODULES = sorted(f"convcli.verify.{m.name}" for m in pkgutil.iter_modules([str(PACKAGE)]))


def imported_after(code: str) -> list[str]:
    """The framework, rich and typer modules a fresh interpreter holds after running ``code``."""
    probe = code + (
        "\nimport sys\n"
        f"print('\\n'.join(m for m in sys.modules if m.split('.')[0] in {(*FRAMEWORKS, 'rich', 'typer')!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    return sorted(out.stdout.split())


def test_every_module_of_the_package_is_found():
    assert {"convcli.verify.adapters", "convcli.verify.compare", "convcli.verify.reference",
            "convcli.verify.problem", "convcli.verify.adapt_torch", "convcli.verify.adapt_keras"} <= set(MODULES)


def test_importing_the_package_and_every_adapter_imports_no_framework_rich_or_typer():
    assert imported_after("import convcli.verify\n" + "".join(f"import {m}\n" for m in MODULES)) == []


def test_no_module_is_named_after_a_framework():
    # convcli/verify/torch.py would be imported as `torch` by anything run with that folder on sys.path
    names = {m.rsplit(".", 1)[1] for m in MODULES}
    assert names.isdisjoint({*FRAMEWORKS, "numpy", "tf"})


def test_an_adapter_imports_the_real_framework():
    pytest.importorskip("torch")
    code = (
        "import numpy as np\n"
        "from convcli import engine\n"
        "from convcli.verify import adapt_torch\n"
        "from convcli.verify.problem import Problem\n"
        "layer = engine.prepare(np.ones((4, 4, 1)), np.ones((2, 2, 1, 1)), padding='valid')\n"
        "print(adapt_torch.compute(Problem(layer, np.zeros(1, np.float32), 'valid')).status)\n"
        "import sys; print(sys.modules['torch'].__file__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    status, torch_file = out.stdout.split()
    assert status == COMPUTED
    assert not Path(torch_file).resolve().is_relative_to(ROOT / "convcli")


def test_each_module_is_at_most_400_lines():
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path


# ------------------------------------------------------------------------------------------------
# what the registry reads at call time


def _problem() -> tuple[Problem, np.ndarray]:
    rng = np.random.default_rng(1)
    x, k, b = rng.standard_normal((6, 5, 2)), rng.standard_normal((3, 3, 2, 2)), rng.standard_normal(2)
    layer = engine.prepare(x, k, padding="same")
    bias = b.astype(np.float32)
    return Problem(layer, bias, "same"), engine.conv2d(x, k, bias, padding="same")


def test_verify_and_installable_read_the_registry_at_call_time(monkeypatch):
    problem, expected = _problem()

    def absent(p: Problem) -> Outcome:
        raise AssertionError("a missing framework is never called")

    ghost = adapters.Adapter("Ghost", "convcli_no_such_framework", "pip install ghost", absent)
    monkeypatch.setattr(adapters, "ADAPTERS", (ghost, adapters.ADAPTERS[-1]))
    checked = convcli.verify.verify(problem, expected)
    assert [c.outcome.framework for c in checked] == ["Ghost", "numpy einsum"]
    assert checked[0].outcome.status == MISSING and checked[1].comparison is not None and checked[1].comparison.ok
    assert convcli.verify.installable(checked) == ["pip install ghost"]


def test_run_adapter_reads_installed_at_call_time(monkeypatch):
    problem, _ = _problem()
    numpy_adapter = adapters.ADAPTERS[-1]
    assert adapters.run_adapter(numpy_adapter, problem).status == COMPUTED
    monkeypatch.setattr(environment, "installed", lambda module: False)
    outcome = adapters.run_adapter(numpy_adapter, problem)
    assert outcome.status == MISSING and outcome.note == "not installed: "


# ------------------------------------------------------------------------------------------------
# the tolerance, stated once


@pytest.mark.parametrize(("dtype", "n", "eps"), [(np.float32, 28, "1.2e-07"), (np.float64, 10, "2.2e-16")])
def test_tolerance_text_states_the_rule_rtol_for_applies(dtype, n, eps):
    text = compare.tolerance_text(dtype, n)
    assert text == (f"|Δ| ≤ {compare.FACTOR}·n·ε·Σ|x·w| at each output (n = {n} terms: kh·kw·C/g + bias; "
                    f"ε = {eps} for {np.dtype(dtype).name})")
    assert compare.rtol_for(dtype, n) == pytest.approx(compare.FACTOR * n * float(eps), rel=0.05)


def test_verify_screen_shows_the_tolerance_text(tmp_path: Path):
    from typer.testing import CliRunner

    from convcli.cli import app

    x = np.random.default_rng(3).integers(0, 256, size=(7, 6, 3)).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    r = CliRunner().invoke(app, ["verify", str(tmp_path / "x.npy"), "-f", "2"],
                           env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert r.exit_code == 0, r.output
    flat = " ".join(r.stdout.replace("│", " ").split())
    assert compare.tolerance_text(np.float32, 3 * 3 * 3 + 1) in flat
