"""Regenerate ``conv_golden.npz``: Conv2D outputs and activations computed by real frameworks.

Run from the repository root (needs torch and keras; TensorFlow is not needed)::

    KERAS_BACKEND=torch python tests/golden/make_golden.py

Keras computes the ``padding='same'`` cases (its own TensorFlow-style asymmetric padding), torch the
cases Keras cannot express: integer and ``(h, w)`` zero padding, and stride > 1 together with
dilation > 1. Every Keras case is also recomputed with torch on an explicitly padded input and the
two must agree, so the 'same' rule is checked by two implementations before it is stored.

This script never imports convcli: the goldens must not depend on the code they check.

Stored per case ``NAME`` (layouts as in convcli, channels-last)::

    NAME__x         (H, W, C)
    NAME__kernel    (kh, kw, C // groups, F)   Keras layout
    NAME__bias      (F,)
    NAME__expected  (H', W', F)                pre-activation output
    NAME__config    JSON: stride, dilation, padding, groups, dtype, pads (top, bottom, left, right)
    NAME__framework e.g. "keras 3.15.1 (torch backend)" or "torch 2.13.0"

plus ``cases`` (the names), ``act_names``, ``act32__z`` / ``act64__z`` and ``act32__NAME`` /
``act64__NAME`` for each activation.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

OUT = Path(__file__).with_name("conv_golden.npz")
KERAS = f"keras {keras.__version__} ({keras.backend.backend()} backend)"
TORCH = f"torch {torch.__version__}"


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def tf_same_pads(n, k, s, d):
    """TensorFlow's documented 'same' rule for one axis: the odd extra pixel goes after."""
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def explicit_pads(h, w, kh, kw, stride, dilation, padding):
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        return (*tf_same_pads(h, kh, sh, dh), *tf_same_pads(w, kw, sw, dw))
    ph, pw = pair(padding)
    return (ph, ph, pw, pw)


def run_torch(x, kernel, bias, stride, dilation, pads, groups):
    """torch.nn.functional.conv2d on an explicitly zero-padded NCHW input; result (H', W', F)."""
    top, bottom, left, right = pads
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]  # (1, C, H, W)
    xt = F.pad(xt, (left, right, top, bottom))
    wt = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))  # (F, C/g, kh, kw)
    y = F.conv2d(xt, wt, torch.from_numpy(bias), stride=pair(stride), dilation=pair(dilation), groups=groups)
    return y[0].permute(1, 2, 0).numpy()


def run_torch_native_padding(x, kernel, bias, stride, dilation, padding, groups):
    """Same, but with torch's own symmetric ``padding=`` argument (int or pair cases)."""
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
    wt = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    y = F.conv2d(
        xt,
        wt,
        torch.from_numpy(bias),
        stride=pair(stride),
        padding=pair(padding),
        dilation=pair(dilation),
        groups=groups,
    )
    return y[0].permute(1, 2, 0).numpy()


def run_keras(x, kernel, bias, stride, dilation, padding, groups, dtype):
    layer = keras.layers.Conv2D(
        filters=kernel.shape[3],
        kernel_size=kernel.shape[:2],
        strides=pair(stride),
        padding=padding,
        dilation_rate=pair(dilation),
        groups=groups,
        use_bias=True,
        dtype=dtype,
    )
    layer.build((1, *x.shape))
    layer.set_weights([kernel, bias])
    y = layer(keras.ops.convert_to_tensor(x[None], dtype=dtype))
    out = keras.ops.convert_to_numpy(y)[0]
    assert out.dtype == np.dtype(dtype), (out.dtype, dtype)
    return out


