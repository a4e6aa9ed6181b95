"""convcli against Conv2D outputs and activations stored from Keras and PyTorch (tests/golden/).

Needs no framework: the values were computed once by ``tests/golden/make_golden.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from convcli import engine

GOLDEN = np.load(Path(__file__).parents[1] / "golden" / "conv_golden.npz")
CASES = [str(name) for name in GOLDEN["cases"]]
ACT_NAMES = [str(name) for name in GOLDEN["act_names"]]


def load_case(name):
    config = json.loads(str(GOLDEN[f"{name}__config"]))
    padding = config["padding"]
    kwargs = {
        "stride": config["stride"],
        "dilation": config["dilation"],
        "padding": padding if isinstance(padding, (str, int)) else tuple(padding),
        "groups": config["groups"],
        "dtype": np.dtype(config["dtype"]),
    }
    x, kernel, bias = (GOLDEN[f"{name}__{key}"] for key in ("x", "kernel", "bias"))
    return x, kernel, bias, kwargs, config, GOLDEN[f"{name}__expected"]


def tolerance(x, kernel, bias, kwargs):
    """float64: tight. float32: relative, plus an absolute part scaled by the size of the terms."""
    if kwargs["dtype"] == np.float64:
        return {"rtol": 1e-10, "atol": 1e-10}
    magnitude = engine.conv2d(np.abs(x), np.abs(kernel), np.abs(bias), **{**kwargs, "dtype": np.float64})
    return {"rtol": 1e-5, "atol": 1e-5 * float(magnitude.max())}


def test_golden_file_is_complete():
    assert len(CASES) >= 40
    frameworks = {str(GOLDEN[f"{name}__framework"]).split()[0] for name in CASES}
    assert frameworks == {"keras", "torch"}
    dtypes = {json.loads(str(GOLDEN[f"{name}__config"]))["dtype"] for name in CASES}
    assert dtypes == {"float32", "float64"}
    assert set(ACT_NAMES) == set(engine.ACTIVATIONS)


@pytest.mark.parametrize("name", CASES)
def test_conv2d_matches_golden(name):
    x, kernel, bias, kwargs, config, expected = load_case(name)
    assert engine.pad_amounts(
        x.shape[:2],
        kernel.shape[:2],
        stride=kwargs["stride"],
        padding=kwargs["padding"],
        dilation=kwargs["dilation"],
    ) == tuple(config["pads"])
    out = engine.conv2d(x, kernel, bias, **kwargs)
    assert out.dtype == kwargs["dtype"]
    np.testing.assert_allclose(out, expected, **tolerance(x, kernel, bias, kwargs))


@pytest.mark.parametrize("name", CASES)
def test_partial_sums_add_up_to_golden(name):
    x, kernel, bias, kwargs, _, expected = load_case(name)
    p = engine.partial_sums(x, kernel, **kwargs)
    assert p.shape == (*expected.shape[:2], kernel.shape[2], kernel.shape[3])
    np.testing.assert_allclose(p.sum(axis=2) + bias, expected, **tolerance(x, kernel, bias, kwargs))


@pytest.mark.parametrize("name", ACT_NAMES)
# relative tolerances: tiny results such as sigmoid(-30) must keep their digits, not just be "near 0"
# (the float32 atol only covers subnormals like sigmoid(-100) ≈ 3.7e-44)
@pytest.mark.parametrize(("tag", "rtol", "atol"), [("act32", 1e-6, 1e-37), ("act64", 1e-12, 1e-300)])
def test_activation_matches_golden(name, tag, rtol, atol):
    z = GOLDEN[f"{tag}__z"]
    out = engine.activate(z, name)
    assert out.dtype == z.dtype
    np.testing.assert_allclose(out, GOLDEN[f"{tag}__{name}"], rtol=rtol, atol=atol)
