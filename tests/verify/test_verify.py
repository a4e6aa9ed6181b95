"""`convcli verify`, the comparison behind it, `--semantics` and `--flip`.

The rows for PyTorch, Keras and SciPy need those packages (skipped without them); the comparison,
the no-framework fallback and the lazy imports are tested everywhere.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import typer.main

from convcli import engine
from convcli.cli import app
from convcli.cli.options import LayerOptions
from convcli.verify import adapt_keras, adapt_numpy, adapters, compare, environment, problem, reference

from helpers import invoke
from oracle import naive_conv2d

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "samples" / "grace_hopper.png"
DONE_WHEN = ["--filters", "4", "--stride", "2", "--padding", "same"]


def row(out: str, name: str) -> str:
    """The line of the results table that starts with framework ``name``."""
    return next(line for line in out.splitlines() if line.strip().startswith(name + " "))


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    x = np.random.default_rng(3).integers(0, 256, size=(11, 9, 3)).astype(np.uint8)
    p = tmp_path / "photo.npy"
    np.save(p, x)
    return p


def needs(*modules: str) -> None:
    for m in modules:
        if m == "keras" and environment.installed("keras"):
            try:
                adapt_keras.keras_backend()  # picks an installed backend before keras is imported
            except problem.Unavailable as exc:
                pytest.skip(str(exc))
        pytest.importorskip(m)


# ------------------------------------------------------------------------------------------------
# the comparison function


def _problem(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    x, k, b = rng.standard_normal((8, 7, 3)), rng.standard_normal((3, 3, 3, 2)), rng.standard_normal(2)
    layer = engine.prepare(x, k, stride=2, padding="same", dtype=dtype)
    bias = b.astype(dtype)
    expected = engine.conv2d(x, k, bias, stride=2, padding="same", dtype=dtype)
    return layer, bias, expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compare_accepts_another_summation_order_and_catches_one_perturbed_value(dtype):
    layer, bias, expected = _problem(dtype)
    scale, n = compare.magnitude(layer, bias), compare.terms(layer)
    g = layer.geometry
    other = reference.einsum_conv2d(layer.x, layer.kernel, bias, stride=g.stride, dilation=g.dilation,
                                    pads=g.pads, groups=1)
    ok = compare.compare(other, expected, scale, n=n, dtype=dtype)
    assert ok.ok and ok.max_rel <= ok.rtol, ok

    wrong = other.copy()
    wrong[1, 2, 1] += 50 * ok.rtol * scale[1, 2, 1]  # far below what a display shows, far above rounding
    bad = compare.compare(wrong, expected, scale, n=n, dtype=dtype)
    assert not bad.ok
    assert bad.problem.startswith("at (1, 2, 1):")
    assert bad.max_rel == pytest.approx(50 * ok.rtol, rel=0.05)


def test_compare_tolerance_depends_on_dtype():
    layer, bias, expected = _problem(np.float64)
    scale, n = compare.magnitude(layer, bias), compare.terms(layer)
    nudged = expected + 1e-9 * scale  # fine for float32 sums, a real difference for float64 ones
    assert compare.compare(nudged, expected, scale, n=n, dtype=np.float32).ok
    assert not compare.compare(nudged, expected, scale, n=n, dtype=np.float64).ok
    assert compare.rtol_for(np.float32, n) == pytest.approx(4 * n * np.finfo(np.float32).eps)


def test_compare_catches_shape_layout_and_nan():
    layer, bias, expected = _problem()
    scale, n = compare.magnitude(layer, bias), compare.terms(layer)
    assert "shape" in compare.compare(expected[:, :-1], expected, scale, n=n, dtype=np.float32).problem
    # the right numbers in the wrong spatial order: what a wrong permutation looks like
    assert not compare.compare(expected[::-1], expected, scale, n=n, dtype=np.float32).ok
    nan = expected.copy()
    nan[0, 0, 0] = np.nan
    r = compare.compare(nan, expected, scale, n=n, dtype=np.float32)
    assert not r.ok and "non-finite" in r.problem
    assert compare.compare(nan, nan, scale, n=n, dtype=np.float32).ok  # NaN on both sides agrees
    nan_scale = scale.copy()
    nan_scale[0, 0, 0] = np.nan  # a NaN pixel makes Σ|x·w| NaN there too
    assert compare.compare(nan, nan, nan_scale, n=n, dtype=np.float32).ok
    assert not compare.compare(nan, nan + 1, nan_scale, n=n, dtype=np.float32).ok


def test_verify_command_exits_1_when_a_framework_differs(photo, monkeypatch):
    def off_by_a_little(p):
        o = adapt_numpy.compute(p)
        out = o.output.copy()
        out[2, 1, 0] += 1e-3 * max(1.0, abs(out[2, 1, 0]))
        return problem.Outcome("Broken", "0.1", problem.COMPUTED, "as is", "none", out)

    broken = adapters.Adapter("Broken", "numpy", "", off_by_a_little)
    monkeypatch.setattr("convcli.verify.adapters.ADAPTERS", (broken, adapters.ADAPTERS[-1]))
    r = invoke("verify", photo, "-f", "2", "--stride", "2", "--padding", "same")
    assert r.exit_code == 1, r.output
    assert "✗ DIFFERS" in row(r.stdout, "Broken")
    assert "✓ agrees" in row(r.stdout, "numpy einsum")
    assert "Error: Broken differs from convcli at (2, 1, 0):" in r.stderr


# ------------------------------------------------------------------------------------------------
# the verify table


@pytest.mark.parametrize("columns", [100, 80])
def test_done_when_pytorch_keras_scipy_agree_on_the_photo(columns):
    needs("torch", "keras", "scipy")
    import keras
    import scipy
    import torch

    r = invoke("verify", PHOTO, *DONE_WHEN, columns=columns)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert max(len(line) for line in out.splitlines()) <= columns
    for name, version in (("PyTorch", torch.__version__), ("Keras", keras.__version__),
                          ("SciPy", scipy.__version__), ("numpy einsum", np.__version__)):
        line = row(out, name)
        assert "✓ agrees" in line and version in line, line
    assert "permute(3, 2, 0, 1)" in out and "F.pad(x, (0, 1, 0, 1))" in out  # how torch got its input
    assert "padding='same' (Keras' own: pads (0, 1, 0, 1))" in out
    assert "correlate2d" in out
    assert "agree with convcli within float32 rounding" in " ".join(out.split())


def test_keras_refuses_stride_with_dilation_in_its_own_words(photo):
    needs("torch", "keras")
    r = invoke("verify", photo, "-f", "2", "--stride", "2", "--dilation", "2", "--padding", "1", "--dtype", "float64")
    assert r.exit_code == 0, r.output
    assert "refused" in row(r.stdout, "Keras")
    flat = " ".join(r.stdout.replace("│", " ").split())
    assert "Keras allows dilation_rate > 1 only with strides 1: `strides > 1` not supported" in flat
    assert "✓ agrees" in row(r.stdout, "PyTorch")
    assert "Keras refused this layer" in flat


def test_no_framework_installed_still_compares_and_says_what_to_install(photo, monkeypatch):
    monkeypatch.setattr("convcli.verify.environment.installed", lambda module: module == "numpy")
    r = invoke("verify", photo, "-f", "2", "--padding", "same")
    assert r.exit_code == 0, r.output
    assert "✓ agrees" in row(r.stdout, "numpy einsum")
    for name in ("PyTorch", "Keras", "TensorFlow", "JAX", "SciPy"):
        assert "not installed" in row(r.stdout, name)
    flat = " ".join(r.stdout.replace("│", " ").split())
    assert "only convcli's second implementation (numpy einsum) was compared" in flat
    assert "pip install 'convcli[torch]'" in flat and "pip install 'convcli[keras]'" in flat


def test_keras_backend_choice():
    have = {"torch", "keras"}.__contains__
    assert adapt_keras.choose_keras_backend(None, "tensorflow", have) == ("torch", "torch")
    assert adapt_keras.choose_keras_backend(None, None, have) == ("torch", "torch")
    assert adapt_keras.choose_keras_backend(None, "torch", have) == ("torch", None)
    with pytest.raises(problem.Unavailable, match="KERAS_BACKEND=jax but jax is not installed"):
        adapt_keras.choose_keras_backend("jax", "torch", have)  # an explicit choice is never overridden
    with pytest.raises(problem.Unavailable):
        adapt_keras.choose_keras_backend(None, None, lambda m: False)


# ------------------------------------------------------------------------------------------------
# --semantics


def test_run_semantics_torch_prints_torch_layouts(photo):
    # photo is (H, W, C): torch reads arrays channels-first unless --layout says otherwise
    r = invoke("run", photo, "-f", "4", "-k", "3,2", "--semantics", "torch", "--padding", "same",
               "--layout", "channels-last")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "3×11×9 (C, H, W)" in out
    assert "4×3×3×2 (F, C/g, kh, kw)" in out
    assert "4×11×9 (F, H', W')" in out
    assert "Conv2d(in_channels=3, out_channels=4, kernel_size=(3, 2)" in out
    keras_out = invoke("run", photo, "-f", "4", "-k", "3,2", "--padding", "same").stdout
    assert "11×9×3 (H, W, C)" in keras_out and "Conv2D(filters=4" in keras_out


def test_run_semantics_torch_refuses_strided_same(photo):
    r = invoke("run", photo, "--semantics", "torch", "--padding", "same", "--stride", "2")
    assert r.exit_code == 2
    assert "PyTorch refuses padding='same' with --stride 2" in r.stderr
    assert invoke("run", photo, "--padding", "same", "--stride", "2").exit_code == 0  # Keras allows it


def test_torch_same_equals_keras_same_at_stride_1(photo, tmp_path: Path):
    """torch's own padding='same' puts the odd pad at the end, as TensorFlow: same pads, same numbers."""
    needs("torch")
    import torch
    import torch.nn.functional as F

    args = ["-f", "2", "-k", "4,2", "--dilation", "1,3", "--padding", "same", "--dtype", "float64", "--json",
            "--layout", "channels-last"]  # photo is (H, W, C); torch would read it channels-first
    docs = {s: json.loads(invoke("run", photo, *args, "--semantics", s, "--save", tmp_path / f"{s}.npz").stdout)
            for s in ("keras", "torch")}
    assert docs["keras"]["layer"]["pads"] == docs["torch"]["layer"]["pads"] == [1, 2, 1, 2]
    saved = np.load(tmp_path / "torch.npz")
    x = torch.from_numpy(saved["input"]).permute(2, 0, 1)[None]
    w = torch.from_numpy(saved["kernel"]).permute(3, 2, 0, 1)
    with warnings.catch_warnings():  # torch warns (once) that an even kernel costs it a padded copy
        warnings.simplefilter("ignore", UserWarning)
        y = F.conv2d(x, w, torch.from_numpy(saved["bias"]), padding="same", dilation=(1, 3))
    np.testing.assert_allclose(saved["preactivation"], y[0].permute(1, 2, 0).numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.load(tmp_path / "keras.npz")["preactivation"], saved["preactivation"])


