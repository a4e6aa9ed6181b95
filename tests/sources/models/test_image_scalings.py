"""Which layers rescale the image on its way to a layer: only those on the layer's path from the model's
input with a constant operand and nothing but such scalings before them (a residual Add is not one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convcli.errors import LoadError
from convcli.layer.model import Listing, ModelLayer
from convcli.sources.models import paths, read_model

from hostile_models import EDGES_KERAS, EDGES_ONNX, onnx_conv

pytest.importorskip("onnx")


def _names(listing: Listing, layer: str) -> list[str]:
    index = next(i for i, m in enumerate(listing.layers) if m.name == layer)
    return [m.name for m in paths.image_scalings(listing, index)]


def _const(name: str, value: float) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array(value, "float32"), name)


def _weight(name: str, shape: tuple[int, ...]) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.ones(shape, "float32"), name)


def _residual(tmp_path: Path, *, normalise: bool) -> Listing:
    """image → [Mul by a constant → Sub a constant] → c1 → Relu → c2 → Add(c2, relu) (a residual) →
    Mul by a constant (after the conv: no scaling of the image) → conv."""
    from onnx import helper

    n = helper.make_node
    head = [n("Mul", ["image", "s"], ["m"], name="scale"), n("Sub", ["m", "o"], ["x0"], name="shift")] \
        if normalise else [n("Identity", ["image"], ["x0"], name="id")]
    nodes = [*head,
             n("Conv", ["x0", "W1"], ["c1"], name="c1", pads=[1, 1, 1, 1]), n("Relu", ["c1"], ["r1"], name="relu"),
             n("Conv", ["r1", "W2"], ["c2"], name="c2", pads=[1, 1, 1, 1]),
             n("Add", ["c2", "r1"], ["a"], name="/layer1/layer1.0/Add"),
             n("Mul", ["a", "k"], ["r"], name="late_mul")]
    inits = [_const("s", 1 / 255), _const("o", 0.5), _const("k", 2.0), _weight("W1", (3, 3, 3, 3)),
             _weight("W2", (3, 3, 3, 3))]
    return read_model(onnx_conv(tmp_path / "res.onnx", before=nodes, reads="r", inits=inits, weight=(2, 3, 3, 3)))


def test_a_residual_add_and_a_later_mul_do_not_scale_the_image(tmp_path: Path) -> None:
    listing = _residual(tmp_path, normalise=False)
    assert _names(listing, "conv") == []
    assert _names(listing, "c2") == []


def test_the_onnx_scalings_that_read_the_image_are_found_in_path_order(tmp_path: Path) -> None:
    listing = _residual(tmp_path, normalise=True)
    assert _names(listing, "conv") == ["scale", "shift"]
    assert _names(listing, "c1") == ["scale", "shift"]


def test_a_scaling_off_the_layers_path_does_not_count(tmp_path: Path) -> None:
    from onnx import helper

    side = [helper.make_node("Mul", ["image", "s"], ["side"], name="side_scale")]
    listing = read_model(onnx_conv(tmp_path / "side.onnx", before=side, inits=[_const("s", 2.0)]))
    assert _names(listing, "conv") == []


def test_the_samples_rescaling_layers_are_found() -> None:
    assert _names(read_model(EDGES_KERAS), "mid") == ["scale"]
    assert _names(read_model(EDGES_ONNX), "mid") == ["scale", "scale_offset"]


def test_a_layer_read_by_a_name_nothing_has_is_refused() -> None:
    listing = Listing("m.keras", "keras", (ModelLayer(name="c", kind="conv", class_name="Conv2D", inbound=("x",)),))
    with pytest.raises(LoadError, match="reads 'x', which no earlier layer is"):
        paths.sources_of(listing, 0)


@pytest.mark.parametrize("normalise", [False, True])
def test_run_warns_of_a_double_scaling_only_when_the_model_scales_the_image(tmp_path: Path, normalise: bool) -> None:
    """`--preprocess torch` with a residual ONNX model: no warning (following it would give a wrong input);
    with a model that multiplies the image by a constant itself, the warning names that node."""
    pytest.importorskip("onnxruntime")
    from PIL import Image

    from helpers import invoke

    _residual(tmp_path, normalise=normalise)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "x.png")
    r = invoke("run", tmp_path / "x.png", "--model", tmp_path / "res.onnx", "--layer", "conv", "--preprocess", "torch",
               "--json")
    assert r.exit_code == 0, r.output
    if normalise:
        assert "Warning: --preprocess torch and the model's own Mul 'scale' both scale the image" in r.stderr
    else:
        assert "both scale the image" not in r.stderr
