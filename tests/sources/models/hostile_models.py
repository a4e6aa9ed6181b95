"""Small model files built in a test's folder, and hostile variants of them: the one ``Error:`` line
checks shared by the tests of this folder."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from helpers import ROOT, one_error  # noqa: F401  (the hostile-file tests take it from here)

SAMPLES = ROOT / "samples"
EDGES_KERAS = SAMPLES / "edges.keras"
EDGES_ONNX = SAMPLES / "edges.onnx"
EDGES_SAFETENSORS = SAMPLES / "edges.safetensors"
#: Bytes no kernel of the tests holds: a "secret" file a hostile model points at.
SECRET = b"root:x:0:0:SECRET-PASSWD-LINE:/root:/bin/bash\n" * 64


def keras_members(source: Path = EDGES_KERAS) -> dict[str, bytes]:
    """The members of a ``.keras`` archive, by name."""
    with zipfile.ZipFile(source) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_keras(path: Path, members: dict[str, bytes], *, compress: bool = False) -> Path:
    """A ``.keras`` archive of ``members`` (stored, as Keras writes it, unless ``compress``)."""
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", mode) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def edited_keras(path: Path, edit: Callable[[Any], None] | None = None,
                 config: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """``samples/edges.keras`` with its ``model.weights.h5`` changed by ``edit(h5py.File)`` and its
    ``config.json`` by ``config(dict)``, written to ``path``."""
    import h5py

    members = keras_members()
    if edit is not None:
        weights = path.parent / "model.weights.h5"
        weights.write_bytes(members["model.weights.h5"])
        with h5py.File(weights, "r+") as f:
            edit(f)
        members["model.weights.h5"] = weights.read_bytes()
        weights.unlink()
    if config is not None:
        cfg = json.loads(members["config.json"])
        config(cfg)
        members["config.json"] = json.dumps(cfg).encode()
    return write_keras(path, members)


def keras_layer(cfg: dict[str, Any], name: str) -> dict[str, Any]:
    """The config entry of the layer ``name`` of a Keras model config."""
    return next(e for e in cfg["config"]["layers"] if e["config"]["name"] == name)


def legacy_h5(path: Path, *, kernel: tuple[int, ...] = (3, 3, 3, 2), edit: Callable[[Any], None] | None = None,
              conv: dict[str, Any] | None = None) -> Path:
    """A legacy Keras ``.h5``: an input of (8, 8, 3) and one Conv2D ``conv`` (3×3, 3 → 2, a bias) that
    reads it; ``conv`` overrides entries of the Conv2D's config, ``edit(h5py.File)`` changes the file."""
    import h5py

    layer = {"name": "conv", "filters": kernel[3], "kernel_size": list(kernel[:2]), "strides": [1, 1],
             "padding": "valid", "dilation_rate": [1, 1], "groups": 1, "activation": "linear", "use_bias": True,
             "data_format": "channels_last"} | (conv or {})
    config = {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "image", "config": {"name": "image", "batch_input_shape":
                                                                [None, 8, 8, 3]}, "inbound_nodes": []},
        {"class_name": "Conv2D", "name": "conv", "config": layer, "inbound_nodes": [[["image", 0, 0, {}]]]},
    ], "input_layers": [["image", 0, 0]], "output_layers": [["conv", 0, 0]]}}
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        weights = f.create_group("model_weights")
        weights.create_group("image").attrs["weight_names"] = np.array([], dtype="S1")
        g = weights.create_group("conv")
        g.attrs["weight_names"] = np.array([b"conv/kernel:0", b"conv/bias:0"])
        g.create_dataset("conv/kernel:0", data=rng.standard_normal(kernel).astype("float32"))
        g.create_dataset("conv/bias:0", data=np.zeros(kernel[3], "float32"))
        if edit is not None:
            edit(f)
    return path


def small_image(folder: Path, channels: int = 3) -> Path:
    """An (8, 8, channels) float32 ``.npy`` in ``folder``: given as a conv layer's own input."""
    path = folder / "x.npy"
    np.save(path, np.random.default_rng(1).random((8, 8, channels)).astype("float32"))
    return path


def to_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def onnx_conv(path: Path, *, before: list[Any] | None = None, reads: str = "image",
              conv: dict[str, Any] | None = None, weight: tuple[int, ...] = (2, 3, 3, 3),
              bias: tuple[int, ...] | None = (2,), inits: list[Any] | None = None, edit: Callable[[Any], None] | None = None,
              input_shape: tuple[int, ...] = (1, 3, 8, 8)) -> Path:
    """An ONNX model: ``image`` (``input_shape``, NCHW) → the nodes ``before`` → a Conv ``conv`` reading
    ``reads`` (weight ``W`` of ``weight``, bias ``B`` of ``bias``, attributes ``conv``) → ``y``;
    ``inits`` are more initializers, ``edit(model)`` changes the model before it is saved."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(2)
    initializers = [numpy_helper.from_array(rng.standard_normal(weight).astype("float32"), "W")]
    names = [reads, "W"]
    if bias is not None:
        initializers.append(numpy_helper.from_array(np.zeros(bias, "float32"), "B"))
        names.append("B")
    node = helper.make_node("Conv", names, ["y"], name="conv", **(conv or {}))
    graph = helper.make_graph([*(before or []), node], "g",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, list(input_shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=[*initializers, *(inits or [])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if edit is not None:
        edit(model)
    onnx.save(model, str(path))
    return path


def small_png(folder: Path, size: int = 8) -> Path:
    """An RGB ``size``×``size`` PNG in ``folder``: an image, so a model runs up to the layer on it."""
    from PIL import Image

    path = folder / "img.png"
    pixels = (np.random.default_rng(3).random((size, size, 3)) * 255).astype("uint8")
    Image.fromarray(pixels).save(path)
    return path