def test_verify_semantics_torch_shows_pytorch_refusing_strided_same(photo):
    needs("torch", "keras")
    r = invoke("verify", photo, "-f", "2", "--stride", "2", "--padding", "same", "--semantics", "torch",
               "--layout", "channels-last")  # photo is (H, W, C) (torch reads channels-first)
    assert r.exit_code == 0, r.output
    flat = " ".join(r.stdout.replace("│", " ").split())
    assert "refused" in row(r.stdout, "PyTorch")
    assert "padding='same' is not supported for strided convolutions" in flat
    assert "✓ agrees" in row(r.stdout, "Keras")
    assert "(C, H, W)" in flat and "Conv2d(in_channels=3" in flat


def test_kernel_layout_follows_semantics(photo, tmp_path: Path):
    k = np.random.default_rng(5).standard_normal((2, 3, 3, 2))  # (kh, kw, C, F)
    np.save(tmp_path / "k_torch.npy", k.transpose(3, 2, 0, 1))
    np.save(tmp_path / "k_keras.npy", k)
    a = invoke("run", photo, "--kernel", tmp_path / "k_torch.npy", "--semantics", "torch", "--json",
               "--layout", "channels-last")  # photo is (H, W, C) (torch reads channels-first)
    b = invoke("run", photo, "--kernel", tmp_path / "k_keras.npy", "--json")
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    assert da["layer"]["semantics"] == "torch" and db["layer"]["semantics"] == "keras"
    assert da["filters"] == db["filters"]


