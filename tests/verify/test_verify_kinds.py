"""``verify --kind/--ndim/--padding-mode``: each framework's own N-d layer against convcli's, and the rows of
the frameworks that cannot express a layer (Keras has no padding modes) refused instead of failing."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from convcli.cli import app
from convcli.pipeline.build import build_layer
from convcli.pipeline.request import Request
from convcli.pipeline.verify_kinds import verify_kind
from convcli.verify.problem import COMPUTED, REFUSED

pytest.importorskip("torch")


def _outcomes(request: Request) -> dict[str, object]:
    report = verify_kind(build_layer(request))
    return {c.outcome.framework: c for c in report.checked}


@pytest.mark.parametrize("settings", [
    {"ndim": 1, "kernel_size": 5, "padding": "causal", "dilation": 2, "filters": 3},
    {"ndim": 1, "kind": "depthwise", "kernel_size": 3, "stride": 2, "padding": "same", "depth_multiplier": 2},
    {"ndim": 3, "kernel_size": (2, 3, 3), "stride": (1, 2, 1), "padding": "same", "filters": 2, "groups": 2},
    {"ndim": 2, "kind": "depthwise", "kernel_size": 3, "padding": 1, "depth_multiplier": 3},
    {"ndim": 3, "kernel_size": 3, "padding": 1, "filters": 2},
])
def test_torch_keras_and_numpy_agree_with_convcli(settings):
    shape = {1: (30, 4), 2: (9, 8, 4), 3: (6, 7, 5, 4)}[settings["ndim"]]
    x = np.random.default_rng(0).normal(size=shape)
    checked = _outcomes(Request(x, dtype="float64", bias=0.25, **settings))
    for name in ("PyTorch", "numpy einsum"):
        assert checked[name].outcome.status == COMPUTED and checked[name].comparison.ok, name
        assert checked[name].comparison.max_abs < 1e-12
    keras = checked["Keras"]
    if keras.outcome.status == COMPUTED:  # Keras may be missing; where it computes it agrees
        assert keras.comparison.ok and keras.comparison.max_abs < 1e-9


def test_a_padding_mode_keras_lacks_is_its_refused_row():
    x = np.random.default_rng(1).normal(size=(20, 2))
    checked = _outcomes(Request(x, ndim=1, kernel_size=3, padding=2, padding_mode="circular", dtype="float64"))
    assert checked["PyTorch"].comparison.ok and checked["PyTorch"].comparison.max_abs < 1e-12
    assert "Conv1d(padding=(2,), padding_mode='circular')" in checked["PyTorch"].outcome.padding
    assert checked["numpy einsum"].comparison.ok
    if checked["Keras"].outcome.status != "missing":
        assert checked["Keras"].outcome.status == REFUSED
        assert "no padding_mode 'circular'" in checked["Keras"].outcome.note


def test_verify_command_on_a_conv3d(tmp_path):
    np.save(tmp_path / "v.npy", np.random.default_rng(2).normal(size=(4, 5, 6, 2)))
    result = CliRunner().invoke(app, ["verify", str(tmp_path / "v.npy"), "--kind", "Conv3D", "-k", "2", "-f", "2"])
    assert result.exit_code == 0, result.output
    assert "Conv3D(filters=2, kernel_size=(2, 2, 2)" in result.output
    assert "PyTorch" in result.output and "✓ agrees" in result.output
