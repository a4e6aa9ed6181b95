"""convcli.explore(): the library's entry point reproduces ``convcli run --json`` and imports no front end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import convcli
from convcli.errors import ConfigError, ShapeError

from helpers import ROOT, invoke

PHOTO = ROOT / "samples" / "grace_hopper.png"
TEXTBOOK = ROOT / "samples" / "textbook.npy"


def run_json(*args: object) -> dict:
    r = invoke("run", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize(("source", "options", "flags"), [
    (PHOTO, {"filters": 4}, ["-f", "4"]),
    (PHOTO, {"filters": 6, "kernel_size": (3, 5), "stride": 2, "padding": "same", "activation": "relu", "seed": 7,
             "bias": "0.5"},
     ["-f", "6", "-k", "3,5", "--stride", "2", "--padding", "same", "--activation", "relu", "--seed", "7",
      "--bias", "0.5"]),
    (TEXTBOOK, {}, []),
    (TEXTBOOK, {"init": "sobel-x", "padding": 1, "flip": True, "dtype": "float64"},
     ["--init", "sobel-x", "--padding", "1", "--flip", "--dtype", "float64"]),
])
def test_explore_gives_the_json_of_run(source: Path, options: dict, flags: list[str]):
    assert convcli.explore(str(source), **options).to_json() == run_json(source, *flags)


def test_explore_gives_the_json_of_run_for_a_window_filters_and_a_trace():
    ex = convcli.explore(str(PHOTO), filters=5, activation="tanh")
    want = run_json(PHOTO, "-f", "5", "--activation", "tanh", "--filter", "1,4", "--at", "10,20", "--window", "4",
                    "--trace", "3,3")
    assert ex.to_json(filters=[1, 4], at=(10, 20), window=4, trace=(3, 3)) == want
    # a trace outside the default window moves the window to it, in both
    assert ex.to_json(trace=(0, 120)) == run_json(PHOTO, "-f", "5", "--activation", "tanh", "--trace", "0,120")


def test_explore_gives_the_json_of_run_for_a_deep_model_layer():
    model = ROOT / "samples" / "edges.keras"
    ex = convcli.explore(str(PHOTO), model=str(model), layer="mid", padding="valid")
    assert ex.to_json() == run_json(PHOTO, "--model", model, "--layer", "mid", "--padding", "valid")
    assert ex.built.model is not None and ex.built.model["overrides"]["padding"]["given"] == "valid"
    assert any("overrides the model's" in note for note in ex.notes)


def test_an_array_source_is_the_same_layer_as_its_npy_file(tmp_path: Path):
    x = np.random.default_rng(2).standard_normal((9, 8, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    from_array = convcli.explore(x, filters=3, groups=3, seed=1).to_json()
    from_file = run_json(tmp_path / "x.npy", "-f", "3", "--groups", "3", "--seed", "1")
    assert from_array["input"].pop("path") == "array"
    from_file["input"].pop("path")
    assert from_array["input"].pop("description") == "array, float32, (H, W, C)"
    from_file["input"].pop("description")
    assert from_array == from_file


def test_a_two_dimensional_array_is_one_channel():
    ex = convcli.explore(np.arange(25.0).reshape(5, 5), init="ones")
    assert ex.input.shape == (5, 5, 1) and ex.output.shape == (3, 3, 1)
    np.testing.assert_allclose(ex.output[0, 0, 0], np.arange(25.0).reshape(5, 5)[:3, :3].sum())


def test_the_result_holds_the_arrays_and_the_partials_add_up():
    ex = convcli.explore(str(TEXTBOOK), filters=2, bias="1,-2", activation="relu", seed=3, padding="same")
    assert ex.kernel.shape == (3, 3, ex.input.shape[2], 2)
    np.testing.assert_array_equal(ex.bias, np.array([1, -2], dtype=ex.bias.dtype))
    for f in range(2):
        parts = ex.partials(f)
        assert parts.shape == (*ex.output.shape[:2], ex.input.shape[2])
        np.testing.assert_allclose(parts.sum(axis=2) + ex.bias[f], ex.preactivation[:, :, f], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ex.output, np.maximum(ex.preactivation, 0))
    trace = ex.trace(1, 2, filter=1)
    np.testing.assert_allclose(trace.sums, ex.partials(1)[1, 2], rtol=1e-5, atol=1e-5)


def test_notes_and_warnings_are_data():
    x = np.ones((4, 4, 1))
    x[0, 1, 0] = np.nan
    ex = convcli.explore(x, init="ones", flip=True)
    assert ex.notes[0].startswith("--flip: the kernel is flipped")
    assert ex.warnings == ("array holds 1 NaN and 0 ±Inf values (first at row 0, col 1, channel 0); they "
                           "propagate to the outputs they touch",)


def test_options_that_cannot_go_together_raise_a_config_error_with_its_field():
    with pytest.raises(ConfigError) as both:
        convcli.explore(np.ones((5, 5, 1)), bias=1.0, no_bias=True)
    assert both.value.field == "bias" and "contradict" in str(both.value)
    with pytest.raises(ConfigError) as groups:
        convcli.explore(np.ones((5, 5, 4)), filters=3, groups=2)
    assert str(groups.value) == "--groups 2 does not divide --filters 3"
    with pytest.raises(ConfigError) as model:
        convcli.explore(np.ones((5, 5, 1)), layer="mid")
    assert model.value.field == "model"
    with pytest.raises(ConfigError) as read:
        convcli.explore(np.ones((5, 5, 1)), resize=(3, 3))
    assert read.value.field == "resize"


def test_data_that_does_not_fit_raises_a_shape_error():
    with pytest.raises(ShapeError):
        convcli.explore(np.ones((5, 5, 4)), filters=3, groups=3)  # 3 groups of 4 channels


def test_explore_imports_neither_typer_nor_rich():
    code = ("import sys, numpy as np, convcli\n"
            f"ex = convcli.explore({str(TEXTBOOK)!r}, filters=2)\n"
            "ex.to_json(trace=(0, 0)); ex.partials(1)\n"
            "ex = convcli.explore(np.ones((6, 6, 3)), kernel_size=2)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click')))\n"
            "print(sorted(m for m in sys.modules if m.startswith(('convcli.cli', 'convcli.render', 'convcli.figure'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout == "[]\n[]\n", out.stdout + out.stderr


def test_explore_prints_nothing(capsys: pytest.CaptureFixture[str]):
    x = np.ones((4, 4, 1))
    x[0, 0, 0] = np.inf
    convcli.explore(x, init="ones")
    assert capsys.readouterr() == ("", "")
