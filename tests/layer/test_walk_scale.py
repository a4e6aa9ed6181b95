"""A listing is walked in linear time: a long chain of layers adds each window to its receptive
field once (not the whole chain again per layer), and a config past the stated size is refused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from convcli.layer import model as layer_model
from convcli.layer.receptive import receptive_field
from convcli.layer.spec import ConvSpec
from convcli.sources.models import keras_config


def _chain_config(n: int) -> dict[str, Any]:
    """A functional config: an input, then ``n`` layers in a chain (1×1 convs and ReLUs by turns,
    every fourth a 2×2 pooling of stride 1)."""
    layers: list[dict[str, Any]] = [{"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [None, 8, 8, 3]},
                                     "inbound_nodes": []}]
    prev = "in"
    for i in range(n):
        cls, cfg = [("Conv2D", {"filters": 3, "kernel_size": 1}), ("ReLU", {}), ("Conv2D", {"filters": 3, "kernel_size": 1}),
                    ("MaxPooling2D", {"pool_size": 1, "strides": 1})][i % 4]
        name = f"l{i}"
        layers.append({"class_name": cls, "config": {"name": name, **cfg}, "inbound_nodes": [
            {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": [prev, 0, 0]}}], "kwargs": {}}]})
        prev = name
    return {"class_name": "Functional", "config": {"name": "long", "layers": layers}}


def test_a_long_chain_never_recounts_its_receptive_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each layer's receptive field comes from the one before it: the whole-chain function (which a
    transpose needs) is never called on a chain without one, so the walk is linear."""
    calls = []
    monkeypatch.setattr(layer_model, "receptive_field", lambda specs: calls.append(len(specs)))
    listing = keras_config.listing("long.keras", "keras", _chain_config(2000), None, "model.weights.h5")
    a = layer_model.analyse(listing, (8, 8, 3))
    assert calls == []
    assert a.layers[-1].out_shape == (8, 8, 3) and a.layers[-1].receptive_field == (1, 1)
    assert a.params == 1000 * (3 * 3 + 3) and a.macs == 1000 * 64 * 9


def test_the_receptive_field_grows_as_the_textbook_recursion_says() -> None:
    """3×3 stride 2, then 3×3: 3, then 3 + 2·2 = 7; a transpose after them: the whole chain's number."""
    config = _chain_config(4)
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, 32, 32, 3]
    for entry, s in zip(config["config"]["layers"][1::2], (2, 1), strict=True):
        entry["config"] |= {"kernel_size": 3, "strides": s}
    config["config"]["layers"].append({"class_name": "Conv2DTranspose", "config": {
        "name": "up", "filters": 3, "kernel_size": 3, "strides": 2}, "inbound_nodes": [
        {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["l3", 0, 0]}}], "kwargs": {}}]})
    a = layer_model.analyse(keras_config.listing("m.keras", "keras", config, None, "w"), (32, 32, 3))
    by_name = {n.layer.name: n for n in a.layers}
    assert by_name["l0"].receptive_field == (3, 3) and by_name["l2"].receptive_field == (7, 7)
    assert by_name["l2"].effective_stride == (2, 2) and by_name["up"].effective_stride == (1, 1)
    pool = ConvSpec("conv", 1, 1, (1, 1))
    chain = [ConvSpec("conv", 3, 3, (3, 3), stride=(2, 2)), ConvSpec("conv", 3, 3, (3, 3)), pool,
             ConvSpec("transpose", 3, 3, (3, 3), stride=(2, 2))]
    assert by_name["up"].receptive_field == receptive_field(chain)


def _write_keras(path: Path, config: dict[str, Any]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("metadata.json", "{}")
    return path


def test_a_long_keras_config_lists_whole(cli: Any, tmp_path: Path) -> None:
    path = _write_keras(tmp_path / "long.keras", _chain_config(5000))
    r = cli("layers", path, "--input-size", "8,8,3", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["totals"]["layers"] == 5001 and doc["totals"]["params"] == 2500 * 12


def test_a_config_past_the_stated_size_is_one_error_line(cli: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras_config, "MAX_LAYERS", 100)
    path = _write_keras(tmp_path / "huge.keras", _chain_config(100))
    r = cli("layers", path)
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr == f"Error: {path}: the config lists 101 layers; convcli lists at most 100\n"
