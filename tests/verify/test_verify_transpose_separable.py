"""``verify`` of transposed and separable layers: PyTorch's ``conv_transpose{1,2,3}d`` and depthwise-then-1×1
convs, Keras' ``Conv{1,2,3}DTranspose`` and ``SeparableConv{1,2}D`` and numpy's own tap loop against convcli's
result, and the settings a framework cannot express (Keras: groups, numeric pads it cannot crop, strides with
dilation) reported in its row instead of failing."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from convcli.cli import app
from convcli.errors import ShapeError
from convcli.pipeline.build import build_layer
from convcli.pipeline.request import Request
from convcli.pipeline.verify_kinds import verify_kind
from convcli.verify.problem import COMPUTED, MISSING, REFUSED

torch = pytest.importorskip("torch")

SHAPES = {1: (9, 4), 2: (5, 6, 4), 3: (3, 4, 3, 4)}


def _checked(request: Request) -> dict[str, object]:
    report = verify_kind(build_layer(request))
    return {c.outcome.framework: c for c in report.checked}


def _agrees(checked, name: str, bound: float = 1e-12) -> None:
    c = checked[name]
    assert c.outcome.status == COMPUTED, (name, c.outcome.note)
    assert c.comparison.ok and c.comparison.max_abs < bound, (name, c.comparison)


def _torch_oracle(x, kernel, bias, *, stride, padding, output_padding, dilation, groups):
    """PyTorch's transposed conv called directly (float64), for a check that does not go through the adapter."""
    n = x.ndim - 1
    fn = getattr(torch.nn.functional, f"conv_transpose{n}d")
    xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 0)))[None]
    wt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(kernel, (-1, -2), (0, 1))))
    y = fn(xt, wt, torch.from_numpy(bias), stride=stride, padding=padding, output_padding=output_padding,
           dilation=dilation, groups=groups)
    return np.moveaxis(y[0].numpy(), 0, -1)


def _random_transpose(rng) -> dict[str, object]:
    n = int(rng.integers(1, 4))
    stride = tuple(int(v) for v in rng.integers(1, 4, n))
    dilation = tuple(int(v) for v in rng.integers(1, 3, n))
    groups = int(rng.choice([1, 2]))
    return {"ndim": n, "kind": "transpose", "kernel_size": tuple(int(v) for v in rng.integers(1, 4, n)),
            "stride": stride, "dilation": dilation, "groups": groups, "filters": groups * int(rng.integers(1, 3)),
            "padding": tuple(int(v) for v in rng.integers(0, 3, n)),
            "output_padding": tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation, strict=True))}


