"""convcli against the real frameworks on random layers, in float64 (skipped without torch).

For every Hypothesis configuration (at least 200): the engine's ``conv2d`` and ``partial_sums``,
and the ``.npz`` that ``convcli run --save`` writes, against ``torch.nn.functional.conv2d`` called
here directly (pads from the oracle's own 'same' formula, applied with ``F.pad``) and, where Keras
accepts the layer, against ``keras.layers.Conv2D``. ``convcli verify``'s own PyTorch and Keras
adapters are checked against the same references, so the permutations and padding it reports are
the ones that give the framework's numbers.

Partial sums come from torch in one call: a grouped convolution with ``groups = C`` gives every
(input channel, filter) pair its own output channel.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

from convcli import engine
from convcli.cli import app
from convcli.verify import adapt_keras, adapters, environment
from convcli.verify.problem import COMPUTED, REFUSED, SEMANTICS, Problem, Unavailable

from helpers import runner
from strategies import conv_cases

torch = pytest.importorskip("torch")
F = torch.nn.functional
# Keras' torch backend trips numpy 2's __array__(copy=) deprecation inside set_weights: not ours
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

TIGHT = {"rtol": 1e-10, "atol": 1e-10}


def _keras():
    """keras, with a backend that is installed here, or None."""
    if not environment.installed("keras"):
        return None
    try:
        adapt_keras.keras_backend()
        import keras
    except (Unavailable, ImportError):
        return None
    return keras


keras = _keras()


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _text(v) -> str:
    return str(v) if isinstance(v, (int, str)) else f"{v[0]},{v[1]}"


def torch_padded(x, case):
    top, bottom, left, right = case.pads
    return F.pad(torch.from_numpy(x).permute(2, 0, 1)[None], (left, right, top, bottom))


def torch_conv(x, kernel, bias, case):
    """float64 ``(H', W', F)``: NCHW input, ``(F, C/g, kh, kw)`` weights."""
    wt = torch.from_numpy(kernel).permute(3, 2, 0, 1)
    y = F.conv2d(torch_padded(x, case), wt, torch.from_numpy(bias), stride=_pair(case.stride),
                 dilation=_pair(case.dilation), groups=case.groups)
    return y[0].permute(1, 2, 0).numpy()


def torch_partials(x, kernel, case):
    """``(H', W', C/g, F)``: input channel ``ch`` of group ``g`` against each of the group's filters."""
    kh, kw, cg, f = kernel.shape
    c, fg = x.shape[2], f // case.groups
    w = np.empty((c * fg, 1, kh, kw))
    for ch in range(c):
        g, ci = divmod(ch, cg)
        w[ch * fg : (ch + 1) * fg, 0] = kernel[:, :, ci, g * fg : (g + 1) * fg].transpose(2, 0, 1)
    y = F.conv2d(torch_padded(x, case), torch.from_numpy(w), stride=_pair(case.stride),
                 dilation=_pair(case.dilation), groups=c)[0].numpy()  # (C·Fg, H', W')
    y = y.reshape(case.groups, cg, fg, *y.shape[1:])  # channel ch = g·Cg + ci, then the group's filters
    return y.transpose(3, 4, 1, 0, 2).reshape(*y.shape[3:], cg, f)


def keras_conv(x, kernel, bias, case):
    """``keras.layers.Conv2D`` in float64; explicit pads go in as a padded input."""
    padding = case.padding if isinstance(case.padding, str) else "valid"
    if padding == "valid":
        top, bottom, left, right = case.pads
        x = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    layer = keras.layers.Conv2D(kernel.shape[3], kernel.shape[:2], strides=_pair(case.stride), padding=padding,
                                data_format="channels_last", dilation_rate=_pair(case.dilation),
                                groups=case.groups, dtype="float64")
    layer.build((1, *x.shape))
    layer.set_weights([kernel, bias])
    return keras.ops.convert_to_numpy(layer(x[None]))[0]


def keras_accepts(case) -> bool:
    return max(_pair(case.stride)) == 1 or max(_pair(case.dilation)) == 1


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=conv_cases(max_hw=10, max_k=4))
def test_engine_cli_and_adapters_match_the_frameworks(case, workdir: Path):
    assume(not case.empty)
    x, kernel, bias = case.arrays
    expected = torch_conv(x, kernel, bias, case)
    assert expected.shape[:2] == case.out_hw

    # the library
    np.testing.assert_allclose(engine.conv2d(x, kernel, bias, dtype=np.float64, **case.kwargs), expected, **TIGHT)
    partials = torch_partials(x, kernel, case)
    np.testing.assert_allclose(engine.partial_sums(x, kernel, dtype=np.float64, **case.kwargs), partials, **TIGHT)
    if keras is not None and keras_accepts(case):
        np.testing.assert_allclose(keras_conv(x, kernel, bias, case), expected, **TIGHT)

    # the CLI's saved file
    for name, a in (("x", x), ("k", kernel), ("b", bias)):
        np.save(workdir / f"{name}.npy", a)
    out = workdir / "out.npz"
    r = runner.invoke(app, [
        "run", str(workdir / "x.npy"), "--kernel", str(workdir / "k.npy"), "--bias", str(workdir / "b.npy"),
        "--dtype", "float64", "--stride", _text(case.stride), "--padding", _text(case.padding),
        "--dilation", _text(case.dilation), "--groups", str(case.groups), "--save", str(out), "--force", "--json",
    ])
    assert r.exit_code == 0, r.output
    saved = np.load(out)
    np.testing.assert_allclose(saved["preactivation"], expected, **TIGHT)
    np.testing.assert_allclose(saved["output"], expected, **TIGHT)  # linear activation
    np.testing.assert_allclose(saved["partials"], partials, **TIGHT)
    np.testing.assert_array_equal(saved["kernel"], kernel)

    # the adapters `convcli verify` uses, on both semantics
    layer = engine.prepare(x, kernel, dtype=np.float64, **case.kwargs)
    for semantics in SEMANTICS:
        problem = Problem(layer, bias, case.padding, semantics)
        chosen = [a for a in adapters.ADAPTERS if a.module in ("torch", "numpy")]
        if keras is not None:
            chosen.append(next(a for a in adapters.ADAPTERS if a.module == "keras"))
        for adapter in chosen:
            outcome = adapters.run_adapter(adapter, problem)
            torch_refuses = (adapter.module == "torch" and semantics == "torch" and case.padding == "same"
                             and max(_pair(case.stride)) > 1)
            keras_refuses = adapter.module == "keras" and not keras_accepts(case)
            if torch_refuses or keras_refuses:
                assert outcome.status == REFUSED, (adapter.name, outcome)
                continue
            assert outcome.status == COMPUTED, (adapter.name, outcome)
            np.testing.assert_allclose(outcome.output, expected, err_msg=adapter.name, **TIGHT)
