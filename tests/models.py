"""Real small models, built with Keras and PyTorch and saved in every format convcli reads (tests only).

Each builder skips the test when its framework is not installed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")


def keras() -> Any:
    return pytest.importorskip("keras")


def torch() -> Any:
    return pytest.importorskip("torch")


def keras_graph() -> Any:
    """A functional model with every kind convcli lists: conv (groups, dilation, 'same' at stride 2),
    depthwise, separable, transpose, batch norm, pooling, zero padding, add, concatenate, flatten, dense."""
    k = keras()
    L = k.layers
    i = k.Input((20, 22, 3), name="image")
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="stem")(i)
    x = L.BatchNormalization(name="stem_bn")(x)
    a = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False, name="dw")(x)
    b = L.Conv2D(16, (1, 3), padding="same", groups=2, dilation_rate=(1, 2), name="grouped")(x)
    x = L.Add(name="merge")([a, b])
    x = L.ZeroPadding2D(((1, 0), (2, 1)), name="zpad")(x)
    x = L.SeparableConv2D(12, 3, strides=(2, 1), name="sep")(x)
    y = L.MaxPooling2D(2, padding="same", name="pool")(x)
    z = L.AveragePooling2D(3, strides=2, padding="same", name="avg")(x)
    x = L.Concatenate(name="cat")([y, z])
    x = L.Conv2DTranspose(6, 3, strides=2, name="up")(x)
    g = L.GlobalAveragePooling2D(name="gap")(x)
    f = L.Flatten(name="flat")(x)
    f = L.Dense(5, activation="softmax", name="head")(f)
    g = L.Dense(3, name="side")(g)
    return k.Model(i, [f, g], name="graph")


def keras_sequential() -> Any:
    k = keras()
    L = k.layers
    return k.Sequential([k.Input((16, 16, 1)), L.Conv2D(4, 3, name="c1"), L.MaxPooling2D(name="p1"),
                         L.Conv2D(6, 3, padding="same", use_bias=False, name="c2"), L.Flatten(name="f"),
                         L.Dense(2, name="out")], name="seq")


def torch_net() -> Any:
    t = torch()
    nn = t.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.bn1 = nn.BatchNorm2d(8)
            self.dw = nn.Conv2d(8, 8, 3, padding=(1, 2), dilation=(1, 2), groups=8, bias=False)
            self.pool = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(8, 4, (3, 1))
            self.fc = nn.Linear(4 * 2 * 4, 10)

        def forward(self, x: Any) -> Any:
            x = t.relu(self.bn1(self.conv1(x)))
            x = self.pool(t.relu(self.dw(x)))
            x = self.conv2(x)
            return self.fc(t.flatten(x, 1))

    t.manual_seed(0)
    return Net().eval()


def randomise(model: Any, seed: int = 0) -> Any:
    """Every weight of a Keras model set to random normal values (Keras starts biases at zero, which
    would let a bias read from the wrong place pass)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights([rng.standard_normal(w.shape).astype(w.dtype) for w in layer.get_weights()])
    return model


def keras_convs() -> Any:
    """The conv kinds whose weights convcli reads, beside layers it refuses to explore: a plain conv,
    a grouped one, a depthwise one with a bias and one without, a conv without a bias; a pooling,
    a separable and a transposed conv. Random weights."""
    k = keras()
    L = k.layers
    i = k.Input((12, 12, 4), name="image")
    x = L.Conv2D(6, 3, padding="same", name="plain")(i)
    x = L.Conv2D(8, (3, 1), groups=2, name="grouped")(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, name="dw_bias")(x)
    x = L.DepthwiseConv2D((1, 3), use_bias=False, name="dw")(x)
    x = L.MaxPooling2D(name="pool")(x)
    x = L.SeparableConv2D(4, 1, name="sep")(x)
    x = L.Conv2D(5, 1, use_bias=False, name="nobias")(x)
    x = L.Conv2DTranspose(2, 2, name="up")(x)
    return randomise(k.Model(i, x, name="convs"))