@pytest.mark.parametrize("seed", range(16))
def test_random_transposed_layers_agree_with_pytorch_and_numpy(seed):
    rng = np.random.default_rng(seed)
    while True:  # draw again where the padding cuts the whole output (refused before any framework runs)
        settings = _random_transpose(rng)
        if seed % 2:  # half the draws without dilation, the settings Keras computes with strides > 1
            settings["dilation"] = 1
            settings["output_padding"] = tuple(int(rng.integers(0, s)) for s in settings["stride"])
        x = rng.normal(size=SHAPES[settings["ndim"]])
        request = Request(x, dtype="float64", bias=0.5, **settings)
        try:
            built = build_layer(request)
        except ShapeError as exc:
            assert "transposed output" in str(exc)
            continue
        break
    report = verify_kind(built)
    checked = {c.outcome.framework: c for c in report.checked}
    _agrees(checked, "PyTorch")
    _agrees(checked, "numpy einsum")
    keras = checked["Keras"]
    if settings["groups"] > 1 and keras.outcome.status != MISSING:
        assert keras.outcome.status == REFUSED and "has no groups" in keras.outcome.note
    elif keras.outcome.status == COMPUTED:
        assert keras.comparison.ok and keras.comparison.max_abs < 1e-9
    # convcli's own pre-activation is PyTorch's, called here without the adapter
    direct = _torch_oracle(x, built.archived_kernel(), np.full(settings["filters"], 0.5),
                           stride=settings["stride"], padding=settings["padding"],
                           output_padding=settings["output_padding"], dilation=built.spec.dilation,
                           groups=settings["groups"])
    np.testing.assert_allclose(report.result.preactivation, direct, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("settings", [
    {"ndim": 1, "kernel_size": 4, "stride": 2, "padding": "same", "filters": 3},
    {"ndim": 2, "kernel_size": (3, 2), "stride": (2, 3), "padding": "same", "filters": 2, "output_padding": (1, 0)},
    {"ndim": 2, "kernel_size": 3, "stride": 2, "padding": "valid", "filters": 2},
    {"ndim": 3, "kernel_size": 2, "stride": (1, 2, 2), "padding": "same", "filters": 2},
    {"ndim": 1, "kernel_size": 3, "stride": 1, "dilation": 2, "padding": "same", "filters": 2},
    {"ndim": 2, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1, "filters": 2},
])
def test_keras_padding_rules_agree_in_every_framework(settings):
    """Keras' ``same``/``valid`` (PyTorch by cutting its uncut output) and PyTorch's ``P`` (Keras by cropping)."""
    x = np.random.default_rng(3).normal(size=SHAPES[settings["ndim"]])
    checked = _checked(Request(x, dtype="float64", bias=-0.25, kind="transpose", **settings))
    _agrees(checked, "PyTorch")
    _agrees(checked, "numpy einsum")
    if isinstance(settings["padding"], str):
        assert "F.pad" in checked["PyTorch"].outcome.padding
    if checked["Keras"].outcome.status != MISSING:
        _agrees(checked, "Keras", 1e-9)
        if not isinstance(settings["padding"], str):
            assert "Cropping2D(((1, 0), (1, 0)))" in checked["Keras"].outcome.padding


def test_what_keras_cannot_express_is_its_refused_row():
    x = np.random.default_rng(4).normal(size=(5, 6, 4))
    grouped = _checked(Request(x, dtype="float64", kind="transpose", groups=2, filters=4, stride=2, kernel_size=3))
    _agrees(grouped, "PyTorch")
    both = _checked(Request(x, dtype="float64", kind="transpose", stride=2, dilation=2, padding="same",
                            kernel_size=3, filters=2))
    _agrees(both, "PyTorch")
    if grouped["Keras"].outcome.status == MISSING:
        pytest.skip("Keras not installed")
    assert grouped["Keras"].outcome.status == REFUSED
    assert "Conv2DTranspose has no groups" in grouped["Keras"].outcome.note
    assert both["Keras"].outcome.status == REFUSED and "Keras refuses" in both["Keras"].outcome.note


@pytest.mark.parametrize("settings", [
    {"ndim": 1, "kernel_size": 5, "padding": "same", "filters": 3, "depth_multiplier": 2},
    {"ndim": 1, "kernel_size": 3, "stride": 2, "padding": "valid", "filters": 2},
    {"ndim": 2, "kernel_size": 3, "stride": 2, "padding": "same", "filters": 5, "depth_multiplier": 2},
    {"ndim": 2, "kernel_size": (2, 3), "dilation": 2, "padding": 1, "filters": 3},
    {"ndim": 1, "kernel_size": 3, "dilation": 2, "padding": "causal", "filters": 2},  # Keras: by ZeroPadding1D
])
def test_separable_layers_agree_in_every_framework(settings):
    x = np.random.default_rng(5).normal(size=SHAPES[settings["ndim"]])
    checked = _checked(Request(x, dtype="float64", bias=0.75, kind="separable", **settings))
    _agrees(checked, "PyTorch")
    _agrees(checked, "numpy einsum")
    assert "groups=4" in checked["PyTorch"].outcome.padding
    if checked["Keras"].outcome.status != MISSING:
        _agrees(checked, "Keras", 1e-9)


def test_separable_pytorch_row_is_the_depthwise_then_pointwise_pair():
    """The adapter's PyTorch result against the two convs called here, and against the layer's outputs by hand."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(7, 8, 3))
    built = build_layer(Request(x, dtype="float64", kind="separable", kernel_size=3, filters=2, depth_multiplier=2,
                                no_bias=True))
    report = verify_kind(built)
    w = built.archived_weights()
    dw, pw = w["depthwise_kernel"], w["pointwise_kernel"]
    maps = np.zeros((5, 6, 3, 2))
    for i in range(5):
        for j in range(6):
            maps[i, j] = np.einsum("uvc,uvcm->cm", x[i:i + 3, j:j + 3], dw)
    expected = maps.reshape(5, 6, 6) @ pw.reshape(6, 2)
    np.testing.assert_allclose(report.result.preactivation, expected, rtol=1e-12, atol=1e-12)
    torch_row = next(c for c in report.checked if c.outcome.framework == "PyTorch")
    np.testing.assert_allclose(torch_row.outcome.output, expected, rtol=1e-12, atol=1e-12)


def test_verify_command_on_transposed_and_separable_layers(tmp_path):
    np.save(tmp_path / "s.npy", np.random.default_rng(7).normal(size=(40, 3)))
    np.save(tmp_path / "p.npy", np.random.default_rng(8).normal(size=(6, 5, 4)))
    runner = CliRunner(env={"COLUMNS": "200"})
    sep = runner.invoke(app, ["verify", str(tmp_path / "s.npy"), "--kind", "SeparableConv1D", "-k", "5", "-f", "4"])
    assert sep.exit_code == 0, sep.output
    assert "SeparableConv1D" in sep.output and "✓ agrees" in sep.output and "Error" not in sep.output
    tr = runner.invoke(app, ["verify", str(tmp_path / "p.npy"), "--kind", "ConvTranspose2d", "-k", "3",
                             "--stride", "2", "--groups", "2", "-f", "4", "--padding", "1", "--output-padding", "1"])
    assert tr.exit_code == 0, tr.output
    assert "F.conv_transpose2d(padding=(1, 1), output_padding=(1, 1), groups=2)" in tr.output
    if "Keras  " in tr.output and "not installed" not in tr.output.split("Keras")[1].split("\n")[0]:
        assert "Conv2DTranspose has no groups" in tr.output  # Keras' row says what it cannot express


@pytest.mark.parametrize("settings", [
    {"kind": "transpose", "kernel_size": 4, "stride": 2, "padding": "same", "filters": 8},
    {"kind": "separable", "kernel_size": 3, "padding": "same", "filters": 16, "depth_multiplier": 2},
])
def test_float32_layers_agree_within_float32_rounding(settings):
    """The tolerance's ``n`` counts the terms of these kinds' sums: float32 results agree, and not by float64 luck."""
    x = np.random.default_rng(9).uniform(0, 255, size=(40, 36, 3)).astype(np.float32)
    report = verify_kind(build_layer(Request(x, bias=0.1, **settings)))
    checked = {c.outcome.framework: c for c in report.checked}
    for name in ("PyTorch", "numpy einsum"):
        c = checked[name]
        assert c.outcome.status == COMPUTED and c.comparison.ok, (name, c.comparison)
        assert 0 < c.comparison.max_rel <= report.rtol
    assert report.rtol < 1e-4
