"""Kernel presets, Keras' default initialiser, layout conversion and --bias parsing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convcli import engine
from convcli.cli.app import FLAGS
from convcli.errors import ConfigError, ShapeError
from convcli.sources import kernels

from oracle import naive_conv2d


@pytest.mark.parametrize(
    "name, expected",
    [
        ("sobel-x", [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        ("sobel-y", [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
        ("laplacian", [[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
        ("sharpen", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
        ("emboss", [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
        ("ones", [[1, 1, 1], [1, 1, 1], [1, 1, 1]]),
        ("identity", [[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
        ("gaussian", [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]]),
        ("box", [[1 / 9] * 3] * 3),
    ],
)
def test_preset_values_and_extension_over_channels_and_filters(name, expected):
    k = kernels.make_kernel(name, (3, 3), 2, 3)
    assert k.shape == (3, 3, 2, 3)
    for c in range(2):
        for f in range(3):
            np.testing.assert_allclose(k[:, :, c, f], expected, rtol=0, atol=1e-15)


def test_gaussian_is_binomial_for_any_size():
    k = kernels.make_kernel("gaussian", (5, 2), 1, 1)[:, :, 0, 0]
    np.testing.assert_allclose(k, np.outer([1, 4, 6, 4, 1], [1, 1]) / 32)


@pytest.mark.parametrize("size", [(3, 3), (4, 4), (2, 5), (1, 1)])
def test_identity_with_same_padding_returns_the_input(size):
    x = np.random.default_rng(0).normal(size=(7, 6, 1))
    k = kernels.make_kernel("identity", size, 1, 1)
    out = engine.conv2d(x, k, padding="same", dtype=np.float64)
    np.testing.assert_array_equal(out, x)


def test_fixed_presets_refuse_other_sizes():
    with pytest.raises(ConfigError) as info:
        kernels.make_kernel("sobel-x", (5, 5), 3, 1)
    assert info.value.worded(FLAGS) == "--init sobel-x is a 3×3 kernel, but --kernel-size is 5×5"
    assert str(info.value) == "init sobel-x is a 3×3 kernel, but kernel_size is 5×5"
    with pytest.raises(ConfigError) as info:
        kernels.make_kernel("nope", (3, 3), 3, 1)
    assert info.value.worded(FLAGS).startswith("unknown --init 'nope'")
    assert info.value.field == "init" and str(info.value).startswith("unknown init 'nope'")


def test_random_is_glorot_uniform_and_seeded():
    a = kernels.make_kernel("random", (3, 3), 64, 128, seed=1)
    limit = np.sqrt(6 / (9 * 64 + 9 * 128))
    assert a.shape == (3, 3, 64, 128)
    assert np.abs(a).max() <= limit
    assert np.abs(a).max() > 0.99 * limit  # 73,728 draws reach the edge
    assert abs(a.mean()) < 0.01 * limit
    np.testing.assert_allclose(a.var(), limit**2 / 3, rtol=0.02)  # variance of U(-l, l)
    np.testing.assert_array_equal(a, kernels.make_kernel("random", (3, 3), 64, 128, seed=1))
    assert not np.array_equal(a, kernels.make_kernel("random", (3, 3), 64, 128, seed=2))


def test_layouts():
    k = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)  # keras (kh, kw, C, F)
    np.testing.assert_array_equal(kernels.to_keras_layout(k, "keras", 4), k)
    np.testing.assert_array_equal(kernels.to_keras_layout(k.transpose(3, 2, 0, 1), "torch", 4), k)
    one = k[..., 0]
    np.testing.assert_array_equal(kernels.to_keras_layout(one, "keras", 4)[..., 0], one)
    np.testing.assert_array_equal(kernels.to_keras_layout(one.transpose(2, 0, 1), "torch", 4)[..., 0], one)
    flat = kernels.to_keras_layout(one[:, :, 0], "torch", 4)
    assert flat.shape == (2, 3, 4, 1) and all(np.array_equal(flat[:, :, c, 0], one[:, :, 0]) for c in range(4))
    with pytest.raises(ShapeError, match="2, 3 or 4 dimensions"):
        kernels.to_keras_layout(np.zeros((1, 2, 3, 4, 5)), "torch", 4)
    with pytest.raises(ConfigError):
        kernels.to_keras_layout(k, "caffe", 4)


def test_torch_file_gives_the_torch_answer(tmp_path: Path):
    rng = np.random.default_rng(3)
    w_torch = rng.normal(size=(2, 3, 3, 2))  # (F, C, kh, kw)
    np.save(tmp_path / "w.npy", w_torch)
    k = kernels.load_kernel(tmp_path / "w.npy", "torch", 3)
    x = rng.normal(size=(6, 5, 3))
    # torch: out[f, i, j] = Σ_c Σ_u Σ_v w[f, c, u, v] · x[c, i + u, j + v]
    want = np.zeros((4, 4, 2))
    for f in range(2):
        for i in range(4):
            for j in range(4):
                want[i, j, f] = sum(
                    w_torch[f, c, u, v] * x[i + u, j + v, c] for c in range(3) for u in range(3) for v in range(2)
                )
    np.testing.assert_allclose(naive_conv2d(x, k), want, rtol=1e-12)
    np.testing.assert_allclose(engine.conv2d(x, k, dtype=np.float64), want, rtol=1e-12)


def test_text_kernel_blocks_are_channels(tmp_path: Path):
    (tmp_path / "k.txt").write_text("1 2\n3 4\n\n5 6\n7 8\n")
    k = kernels.load_kernel(tmp_path / "k.txt", "torch", 2)
    assert k.shape == (2, 2, 2, 1)
    assert k[:, :, 1, 0].tolist() == [[5, 6], [7, 8]]


def test_parse_bias(tmp_path: Path):
    assert kernels.parse_bias(None) is None
    assert kernels.parse_bias("1.5").tolist() == 1.5
    assert kernels.parse_bias("1, -2,3e1").tolist() == [1, -2, 30]
    np.save(tmp_path / "b.npy", np.array([[1.0, 2.0]]))
    assert kernels.parse_bias(str(tmp_path / "b.npy")).tolist() == [1, 2]
    (tmp_path / "b.csv").write_text("4,5,6\n")
    assert kernels.parse_bias(str(tmp_path / "b.csv")).tolist() == [4, 5, 6]
    with pytest.raises(ConfigError, match="neither a number"):
        kernels.parse_bias("x1")
    np.save(tmp_path / "b2.npy", np.ones((2, 3)))
    with pytest.raises(ShapeError, match="one value per filter"):
        kernels.parse_bias(str(tmp_path / "b2.npy"))