def torch_convs() -> Any:
    """PyTorch's conv kinds as state-dict modules: plain, grouped (g=2), depthwise (g=C, with a
    bias), without a bias."""
    t = torch()
    nn = t.nn

    class Convs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.plain = nn.Conv2d(3, 8, 3, padding=1)
            self.grouped = nn.Conv2d(8, 6, (3, 1), groups=2)
            self.dw = nn.Conv2d(6, 12, 3, groups=6)
            self.nobias = nn.Conv2d(12, 4, 1, bias=False)

        def forward(self, x: Any) -> Any:
            return self.nobias(self.dw(self.grouped(self.plain(x))))

    t.manual_seed(1)
    return Convs().eval()


def save_torch_onnx(net: Any, path: Path, hw: tuple[int, int] = (16, 16)) -> Path:
    t = torch()
    pytest.importorskip("onnx")
    t.onnx.export(net, (t.zeros(1, 3, *hw),), str(path), input_names=["x"], output_names=["y"], dynamo=False)
    return path


def layer_block() -> Any:
    """A small residual block listed by hand (no framework, no file), every column in use: the
    snapshot of ``convcli layers``' table (tests/render/test_snapshots.py) and hand-made numbers."""
    from convcli.layer.model import Listing, ModelLayer

    L = ModelLayer
    layers = (
        L("image", "input", "InputLayer", input_shape=(None, None, 3), inbound=()),
        L("stem_pad", "zeropad", "ZeroPadding2D", pads=(0, 1, 0, 1), inbound=("image",)),
        L("stem", "conv", "Conv2D", kernel=(3, 3), strides=(2, 2), padding="valid", dilation=(1, 1), groups=1,
          in_channels=3, filters=16, use_bias=False, activation="linear", inbound=("stem_pad",)),
        L("stem_bn", "batchnorm", "BatchNormalization", in_channels=16, inbound=("stem",)),
        L("stem_relu", "other", "ReLU", inbound=("stem_bn",)),
        L("block_dw", "depthwise", "DepthwiseConv2D", kernel=(3, 3), strides=(1, 1), padding="same",
          dilation=(2, 2), depth_multiplier=1, in_channels=16, use_bias=True, activation="relu",
          inbound=("stem_relu",)),
        L("block_project\x1b[31m", "conv", "Conv2D", kernel=(1, 1), strides=(1, 1), padding="same",
          dilation=(1, 1), groups=4, in_channels=16, filters=16, use_bias=True, activation="linear",
          inbound=("block_dw",)),
        L("block_add", "add", "Add", inbound=("stem_relu", "block_project\x1b[31m")),
        L("pool", "maxpool", "MaxPooling2D", kernel=(2, 2), strides=(2, 2), padding="valid", dilation=(1, 1),
          inbound=("block_add",)),
        L("gap", "globalavgpool", "GlobalAveragePooling2D", keepdims=False, inbound=("pool",)),
        L("logits", "dense", "Dense", in_channels=16, units=10, use_bias=True, activation="softmax",
          inbound=("gap",)),
    )
    return Listing("block[red].keras", "keras", layers)


#: The input shapes of :func:`kinds_model`'s models: a signal, an image, a volume.
KINDS_SHAPES = {"m1d": (20, 3), "m2d": (6, 7, 3), "m3d": (4, 6, 6, 2)}


def kinds_model(k: Any, name: str) -> Any:
    """A small Keras model with layers of other kinds and ranks (the views' ``--model`` tests): ``m1d`` a Conv1D
    then a DepthwiseConv1D, ``m2d`` a Conv2DTranspose then a SeparableConv2D, ``m3d`` a Conv3D; randomised."""
    L = k.layers
    i = k.Input(KINDS_SHAPES[name], name="x")
    if name == "m1d":
        x = L.Conv1D(4, 3, padding="same", activation="relu", name="c1")(i)
        x = L.DepthwiseConv1D(3, depth_multiplier=2, activation="tanh", name="dw1")(x)
    elif name == "m2d":
        x = L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu", name="up")(i)
        x = L.SeparableConv2D(3, 3, depth_multiplier=2, name="sep")(x)
    else:
        x = L.Conv3D(3, 3, padding="same", activation="relu", name="c3")(i)
    return randomise(k.Model(i, x, name=name), seed=len(name) + ord(name[1]))
