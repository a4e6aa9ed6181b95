"""`convcli params`: its usage and data errors, its --json and its panel and stack table (the counts
behind them are tested in tests/layer/test_params.py; the docs' pasted outputs in tests/docs/)."""

from __future__ import annotations

import json

import pytest

from convcli.cli import app

from helpers import invoke, runner


def params_json(*args: str) -> dict:
    r = invoke("params", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["-c", "64", "-f", "128", "--groups", "3"], "--groups: groups 3 does not divide the 64 input channels"),
        (["-c", "6", "-f", "4", "--groups", "3"], "--groups: groups 3 does not divide the 4 filters"),
        (["-c", "0"], "--in-channels"),
        (["-f", "4"], "give the input channels"),
        (["--input-size", "8,8,0"], "--input-size needs channels C ≥ 1"),
        (["--kind", "depthwise", "-c", "3", "-f", "4"], "--filters: a depthwise layer has no filter count"),
        (["--kind", "separable", "-c", "3", "-f", "3", "--groups", "3"], "--groups: groups is for conv and transpose"),
        (["-c", "3", "--input-size", "8,8,4"], "--in-channels 3 contradicts --input-size 8,8,4"),
        (["--stack", "conv 8", "-c", "3", "--input-size", "8,8,3"], "drop --in-channels"),
        (["--stack", "conv 8", "--input-size", "8,8"], "--stack needs --input-size H,W,C"),
    ],
)
def test_params_usage_errors(args: list[str], fragment: str):
    r = invoke("params", *args)
    assert r.exit_code == 2, r.output
    assert fragment in r.stderr
    assert r.stderr.count("\n") == 1


def test_params_empty_output_is_a_data_error():
    r = invoke("params", "-c", "3", "-k", "5", "--input-size", "4,4")
    assert r.exit_code == 1
    assert "kernel 5×5 spans 5 rows but the padded input has 4" in r.stderr


# ------------------------------------------------------------------------------------------------
# `convcli params` output


def test_params_json_without_input_size():
    doc = params_json("-c", "3", "-k", "2")
    assert (doc["weights"], doc["biases"], doc["total"]) == (12, 1, 13)
    assert doc["layer"] == "Conv2D" and doc["variables"] == {"kernel": [2, 2, 3, 1], "bias": [1]}
    assert doc["receptive_field"] == [2, 2]
    assert "output_shape" not in doc and "macs" not in doc


def test_params_json_with_input_size():
    doc = params_json("-c", "64", "-f", "128", "-k", "3", "--input-size", "56,56", "--padding", "same")
    assert doc["total"] == 73_856
    assert doc["input_shape"] == [56, 56, 64] and doc["output_shape"] == [56, 56, 128]
    assert doc["pads"] == [1, 1, 1, 1]
    assert doc["macs"] == 231_211_008 and doc["flops"] == 462_422_016
    assert "2·MACs" in doc["flop_convention"]
    # the teaching comparison: the depthwise-separable twin
    assert doc["compare"] == {"layer": "SeparableConv2D", "kind": "separable", "weights": 8_768, "biases": 128,
                              "total": 8_896, "macs": 27_496_448}


def test_params_json_kinds():
    dw = params_json("--kind", "depthwise", "-c", "8", "-k", "5", "-m", "2", "--no-bias")
    assert (dw["weights"], dw["biases"], dw["total"], dw["out_channels"]) == (400, 0, 400, 16)
    sep = params_json("--kind", "separable", "-c", "32", "-f", "16", "-k", "5", "-m", "2")
    assert (sep["weights"], sep["biases"]) == (5 * 5 * 32 * 2 + 64 * 16, 16)
    t = params_json("--kind", "transpose", "-c", "64", "-f", "32", "-k", "4", "--stride", "2",
                    "--input-size", "16,16,64", "--padding", "same")
    assert t["total"] == 4 * 4 * 32 * 64 + 32 and t["output_shape"] == [32, 32, 32] and t["pads"] is None
    assert t["variables"]["kernel"] == [4, 4, 32, 64]  # Keras: (kh, kw, F, C)
    assert t["effective_stride"] == [0.5, 0.5]


def test_params_stack_json():
    doc = params_json("--stack", "conv 32 k3 s2, conv 64 k3", "--input-size", "32,32,3")
    assert [lay["index"] for lay in doc["layers"]] == [1, 2]
    first, second = doc["layers"]
    assert first["text"] == "conv 32 k3 s2" and first["output_shape"] == [15, 15, 32]
    assert (first["weights"], first["biases"], first["total"]) == (864, 32, 896)
    assert second["output_shape"] == [13, 13, 64] and second["receptive_field"] == [7, 7]
    assert second["macs"] == 13 * 13 * 9 * 32 * 64
    t = doc["totals"]
    assert t["total"] == 896 + 18_496 and t["weights"] + t["biases"] == t["total"]
    assert t["macs"] == first["macs"] + second["macs"] and t["flops"] == 2 * t["macs"]
    assert t["receptive_field"] == [7, 7] and t["effective_stride"] == [2, 2] and t["output_shape"] == [13, 13, 64]


def test_params_panel_text():
    r = invoke("params", "-c", "64", "-f", "128", "-k", "3", "--input-size", "56,56", "--padding", "same")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "kh·kw·C·F = 3·3·64·128 = 73,728" in out
    assert "73,856 parameters" in out
    assert "H'·W'·kh·kw·C·F = 56·56·3·3·64·128 = 231,211,008" in out
    assert "2·MACs = 462,422,016" in out
    assert "8,896 parameters (8.3× fewer) · MACs 27,496,448 (8.4× fewer)" in out
    assert "pads (1, 1, 1, 1)" in out


