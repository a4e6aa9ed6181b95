"""State dicts (``.pt`` and ``.safetensors``) holding ``Conv1d`` and ``Conv3d`` weights: listed as convs of
their rank (not as other arrays), their C/g read off the weight, and run on their learned weights equal to
PyTorch's own module (a weights-only file: the stride, padding and dilation are the options')."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import invoke

torch = pytest.importorskip("torch")
nn = torch.nn


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, dict[str, Path]]:
    torch.manual_seed(11)
    model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.Conv3d(3, 2, (2, 3, 3), bias=False), nn.Conv2d(3, 5, 2))
    d = tmp_path_factory.mktemp("sd")
    torch.save(model.state_dict(), d / "m.pt")
    safetensors = pytest.importorskip("safetensors.torch")
    safetensors.save_file(model.state_dict(), str(d / "m.safetensors"))
    return model, {"pt": d / "m.pt", "safetensors": d / "m.safetensors"}


@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
def test_1d_and_3d_weights_are_listed_as_convs_of_their_rank(files, fmt: str):
    model, paths = files
    r = invoke("layers", paths[fmt], "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    rows = {layer["name"]: layer for layer in doc["layers"]}
    assert [(rows[n]["class_name"], rows[n]["kind"], rows[n]["kernel_size"]) for n in ("0", "2", "3")] == [
        ("Conv1d", "conv", [3]), ("Conv3d", "conv", [2, 3, 3]), ("Conv2d", "conv", [2, 2])]
    assert sum(layer["params"] for layer in doc["layers"]) == sum(p.numel() for p in model.parameters())
    r = invoke("layers", paths[fmt])
    assert r.exit_code == 0, r.output
    assert "2→4" in r.output and "3→2" in r.output  # C/g read off (F, C/g, *k)


@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
@pytest.mark.parametrize(("layer", "shape"), [("0", (15, 2)), ("2", (4, 6, 7, 3))])
def test_a_1d_or_3d_state_dict_layer_computes_pytorchs_module(files, fmt: str, layer: str, shape, tmp_path: Path):
    model, paths = files
    x = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = invoke("run", tmp_path / "x.npy", "--model", paths[fmt], "--layer", layer, "--save", tmp_path / "o.npz",
               "--no-partials", "-q")
    assert r.exit_code == 0, r.output
    got = np.load(tmp_path / "o.npz")["preactivation"]
    with torch.no_grad():
        want = model[int(layer)](torch.from_numpy(np.moveaxis(x, -1, 0))[None])[0].numpy()
    np.testing.assert_allclose(got, np.moveaxis(want, 0, -1), rtol=1e-5, atol=1e-5)
