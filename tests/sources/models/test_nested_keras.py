"""Keras models nested in a model (a functional backbone, a Sequential head, a keras.applications
MobileNetV2): ``layers`` lists their layers in place, named by their path, with Keras' own totals
and shapes; ``run``/``verify --layer backbone/...`` explore an inner layer on its real input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import models
import numpy as np
import pytest

from helpers import invoke

IMAGE = "samples/grace_hopper.png"  # 150×128 RGB


def _transfer(k: Any) -> Any:
    """A small transfer-learning model: Rescaling, a functional backbone with a residual block,
    a Sequential head, global pooling and a dense layer; random weights."""
    L = k.layers
    bi = k.Input((None, None, 3), name="bin")
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv1")(bi)
    y = L.DepthwiseConv2D(3, padding="same", name="block_1_depthwise")(x)
    y = L.BatchNormalization(name="block_1_bn")(y)
    y = L.Conv2D(8, 1, name="block_1_project")(y)
    x = L.Add(name="block_1_add")([x, y])
    x = L.Conv2D(12, 3, strides=2, name="conv2")(x)
    backbone = k.Model(bi, x, name="backbone")
    head = k.Sequential([k.Input((None, None, 12)), L.Conv2D(6, 1, name="pw"), L.ReLU(name="relu"),
                         L.DepthwiseConv2D(3, depth_multiplier=2, name="dw")], name="head")
    i = k.Input((None, None, 3), name="image")
    x = L.Rescaling(1 / 255, name="scale")(i)
    x = head(backbone(x))
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(3, name="out")(x)
    model = k.Model(i, x, name="transfer")
    for layer in (*backbone.layers, *head.layers, model.get_layer("out")):
        _randomise(layer)
    return model


def _randomise(layer: Any) -> None:
    rng = np.random.default_rng(sum(map(ord, layer.name)))
    weights = layer.get_weights()
    if "bn" in layer.name:  # a variance stays positive
        layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) for w in weights])
    else:
        layer.set_weights([rng.standard_normal(w.shape).astype(w.dtype) * 0.5 for w in weights])


@pytest.fixture(scope="module")
def transfer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Path]]:
    k = models.keras()
    model = _transfer(k)
    folder = tmp_path_factory.mktemp("nested")
    files = {"keras": folder / "transfer.keras", "h5": folder / "transfer.h5"}
    model.save(files["keras"])
    model.save(files["h5"])
    return model, files


def _inner_outputs(k: Any, model: Any, x: np.ndarray, prefix: str = "") -> dict[str, np.ndarray]:
    """Every layer's output as Keras computes it for ``x``, a nested model's layers by their path."""
    out: dict[str, np.ndarray] = {}
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if hasattr(layer, "layers"):  # a nested model: its own layers on the input the model gives it
            node_input = layer._inbound_nodes[0].input_tensors[0]  # noqa: SLF001
            fed = np.asarray(k.Model(model.inputs, node_input).predict_on_batch(x))
            out |= _inner_outputs(k, layer, fed, f"{prefix}{layer.name}/")
        else:
            out[prefix + layer.name] = np.asarray(k.Model(model.inputs, layer.output).predict_on_batch(x))
    return out


def _layers_json(path: Path, *args: str) -> dict[str, Any]:
    r = invoke("layers", path, *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_nested_layers_are_listed_by_path_with_keras_totals_and_shapes(transfer: tuple[Any, dict[str, Path]],
                                                                        fmt: str) -> None:
    k = models.keras()
    model, files = transfer
    doc = _layers_json(files[fmt], "--input-size", "40,36,3")
    names = [row["name"] for row in doc["layers"]]
    assert names == ["image", "scale", "backbone/conv1", "backbone/block_1_depthwise", "backbone/block_1_bn",
                     "backbone/block_1_project", "backbone/block_1_add", "backbone/conv2", "head/pw", "head/relu",
                     "head/dw", "gap", "out"]
    assert doc["totals"]["params"] == model.count_params()
    assert doc["totals"]["trainable_params"] == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    rows = {row["name"]: row for row in doc["layers"]}
    assert rows["backbone/block_1_add"]["inbound"] == ["backbone/conv1", "backbone/block_1_project"]
    assert rows["backbone/conv1"]["inbound"] == ["scale"] and rows["head/pw"]["inbound"] == ["backbone/conv2"]
    assert rows["gap"]["inbound"] == ["head/dw"]
    outputs = _inner_outputs(k, model, np.zeros((1, 40, 36, 3), np.float32))
    assert set(outputs) == set(names[1:])
    for name, y in outputs.items():
        assert rows[name]["output_shape"] == list(y.shape[1:]), name
    for inner in ("backbone", "head"):
        for layer in model.get_layer(inner).layers:
            if type(layer).__name__ != "InputLayer":
                assert rows[f"{inner}/{layer.name}"]["params"] == layer.count_params(), layer.name


def test_the_table_names_the_nested_models(transfer: tuple[Any, dict[str, Path]]) -> None:
    _, files = transfer
    r = invoke("layers", files["keras"], columns=120)
    assert r.exit_code == 0, r.output
    assert "backbone/block_1_depthwise" in r.stdout and "head/pw" in r.stdout
    assert "backbone is a nested Functional model: its 6 layers are listed as backbone/..." in " ".join(r.stdout.split())


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("layer", ["backbone/conv1", "backbone/block_1_project", "backbone/conv2", "head/pw", "head/dw"])
def test_an_inner_layer_runs_on_its_real_input(transfer: tuple[Any, dict[str, Path]], fmt: str, layer: str,
                                              tmp_path: Path) -> None:
    k = models.keras()
    model, files = transfer
    from PIL import Image

    x = np.asarray(Image.open(IMAGE).convert("RGB"), dtype=np.float32)[None]
    want = _inner_outputs(k, model, x)[layer][0]
    out = tmp_path / "out.npz"
    r = invoke("run", IMAGE, "--model", files[fmt], "--layer", layer, "--dtype", "float64", "--save", out, "-q")
    assert r.exit_code == 0, r.output
    with np.load(out) as z:
        got = z["output"]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * float(np.abs(want).max()))


def test_verify_takes_an_inner_layer(transfer: tuple[Any, dict[str, Path]]) -> None:
    _, files = transfer
    r = invoke("verify", IMAGE, "--model", files["keras"], "--layer", "backbone/block_1_depthwise", columns=120)
    assert r.exit_code == 0, r.output
    assert "'backbone/block_1_depthwise'" in r.stdout and "✓ agrees" in r.stdout


def test_a_keras_applications_backbone_totals_count_params(tmp_path_factory: pytest.TempPathFactory) -> None:
    k = models.keras()
    base = k.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35)
    i = k.Input((32, 32, 3), name="image")
    x = k.layers.GlobalAveragePooling2D(name="gap")(base(i))
    model = k.Model(i, k.layers.Dense(5, name="head")(x))
    path = tmp_path_factory.mktemp("apps") / "transfer.keras"
    model.save(path)
    doc = _layers_json(path, "--input-size", "32,32,3")
    assert doc["totals"]["params"] == model.count_params()
    rows = {row["name"]: row for row in doc["layers"]}
    prefix = f"{base.name}/"
    assert rows[prefix + "block_3_depthwise"]["output_shape"] == list(base.get_layer("block_3_depthwise").output.shape[1:])
    assert rows["head"]["output_shape"] == [5]
    assert len(doc["layers"]) == len(base.layers) - 1 + 3  # image, gap, head; the backbone's input is the image


def test_an_inner_layer_named_without_its_path_is_suggested_with_it(transfer: tuple[Any, dict[str, Path]]) -> None:
    _, files = transfer
    r = invoke("run", IMAGE, "--model", files["keras"], "--layer", "block_1_project")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == (f"Error: --layer 'block_1_project': {files['keras']} has no layer of that name; did you mean "
                        "'backbone/block_1_project'?\n")