@pytest.mark.parametrize("width", ["100", "80"])
def test_params_stack_table_fits(width: str):
    r = runner.invoke(app, ["params", "--stack", "conv 32 k3 s2, dw k3 same, sep 128 k3 s2 same m2, "
                            "tconv 64 k4 s2 same, conv 3 k3 same nobias", "--input-size", "224,224,3"],
                      env={"COLUMNS": width, "NO_COLOR": "1"})
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= int(width)
    assert "…" not in r.stdout  # nothing cut
    assert any("56×56×128" in line and "8,896" in line and "27,496,448" in line for line in lines)
    assert ("SeparableConv2D 128 m2" in r.stdout) == (width == "100")
    assert "FLOPs = 2·MACs" in r.stdout


NETWORK = "pad 3, conv 64 k7 s2, bn, pad 1, maxpool 3 s2, conv 64 k3 same nobias, bn, avgpool 2, gap, dense 10"


def test_params_stack_json_of_the_new_kinds():
    doc = params_json("--stack", "conv 8 k3, bn, maxpool 2, pad 1,2,0,1, flatten, dense 4 nobias", "--input-size",
                      "10,10,3")
    conv, bn, pool, pad, flat, dense = doc["layers"]
    assert conv["trainable"] == conv["total"] == 224  # the conv object as before, with its trainable count
    assert bn["kind"] == "batchnorm" and bn["layer"] == "BatchNormalization"
    assert (bn["weights"], bn["biases"], bn["total"], bn["trainable"]) == (None, None, 32, 16)
    assert bn["variables"] == {"gamma": [8], "beta": [8], "moving_mean": [8], "moving_variance": [8]}
    assert bn["config"]["kernel_size"] is None and bn["config"]["in_channels"] == 8 and bn["pads"] is None
    assert pool["config"]["kernel_size"] == [2, 2] and pool["config"]["strides"] == [2, 2]
    assert pool["config"]["padding"] == "valid" and pool["pads"] == [0, 0, 0, 0]
    assert pool["output_shape"] == [4, 4, 8] and pool["receptive_field"] == [4, 4] and pool["effective_stride"] == [2, 2]
    assert (pool["weights"], pool["biases"], pool["total"], pool["macs"]) == (0, 0, 0, 0)
    assert pad["config"]["padding"] == [[1, 2], [0, 1]] and pad["pads"] == [1, 2, 0, 1]
    assert pad["output_shape"] == [7, 5, 8] and pad["receptive_field"] == [4, 4]
    assert flat["output_shape"] == [280] and flat["out_channels"] is None
    assert flat["receptive_field"] == [10, 10] and flat["effective_stride"] is None
    assert dense["config"]["units"] == 4 and dense["config"]["use_bias"] is False
    assert dense["variables"] == {"kernel": [280, 4]} and (dense["weights"], dense["biases"]) == (1120, 0)
    assert dense["macs"] == 1120 and dense["text"] == "dense 4 nobias"
    t = doc["totals"]
    assert (t["total"], t["trainable"], t["non_trainable"]) == (224 + 32 + 1120, 224 + 16 + 1120, 16)
    assert (t["weights"], t["biases"]) == (216 + 1120, 8)
    assert t["output_shape"] == [4] and t["receptive_field"] == [10, 10] and t["effective_stride"] is None


@pytest.mark.parametrize(
    "stack, code, fragment",
    [
        ("conv 8, bn 2", 2, "--stack layer 2 ('bn 2'): unknown word '2'; bn takes no words"),
        ("dense", 2, "--stack layer 1 ('dense'): a dense layer needs the number of units"),
        ("flatten, conv 8", 1, "--stack layer 2 ('conv 8'): it needs an (H, W, C) input"),
        ("maxpool 9", 1, "--stack layer 1 ('maxpool 9'): '9': the pool window 9×9 spans 9 rows but the padded "
                         "input has 8"),
    ],
)
def test_params_stack_new_kind_errors(stack: str, code: int, fragment: str):
    r = invoke("params", "--stack", stack, "--input-size", "8,8,3")
    assert r.exit_code == code, r.output
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("Error: ")
    assert fragment in r.stderr


@pytest.mark.parametrize("width", ["80", "100", "120"])
def test_params_stack_network_fits(width: str):
    r = runner.invoke(app, ["params", "--stack", NETWORK, "--input-size", "224,224,3"],
                      env={"COLUMNS": width, "NO_COLOR": "1"})
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= int(width)
    assert "…" not in r.stdout
    bn = "BatchNormalization" if width == "120" else "bn"
    assert any(line.split()[1:3] == [bn, "112×112×64"] and line.split()[3:5] == ["256", "128"] for line in lines[:12])
    assert any("10" in line and "650" in line for line in lines)
    assert "trainable" in lines[2]
    assert any(line.startswith("trainable") and "47,242" in line and "256 not" in line for line in lines)


def test_params_stack_vgg16_fits_at_80():
    vgg = ("conv 64 same, conv 64 same, maxpool 2, conv 128 same, conv 128 same, maxpool 2, conv 256 same, "
           "conv 256 same, conv 256 same, maxpool 2, conv 512 same, conv 512 same, conv 512 same, maxpool 2, "
           "conv 512 same, conv 512 same, conv 512 same, maxpool 2, flatten, dense 4096, dense 4096, dense 1000")
    r = runner.invoke(app, ["params", "--stack", vgg, "--input-size", "224,224,3"], env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in r.stdout
    assert any(line.split()[:3] == ["18", "maxpool", "2"] and line.split()[-2:] == ["212", "32"] for line in lines)
    assert any(line.split()[:2] == ["total", "1,000"] and "138,357,544" in line for line in lines)
    assert not any(line.startswith("trainable") for line in lines)  # nothing is not trainable