# name, framework, (H, W, C), F, (kh, kw), stride, dilation, padding, groups, dtype
CASES = [
    # Keras: valid and TensorFlow-style 'same' (Keras refuses stride > 1 with dilation > 1)
    ("k_valid_3x3", "keras", (7, 6, 3), 4, (3, 3), 1, 1, "valid", 1, "float64"),
    ("k_same_3x3", "keras", (7, 6, 3), 2, (3, 3), 1, 1, "same", 1, "float64"),
    ("k_same_3x3_s2_even", "keras", (6, 6, 2), 3, (3, 3), 2, 1, "same", 1, "float64"),  # pads (0, 1)
    ("k_same_3x3_s2_odd", "keras", (7, 5, 2), 3, (3, 3), 2, 1, "same", 1, "float64"),  # pads (1, 1)
    ("k_same_4x4_even_kernel", "keras", (7, 7, 2), 2, (4, 4), 1, 1, "same", 1, "float64"),  # (1, 2)
    ("k_same_2x3_s2x3", "keras", (8, 10, 3), 2, (2, 3), (2, 3), 1, "same", 1, "float64"),
    ("k_same_5x5_d2", "keras", (9, 8, 2), 2, (5, 5), 1, 2, "same", 1, "float64"),
    ("k_same_3x2_d3x1", "keras", (8, 6, 2), 3, (3, 2), 1, (3, 1), "same", 1, "float64"),
    ("k_valid_3x3_d2x1", "keras", (9, 7, 3), 2, (3, 3), 1, (2, 1), "valid", 1, "float64"),
    ("k_valid_s2", "keras", (9, 8, 3), 3, (3, 3), 2, 1, "valid", 1, "float64"),
    ("k_valid_1x1", "keras", (4, 5, 3), 4, (1, 1), 1, 1, "valid", 1, "float64"),
    ("k_same_1x1_s2", "keras", (5, 6, 3), 2, (1, 1), 2, 1, "same", 1, "float64"),
    ("k_same_s3_k2", "keras", (8, 7, 2), 2, (2, 2), 3, 1, "same", 1, "float64"),  # stride > kernel
    ("k_same_7x7_s2_stem", "keras", (11, 12, 3), 2, (7, 7), 2, 1, "same", 1, "float64"),
    ("k_groups2_valid", "keras", (6, 5, 4), 6, (3, 2), 1, 1, "valid", 2, "float64"),
    ("k_groups3_same_s2", "keras", (7, 6, 6), 3, (3, 3), 2, 1, "same", 3, "float64"),
    ("k_depthwise_same", "keras", (5, 5, 3), 3, (3, 3), 1, 1, "same", 3, "float64"),
    ("k_single_pixel_valid", "keras", (4, 4, 3), 2, (4, 4), 1, 1, "valid", 1, "float64"),
    ("k_single_pixel_same", "keras", (1, 1, 2), 3, (3, 3), 1, 1, "same", 1, "float64"),
    ("k_single_pixel_s2_same", "keras", (2, 2, 1), 1, (3, 3), 2, 1, "same", 1, "float64"),
    ("k_rect_1x4_same", "keras", (5, 9, 2), 2, (1, 4), 1, 1, "same", 1, "float64"),
    ("k_f32_valid_3x3", "keras", (8, 8, 3), 4, (3, 3), 1, 1, "valid", 1, "float32"),
    ("k_f32_same_s2", "keras", (9, 8, 3), 4, (3, 3), 2, 1, "same", 1, "float32"),
    ("k_f32_same_d2", "keras", (8, 9, 2), 2, (3, 3), 1, 2, "same", 1, "float32"),
    ("k_f32_groups2_same", "keras", (6, 7, 4), 4, (2, 3), 1, 1, "same", 2, "float32"),
    # torch: explicit zero padding and stride > 1 with dilation > 1
    ("t_pad1", "torch", (6, 5, 3), 2, (3, 3), 1, 1, 1, 1, "float64"),
    ("t_pad2_s2", "torch", (7, 7, 2), 3, (3, 3), 2, 1, 2, 1, "float64"),
    ("t_pad_pair_2x0", "torch", (6, 7, 2), 2, (3, 3), 1, 1, (2, 0), 1, "float64"),
    ("t_pad_pair_0x1_rect", "torch", (6, 7, 3), 2, (2, 4), (1, 2), 1, (0, 1), 1, "float64"),
    ("t_s2_d2_valid", "torch", (9, 9, 2), 3, (3, 3), 2, 2, "valid", 1, "float64"),
    ("t_s2_d2_pad1", "torch", (8, 9, 2), 2, (3, 3), 2, 2, 1, 1, "float64"),
    ("t_s2x3_d3x2_valid", "torch", (10, 11, 2), 2, (3, 3), (2, 3), (3, 2), "valid", 1, "float64"),
    ("t_same_s2_d2", "torch", (9, 8, 2), 2, (3, 3), 2, 2, "same", 1, "float64"),
    ("t_same_s3_d2_rect", "torch", (8, 10, 3), 2, (2, 3), 3, 2, "same", 1, "float64"),
    ("t_same_s2_d3_even", "torch", (7, 6, 2), 3, (2, 2), (2, 1), 3, "same", 1, "float64"),
    ("t_groups3_pad_pair", "torch", (5, 6, 6), 6, (3, 3), 1, 1, (1, 2), 3, "float64"),
    ("t_groups2_s2_d2", "torch", (9, 9, 4), 4, (3, 2), 2, 2, 1, 2, "float64"),
    ("t_1x1_s2", "torch", (5, 6, 3), 2, (1, 1), 2, 1, "valid", 1, "float64"),
    ("t_single_pixel_big_stride", "torch", (5, 4, 2), 2, (2, 2), 5, 1, "valid", 1, "float64"),
    ("t_single_pixel_d3", "torch", (4, 4, 1), 2, (2, 2), 1, 3, "valid", 1, "float64"),
    ("t_rect_4x1_d3_pad", "torch", (8, 4, 2), 2, (4, 1), 1, 3, (1, 0), 1, "float64"),
    ("t_f32_pad2", "torch", (7, 8, 3), 3, (3, 3), 1, 1, 2, 1, "float32"),
    ("t_f32_s2_d2_groups2", "torch", (9, 10, 4), 4, (3, 3), 2, 2, (1, 1), 2, "float32"),
    ("t_f32_same_s2_d2", "torch", (8, 9, 3), 2, (3, 3), 2, 2, "same", 1, "float32"),
]

