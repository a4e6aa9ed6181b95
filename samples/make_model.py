"""Train the sample model samples/edges.* (see samples/README.md, "The sample model").

Usage: KERAS_BACKEND=torch python samples/make_model.py [--out DIR] [--filters PNG]

A small convolutional autoencoder trained on patches of samples/grace_hopper.jpg, so that its first
layer (``edges``) holds real learned filters: oriented edge and colour-opponent detectors. Writes
``edges.keras`` (Keras 3), ``edges.onnx`` (built by hand with onnx.helper from the trained weights,
checked against Keras with onnxruntime) and ``edges.safetensors`` (the weights in PyTorch layout).
Needs keras 3 with the torch backend, torch, Pillow, onnx, onnxruntime and safetensors; about a
minute on one CPU core. Seeded and single-threaded: the same versions give the same weights.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
PHOTO = HERE / "grace_hopper.jpg"

SEED = 14
SHRINK = 2  # the photo at half size (256 × 300): more edges per 5×5 window
PATCHES, PATCH = 2000, 32
NOISE = 20.0  # std of the Gaussian noise added to the inputs, in 0..255 units (denoising)
SIGMA = 1.5  # the target is the clean patch minus its Gaussian blur of this std (its detail)
ACTIVITY_L1 = 1e-6  # sparse codes in `edges`
WEIGHT_L2 = 3e-4  # clears the initial noise from the `edges` kernels
EPOCHS, BATCH, LEARNING_RATE = 40, 64, 3e-3
ONNX_OPSET = 17
TOLERANCE = 1e-4
SHARED_ID = re.compile(r'("shared_object_id": )(\d+)')


def torch_backend() -> tuple[Any, Any]:
    """keras and torch, seeded, deterministic and on one thread."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import torch

    if keras.backend.backend() != "torch":
        raise SystemExit(f"needs KERAS_BACKEND=torch, not {keras.backend.backend()}")
    torch.set_num_threads(1)  # a sum's order depends on the threads: one thread, one order
    torch.use_deterministic_algorithms(True)
    keras.utils.set_random_seed(SEED)
    return keras, torch


