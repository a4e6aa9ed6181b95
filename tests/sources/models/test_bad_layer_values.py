"""A model file's bad values are bad data: one ``Error:`` line (exit 1) naming the file, the layer and the
attribute as the format spells it, never a traceback nor a command-line flag the user did not type;
configs that disagree with their weights, or make no graph, are refused the same way."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from convcli.errors import LoadError
from convcli.layer.model import ModelLayer
from convcli.sources.models import bounds, read_model

from helpers import invoke
from hostile_models import (
    SAMPLES,
    edited_keras,
    keras_layer,
    keras_members,
    one_error,
    onnx_conv,
    small_image,
    write_keras,
)


def _keras_conv(**config: Any) -> Callable[[Path], Path]:
    """``edges.keras`` with the config of its conv ``mid`` changed (``inbound_nodes`` replaces the entry's)."""
    def build(folder: Path) -> Path:
        def edit(cfg: dict[str, Any]) -> None:
            entry = keras_layer(cfg, "mid")
            for key, value in config.items():
                (entry if key in ("inbound_nodes", "class_name") else entry["config"])[key] = value
        return edited_keras(folder / "m.keras", config=edit)
    return build


def _keras_pool(**config: Any) -> Callable[[Path], Path]:
    """``edges.keras`` whose ``mid`` is a MaxPooling2D with ``config`` (its weights taken out)."""
    def build(folder: Path) -> Path:
        def edit(cfg: dict[str, Any]) -> None:
            entry = keras_layer(cfg, "mid")
            entry["class_name"] = "MaxPooling2D"
            entry["config"] = {"name": "mid", "pool_size": [2, 2], "padding": "valid"} | config
        return edited_keras(folder / "m.keras", config=edit, edit=lambda f: f.__delitem__("layers/conv2d_1"))
    return build


def _deep_config(folder: Path) -> Path:
    deep = "[" * 100_000 + "]" * 100_000
    members = keras_members() | {"config.json": ('{"class_name": "Functional", "config": {"layers": ' + deep
                                                 + "}}").encode()}
    return write_keras(folder / "m.keras", members)


def _onnx(**kw: Any) -> Callable[[Path], Path]:
    return lambda folder: onnx_conv(folder / "m.onnx", **kw)


def _onnx_attr(node: int, key: str, value: Any, **kw: Any) -> Callable[[Path], Path]:
    """An ONNX conv model whose node ``node`` gets the attribute ``key`` of ``value`` (a float: Infinity)."""
    from onnx import helper

    def edit(model: Any) -> None:
        model.graph.node[node].attribute.append(helper.make_attribute(key, value))
    return _onnx(edit=edit, **kw)


def _weight_dims(dims: list[int]) -> Callable[[Path], Path]:
    """An ONNX conv model whose weight ``W`` declares ``dims`` (its values are not read)."""
    def edit(model: Any) -> None:
        del model.graph.initializer[0].dims[:]
        model.graph.initializer[0].dims.extend(dims)
    return _onnx(edit=edit)


def _node(op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> list[Any]:
    from onnx import helper

    return [helper.make_node(op, inputs, [output], name=name, **attrs)]


def _pool(**attrs: Any) -> list[Any]:
    return _node("MaxPool", ["image"], "p", "pool", **({"kernel_shape": [2, 2]} | attrs))


def _safetensors(shape: list[int]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        header = json.dumps({"w.weight": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]}}).encode()
        path = folder / "m.safetensors"
        path.write_bytes(struct.pack("<Q", len(header)) + header)
        return path
    return build


def _data_type_99(model: Any) -> None:
    model.graph.initializer[0].data_type = 99


LAYER = {"keras": "mid", "onnx": "conv", "safetensors": "w"}

#: label: (the file, the layer run, what the one line says)
CASES: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    # tracebacks before
    "a config nested past the stack": (_deep_config, "mid", "config.json is nested too deeply to read"),
    "groups 'abc'": (_keras_conv(groups="abc"), "mid", "layer 'mid': its groups is 'abc'; it must be a whole number"),
    "groups [2]": (_keras_conv(groups=[2]), "mid", "layer 'mid': its groups is [2]"),
    "groups Infinity": (_keras_conv(groups=float("inf")), "mid", "layer 'mid': its groups is inf"),
    "depth_multiplier 'x'": (_keras_conv(class_name="DepthwiseConv2D", depth_multiplier="x"), "mid",
                             "layer 'mid': its depth_multiplier is 'x'"),
    "inbound_nodes a dict": (_keras_conv(inbound_nodes={"a": 1}), "mid", "its inbound_nodes are not a list"),
    "inbound_nodes a number": (_keras_conv(inbound_nodes=5), "mid", "its inbound_nodes are not a list"),
    "keras pool stride 0": (_keras_pool(strides=[0, 0]), "edges", "layer 'mid': its strides is (0, 0)"),
    "onnx pool stride 0": (_onnx(before=_pool(strides=[0, 0]), reads="p"), "conv", "layer 'pool': its strides is (0, 0)"),
    "onnx group Infinity": (_onnx_attr(0, "group", float("inf")), "conv", "its group attribute is inf"),
    "onnx concat axis Infinity": (_onnx_attr(0, "axis", float("inf"), weight=(2, 6, 3, 3), reads="c",
                                              before=_node("Concat", ["image", "image"], "c", "cat")),
                                  "conv", "node 'cat' (Concat): its axis attribute is inf"),
    "an initializer of data_type 99": (_onnx(edit=_data_type_99), "conv", "W holds data type 99 values"),
    "pads [-1, 0, 0, 0]": (_onnx(conv={"pads": [-1, 0, 0, 0]}), "conv", "layer 'conv': its pads is (-1, 0, 0, 0)"),
    "a zero-element safetensors weight": (_safetensors([0, 3, 3, 2**62]), "w", "layer 'w': its array 'weight' is"),
    # exit 2 and a flag before
    "filters 'many'": (_keras_conv(filters="many"), "mid", "layer 'mid': its filters is 'many'"),
    "filters None": (_keras_conv(filters=None), "mid", "layer 'mid': its filters is None"),
    "filters 0": (_keras_conv(filters=0), "mid", "layer 'mid': its filters is 0"),
    "kernel -3": (_keras_conv(kernel_size=-3), "mid", "layer 'mid': its kernel_size is (-3, -3)"),
    "kernel 10^12": (_keras_conv(kernel_size=10**12), "mid", "layer 'mid': its kernel_size is (1000000000000,"),
    "keras stride 0": (_keras_conv(strides=0), "mid", "layer 'mid': its strides is (0, 0)"),
    "onnx group 0": (_onnx(conv={"group": 0}), "conv", "layer 'conv': its group is 0"),
    "onnx group -1": (_onnx(conv={"group": -1}), "conv", "layer 'conv': its group is -1"),
    "onnx stride -1": (_onnx(conv={"strides": [-1, -1]}), "conv", "layer 'conv': its strides is (-1, -1)"),
    "onnx weight dimension 2^62": (_weight_dims([2, 3, 3, 2**62]), "conv", "layer 'conv': its array 'W' is"),
    # configs that disagree with their weights, or make no graph
    "groups that do not divide the channels": (_keras_conv(groups=3), "mid",
                                               "layer 'mid': groups 3 does not divide the 8 input channels"),
    "kernel_shape 5x5 with a 3x3 weight": (_onnx(conv={"kernel_shape": [5, 5]}), "conv",
                                           "its kernel_shape [5, 5] disagrees with its weight 'W' of (2, 3, 3, 3)"),
    "a bias of 7 for 2 filters": (_onnx(bias=(7,)), "conv", "its bias 'B' is (7,), not (2,)"),
    "pads of length 3": (_onnx(conv={"pads": [1, 1, 1]}), "conv", "its pads attribute has 3 values"),
    "a MaxPool window of 0": (_onnx(before=_pool(kernel_shape=[0, 0]), reads="p"), "conv",
                              "layer 'pool': its kernel_shape is (0, 0)"),
    "a keras pool size of -2": (_keras_pool(pool_size=[-2, -2]), "edges", "layer 'mid': its pool_size is (-2, -2)"),
    "a conv reading a tensor nothing makes": (_onnx(reads="ghost"), "conv",
                                              "it reads 'ghost', which no input, initializer or earlier node makes"),
    "a conv reading its own output through a cycle": (
        _onnx(before=_node("Relu", ["y"], "r", "relu"), reads="r"), "conv",
        "node 'relu' (Relu): it reads 'y'"),
}


