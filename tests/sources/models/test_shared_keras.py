"""A nested Keras model called twice (a shared backbone) with two outputs: the listing says which
call it follows (the first), each layer after it reads the output its config names, and
``run --layer backbone/conv2`` computes the layer on that first call's input, as Keras does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import models
import numpy as np
import pytest

from helpers import invoke

IMAGE = "samples/grace_hopper.png"  # 150×128 RGB


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, dict[str, Path]]:
    """``image`` → backbone (conv1 → conv2, both outputs) and ``flip`` → the same backbone → a head."""
    k = models.keras()
    L = k.layers
    bi = k.Input((None, None, 3), name="bin")
    a = L.Conv2D(4, 3, padding="same", name="conv1")(bi)
    b = L.Conv2D(5, 3, padding="same", name="conv2")(a)
    backbone = k.Model(bi, [a, b], name="backbone")
    i = k.Input((None, None, 3), name="image")
    first = backbone(i)
    second = backbone(L.Rescaling(-1.0, 255.0, name="flip")(i))
    x = L.Concatenate(name="cat")([first[1], second[1], first[0]])
    model = k.Model(i, L.Conv2D(2, 1, name="head")(x), name="siamese")
    folder = tmp_path_factory.mktemp("shared")
    files = {"keras": folder / "shared.keras", "h5": folder / "shared.h5"}
    model.save(files["keras"])
    model.save(files["h5"])
    return model, backbone, files


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_the_listing_says_which_call_and_output_it_follows(shared: tuple[Any, Any, dict[str, Path]], fmt: str) -> None:
    r = invoke("layers", shared[2][fmt], "--json")
    assert r.exit_code == 0, r.output
    notes = " ".join(json.loads(r.stdout)["notes"])
    assert "backbone is a nested Functional model" in notes
    assert "called 2 times" in notes and "first call's input" in notes
    assert "2 outputs ('conv1', 'conv2')" in notes


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_a_layer_after_it_reads_the_output_its_config_names(shared: tuple[Any, Any, dict[str, Path]],
                                                            fmt: str) -> None:
    model = shared[0]
    r = invoke("layers", shared[2][fmt], "--input-size", "12,10,3", "--json")
    assert r.exit_code == 0, r.output
    rows = {layer["name"]: layer for layer in json.loads(r.stdout)["layers"]}
    # cat = [first[1], second[1], first[0]]: conv2, conv2 (listed once, on its first call), conv1
    assert rows["cat"]["inbound"] == ["backbone/conv2", "backbone/conv2", "backbone/conv1"]
    assert tuple(rows["cat"]["output_shape"]) == (12, 10, 5 + 5 + 4)
    assert tuple(model.get_layer("cat").output.shape[-1:]) == (14,)  # Keras' own channels
    assert tuple(rows["head"]["output_shape"]) == (12, 10, 2)


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_an_inner_layer_runs_on_the_first_calls_input(shared: tuple[Any, Any, dict[str, Path]], fmt: str,
                                                      tmp_path: Path) -> None:
    k = models.keras()
    model, backbone, files = shared
    from PIL import Image

    x = np.asarray(Image.open(IMAGE).convert("RGB"), dtype=np.float32)[None]
    # the first call reads the image itself: conv2 on it, as Keras computes it
    conv2 = np.asarray(k.Model(backbone.inputs, backbone.get_layer("conv2").output).predict_on_batch(x))[0]
    out = tmp_path / "out.npz"
    r = invoke("run", IMAGE, "--model", files[fmt], "--layer", "backbone/conv2", "--dtype", "float64", "--save", out,
               "-q")
    assert r.exit_code == 0, r.output
    with np.load(out) as z:
        got = z["output"]
    np.testing.assert_allclose(got, conv2, rtol=1e-4, atol=1e-4 * float(np.abs(conv2).max()))
    # not the second call's (on the flipped image): that one differs
    flipped = np.asarray(k.Model(backbone.inputs, backbone.get_layer("conv2").output).predict_on_batch(255.0 - x))[0]
    assert not np.allclose(got, flipped, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("merge", ["Subtract", "Average", "Maximum", "Minimum", "Multiply"])
def test_keras_element_wise_merges_broadcast_as_keras_does(tmp_path: Path, merge: str) -> None:
    k = models.keras()
    L = k.layers
    i = k.Input((9, 8, 3), name="image")
    a = L.Conv2D(6, 3, name="maps")(i)
    s = L.Reshape((1, 1, 6), name="scale")(L.Dense(6, name="squeeze")(L.GlobalAveragePooling2D(name="pool")(a)))
    x = getattr(L, merge)(name="merged")([a, s])
    model = k.Model(i, L.Conv2D(2, 3, name="head")(x))
    model.save(tmp_path / "m.keras")
    r = invoke("layers", tmp_path / "m.keras", "--input-size", "9,8,3", "--json")
    assert r.exit_code == 0, r.output
    rows = {layer["name"]: layer for layer in json.loads(r.stdout)["layers"]}
    assert rows["merged"]["kind"] == merge.lower()
    for name in ("merged", "head"):
        assert tuple(rows[name]["output_shape"]) == tuple(model.get_layer(name).output.shape[1:])