def photo(shrink: int = SHRINK) -> np.ndarray:
    """The sample photo, ``(H, W, 3)`` float32 in 0..255, shrunk ``shrink`` times (LANCZOS)."""
    with Image.open(PHOTO) as img:
        rgb = img.convert("RGB")
    if shrink > 1:
        rgb = rgb.resize((rgb.width // shrink, rgb.height // shrink), Image.Resampling.LANCZOS)
    return np.asarray(rgb, dtype=np.float32)


def blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur over axes 1 and 2 of ``(N, H, W, C)`` (separable, edges reflected, 4σ wide)."""
    r = int(4 * sigma + 0.5)
    t = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    out = x.astype(np.float64)
    for axis in (1, 2):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (r, r)
        padded = np.pad(out, pad, mode="symmetric")
        n = out.shape[axis]
        out = sum(w * np.take(padded, range(i, i + n), axis=axis) for i, w in enumerate(g))
    return out.astype(np.float32)


def training_data() -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, targets)``: noisy patches in 0..255, and each clean patch's detail in the model's
    centred units (``x/127.5 - 1`` minus its blur)."""
    rng = np.random.default_rng(SEED)
    img = photo()
    ys = rng.integers(0, img.shape[0] - PATCH + 1, PATCHES)
    xs = rng.integers(0, img.shape[1] - PATCH + 1, PATCHES)
    x = np.stack([img[y:y + PATCH, x0:x0 + PATCH] for y, x0 in zip(ys, xs, strict=True)])
    flip = rng.random(PATCHES) < 0.5
    x[flip] = x[flip, :, ::-1]
    centred = x / 127.5 - 1.0
    target = centred - blur(centred, SIGMA)
    noisy = x + rng.normal(0.0, NOISE, x.shape).astype(np.float32)
    return noisy, target


def build(keras: Any) -> Any:
    """The autoencoder: scale → edges (8 5×5 filters) → mid (16, stride 2) → decode (back to 3)."""
    L = keras.layers
    image = keras.Input((None, None, 3), name="image")
    x = L.Rescaling(1 / 127.5, offset=-1.0, name="scale")(image)
    x = L.Conv2D(8, 5, padding="same", activation="relu", name="edges",
                 kernel_initializer=keras.initializers.RandomNormal(stddev=0.05, seed=SEED),
                 kernel_regularizer=keras.regularizers.L2(WEIGHT_L2),
                 activity_regularizer=keras.regularizers.L1(ACTIVITY_L1))(x)
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="mid")(x)
    x = L.Conv2DTranspose(3, 4, strides=2, padding="same", name="decode")(x)
    return keras.Model(image, x, name="edges")


def train(keras: Any) -> Any:
    model = build(keras)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    inputs, targets = training_data()
    history = model.fit(inputs, targets, batch_size=BATCH, epochs=EPOCHS, shuffle=True, verbose=0)
    losses = history.history["loss"]
    print(f"trained {EPOCHS} epochs on {PATCHES} patches: loss {losses[0]:.5f} -> {losses[-1]:.5f}")
    return model


def weights(model: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{layer: (kernel, bias)}`` in Keras layout, float32."""
    out = {}
    for name in ("edges", "mid", "decode"):
        kernel, bias = (np.asarray(v.numpy(), dtype=np.float32) for v in model.get_layer(name).weights)
        out[name] = (kernel, bias)
    return out


def torch_layout(w: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """PyTorch's names and layouts: a Conv2d weight ``(F, C, kh, kw)``, a ConvTranspose2d weight
    ``(C, F, kh, kw)`` (both Keras' kernel with its axes turned by ``(3, 2, 0, 1)``)."""
    out = {}
    for name, (kernel, bias) in w.items():
        out[f"{name}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
        out[f"{name}.bias"] = bias
    return out


def renumber_shared(config: str) -> str:
    """Each ``shared_object_id`` (an ``id()``, new every run) as 1, 2, ... in order of appearance."""
    ids: dict[str, str] = {}
    return SHARED_ID.sub(lambda m: m[1] + ids.setdefault(m[2], str(len(ids) + 1)), config)


def save_keras(keras: Any, model: Any, path: Path) -> None:
    """``model.save`` of an uncompiled copy (no optimizer state: a third of the size), then the archive
    rewritten without what changes from run to run: the zip's timestamps, ``date_saved`` in
    metadata.json and, in config.json, the ``shared_object_id`` numbers (Python's ``id()`` of an
    object two layers share, renumbered 1, 2, ... in order). Members stay uncompressed, as Keras
    writes them."""
    clean = build(keras)
    clean.set_weights(model.get_weights())
    clean.save(path)
    with zipfile.ZipFile(path) as zf:
        members = [(info.filename, zf.read(info)) for info in zf.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members:
            if name == "metadata.json":
                meta = json.loads(data)
                meta.pop("date_saved", None)
                data = json.dumps(meta).encode()
            if name == "config.json":
                data = renumber_shared(data.decode()).encode()
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, data)
    path.write_bytes(buf.getvalue())


def sort_metadata(path: Path) -> None:
    """safetensors writes ``__metadata__`` in a hash map's order, a new one each run: rewrite the
    header with the keys sorted (the same bytes, so the same length; tensors untouched)."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    if len(text) > n:
        raise SystemExit(f"{path}: the sorted header is longer than the original")
    path.write_bytes(data[:8] + text.ljust(n) + data[8 + n:])


def onnx_model(w: dict[str, tuple[np.ndarray, np.ndarray]]) -> Any:
    """The same network as an NCHW ONNX graph, nodes named like the Keras layers."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    t = torch_layout(w)
    inits = [numpy_helper.from_array(np.array(1 / 127.5, dtype=np.float32), "scale.factor"),
             numpy_helper.from_array(np.array(-1.0, dtype=np.float32), "scale.offset")]
    inits += [numpy_helper.from_array(arr, name) for name, arr in t.items()]
    nodes = [
        helper.make_node("Mul", ["image", "scale.factor"], ["scaled"], name="scale"),
        helper.make_node("Add", ["scaled", "scale.offset"], ["centred"], name="scale_offset"),
        helper.make_node("Conv", ["centred", "edges.weight", "edges.bias"], ["edges_linear"], name="edges",
                         kernel_shape=[5, 5], pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["edges_linear"], ["edges"], name="edges_relu"),
        # Keras' "same" at stride 2 pads the extra row and column at the end: SAME_UPPER
        helper.make_node("Conv", ["edges", "mid.weight", "mid.bias"], ["mid_linear"], name="mid",
                         kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("Relu", ["mid_linear"], ["mid"], name="mid_relu"),
        helper.make_node("ConvTranspose", ["mid", "decode.weight", "decode.bias"], ["decode"], name="decode",
                         kernel_shape=[4, 4], strides=[2, 2], auto_pad="SAME_UPPER"),
    ]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])
    out = helper.make_tensor_value_info("decode", TensorProto.FLOAT, ["N", 3, "H2", "W2"])
    graph = helper.make_graph(nodes, "edges", [image], [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              producer_name="convcli samples/make_model.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def check_onnx(model: Any, path: Path) -> float:
    """The largest difference between onnxruntime on ``path`` and Keras, on crops of the photo of an
    even and an odd size; fails past TOLERANCE."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    img = photo(shrink=1)
    worst = 0.0
    for h, w in ((64, 96), (75, 61)):
        crop = img[200:200 + h, 150:150 + w][None]
        want = model.predict(crop, verbose=0)
        nchw = np.ascontiguousarray(crop.transpose(0, 3, 1, 2))
        got = session.run(None, {"image": nchw})[0].transpose(0, 2, 3, 1)
        if got.shape != want.shape:
            raise SystemExit(f"onnx output {got.shape} != keras {want.shape} on a {h}x{w} crop")
        worst = max(worst, float(np.abs(got - want).max()))
    print(f"onnxruntime vs keras: max abs diff {worst:.3g}")
    if worst >= TOLERANCE:
        raise SystemExit(f"edges.onnx differs from the Keras model by {worst:.3g} (>= {TOLERANCE})")
    return worst


def filter_sheet(kernel: np.ndarray, path: Path, zoom: int = 16) -> None:
    """The ``(5, 5, 3, 8)`` kernels as one PNG: each filter scaled to ±its largest weight, grey = 0."""
    tiles = []
    for f in range(kernel.shape[-1]):
        k = kernel[..., f]
        k = k / (np.abs(k).max() + 1e-12) * 0.5 + 0.5
        tiles.append(np.kron(k, np.ones((zoom, zoom, 1))))
        tiles.append(np.ones((kernel.shape[0] * zoom, 4, 3)))
    sheet = np.concatenate(tiles[:-1], axis=1)
    Image.fromarray(np.round(sheet * 255).astype(np.uint8)).save(path)


def make(out: Path, filters_png: Path | None = None) -> list[Path]:
    keras, _ = torch_backend()
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    model = train(keras)
    w = weights(model)
    keras_path, onnx_path, st_path = out / "edges.keras", out / "edges.onnx", out / "edges.safetensors"
    save_keras(keras, model, keras_path)
    onnx_path.write_bytes(onnx_model(w).SerializeToString())
    check_onnx(model, onnx_path)
    meta = {"source": "samples/make_model.py: the weights of samples/edges.keras",
            "layout": "PyTorch: Conv2d weight (F, C, kh, kw); ConvTranspose2d weight (C, F, kh, kw)",
            "layers": "scale (x/127.5 - 1), edges Conv2d(3, 8, 5, padding=2) + relu, "
                      "mid Conv2d(8, 16, 3, stride=2, 'same') + relu, "
                      "decode ConvTranspose2d(16, 3, 4, stride=2, 'same')"}
    save_file(torch_layout(w), str(st_path), metadata=meta)
    sort_metadata(st_path)
    if filters_png is not None:
        filter_sheet(w["edges"][0], filters_png)
    return [keras_path, onnx_path, st_path]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="where to write the model files")
    parser.add_argument("--filters", type=Path, default=None, help="also write the edges filters as a PNG")
    args = parser.parse_args(argv)
    for path in make(args.out, args.filters):
        print(f"{path}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