# ------------------------------------------------------------------------------------------------
# --flip


def test_flip_is_scipy_convolve2d(photo, tmp_path: Path):
    signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(9)
    k = rng.standard_normal((3, 2, 3, 2))
    np.save(tmp_path / "k.npy", k)
    x = np.load(photo).astype(np.float64)
    for flip, fn in ((True, signal.convolve2d), (False, signal.correlate2d)):
        out = tmp_path / f"flip{flip}.npz"
        r = invoke("run", photo, "--kernel", tmp_path / "k.npy", "--dtype", "float64", "--save", out,
                   *(["--flip"] if flip else []))
        assert r.exit_code == 0, r.output
        z = np.load(out)["preactivation"]
        want = np.stack([sum(fn(x[:, :, c], k[:, :, c, f], mode="valid") for c in range(3)) for f in range(2)], -1)
        np.testing.assert_allclose(z, want, rtol=1e-12, atol=1e-9)
    flipped = invoke("run", photo, "--kernel", tmp_path / "k.npy", "--flip")
    flat = " ".join(flipped.stdout.split())
    assert "flipped (--flip)" in flat and "Conv2D layers (Keras, TensorFlow, PyTorch) never flip" in flat


def test_flip_is_not_what_layers_compute(photo):
    # an asymmetric kernel: flipping changes the result, so --flip is not a no-op
    x = np.load(photo).astype(np.float64)
    k = np.arange(12.0).reshape(2, 2, 3, 1)
    assert not np.allclose(naive_conv2d(x, k), naive_conv2d(x, k[::-1, ::-1]))


