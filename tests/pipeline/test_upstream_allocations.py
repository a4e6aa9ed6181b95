"""A model whose layers before the explored one would make huge activations (an UpSampling2D or Resize of
×8000, a padding of 30000) is refused before its framework runs, in one line naming the layer and the size:
from the listing's shapes where convcli can follow them, else from the framework's own shape inference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convcli.pipeline import memory
from convcli.sources.models import child

from helpers import invoke, one_error

GIB = 2**30


@pytest.fixture(autouse=True)
def _eight_gib_free(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "available_bytes", lambda: (8 * GIB, "free"))


def png(folder: Path, size: int = 8) -> Path:
    from PIL import Image

    path = folder / "img.png"
    Image.fromarray((np.random.default_rng(3).random((size, size, 3)) * 255).astype("uint8")).save(path)
    return path


def onnx_model(path: Path, before: list[Any], reads: str, inits: list[Any]) -> Path:
    """``image (1, 3, 8, 8)`` → ``before`` → Conv ``conv`` (3 → 2, 3×3) reading ``reads``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.default_rng(2).standard_normal((2, 3, 3, 3)).astype("float32"), "W")
    graph = helper.make_graph([*before, helper.make_node("Conv", [reads, "W"], ["y"], name="conv")], "g",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[w, *inits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def resize(folder: Path, factor: int) -> Path:
    from onnx import helper, numpy_helper

    scales = numpy_helper.from_array(np.array([1, 1, factor, factor], "float32"), "scales")
    roi = numpy_helper.from_array(np.array([], "float32"), "roi")
    return onnx_model(folder / "resize.onnx", [helper.make_node("Resize", ["image", "roi", "scales"], ["big"],
                                                                name="grow")], "big", [scales, roi])


def pad(folder: Path, amount: int) -> Path:
    from onnx import helper, numpy_helper

    pads = numpy_helper.from_array(np.array([0, 0, amount, amount, 0, 0, amount, amount], "int64"), "pads")
    return onnx_model(folder / "pad.onnx", [helper.make_node("Pad", ["image", "pads"], ["big"], name="pad")],
                      "big", [pads])


def conv_pads(folder: Path, amount: int) -> Path:
    from onnx import helper, numpy_helper

    w0 = numpy_helper.from_array(np.ones((3, 3, 1, 1), "float32"), "W0")
    return onnx_model(folder / "convpad.onnx", [helper.make_node("Conv", ["image", "W0"], ["big"], name="wide",
                                                                 pads=[amount] * 4)], "big", [w0])


def upsampling(folder: Path, factor: int) -> Path:
    keras = pytest.importorskip("keras")
    i = keras.Input((8, 8, 3), name="image")
    x = keras.layers.UpSampling2D(size=factor, name="grow")(i)
    x = keras.layers.Conv2D(2, 3, name="conv")(x)
    path = folder / "up.keras"
    keras.Model(i, x).save(path)
    return path


def zero_padding(folder: Path, amount: int) -> Path:
    keras = pytest.importorskip("keras")
    i = keras.Input((None, None, 3), name="image")
    x = keras.layers.ZeroPadding2D(padding=amount, name="pad")(i)
    x = keras.layers.Conv2D(2, 3, name="conv")(x)
    path = folder / "zpad.keras"
    keras.Model(i, x).save(path)
    return path


CASES = [
    (zero_padding, 30000, "layer 'pad' (ZeroPadding2D) would make a 60008×60008×3 activation (40.2 GiB)"),
    # the listing's own shapes (the walk's, ONNX's shape inference) find them first, as (H, W, C)
    (upsampling, 8000, "layer 'grow' (UpSampling2D) would make a 64000×64000×3 activation (45.8 GiB)"),
    (resize, 8000, "layer 'grow' (Resize) would make a 64000×64000×3 activation (45.8 GiB)"),
    (pad, 30000, "layer 'pad' (Pad) would make a 60008×60008×3 activation (40.2 GiB)"),
    (conv_pads, 30000, "layer 'wide' (Conv) would make a 60008×60008×3 activation (40.2 GiB)"),
]


@pytest.mark.parametrize("make, amount, said", CASES, ids=[c[0].__name__ for c in CASES])
def test_a_huge_activation_before_the_layer_is_refused_before_the_framework_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Any, amount: int, said: str) -> None:
    pytest.importorskip("onnx")
    model = make(tmp_path, amount)
    ran: list[int] = []

    def refuse(*args: Any, **kw: Any) -> None:  # the framework would try to allocate 40+ GiB
        ran.append(1)
        raise AssertionError("the framework ran")

    real_run = child.run

    def refuse_model(task: str, *args: Any, **kw: Any) -> Any:  # a Keras file's listing is read in a child too
        return real_run(task, *args, **kw) if task.startswith("convcli.sources.models.hdf5:") else refuse()

    monkeypatch.setattr(child, "run", refuse_model)
    if model.suffix == ".keras":
        import keras

        monkeypatch.setattr(keras.Model, "predict_on_batch", refuse)
    r = invoke("run", png(tmp_path), "--model", model, "--layer", "conv")
    assert r.exit_code == 1, r.output
    assert not ran
    dims = said.split(" a ")[1].split()[0]
    needs = 3 * 4 * np.prod([int(d) for d in dims.split("×")]) / GIB
    one_error(r.stderr, f"{model}: {said} before 'conv'; the model would need about {needs:.1f} GiB to compute it "
                        "but only 8.0 GiB is free; use a smaller image: --resize H,W")


@pytest.mark.parametrize("make, amount", [(upsampling, 2), (zero_padding, 3), (resize, 2), (pad, 3), (conv_pads, 3)],
                         ids=["upsampling", "zero_padding", "resize", "pad", "conv_pads"])
def test_the_same_layers_of_a_sound_size_compute(tmp_path: Path, make: Any, amount: int) -> None:
    pytest.importorskip("onnxruntime")
    model = make(tmp_path, amount)
    out = tmp_path / "out.npz"
    r = invoke("run", png(tmp_path), "--model", model, "--layer", "conv", "--save", out, "--no-partials")
    assert r.exit_code == 0, r.output
    with np.load(out) as saved:
        side = 8 * amount if make in (upsampling, resize) else 8 + 2 * amount
        assert saved["input"].shape == (side, side, 3)
