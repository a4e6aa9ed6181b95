"""``--kernel W.npz`` from ``np.savez(*layer.get_weights())``: kernel arr_0 and bias arr_1, as Keras computes
the layer; ``--bias-key`` names the bias elsewhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import invoke
from oracle import naive_conv2d


def _saved(tmp_path: Path, r: object) -> dict:
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    with np.load(tmp_path / "out.npz") as z:
        return {k: z[k] for k in z.files}


def test_get_weights_npz_runs_as_keras_computes_the_layer(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(9, 10, 3)).astype(np.float32)
    layer = keras.layers.Conv2D(4, 3, strides=2, padding="same", dtype="float64")
    layer.build((None, 9, 10, 3))
    layer.set_weights([rng.normal(size=(3, 3, 3, 4)), rng.normal(size=4)])
    np.savez(tmp_path / "w.npz", *layer.get_weights())
    np.save(tmp_path / "x.npy", x)
    r = invoke("run", tmp_path / "x.npy", "--kernel", tmp_path / "w.npz", "--stride", "2", "--padding", "same",
               "--dtype", "float64", "--save", tmp_path / "out.npz", "-q", columns=300)
    saved = _saved(tmp_path, r)
    want = keras.ops.convert_to_numpy(layer(x[None].astype(np.float64)))[0]
    np.testing.assert_allclose(saved["output"], want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(saved["bias"], layer.get_weights()[1])
    assert "arr_0 (keras layout), bias arr_1 ·" in r.stdout


def test_bias_key_names_the_bias_in_the_kernel_npz_or_the_bias_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    x, w, b = rng.normal(size=(6, 6, 2)), rng.normal(size=(2, 2, 2, 3)), np.array([0.5, -1.0, 2.0])
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "kb.npz", w=w, b=b, other=np.zeros(3))
    np.savez(tmp_path / "bias.npz", mine=b * 10, theirs=b)
    want = naive_conv2d(x, w) + b
    r = invoke("run", tmp_path / "x.npy", "--kernel", tmp_path / "kb.npz", "--kernel-key", "w", "--bias-key", "b",
               "--dtype", "float64", "--save", tmp_path / "out.npz", "-q")
    np.testing.assert_allclose(_saved(tmp_path, r)["output"], want, rtol=1e-12)
    r = invoke("run", tmp_path / "x.npy", "--kernel", tmp_path / "kb.npz", "--kernel-key", "w", "--bias",
               tmp_path / "bias.npz", "--bias-key", "mine", "--dtype", "float64", "--save", tmp_path / "out.npz", "-q",
               "--force")
    np.testing.assert_allclose(_saved(tmp_path, r)["output"], naive_conv2d(x, w) + 10 * b, rtol=1e-12)
    # a kernel .npz of other names gives no bias by itself: zeros
    r = invoke("run", tmp_path / "x.npy", "--kernel", tmp_path / "kb.npz", "--kernel-key", "w", "--dtype", "float64",
               "--save", tmp_path / "out.npz", "-q", "--force")
    np.testing.assert_allclose(_saved(tmp_path, r)["output"], naive_conv2d(x, w), rtol=1e-12)


def test_get_weights_bias_yields_to_no_bias_and_bias_options(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    x, w = rng.normal(size=(5, 5, 1)), rng.normal(size=(2, 2, 1, 2))
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "w.npz", w, np.array([3.0, 4.0]))
    r = invoke("run", tmp_path / "x.npy", "--kernel", tmp_path / "w.npz", "--no-bias", "--dtype", "float64",
               "--save", tmp_path / "out.npz", "-q")
    np.testing.assert_allclose(_saved(tmp_path, r)["output"], naive_conv2d(x, w), rtol=1e-12)
    r = invoke("run", tmp_path / "x.npy", "--kernel", tmp_path / "w.npz", "--bias", "1", "--dtype", "float64",
               "--save", tmp_path / "out.npz", "-q", "--force")
    np.testing.assert_allclose(_saved(tmp_path, r)["output"], naive_conv2d(x, w) + 1, rtol=1e-12)


@pytest.mark.parametrize(("args", "words"), [
    (["--bias-key", "b"], "--bias-key names the bias array inside a .npz"),
    (["--kernel", "samples/kernel_rgb_keras.npy", "--bias-key", "b", "--no-bias"], "--bias-key and --no-bias"),
])
def test_bias_key_without_a_npz_is_a_usage_error(args: list[str], words: str) -> None:
    r = invoke("run", "samples/grace_hopper.png", *args)
    assert r.exit_code == 2 and words in r.output


def test_bias_key_missing_from_the_archive_is_one_line(tmp_path: Path) -> None:
    np.savez(tmp_path / "kb.npz", w=np.ones((2, 2, 3, 1)), b=np.zeros(1))
    r = invoke("run", "samples/grace_hopper.png", "--kernel", tmp_path / "kb.npz", "--kernel-key", "w",
               "--bias-key", "nope")
    assert r.exit_code == 1 and "has no array named 'nope'" in r.output and r.output.count("\n") == 1