ACTIVATIONS = [
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid", "hard_sigmoid", "tanh",
    "softplus", "softsign", "silu", "swish", "exponential",
]  # fmt: skip

ACT_Z = [
    -100, -88, -30, -20, -10, -5, -3, -2.5, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 2.5, 3, 5, 6, 7, 10, 20, 30, 88,
    100,
]  # fmt: skip


def textbook(dtype):
    x = np.stack([np.full((3, 3), v) for v in (1.0, 100.0, 10000.0)], axis=-1).astype(dtype)
    return x, np.ones((2, 2, 3, 1), dtype=dtype), np.zeros(1, dtype=dtype)


def main() -> int:
    torch.manual_seed(0)
    rng = np.random.default_rng(20240601)
    store: dict[str, np.ndarray] = {}
    names = []

    def add(name, framework, x, kernel, bias, stride, dilation, padding, groups, dtype, expected, pads):
        config = {
            "stride": stride,
            "dilation": dilation,
            "padding": padding,
            "groups": groups,
            "dtype": dtype,
            "pads": list(pads),
        }
        store[f"{name}__x"] = x
        store[f"{name}__kernel"] = kernel
        store[f"{name}__bias"] = bias
        store[f"{name}__expected"] = expected
        store[f"{name}__config"] = np.array(json.dumps(config))
        store[f"{name}__framework"] = np.array(framework)
        names.append(name)

    for dtype in ("float32", "float64"):
        x, kernel, bias = textbook(dtype)
        expected = run_keras(x, kernel, bias, 1, 1, "valid", 1, dtype)
        assert np.all(expected == 40404), expected
        add(f"k_textbook_{dtype}", KERAS, x, kernel, bias, 1, 1, "valid", 1, dtype, expected, (0, 0, 0, 0))

    for name, fw, (h, w, c), f, (kh, kw), stride, dilation, padding, groups, dtype in CASES:
        x = rng.standard_normal((h, w, c)).astype(dtype)
        kernel = rng.standard_normal((kh, kw, c // groups, f)).astype(dtype)
        bias = rng.standard_normal(f).astype(dtype)
        pads = explicit_pads(h, w, kh, kw, stride, dilation, padding)
        by_torch = run_torch(x, kernel, bias, stride, dilation, pads, groups)
        tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-5, "atol": 1e-5}
        if fw == "keras":
            expected = run_keras(x, kernel, bias, stride, dilation, padding, groups, dtype)
            # Keras's own 'same' padding must equal torch on the TF-padded input
            np.testing.assert_allclose(expected, by_torch, err_msg=name, **tol)
            framework = KERAS
        else:
            expected = by_torch
            framework = f"{TORCH} (F.pad + F.conv2d)" if padding == "same" else TORCH
            if not isinstance(padding, str):
                native = run_torch_native_padding(x, kernel, bias, stride, dilation, padding, groups)
                np.testing.assert_allclose(expected, native, err_msg=name, **tol)
        assert expected.dtype == np.dtype(dtype), (name, expected.dtype)
        add(name, framework, x, kernel, bias, stride, dilation, padding, groups, dtype, expected, pads)

    store["cases"] = np.array(names)
    store["act_names"] = np.array(ACTIVATIONS)
    for tag, dtype in (("act32", "float32"), ("act64", "float64")):
        z = np.array(ACT_Z, dtype=dtype)
        store[f"{tag}__z"] = z
        for act in ACTIVATIONS:
            out = keras.ops.convert_to_numpy(
                keras.activations.get(act)(keras.ops.convert_to_tensor(z, dtype))
            )
            assert out.dtype == np.dtype(dtype), (act, out.dtype)
            store[f"{tag}__{act}"] = out

    np.savez_compressed(OUT, **store)
    print(
        f"wrote {OUT} ({OUT.stat().st_size} bytes): {len(names)} conv cases, {len(ACTIVATIONS)} activations"
    )
    print(f"{KERAS}; {TORCH}; numpy {np.__version__}; python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
