"""Regenerate ``param_golden.json``: parameter counts and output shapes of 2-D conv layers, from Keras 3
and PyTorch, so that ``tests/layer/test_params.py`` can check ``convcli.layer`` without either installed.

Run from the repository root (needs keras and torch; TensorFlow is not needed)::

    KERAS_BACKEND=torch python tests/golden/make_param_golden.py

- ``params``: Keras ``count_params()`` of ``Conv2D`` (with ``groups``), ``DepthwiseConv2D``
  (``depth_multiplier``), ``SeparableConv2D`` and ``Conv2DTranspose``, with and without bias; PyTorch's
  ``sum(p.numel())`` of ``nn.Conv2d`` and ``nn.ConvTranspose2d`` with groups (Keras' Conv2DTranspose
  has none). ``weights`` / ``biases`` split the total by the variables' names.
- ``output_shapes``: the shape Keras produces on a zero input of each kind, padding ``valid`` and
  ``same``, with strides (also larger than the kernel) and dilation.

This script never imports convcli: the goldens must not depend on the code they check.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

OUT = Path(__file__).with_name("param_golden.json")
KERAS = f"keras {keras.__version__} ({keras.backend.backend()} backend)"
TORCH = f"torch {torch.__version__}"

KERAS_LAYERS = {
    "conv": keras.layers.Conv2D,
    "depthwise": keras.layers.DepthwiseConv2D,
    "separable": keras.layers.SeparableConv2D,
    "transpose": keras.layers.Conv2DTranspose,
}


def pair(v):
    return [v, v] if isinstance(v, int) else list(v)


def keras_layer(kind, filters, kernel, groups=1, depth_multiplier=1, use_bias=True, **geometry):
    kw = dict(kernel_size=tuple(pair(kernel)), use_bias=use_bias, **geometry)
    if kind != "depthwise":
        kw["filters"] = filters
    if kind == "conv":
        kw["groups"] = groups
    if kind in ("depthwise", "separable"):
        kw["depth_multiplier"] = depth_multiplier
    return KERAS_LAYERS[kind](**kw)


def keras_params(kind, c, filters, kernel, groups=1, depth_multiplier=1, use_bias=True):
    layer = keras_layer(kind, filters, kernel, groups, depth_multiplier, use_bias)
    layer.build((None, 9, 9, c))
    biases = sum(int(np.prod(w.shape)) for w in layer.weights if w.name == "bias")
    total = int(layer.count_params())
    return {
        "framework": KERAS,
        "layer": type(layer).__name__,
        "kind": kind,
        "in_channels": c,
        "filters": filters,
        "kernel": pair(kernel),
        "groups": groups,
        "depth_multiplier": depth_multiplier,
        "use_bias": use_bias,
        "variables": {w.name: list(w.shape) for w in layer.weights},
        "weights": total - biases,
        "biases": biases,
        "total": total,
    }


def torch_params(kind, c, filters, kernel, groups, use_bias):
    cls = torch.nn.Conv2d if kind == "conv" else torch.nn.ConvTranspose2d
    m = cls(c, filters, tuple(pair(kernel)), groups=groups, bias=use_bias)
    biases = m.bias.numel() if m.bias is not None else 0
    total = sum(p.numel() for p in m.parameters())
    return {
        "framework": TORCH,
        "layer": cls.__name__,
        "kind": kind,
        "in_channels": c,
        "filters": filters,
        "kernel": pair(kernel),
        "groups": groups,
        "depth_multiplier": 1,
        "use_bias": use_bias,
        "variables": {n: list(p.shape) for n, p in m.named_parameters()},
        "weights": total - biases,
        "biases": biases,
        "total": total,
    }


def keras_shape(kind, h, w, c, filters, kernel, stride=1, padding="valid", dilation=1, depth_multiplier=1):
    layer = keras_layer(kind, filters, kernel, depth_multiplier=depth_multiplier,
                        strides=tuple(pair(stride)), padding=padding, dilation_rate=tuple(pair(dilation)))
    y = layer(np.zeros((1, h, w, c), dtype="float32"))
    return {
        "framework": KERAS,
        "layer": type(layer).__name__,
        "kind": kind,
        "input": [h, w, c],
        "filters": filters,
        "kernel": pair(kernel),
        "stride": pair(stride),
        "padding": padding,
        "dilation": pair(dilation),
        "depth_multiplier": depth_multiplier,
        "output": [int(v) for v in tuple(y.shape)[1:]],
    }


def main():
    params = []
    for use_bias in (True, False):
        for c, f, k, g in [(3, 1, 2, 1), (1, 1, 3, 1), (3, 16, 3, 1), (64, 128, 3, 1), (64, 128, 1, 1),
                           (4, 6, 3, 2), (32, 64, (3, 5), 4), (16, 16, 3, 16), (12, 24, (1, 7), 3)]:
            params.append(keras_params("conv", c, f, k, groups=g, use_bias=use_bias))
        for c, k, m in [(3, 3, 1), (32, 3, 1), (8, 5, 2), (3, (3, 1), 4), (1, 1, 1)]:
            params.append(keras_params("depthwise", c, None, k, depth_multiplier=m, use_bias=use_bias))
        for c, f, k, m in [(3, 1, 2, 1), (64, 128, 3, 1), (32, 16, 5, 2), (8, 8, (3, 5), 3)]:
            params.append(keras_params("separable", c, f, k, depth_multiplier=m, use_bias=use_bias))
        for c, f, k in [(3, 1, 2), (64, 32, 3), (16, 8, 4), (8, 3, (2, 5))]:
            params.append(keras_params("transpose", c, f, k, use_bias=use_bias))
        for c, f, k, g in [(4, 6, 3, 2), (32, 64, (3, 5), 4), (16, 16, 3, 16), (3, 9, 3, 3)]:
            params.append(torch_params("conv", c, f, k, g, use_bias))
        for c, f, k, g in [(4, 6, 3, 2), (32, 64, 4, 8), (6, 3, (2, 3), 3), (8, 4, 3, 1)]:
            params.append(torch_params("transpose", c, f, k, g, use_bias))

    shapes = []
    for kind in ("conv", "depthwise", "separable"):
        f = None if kind == "depthwise" else 5
        for h, w, k, s, pad, d in [(9, 9, 3, 1, "valid", 1), (9, 9, 3, 1, "same", 1), (9, 7, 3, 2, "valid", 1),
                                   (9, 7, 3, 2, "same", 1), (10, 11, (3, 5), (2, 3), "same", 1),
                                   (12, 12, 3, 1, "valid", 2), (12, 12, 3, 1, "same", 3), (8, 8, 1, 3, "valid", 1)]:
            shapes.append(keras_shape(kind, h, w, 3, f, k, s, pad, d, depth_multiplier=2 if kind != "conv" else 1))
    for h, w, k, s, pad in [(5, 5, 3, 1, "valid"), (5, 5, 3, 1, "same"), (5, 7, 3, 2, "valid"),
                            (5, 7, 3, 2, "same"), (4, 4, 4, 2, "valid"), (4, 4, 4, 2, "same"),
                            (3, 3, 2, 3, "valid"), (3, 3, 2, 3, "same"), (6, 5, (2, 5), (2, 1), "valid"),
                            (6, 5, 1, 2, "valid")]:
        shapes.append(keras_shape("transpose", h, w, 3, 4, k, s, pad))

    doc = {
        "made_with": f"{KERAS}, {TORCH}, numpy {np.__version__}, Python {platform.python_version()}",
        "params": params,
        "output_shapes": shapes,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(params)} parameter cases, {len(shapes)} shapes)", file=sys.stderr)


if __name__ == "__main__":
    main()
