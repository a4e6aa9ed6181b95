"""A legacy .h5 file that Keras 3 cannot rebuild (a layer class it does not know, as MobileNetV3's or
ConvNeXt's LayerScale in their .h5 files): one Error line that says it is Keras' own limit, names the
file and the class, and says to save a .keras file; a layer that only Rescaling layers precede is
still computed, by convcli, equal to Keras' own output where Keras is given the class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convcli.sources.models import read_model, upstream

from helpers import invoke, one_error

keras = pytest.importorskip("keras")


class Boost(keras.layers.Layer):
    """A custom layer, not registered: Keras saves its config and cannot find the class on loading."""

    def call(self, x: Any) -> Any:
        return x * 2.0


@pytest.fixture(scope="module")
def custom_h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    i = keras.Input((8, 6, 3), name="image")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(i)
    x = keras.layers.Conv2D(4, 3, name="early")(x)
    x = Boost(name="boost")(x)
    x = keras.layers.Conv2D(2, 3, name="late")(x)
    model = keras.Model(i, x)
    path = tmp_path_factory.mktemp("h5") / "custom.h5"
    model.save(path)
    return path


def _png(folder: Path) -> Path:
    from PIL import Image

    path = folder / "img.png"
    Image.fromarray((np.random.default_rng(5).random((8, 6, 3)) * 255).astype("uint8")).save(path)
    return path


def test_keras_cannot_rebuild_a_class_is_one_line_with_what_to_do(custom_h5: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Unknown layer"):  # Keras itself refuses the file
        keras.saving.load_model(custom_h5, compile=False, safe_mode=True)
    r = invoke("run", _png(tmp_path), "--model", custom_h5, "--layer", "late", "--no-cache")
    assert r.exit_code == 1, r.output
    line = one_error(r.stderr, f"{custom_h5}: Keras ", "cannot rebuild its layer class 'Boost' from this legacy .h5 file",
                     "a limit of Keras' own .h5 loading", "save the model as .keras", "model.save('custom.keras')")
    assert "\n" not in line.strip() and "Traceback" not in r.output


def test_rescaling_only_before_the_layer_is_computed_by_convcli(custom_h5: Path) -> None:
    listing = read_model(custom_h5)
    index = next(i for i, m in enumerate(listing.layers) if m.name == "early")
    x = (np.random.default_rng(6).random((8, 6, 3)) * 255).astype(np.float32)
    got = upstream.layer_input(custom_h5, listing, index, x)
    assert got.by == "convcli (Rescaling)" and "Keras cannot load the model" in got.note
    # the oracle: Keras itself, given the class, on the same image
    model = keras.saving.load_model(custom_h5, compile=False, custom_objects={"Boost": Boost})
    sub = keras.Model(model.inputs[0], model.get_layer("early").input)
    want = np.asarray(sub.predict_on_batch(x[None]))[0]
    np.testing.assert_allclose(got.array, want, rtol=1e-6, atol=1e-6)
    assert got.array.dtype == np.float32


def test_a_keras_file_keras_cannot_load_keeps_its_message(tmp_path: Path) -> None:
    """A .keras file is no legacy file: Keras' own message, one line (and the Rescaling path too)."""
    i = keras.Input((8, 6, 3), name="image")
    x = keras.layers.Conv2D(4, 3, name="early")(i)
    x = Boost(name="boost")(x)
    x = keras.layers.Conv2D(2, 3, name="late")(x)
    path = tmp_path / "custom.keras"
    keras.Model(i, x).save(path)
    r = invoke("run", _png(tmp_path), "--model", path, "--layer", "late", "--no-cache")
    assert r.exit_code == 1, r.output
    line = one_error(r.stderr, f"{path}: Keras cannot load the model (")
    assert "legacy" not in line
