"""``convcli run --precision``: the textbook layer in bfloat16 on screen, in JSON and in --save, and the
options' bad values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import convcli

from helpers import invoke

ROOT = Path(__file__).resolve().parents[2]
TEXTBOOK = ROOT / "samples" / "textbook.npy"
BF16 = ("-k", "2", "--init", "ones", "--activation", "relu", "--precision", "bf16")


def test_textbook_bf16_screen_shows_where_each_rounding_comes_from():
    r = invoke("run", TEXTBOOK, *BF16, "-q")
    assert r.exit_code == 0, r.output
    out = r.stdout
    # the header says what is emulated and how
    assert "precision" in out and "inputs and weights rounded to" in out and "accumulated in float32" in out
    # 10000 is stored as 9984, so channel c2's 40000 becomes 39936 (error -64) ...
    row = next(line for line in out.splitlines() if line.startswith("channel c2") and "9984" in line)
    assert "10000 → 9984" in row and "40000" in row and "39936" in row and "-64" in row
    # ... the float32 adder gives 40340 exactly, and storing it in bfloat16 makes 40448 (+108)
    assert any(line.startswith("sum in float32") and "40340" in line for line in out.splitlines())
    assert any(line.startswith("stored in bfloat16") and "40448" in line and "+108" in line
               for line in out.splitlines())
    assert any(line.startswith("output") and "40404" in line and "40448" in line and "+44" in line
               for line in out.splitlines())
    assert "the largest part: stored in bfloat16" in out
    # the whole layer's summary
    assert "bfloat16 − float64, whole layer" in out and "the largest part on average: output rounding" in out
    assert "Warning" not in r.stderr


def test_textbook_bf16_json_numbers():
    r = invoke("run", TEXTBOOK, *BF16, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert (doc["precision"], doc["accumulate"]) == ("bf16", "fp32")
    f0 = doc["filters"][0]
    assert f0["window_output"] == [[40404.0, 40404.0], [40404.0, 40404.0]]
    assert f0["window_emulated_output"] == [[40448.0, 40448.0], [40448.0, 40448.0]]
    errors = f0["window_errors"]
    assert errors["channels"][2] == [[-64.0, -64.0], [-64.0, -64.0]]
    assert errors["channels"][0] == errors["channels"][1] == [[0.0, 0.0], [0.0, 0.0]]
    assert errors["bias"] == 0.0 and errors["accumulation"] == [[0.0, 0.0], [0.0, 0.0]]
    assert errors["output_rounding"] == [[108.0, 108.0], [108.0, 108.0]]
    summary = doc["errors"]
    assert summary["dominant"] == "output rounding"
    assert summary["total"]["max_abs"] == 44.0
    assert [p["name"] for p in summary["parts"]] == ["channel 0", "channel 1", "channel 2", "bias", "accumulation",
                                                     "output rounding"]
    assert set(summary["parts"][0]) == {"name", "max_abs", "mean_abs", "max_eps", "mean_eps"}


def test_json_equals_the_library_exploration():
    r = invoke("run", TEXTBOOK, *BF16, "--json")
    assert r.exit_code == 0, r.output
    ex = convcli.explore(TEXTBOOK, kernel_size=2, init="ones", activation="relu", precision="bf16")
    doc = ex.to_json()
    doc["input"]["path"] = str(TEXTBOOK)
    assert json.loads(r.stdout) == json.loads(json.dumps(doc))
    assert ex.emulated is not None and float(ex.emulated.emulation.output[0, 0, 0]) == 40448.0


def test_without_precision_json_has_no_precision_keys():
    r = invoke("run", TEXTBOOK, "-k", "2", "--init", "ones", "--json")
    doc = json.loads(r.stdout)
    assert not {"precision", "accumulate", "errors"} & set(doc)
    assert not {"window_emulated_output", "window_errors"} & set(doc["filters"][0])


def test_trace_position_chooses_the_precision_panel(tmp_path):
    x = np.arange(4 * 4 * 2, dtype=np.float32).reshape(4, 4, 2) * 1001
    np.save(tmp_path / "x.npy", x)
    r = invoke("run", tmp_path / "x.npy", "-k", "2", "--init", "ones", "--precision", "bf16", "--trace", "2,1", "-q")
    assert r.exit_code == 0, r.output
    assert "bfloat16 at output (2, 1) · filter 0" in r.stdout


def test_save_holds_the_emulated_arrays(tmp_path):
    target = tmp_path / "run.npz"
    r = invoke("run", TEXTBOOK, *BF16, "--save", target, "-q")
    assert r.exit_code == 0, r.output
    with np.load(target) as npz:
        assert {"emulated_preactivation", "emulated_output", "rounded_input", "rounded_kernel"} <= set(npz.files)
        assert float(npz["rounded_input"].max()) == 9984.0
        assert npz["emulated_output"].shape == (2, 2, 1) and float(npz["emulated_output"][0, 0, 0]) == 40448.0
        assert {"input", "kernel", "bias", "preactivation", "output", "partials"} <= set(npz.files)
    assert "emulated_output" in r.stderr


def test_unknown_precision_is_a_usage_error_naming_the_option():
    r = invoke("run", TEXTBOOK, "-k", "2", "--precision", "fp8")
    assert r.exit_code == 2
    assert "--precision" in r.stderr and "fp8" in r.stderr and "bf16" in r.stderr


@pytest.mark.parametrize("precision", ["tf32", "fp32"])
def test_fp16_accumulation_of_wider_formats_names_both_options(precision):
    r = invoke("run", TEXTBOOK, "-k", "2", "--precision", precision, "--accumulate", "fp16")
    assert r.exit_code == 2
    assert "--accumulate fp16" in r.stderr and f"--precision {precision}" in r.stderr


@pytest.mark.parametrize(("args", "named"), [(("--accumulate", "fp8", "--precision", "bf16"), "--accumulate"),
                                             (("--accumulate", "fp16"), "--precision"),
                                             (("--accumulate", "fp32", "--precision", "fp64"), "--precision fp64")])
def test_bad_accumulate_is_a_usage_error(args, named):
    r = invoke("run", TEXTBOOK, "-k", "2", *args)
    assert r.exit_code == 2
    assert named in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_fp16_accumulation_of_fp16_inputs_runs():
    r = invoke("run", TEXTBOOK, "-k", "2", "--init", "ones", "--precision", "fp16", "--accumulate", "fp16", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["accumulate"] == "fp16"


def test_input_overflowing_float16_is_one_warning_with_the_count(tmp_path):
    x = np.ones((4, 4, 2), dtype=np.float32)
    x[0, 1, 0], x[2, 2, 1], x[3, 0, 0] = 1e5, 7e4, -9e4
    np.save(tmp_path / "x.npy", x)
    r = invoke("run", tmp_path / "x.npy", "-k", "2", "--init", "ones", "--precision", "fp16", "-q")
    assert r.exit_code == 0, r.output
    warnings = [line for line in r.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1
    assert "3 input values overflow float16" in warnings[0] and "(0, 1, 0)" in warnings[0]


def test_explore_refuses_an_unknown_precision():
    with pytest.raises(convcli.errors.ConfigError) as info:
        convcli.explore(np.ones((3, 3, 1)), precision="fp8")
    assert info.value.field == "precision"


def test_a_large_layer_s_error_summary_is_measured_on_a_centred_band_and_says_so(monkeypatch):
    """The summary's float64 passes would cost many runs on a photo: past SUMMARY_VALUES output values they
    cover a centred band of rows, and the screen and the JSON name it."""
    import numpy as np

    import convcli
    from convcli.pipeline import precision

    monkeypatch.setattr(precision, "SUMMARY_VALUES", 2 * 126 * 2)  # two of the photo's 148 output rows, 2 filters
    ex = convcli.explore("samples/grace_hopper.png", filters=2, precision="bf16")
    errors = ex.to_json()["errors"]
    assert errors["rows"] == [73, 74]  # first and last, as the table title says "rows 73–74"
    assert np.isfinite(errors["total"]["max_abs"]) and errors["total"]["max_abs"] > 0
    monkeypatch.setattr(precision, "SUMMARY_VALUES", 1 << 20)
    assert convcli.explore("samples/grace_hopper.png", filters=2, precision="bf16").to_json()["errors"]["rows"] is None
    monkeypatch.setattr(precision, "SUMMARY_VALUES", 2 * 126 * 2)
    r = invoke("run", "samples/grace_hopper.png", "-f", "2", "--precision", "bf16", "-q", columns=120)
    assert r.exit_code == 0, r.output
    assert "bfloat16 − float64, output rows 73–74 (a centred band)" in r.stdout
