"""Keras 2 (tf_keras) wrote ``groups: 1`` in every DepthwiseConv2D and SeparableConv2D config, which
Keras 3 refuses: convcli reads such an ``.h5`` model as Keras 2 wrote it, so a layer after one is
computed on its real input; any other groups is one ``Error:`` line, and such a ``.keras`` file is
one line that says what to do."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import models
import numpy as np
import pytest

from helpers import invoke

IMAGE = "samples/grace_hopper.png"


def _model(k: Any) -> Any:
    L = k.layers
    i = k.Input((None, None, 3), name="image")
    x = L.Conv2D(4, 3, padding="same", name="c1")(i)
    x = L.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = L.SeparableConv2D(5, 3, name="sep")(x)
    x = L.Conv2D(2, 1, name="last")(x)
    return models.randomise(k.Model(i, x, name="k2"))


def _as_keras2(config: dict[str, Any], groups: int = 1) -> str:
    for layer in config["config"]["layers"]:
        if layer["class_name"] in ("DepthwiseConv2D", "SeparableConv2D"):
            layer["config"]["groups"] = groups
    return json.dumps(config)


def _edit_h5(path: Path, groups: int = 1) -> None:
    import h5py

    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = _as_keras2(json.loads(f.attrs["model_config"]), groups)


def _edit_keras(path: Path, out: Path, groups: int = 1) -> None:
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "config.json":
                data = _as_keras2(json.loads(data), groups).encode()
            dst.writestr(info, data)


@pytest.fixture(scope="module")
def keras2_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Path]]:
    k = models.keras()
    model = _model(k)
    folder = tmp_path_factory.mktemp("keras2")
    model.save(folder / "k3.keras")
    model.save(folder / "k2.h5")
    _edit_h5(folder / "k2.h5")
    _edit_keras(folder / "k3.keras", folder / "k2.keras")
    return model, {"h5": folder / "k2.h5", "keras": folder / "k2.keras"}


@pytest.mark.parametrize("fmt", ["h5", "keras"])
def test_keras_itself_refuses_the_file(keras2_files: tuple[Any, dict[str, Path]], fmt: str) -> None:
    k = models.keras()
    with pytest.raises(Exception, match="groups"):
        k.saving.load_model(keras2_files[1][fmt], compile=False, safe_mode=True)


@pytest.mark.parametrize("fmt", ["h5"])
def test_a_layer_after_a_keras2_depthwise_runs_on_its_real_input(keras2_files: tuple[Any, dict[str, Path]],
                                                                 fmt: str, tmp_path: Path) -> None:
    k = models.keras()
    model, files = keras2_files
    from PIL import Image

    x = np.asarray(Image.open(IMAGE).convert("RGB"), dtype=np.float32)[None]
    want = np.asarray(k.Model(model.inputs, model.get_layer("last").output).predict_on_batch(x))[0]
    out = tmp_path / "out.npz"
    r = invoke("run", IMAGE, "--model", files[fmt], "--layer", "last", "--dtype", "float64", "--save", out, "-q")
    assert r.exit_code == 0, r.output
    with np.load(out) as z:
        np.testing.assert_allclose(z["output"], want, rtol=1e-4, atol=1e-4 * float(np.abs(want).max()))


def test_other_groups_in_a_depthwise_config_are_one_error_line(keras2_files: tuple[Any, dict[str, Path]],
                                                               tmp_path: Path) -> None:
    _, files = keras2_files
    bad = tmp_path / "g2.h5"
    bad.write_bytes(files["h5"].read_bytes())
    _edit_h5(bad, groups=2)
    r = invoke("run", IMAGE, "--model", bad, "--layer", "last", "-q")
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.startswith(f"Error: {bad}: Keras cannot load the model (") and r.stderr.count("\n") == 1
    assert "has no groups; the config says 2" in r.stderr, r.stderr


def test_a_keras2_dot_keras_file_is_one_line_that_says_what_to_do(keras2_files: tuple[Any, dict[str, Path]]) -> None:
    path = keras2_files[1]["keras"]
    r = invoke("run", IMAGE, "--model", path, "--layer", "last", "-q")
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr == (f"Error: {path}: a .keras file written by Keras 2 (tf_keras): Keras 3 refuses the groups of "
                        "its depthwise or separable layers; save the model as .h5 with tf_keras, which convcli reads "
                        "as Keras 2 wrote it\n")
