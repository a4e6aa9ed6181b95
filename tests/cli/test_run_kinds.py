"""``run --kind/--ndim``: Conv1D (causal, dilated), Conv3D and depthwise layers end to end, what ``--save`` and
``--json`` hold, and the bad requests that are one ``Error:`` line each."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from convcli.cli import app
from convcli.layer.kinds import parse_kind

torch = pytest.importorskip("torch")


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def signal(tmp_path):
    x = np.random.default_rng(1).normal(size=(50, 3))
    np.save(tmp_path / "signal.npy", x)
    return tmp_path / "signal.npy", x


@pytest.fixture
def volume(tmp_path):
    x = np.random.default_rng(2).normal(size=(5, 6, 7, 2))
    np.save(tmp_path / "volume.npy", x)
    return tmp_path / "volume.npy", x


@pytest.mark.parametrize(("text", "want"), [
    ("Conv1D", ("conv", 1)), ("conv3d", ("conv", 3)), ("CONV2D", ("conv", 2)), ("Conv1d", ("conv", 1)),
    ("DepthwiseConv1D", ("depthwise", 1)), ("depthwiseconv2d", ("depthwise", 2)),
    ("Conv2DTranspose", ("transpose", 2)), ("ConvTranspose3d", ("transpose", 3)),
    ("SeparableConv1D", ("separable", 1)), ("depthwise", ("depthwise", None)), ("conv", ("conv", None)),
])
def test_class_names_set_the_kind_and_the_axes(text, want):
    assert parse_kind(text) == want


def test_causal_dilated_conv1d_saves_keras_layouts_equal_to_torch(signal, tmp_path):
    path, x = signal
    out = tmp_path / "run.npz"
    result = invoke("run", path, "--kind", "Conv1D", "-k", "3", "-f", "4", "--dilation", "4", "--padding", "causal",
                    "--dtype", "float64", "--bias", "0.5", "--save", out, "--trace", "10", "-q")
    assert result.exit_code == 0, result.output
    assert "Conv1D(filters=4, kernel_size=(3,)" in result.output
    assert "pads (8, 0)" in result.output
    saved = np.load(out)
    assert saved["input"].shape == (50, 3) and saved["kernel"].shape == (3, 3, 4)
    assert saved["partials"].shape == (50, 3, 4) and saved["output"].shape == (50, 4)
    xt = torch.nn.functional.pad(torch.from_numpy(x.T.copy())[None], (8, 0))
    wt = torch.from_numpy(saved["kernel"].transpose(2, 1, 0).copy())
    want = torch.nn.functional.conv1d(xt, wt, torch.full((4,), 0.5, dtype=torch.float64), dilation=4)[0].T.numpy()
    np.testing.assert_allclose(saved["output"], want, rtol=1e-12, atol=1e-12)
    # causal: output 0 reads input 0 alone (the other taps are the zeros on the left)
    np.testing.assert_allclose(saved["preactivation"][0], x[0] @ saved["kernel"][2] + 0.5, rtol=1e-12)


def test_conv1d_json_names_the_layer_as_asked(signal):
    path, _ = signal
    result = invoke("run", path, "--kind", "conv1d", "-k", "5", "--stride", "2", "--padding", "same", "--json")
    assert result.exit_code == 0, result.output
    kind = json.loads(result.output)["kind"]
    assert kind["keras"] == "Conv1D" and kind["ndim"] == 1
    assert kind["pads"] == [[1, 2]] and kind["output_shape"] == [25, 1]


def test_conv3d_shows_a_depth_slice_and_saves_the_whole_layer(volume, tmp_path):
    path, x = volume
    out = tmp_path / "run.npz"
    result = invoke("run", path, "--kind", "Conv3D", "-k", "3", "-f", "2", "--padding", "same", "--dtype", "float64",
                    "--trace", "0,2,3", "--save", out, "-q")
    assert result.exit_code == 0, result.output
    assert "depth slice 0 of the output's 5 planes" in result.output
    assert "planes -1 are zero padding" in result.output
    saved = np.load(out)
    assert saved["kernel"].shape == (3, 3, 3, 2, 2) and saved["partials"].shape == (5, 6, 7, 2, 2)
    wt = torch.from_numpy(saved["kernel"].transpose(4, 3, 0, 1, 2).copy())
    want = torch.nn.functional.conv3d(torch.from_numpy(np.moveaxis(x, -1, 0).copy())[None], wt, padding=1)
    np.testing.assert_allclose(saved["output"], np.moveaxis(want[0].numpy(), 0, -1), rtol=1e-12, atol=1e-12)


def test_depthwise_2d_saves_its_keras_kernel_and_partials(tmp_path):
    out = tmp_path / "run.npz"
    result = invoke("run", "samples/textbook.npy", "--kind", "DepthwiseConv2D", "-k", "2", "-m", "2", "--init", "ones",
                    "--save", out, "-q")
    assert result.exit_code == 0, result.output
    saved = np.load(out)
    assert saved["kernel"].shape == (2, 2, 3, 2) and saved["partials"].shape == (2, 2, 1, 6)
    x = np.load("samples/textbook.npy")
    window_sums = x[:2, :2].sum(axis=(0, 1))  # each channel's top-left 2×2 window, alone
    np.testing.assert_allclose(saved["output"][0, 0], np.repeat(window_sums, 2))


def test_reflect_padding_mode_equals_torch(signal, tmp_path):
    path, x = signal
    out = tmp_path / "run.npz"
    result = invoke("run", path, "--ndim", "1", "-k", "3", "-f", "2", "--padding", "2", "--padding-mode", "reflect",
                    "--dtype", "float64", "--save", out, "-q")
    assert result.exit_code == 0, result.output
    saved = np.load(out)
    np.testing.assert_array_equal(saved["input"], x)  # the input as given, not the padded one
    conv = torch.nn.Conv1d(3, 2, 3, padding=2, padding_mode="reflect", dtype=torch.float64)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(saved["kernel"].transpose(2, 1, 0).copy()))
        conv.bias.zero_()
        want = conv(torch.from_numpy(x.T.copy())[None])[0].T.numpy()
    np.testing.assert_allclose(saved["output"], want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--kind", "Conv1DTranspose", "--stride", "2", "--output-padding", "2"], 2,
     "--output-padding: the output padding must be smaller than the stride"),
    (["--kind", "SeparableConv1D", "--padding-mode", "reflect"], 2, "a separable layer pads with zeros only"),
    (["--kind", "Conv1D", "--ndim", "3"], 2, "--kind Conv1D is 1-D but --ndim is 3"),
    (["--kind", "Conv4D"], 2, "unknown layer kind 'Conv4D'"),
    (["--kind", "Conv3D"], 1, "a 3-D layer reads (D, H, W, C)"),
    (["--padding", "causal"], 2, "padding causal is for 1-D conv and depthwise layers"),
    (["--ndim", "1", "-k", "3,3"], 2, "--kernel-size takes N for a 1-D layer"),
    (["--ndim", "1", "-k", "3", "--padding", "50", "--padding-mode", "reflect"], 2,
     "padding mode reflect pads 50 positions but the input has 50"),
    (["--ndim", "1", "-k", "3", "--padding", "51", "--padding-mode", "circular"], 2, "wraps around at most once"),
    (["--ndim", "1", "--trace", "3,4"], 2, "--trace takes I"),
    (["--kind", "depthwise", "--ndim", "1", "-f", "2"], 2, "a depthwise layer has no --filters"),
    (["--ndim", "1", "-m", "2"], 2, "--depth-multiplier is for depthwise and separable layers"),
    (["--ndim", "1", "--depth-at", "1"], 2, "--depth-at chooses a plane of a 3-D layer"),
])
def test_bad_kind_requests_are_one_error_line(signal, args, code, message):
    path, _ = signal
    result = invoke("run", path, *args)
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], result.output


def test_a_plane_outside_the_output_is_refused(volume):
    path, _ = volume
    result = invoke("run", path, "--kind", "Conv3D", "--depth-at", "3")  # valid 3×3×3 on depth 5: planes 0..2
    assert result.exit_code == 2
    assert result.output.strip() == "Error: --depth-at 3 is outside the output's 3 planes (0..2)"


def test_kernel_files_in_torch_layout_and_channels_first_inputs(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 40))  # (C, L): channels-first
    np.save(tmp_path / "cl.npy", x)
    w = rng.normal(size=(4, 3, 5))  # PyTorch Conv1d (F, C, k)
    np.save(tmp_path / "w.npy", w)
    out = tmp_path / "run.npz"
    result = invoke("run", tmp_path / "cl.npy", "--ndim", "1", "--layout", "channels-first", "--kernel", tmp_path / "w.npy",
                    "--kernel-layout", "torch", "--dtype", "float64", "--save", out, "-q")
    assert result.exit_code == 0, result.output
    want = torch.nn.functional.conv1d(torch.from_numpy(x)[None], torch.from_numpy(w))[0].T.numpy()
    np.testing.assert_allclose(np.load(out)["output"], want, rtol=1e-12, atol=1e-12)
    dw = rng.normal(size=(6, 1, 3))  # PyTorch depthwise Conv1d(groups=C): (C·M, 1, k)
    np.save(tmp_path / "dw.npy", dw)
    result = invoke("run", tmp_path / "cl.npy", "--kind", "DepthwiseConv1D", "--semantics", "torch", "--kernel",
                    tmp_path / "dw.npy", "--dtype", "float64", "--save", out, "--force", "-q")
    assert result.exit_code == 0, result.output
    assert "Conv1d(in_channels=3, out_channels=6" in result.output  # named as PyTorch writes it
    want = torch.nn.functional.conv1d(torch.from_numpy(x)[None], torch.from_numpy(dw), groups=3)[0].T.numpy()
    saved = np.load(out)
    np.testing.assert_allclose(saved["output"], want, rtol=1e-12, atol=1e-12)
    assert saved["kernel"].shape == (3, 3, 2)  # Keras' DepthwiseConv1D (k, C, M)


def test_a_text_file_gives_a_signal_of_columns(tmp_path):
    (tmp_path / "s.csv").write_text("1,10\n2,20\n3,30\n4,40\n")
    result = invoke("run", tmp_path / "s.csv", "--ndim", "1", "-k", "2", "--init", "ones", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["kind"]["output_shape"] == [3, 1]
    assert doc["filters"][0]["window_preactivation"] == [[33.0, 55.0, 77.0]]  # the one row: 1+2, 10+20, ...


def test_the_report_takes_a_kind_by_its_class_name(tmp_path):
    result = invoke("report", "samples/signal.npy", "--kind", "Conv1D", "-o", tmp_path / "r.html")
    assert result.exit_code == 0, result.output
    assert "Conv1D(filters=1, kernel_size=(3,)" in (tmp_path / "r.html").read_text(encoding="utf-8")
    result = invoke("report", "samples/textbook.npy", "--kind", "Conv2D", "-k", "2", "-o", tmp_path / "r2.html")
    assert result.exit_code == 0, result.output  # the classic layer by its class name