@pytest.mark.parametrize("label", list(CASES))
def test_a_bad_value_in_the_file_is_one_line_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, label: str) -> None:
    monkeypatch.chdir(tmp_path)
    build, layer, says = CASES[label]
    model = build(tmp_path)
    small_image(tmp_path)
    r = invoke("run", "x.npy", "--model", model.name, "--layer", layer, "--save", "out.npz")
    assert r.exit_code == 1, r.output
    line = one_error(r.stderr, f"Error: {model.name}: ", says)
    assert " --" not in line  # no flag the user did not type
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("label", ["keras pool stride 0", "onnx pool stride 0", "a MaxPool window of 0"])
def test_a_bad_pool_is_refused_by_the_listing_with_an_input_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  label: str) -> None:
    monkeypatch.chdir(tmp_path)
    build, _, says = CASES[label]
    r = invoke("layers", build(tmp_path).name, "--input-size", "16,16,3")
    assert r.exit_code == 1, r.output
    one_error(r.stderr, says)


@pytest.mark.parametrize(("layer", "says"), [
    (ModelLayer(name="c", kind="conv", class_name="Conv", kernel=(3, 3), strides=(1, 1), dilation=(1, 2**20)),
     "its dilations is (1, 1048576)"),
    (ModelLayer(name="c", kind="conv", class_name="Conv", kernel=(3, True)), "its kernel_shape is (3, True)"),
    (ModelLayer(name="c", kind="dense", class_name="Gemm", units=0), "its units is 0"),
    (ModelLayer(name="c", kind="conv", class_name="Conv", weights={"W": (0, 3, 3, 3)}), "(no empty weights)"),
])
def test_check_layer_names_the_attribute_as_the_format_spells_it(layer: ModelLayer, says: str) -> None:
    with pytest.raises(LoadError, match="^m.onnx: layer 'c': ") as caught:
        bounds.check_layer("m.onnx", layer, "onnx")
    assert says in str(caught.value)


def test_an_empty_array_beside_a_non_weight_node_is_kept() -> None:
    """An exporter's empty ``roi`` input of a Resize is no weight: not refused."""
    bounds.check_layer("m.onnx", ModelLayer(name="r", kind="other", class_name="Resize", weights={"roi": (0,)}),
                       "onnx")


def test_the_samples_keep_their_bounds() -> None:
    for name in ("edges.keras", "edges.onnx", "edges.safetensors"):
        assert read_model(SAMPLES / name).layers


def test_groups_that_do_not_divide_the_input_found_by_the_walk_are_bad_data(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A config-only file whose conv does not say its input channels: the walk of --input-size finds them."""
    monkeypatch.chdir(tmp_path)

    def edit(cfg: dict[str, Any]) -> None:
        entry = keras_layer(cfg, "mid")
        entry["config"]["groups"] = 3
        del entry["build_config"]

    members = keras_members(edited_keras(tmp_path / "k.keras", config=edit))
    del members["model.weights.h5"]
    write_keras(tmp_path / "c.keras", members)
    r = invoke("layers", "c.keras", "--input-size", "16,16,3")
    assert r.exit_code == 1, r.output
    one_error(r.stderr, "layer 'mid' (Conv2D): groups 3 does not divide the 8 input channels")
