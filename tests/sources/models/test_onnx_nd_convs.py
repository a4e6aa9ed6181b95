"""ONNX files with 1-D and 3-D convolutions and transposed ones, as PyTorch's exporter writes them
(``Conv1d``/``Conv3d`` with ``padding=``, ``ConvTranspose1d``/``ConvTranspose3d``): listed with PyTorch's
parameter count and every layer's output shape, and each conv layer computed equal to PyTorch's own
output at that layer (its input made by ONNX Runtime from the file)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import invoke

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
nn = torch.nn


def _models() -> dict[str, tuple[Any, tuple[int, ...]]]:
    torch.manual_seed(3)
    one = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv1d(4, 4, 3, padding=2, dilation=2),
                        nn.ConvTranspose1d(4, 3, 3, stride=2), nn.Tanh(), nn.Conv1d(3, 2, 5, stride=2, groups=1))
    three = nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv3d(4, 4, (1, 3, 3), stride=(1, 2, 2)),
                          nn.ConvTranspose3d(4, 3, 2, stride=2), nn.Conv3d(3, 2, 3, groups=1))
    return {"one": (one, (1, 2, 20)), "three": (three, (1, 2, 5, 9, 10))}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Path, Path, dict[str, Any]]]:
    """Each model exported by the TorchScript exporter, an input file (channels-last) and each conv's output."""
    out = {}
    for name, (model, shape) in _models().items():
        d = tmp_path_factory.mktemp(name)
        x = torch.randn(*shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model.eval(), (x,), str(d / "m.onnx"), dynamo=False)
        seen: dict[str, Any] = {}
        for i, m in enumerate(model):
            m.register_forward_hook(lambda mod, inp, o, i=i, seen=seen: seen.__setitem__(i, o.detach()[0].numpy()))
        with torch.no_grad():
            model(x)
        np.save(d / "x.npy", np.moveaxis(x[0].numpy(), 0, -1))  # (C, *S) -> (*S, C)
        out[name] = (model, d / "m.onnx", d / "x.npy", seen)
    return out


def _listing(path: Path, size: tuple[int, ...]) -> dict[str, Any]:
    r = invoke("layers", path, "--input-size", ",".join(map(str, size)), "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize("name", ["one", "three"])
def test_listed_with_pytorchs_count_and_every_output_shape(exported, name: str):
    model, path, x_path, seen = exported[name]
    size = np.load(x_path).shape
    doc = _listing(path, size)
    layers = [layer for layer in doc["layers"] if layer["kind"] != "input"]
    assert sum(layer["params"] for layer in layers) == sum(p.numel() for p in model.parameters())
    assert len(layers) == len(model)
    for i, layer in enumerate(layers):
        assert tuple(layer["output_shape"]) == np.moveaxis(seen[i], 0, -1).shape, layer["name"]
    kinds = [layer["kind"] for layer in layers if layer["kind"] in ("conv", "transpose")]
    assert kinds == ["transpose" if isinstance(m, nn.ConvTranspose1d | nn.ConvTranspose3d) else "conv"
                     for m in model if isinstance(m, nn.Conv1d | nn.Conv3d | nn.ConvTranspose1d | nn.ConvTranspose3d)]


@pytest.mark.parametrize("name", ["one", "three"])
def test_every_conv_layer_computes_pytorchs_output(exported, name: str, tmp_path: Path):
    model, path, x_path, seen = exported[name]
    doc = _listing(path, np.load(x_path).shape)
    layers = [layer for layer in doc["layers"] if layer["kind"] != "input"]
    for i, layer in enumerate(layers):
        if layer["kind"] not in ("conv", "transpose"):
            continue
        save = tmp_path / f"{i}.npz"
        r = invoke("run", x_path, "--model", path, "--layer", layer["name"], "--activation", "linear",
                   "--save", save, "--no-partials", "-q")
        assert r.exit_code == 0, r.output
        got = np.load(save)["preactivation"]
        want = np.moveaxis(seen[i], 0, -1)
        assert got.shape == want.shape, layer["name"]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(want).max())),
                                   err_msg=layer["name"])
