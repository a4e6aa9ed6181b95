"""`convcli.present`: the numpy-only texts and JSON every view shares (no rich, no Pillow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convcli import engine
from convcli.figure import maps
from convcli.layer.spec import ConvSpec, group_of
from convcli.present import describe, schema, selection
from convcli.render.numbers import Call

from helpers import centred_window

ROOT = Path(__file__).resolve().parents[2]


def result_of(x: np.ndarray, kernel: np.ndarray, **kwargs: object) -> engine.LayerResult:
    layer = engine.prepare(x, kernel, **kwargs)  # type: ignore[arg-type]
    return engine.run_layer(layer, 0.5, "relu")


@pytest.fixture
def grouped() -> engine.LayerResult:
    rng = np.random.default_rng(3)
    return result_of(rng.normal(size=(7, 8, 4)).astype(np.float32), rng.normal(size=(3, 3, 2, 6)),
                     groups=2, stride=2, padding="same")


def test_the_view_models_import_neither_rich_nor_pillow():
    code = """
import json, sys
import numpy as np
from convcli import engine
from convcli.layer import counts
from convcli.layer import stack as stack_syntax
from convcli.layer.spec import ConvSpec
from convcli.present import describe, schema, selection
from convcli.present.window import Window
x = np.ones((5, 5, 3), np.float32)
layer = engine.prepare(x, np.ones((2, 2, 3, 2)))
r = engine.run_layer(layer, 0.0, "relu")
info = describe.InputInfo("x.npy", "array", x.shape, "float32", ("R", "G", "B"), describe.value_range(x))
json.dumps(schema.result_json(info, r, "valid", [0, 1], None, None, window=Window.choose(layer.geometry.out_hw),
                              semantics="keras", flip=False))
spec = ConvSpec("conv", 3, 8, (3, 3))
json.dumps(schema.params_json(counts.report(spec, (9, 9)), counts.report(counts.equivalent(spec), (9, 9))))
json.dumps(schema.stack_json(stack_syntax.build_stack(stack_syntax.parse_stack("conv 8 k3, dw k3"), (9, 9, 3))))
describe.keras_call(r, "valid").text(), describe.torch_call(r, "valid").text()
print(sorted(m for m in sys.modules if m.split(".")[0] in ("rich", "PIL", "typer")))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_result_json_closes_the_layer_with_semantics_and_flip(grouped: engine.LayerResult):
    info = describe.InputInfo("x.npy", "array", (7, 8, 4), "float32", ("a", "b", "c", "d"), "0 … 1")
    window = centred_window(grouped)
    patched = schema.result_json(info, grouped, "same", [0, 5], None, None, window=window)
    patched["layer"].update(semantics="torch", flip=True)  # what the CLI did before result_json took them
    given = schema.result_json(info, grouped, "same", [0, 5], None, None, window=window, semantics="torch", flip=True)
    assert json.dumps(given) == json.dumps(patched)
    assert list(given["layer"])[-2:] == ["semantics", "flip"]


def test_one_layer_object_for_run_params_and_maps(grouped: engine.LayerResult, tmp_path):
    layer = schema.layer_json(grouped, "same", shapes=True)
    maps.save_maps(grouped, tmp_path, padding="same")
    assert json.loads((tmp_path / maps.SIDECAR).read_text())["layer"] == layer
    assert layer["pads"] == list(grouped.layer.geometry.pads)  # [top, bottom, left, right], as run --json
    assert layer["input_shape"] == [7, 8, 4] and layer["output_shape"] == list(grouped.output.shape)
    assert layer["padding"] == "same"
    config = schema.spec_json(ConvSpec("separable", 4, 6, (3, 3), padding=(1, 2), depth_multiplier=2))
    for obj in (layer, config, schema.layer_json(grouped, (1, 2), semantics="keras", flip=False)):
        keys = list(obj)
        assert keys == sorted(keys, key=schema.LAYER_KEYS.index)
    assert config["padding"] == [1, 2] and config["kernel_size"] == layer["kernel_size"] == [3, 3]


def test_the_group_of_a_filter(grouped: engine.LayerResult):
    assert [group_of(f, 6, 2) for f in range(6)] == [0, 0, 0, 1, 1, 1]
    assert selection.group_channels(grouped, 4).tolist() == [2, 3]


def test_a_call_is_plain_data_and_renders_the_same_text(grouped: engine.LayerResult):
    keras = describe.keras_call(grouped, "same")
    assert keras.text() == Call.of(keras).text()
    assert keras.text().startswith("Conv2D(filters=6, kernel_size=(3, 3), strides=(2, 2), padding='same' -> pads ")
    assert dict(keras.args)["groups"] == "2"
    torch = describe.semantics_call(grouped, "same", "torch")
    assert torch.name == "Conv2d" and dict(torch.args)["in_channels"] == "4"
    assert "TensorFlow's rule" in dict(torch.args)["padding"]
    spec = describe.spec_call(ConvSpec("depthwise", 8, None, (3, 3), depth_multiplier=2))
    assert spec.text() == ("DepthwiseConv2D(kernel_size=(3, 3), strides=(1, 1), padding='valid', "
                           "dilation_rate=(1, 1), depth_multiplier=2, use_bias=True)")


def test_number_and_shape_texts():
    assert describe.range_text(-0.0, 2.5) == "0.000 … 2.500"  # one format for both ends, -0 as 0
    assert describe.value_range(np.array([1.0, np.nan, 250.0])) == "1 … 250"
    assert describe.index_range(3, 4) == "3" and describe.index_range(3, 6) == "3–5"
    assert describe.pair_text((1, 2)) == "(1, 2)" and describe.pair_text((0, 1, 2, 3)) == "(0, 1, 2, 3)"
    assert describe.square_text((3, 3)) == "3" and describe.square_text((3, 5), "x") == "3x5"
    assert describe.input_shape_text((4, 5, 3), "torch") == "3×4×5 (C, H, W)"


def test_a_shown_zero_has_no_sign():
    """A tiny negative or -0.0 rounded to zero reads 0.000, not -0.000 (a --trace product of a zero weight)."""
    from convcli.present.describe import number_format

    f = number_format(np.array([-0.00001, 1.5, -2.25]))
    assert (f(-0.00001), f(-0.0), f(-2.25), f(-0.0006)) == ("0.000", "0.000", "-2.250", "-0.001")
    g = number_format(np.array([-0.0, 3.0]))
    assert (g(-0.0), g(-3.0)) == ("0", "-3")


def test_quantising_a_finite_map_is_the_documented_linear_map():
    values = np.random.default_rng(6).normal(size=(70, 50)).astype(np.float32)
    q = maps.quantise(values, 16)
    lo, hi = float(values.min()), float(values.max())
    scale = (hi - lo) / 65535
    want = np.clip(np.rint((values.astype(np.float64) - lo) / scale), 0, 65535).astype(np.uint16)
    np.testing.assert_array_equal(q.pixels, want)
    assert (q.offset, q.scale, q.nan, q.posinf, q.neginf) == (lo, scale, 0, 0, 0)


def test_save_maps_reports_its_progress(tmp_path: Path, grouped: engine.LayerResult) -> None:
    seen: list[float] = []
    maps.save_maps(grouped, tmp_path / "m", progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == grouped.layer.filters
