"""The executor seam: a :class:`LocalExecutor` gives the verdicts of the comparing loop alone."""

from __future__ import annotations

import numpy as np

from convcli import engine
from convcli.verify import adapters, schedule
from convcli.verify.executor import Executor, LocalExecutor
from convcli.verify.problem import Problem

NUMPY = next(a for a in adapters.ADAPTERS if a.module == "numpy")


def _problem(h: int = 41) -> tuple[Problem, np.ndarray]:
    rng = np.random.default_rng(5)
    layer = engine.prepare(rng.standard_normal((h, 13, 3)), rng.standard_normal((3, 3, 3, 2)), padding="same",
                           dtype="float32")
    bias = rng.standard_normal(2).astype(np.float32)
    return Problem(layer, bias, "same"), engine.conv2d(layer.x, layer.kernel, bias, padding="same")


def _verdicts(checked):
    return [(c.outcome.framework, c.outcome.status, c.outcome.note,
             None if c.comparison is None else (c.comparison.max_abs, c.comparison.max_rel, c.comparison.ok))
            for c in checked]


def test_a_local_executor_gives_the_verdicts_of_one_loop_band_by_band():
    problem, expected = _problem()
    tile_values = 5 * 13 * 2
    executor: Executor = LocalExecutor((NUMPY,))
    away = schedule.verify(problem, expected, (NUMPY,), tile_values=tile_values, executor=executor)
    here = schedule.verify(problem, expected, (NUMPY,), tile_values=tile_values)
    assert _verdicts(away) == _verdicts(here)
    assert away[0].comparison is not None and away[0].comparison.ok


def test_a_local_executor_finds_a_planted_difference_as_the_loop_does():
    problem, expected = _problem()
    wrong = expected.copy()
    wrong[17, 4, 1] += 1.0
    away = schedule.verify(problem, wrong, (NUMPY,), tile_values=5 * 13 * 2, executor=LocalExecutor((NUMPY,)))
    here = schedule.verify(problem, wrong, (NUMPY,), tile_values=5 * 13 * 2)
    assert not away[0].comparison.ok  # type: ignore[union-attr]
    assert _verdicts(away) == _verdicts(here)


def test_an_executor_busy_with_another_problem_leaves_this_one_to_the_loop():
    problem, expected = _problem()
    other, _ = _problem(h=30)
    executor = LocalExecutor((NUMPY,))
    assert executor.compute(other)
    assert not executor.compute(problem)
    checked = schedule.verify(problem, expected, (NUMPY,), executor=executor)
    assert checked[0].comparison is not None and checked[0].comparison.ok
    assert executor.poll() != []  # its own problem's bands, untouched by verify


def test_an_executor_runs_only_its_adapters_and_never_a_sampled_one():
    scipy_adapter = next(a for a in adapters.ADAPTERS if a.module == "scipy")
    executor = LocalExecutor((NUMPY, scipy_adapter))
    assert executor.runs(NUMPY) and not executor.runs(adapters.ADAPTERS[0])
    problem, expected = _problem()
    schedule.verify(problem, expected, (scipy_adapter,), tile_values=5 * 13 * 2, executor=executor)
    assert executor.poll() == []  # never given the problem: SciPy's sample is computed by the loop