def test_verify_flip_scipy_convolves_the_kernel_as_given(photo):
    needs("scipy")
    r = invoke("verify", photo, "-f", "2", "--padding", "same", "--flip")
    assert r.exit_code == 0, r.output
    flat = " ".join(r.stdout.replace("│", " ").split())
    assert "✓ agrees" in row(r.stdout, "SciPy")
    assert "convolve2d(x[:, :, c], kernel[:, :, c, f])" in flat
    assert "the kernel as given: convolve2d flips it" in flat


# ------------------------------------------------------------------------------------------------
# shared options and lazy imports


def test_run_and_verify_take_the_same_layer_options():
    group = typer.main.get_command(app)
    run, verify = group.commands["run"], group.commands["verify"]
    from convcli.cli.options import _NOT_OPTIONS

    names = {f for f in inspect.signature(LayerOptions).parameters} - set(_NOT_OPTIONS)

    def described(cmd):
        return {p.name: (tuple(p.opts), p.default, p.help if hasattr(p, "help") else None)
                for p in cmd.params if p.name in names}

    assert set(described(run)) == names
    assert described(run) == described(verify)


def test_help_and_run_import_no_framework():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from convcli.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(app, ['run', 'samples/textbook.npy', '-k', '2', '--padding', 'same', '--flip',"
        " '--semantics', 'torch', '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('torch', 'keras', 'tensorflow', 'jax', 'scipy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
