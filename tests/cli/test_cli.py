"""`convcli` through Typer's CliRunner: exit code first, then the output, checked against the oracle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from convcli import engine
from convcli.cli import app
from convcli.cli.options import Activation, Init
from convcli.sources import kernels

from helpers import invoke, runner
from oracle import naive_conv2d, naive_partials, naive_same_pads

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


def run_json(*args: str) -> dict:
    r = invoke("run", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.fixture
def photo(tmp_path: Path) -> tuple[Path, np.ndarray]:
    x = np.random.default_rng(7).integers(0, 256, size=(9, 11, 3), dtype=np.uint8)
    p = tmp_path / "photo.npy"
    np.save(p, x)
    return p, x


# ------------------------------------------------------------------------------------------------
# help and version


def test_version():
    r = invoke("--version")
    assert r.exit_code == 0
    assert r.stdout.startswith("convcli ")


def test_every_command_has_help():
    import typer.main

    group = typer.main.get_command(app)
    assert group.commands, "no commands registered"
    for name in group.commands:
        r = invoke(name, "--help")
        assert r.exit_code == 0, name
        assert "Usage" in r.stdout and len(r.stdout) > 200, name


def test_choice_lists_match_the_library():
    assert sorted(a.value for a in Activation) == sorted(engine.ACTIVATIONS)
    assert [i.value for i in Init] == list(kernels.INIT_CHOICES)


def test_python_dash_m(textbook: Path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "convcli", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0 and out.stdout.startswith("convcli ")


# ------------------------------------------------------------------------------------------------
# the textbook example


def test_textbook_tables(textbook: Path):
    r = invoke("run", textbook, "-k", "2", "--init", "ones", "--activation", "relu")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "2·2·3·1 + 1 = 13" in out
    assert out.count("40404") >= 8  # pre-activation and output grids, 2×2 each
    for partial in ("│ 4  4 │", "│ 400  400 │", "│ 40000  40000 │"):
        assert partial in out
    assert "padding='valid' -> pads (0, 0, 0, 0)" in out
    assert "c0 0.0099% · c1 0.99% · c2 99.0%" in out  # the smallest share is never "0.0%"


def test_textbook_json(textbook: Path):
    doc = run_json(textbook, "-k", "2", "--init", "ones", "--activation", "relu")
    f0 = doc["filters"][0]
    assert doc["params"] == {"weights": 12, "biases": 1, "total": 13}
    assert doc["output_shape"] == [2, 2, 1]
    assert np.array(f0["window_partials"]).tolist() == [
        [[4, 4], [4, 4]],
        [[400, 400], [400, 400]],
        [[40000, 40000], [40000, 40000]],
    ]
    assert np.array(f0["window_output"]).tolist() == [[40404, 40404], [40404, 40404]]


def test_textbook_trace(textbook: Path):
    doc = run_json(textbook, "-k", "2", "--init", "ones", "--activation", "relu", "--trace", "1,0")
    t = doc["filters"][0]["trace"]
    assert t["channel_sums"] == [4, 400, 40000]
    assert t["input_rows"] == [1, 2] and t["input_cols"] == [0, 1]
    assert t["preactivation"] == 40404
    r = invoke("run", textbook, "-k", "2", "--init", "ones", "--activation", "relu", "--trace", "1,0")
    assert r.exit_code == 0
    assert "Σ channels 4 + 400 + 40000 + bias 0 = 40404" in r.stdout


def test_a_trace_outside_the_default_window_moves_the_window_to_it(tmp_path: Path):
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).normal(size=(12, 12, 2)).astype(np.float32))
    centred = run_json(x)["window"]
    assert centred == {"rows": [3, 5], "cols": [3, 5]}  # of a 10×10 output: first and last, as on screen
    window = run_json(x, "--trace", "0,9")["window"]
    assert window == {"rows": [0, 2], "cols": [7, 9]}


# ------------------------------------------------------------------------------------------------
# the layer options, against the naive oracle


@pytest.mark.parametrize(
    "opts, stride, dilation, groups",
    [
        ([], 1, 1, 1),
        (["--stride", "2"], 2, 1, 1),
        (["--stride", "2,1", "--padding", "same"], (2, 1), 1, 1),
        (["--dilation", "2", "--padding", "1,2"], 1, 2, 1),
        (["--stride", "2", "--dilation", "2", "--padding", "2"], 2, 2, 1),
        (["-k", "3,2", "--groups", "3", "-f", "6"], 1, 1, 3),
        (["-k", "1"], 1, 1, 1),
    ],
)
def test_layer_options_match_oracle(photo, tmp_path: Path, opts, stride, dilation, groups):
    path, x = photo
    out = tmp_path / "o.npz"
    doc = run_json(path, "-f", "2", *opts, "--dtype", "float64", "--save", out, "--bias", "0.5")
    with np.load(out) as z:
        k, b = z["kernel"], z["bias"]
        assert z["input"].dtype == np.float64
        pads = tuple(doc["layer"]["pads"])
        want = naive_conv2d(x.astype(np.float64), k, b, stride, pads, dilation, groups)
        np.testing.assert_allclose(z["preactivation"], want, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(
            z["partials"],
            naive_partials(x.astype(np.float64), k, stride, pads, dilation, groups),
            rtol=1e-12,
            atol=1e-9,
        )
        np.testing.assert_array_equal(z["output"], z["preactivation"])  # linear
    assert doc["output_shape"] == list(want.shape)
    if "same" in opts:
        assert pads == (*naive_same_pads(9, 3, 2, 1), *naive_same_pads(11, 3, 1, 1))


def test_activation_applied(photo):
    path, _ = photo
    doc = run_json(path, "--activation", "relu", "--bias", "-100", "--init", "box")
    f0 = doc["filters"][0]
    pre, out = np.array(f0["window_preactivation"]), np.array(f0["window_output"])
    np.testing.assert_array_equal(out, np.maximum(pre, 0))
    assert f0["bias"] == -100


def test_float32_default_and_float64(photo, tmp_path: Path):
    path, _ = photo
    for dt in ("float32", "float64"):
        out = tmp_path / f"{dt}.npz"
        args = ["--dtype", dt] if dt == "float64" else []
        r = invoke("run", path, *args, "--save", out)
        assert r.exit_code == 0, r.output
        with np.load(out) as z:
            assert {z[n].dtype.name for n in z.files} == {dt}


def test_kernel_files_in_both_layouts_agree(photo, tmp_path: Path):
    path, x = photo
    k = np.random.default_rng(3).normal(size=(3, 2, 3, 4))
    np.save(tmp_path / "keras.npy", k)
    np.save(tmp_path / "torch.npy", k.transpose(3, 2, 0, 1))
    a = run_json(path, "--kernel", tmp_path / "keras.npy", "--dtype", "float64")
    b = run_json(path, "--kernel", tmp_path / "torch.npy", "--kernel-layout", "torch", "--dtype", "float64")
    assert a["filters"] == b["filters"]
    assert a["output_shape"] == [7, 10, 4]
    want = naive_conv2d(x.astype(np.float64), k, None)
    r0, r1 = a["window"]["rows"]
    c0, c1 = a["window"]["cols"]
    np.testing.assert_allclose(
        np.array(a["filters"][2]["window_preactivation"]), want[r0:r1 + 1, c0:c1 + 1, 2], rtol=1e-12
    )


def test_2d_kernel_file_applies_to_every_channel(photo, tmp_path: Path):
    path, x = photo
    np.savetxt(tmp_path / "k.csv", [[1, 0, -1], [2, 0, -2], [1, 0, -1]], delimiter=",")
    doc = run_json(path, "--kernel", tmp_path / "k.csv", "--dtype", "float64")
    k = np.broadcast_to(np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], float)[:, :, None, None], (3, 3, 3, 1))
    assert np.array(doc["filters"][0]["kernel"]).shape == (3, 3, 3)
    r0, r1 = doc["window"]["rows"]
    c0, c1 = doc["window"]["cols"]
    want = naive_conv2d(x.astype(np.float64), k, None)
    np.testing.assert_allclose(np.array(doc["filters"][0]["window_preactivation"]), want[r0:r1 + 1, c0:c1 + 1, 0])


def test_bias_forms(photo, tmp_path: Path):
    path, _ = photo
    assert [f["bias"] for f in run_json(path, "-f", "3", "--bias", "1.5")["filters"]] == [1.5] * 3
    assert [f["bias"] for f in run_json(path, "-f", "3", "--bias", "1,2,3")["filters"]] == [1, 2, 3]
    np.save(tmp_path / "b.npy", np.array([4.0, 5.0, 6.0]))
    assert [f["bias"] for f in run_json(path, "-f", "3", "--bias", tmp_path / "b.npy")["filters"]] == [
        4,
        5,
        6,
    ]
    r = invoke("run", path, "-f", "3", "--bias", "1,2")
    assert r.exit_code == 1
    assert "bias" in r.stderr and "3 filters" in r.stderr


def test_no_bias(photo):
    path, _ = photo
    doc = run_json(path, "-f", "2", "--no-bias")
    assert doc["params"] == {"weights": 54, "biases": 0, "total": 54}
    assert doc["layer"]["use_bias"] is False
    r = invoke("run", path, "--no-bias", "--bias", "1")
    assert r.exit_code == 2 and "contradict" in r.stderr


def test_random_init_is_glorot_and_seeded(photo):
    path, _ = photo
    a = run_json(path, "-f", "4", "--seed", "1")
    b = run_json(path, "-f", "4", "--seed", "1")
    c = run_json(path, "-f", "4", "--seed", "2")
    ka = np.array([f["kernel"] for f in a["filters"]])
    assert ka.tolist() == np.array([f["kernel"] for f in b["filters"]]).tolist()
    assert ka.tolist() != np.array([f["kernel"] for f in c["filters"]]).tolist()
    limit = np.sqrt(6 / (3 * 3 * 3 + 3 * 3 * 4))
    assert np.abs(ka).max() <= limit and np.abs(ka).max() > 0.8 * limit


def test_window_and_at(photo):
    path, _ = photo
    doc = run_json(path, "--at", "2,3", "--window", "3")
    assert doc["window"] == {"rows": [2, 4], "cols": [3, 5]}
    doc = run_json(path, "--at", "6,8", "--window", "3")  # shifted back inside the 7×9 output
    assert doc["window"] == {"rows": [4, 6], "cols": [6, 8]}
    doc = run_json(path)  # centred, default 3
    assert doc["window"] == {"rows": [2, 4], "cols": [3, 5]}
    r = invoke("run", path, "--at", "7,0")
    assert r.exit_code == 1 and "outside the 7×9 output" in r.stderr
    r = invoke("run", path, "--window", "10")
    assert r.exit_code == 1 and "larger than the 7×9 output" in r.stderr


def test_filter_selection(photo):
    path, _ = photo
    doc = run_json(path, "-f", "8", "--filter", "1,5-6")
    assert [f["index"] for f in doc["filters"]] == [1, 5, 6]
    r = invoke("run", path, "-f", "8")
    assert r.exit_code == 0
    assert "filter 3 ·" in r.stdout and "filter 4 ·" not in r.stdout
    assert "4 of 8 filters shown in detail" in r.stdout
    r = invoke("run", path, "-f", "8", "--filter", "8")
    assert r.exit_code == 2 and "--filter 8 does not exist" in r.stderr


def test_many_channels_stay_readable(tmp_path: Path):
    x = np.random.default_rng(1).normal(size=(6, 6, 64)).astype(np.float32)
    np.save(tmp_path / "deep.npy", x)
    r = invoke("run", tmp_path / "deep.npy", "-f", "64")
    assert r.exit_code == 0, r.output
    assert "Σ 60 others" in r.stdout
    assert "60 others" in r.stdout
    assert "4 of 64 filters shown in detail" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 100


def test_normalize(tmp_path: Path):
    from PIL import Image

    Image.fromarray(np.full((4, 4), 255, dtype=np.uint8)).save(tmp_path / "white.png")
    doc = run_json(tmp_path / "white.png", "--normalize", "--init", "ones", "-k", "2")
    assert doc["filters"][0]["window_output"][0][0] == 4.0
    doc = run_json(tmp_path / "white.png", "--init", "ones", "-k", "2")
    assert doc["filters"][0]["window_output"][0][0] == 1020.0


def test_channels_first_layout(tmp_path: Path):
    x = np.random.default_rng(2).normal(size=(5, 6, 2))
    np.save(tmp_path / "cl.npy", x)
    np.save(tmp_path / "cf.npy", x.transpose(2, 0, 1))
    a = run_json(tmp_path / "cl.npy", "--dtype", "float64")
    b = run_json(tmp_path / "cf.npy", "--layout", "channels-first", "--dtype", "float64")
    assert a["filters"] == b["filters"] and b["input"]["shape"] == [5, 6, 2]


# ------------------------------------------------------------------------------------------------
# saving


def test_save_contents(textbook: Path, tmp_path: Path):
    out = tmp_path / "res.npz"
    r = invoke("run", textbook, "-k", "2", "--init", "ones", "--activation", "relu", "--save", out)
    assert r.exit_code == 0, r.output
    with np.load(out) as z:
        assert sorted(z.files) == ["bias", "input", "kernel", "output", "partials", "preactivation"]
        assert z["partials"].shape == (2, 2, 3, 1)
        assert z["partials"][0, 0, :, 0].tolist() == [4, 400, 40000]
        assert z["output"].shape == (2, 2, 1) and np.all(z["output"] == 40404)
    assert [p.name for p in tmp_path.iterdir()] == sorted(["textbook.npy", "res.npz"]) or {
        p.name for p in tmp_path.iterdir()
    } == {"textbook.npy", "res.npz"}


def test_save_no_partials(textbook: Path, tmp_path: Path):
    out = tmp_path / "res.npz"
    assert invoke("run", textbook, "--save", out, "--no-partials", "-k", "2").exit_code == 0
    with np.load(out) as z:
        assert "partials" not in z.files


def test_save_refuses_existing_without_force(textbook: Path, tmp_path: Path):
    out = tmp_path / "res.npz"
    out.write_bytes(b"precious")
    r = invoke("run", textbook, "-k", "2", "--save", out)
    assert r.exit_code == 1 and "--force" in r.stderr
    assert out.read_bytes() == b"precious"
    r = invoke("run", textbook, "-k", "2", "--save", out, "--force")
    assert r.exit_code == 0
    with np.load(out) as z:
        assert "output" in z.files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res.npz", "textbook.npy"]


def test_save_never_overwrites_input(tmp_path: Path):
    x = np.ones((4, 4, 1))
    p = tmp_path / "in.npz"
    np.savez(p, x=x)
    before = p.read_bytes()
    r = invoke("run", p, "--save", p, "--force")
    assert r.exit_code == 1 and "input" in r.stderr
    assert p.read_bytes() == before


@pytest.mark.parametrize("name, code", [("out.npy", 2), ("missing/out.npz", 1)])
def test_save_bad_targets(textbook: Path, tmp_path: Path, name: str, code: int):
    r = invoke("run", textbook, "--save", tmp_path / name)
    assert r.exit_code == code, r.output
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1


# ------------------------------------------------------------------------------------------------
# usage errors: one line, exit 2, no traceback


@pytest.mark.parametrize(
    "opts, fragment",
    [
        (["--stride", "0"], "--stride"),
        (["--stride", "a"], "--stride"),
        (["--dilation", "1,2,3"], "--dilation"),
        (["--padding", "-1"], "--padding"),
        (["--padding", "full"], "--padding"),
        (["-k", "0"], "--kernel-size"),
        (["-f", "0"], "--filters"),
        (["--groups", "0"], "--groups"),
        (["--activation", "gelu2"], "--activation"),
        (["--init", "nope"], "--init"),
        (["--at", "1"], "--at"),
        (["--trace", "x,y"], "--trace"),
        (["--window", "0"], "--window"),
        (["--init", "sobel-x", "-k", "5"], "sobel-x"),
        (["--bias", "abc"], "--bias"),
        (["-f", "3", "--groups", "2"], "groups"),
    ],
)
def test_usage_errors(photo, opts, fragment):
    path, _ = photo
    r = invoke("run", path, *opts)
    assert r.exit_code == 2, (opts, r.output)
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
    assert fragment in r.stderr
    assert "Traceback" not in r.output


@pytest.mark.parametrize(
    "opts, fragment",
    [
        (["--groups", "2", "-f", "2"], "does not divide the 3 input channels"),
        (["-k", "12"], "spans 12 rows but the padded input has 9"),
        (["-k", "5", "--dilation", "3"], "kernel 5×5 with dilation 3 spans 13 rows"),
    ],
)
def test_data_errors(photo, opts, fragment):
    path, _ = photo
    r = invoke("run", path, *opts)
    assert r.exit_code == 1, r.output
    assert fragment in r.stderr and r.stderr.count("\n") == 1


def test_kernel_channel_mismatch_names_numbers(photo, tmp_path: Path):
    path, _ = photo
    np.save(tmp_path / "k5.npy", np.ones((3, 3, 5, 1)))
    r = invoke("run", path, "--kernel", tmp_path / "k5.npy")
    assert r.exit_code == 1
    assert "expects 5 input channels" in r.stderr and "has 3" in r.stderr


def test_missing_input_file(tmp_path: Path):
    r = invoke("run", tmp_path / "nope.png")
    assert r.exit_code == 1
    assert "nope.png" in r.stderr and r.stderr.count("\n") == 1


def test_debug_shows_traceback(tmp_path: Path):
    r = runner.invoke(app, ["--debug", "run", str(tmp_path / "nope.png")])
    assert r.exit_code != 0
    assert r.exception is not None and type(r.exception).__name__ == "LoadError"


# ------------------------------------------------------------------------------------------------
# the bundled samples (the README's pasted outputs are checked in tests/docs/)


@pytest.mark.skipif(not (SAMPLES / "textbook.npy").exists(), reason="samples not generated")
def test_samples_textbook_and_photo():
    doc = run_json(SAMPLES / "textbook.npy", "-k", "2", "--init", "ones", "--activation", "relu")
    assert doc["filters"][0]["window_output"] == [[40404, 40404], [40404, 40404]]
    r = invoke("run", SAMPLES / "grace_hopper.png", "--filters", "4")
    assert r.exit_code == 0, r.output
    assert "filter 3 ·" in r.stdout and "R" in r.stdout


def test_npz_keys_for_input_and_kernel(tmp_path: Path):
    x = np.random.default_rng(4).normal(size=(5, 5, 2))
    k = np.random.default_rng(5).normal(size=(2, 2, 2, 3))
    np.savez(tmp_path / "in.npz", a=x, b=x * 2)
    np.savez(tmp_path / "k.npz", w=k, other=k[..., :1])
    doc = run_json(tmp_path / "in.npz", "--key", "b", "--kernel", tmp_path / "k.npz", "--kernel-key", "w",
                   "--dtype", "float64")
    want = naive_conv2d(x * 2, k, None)
    r0, r1 = doc["window"]["rows"]
    c0, c1 = doc["window"]["cols"]
    np.testing.assert_allclose(np.array(doc["filters"][1]["window_preactivation"]), want[r0:r1 + 1, c0:c1 + 1, 1], rtol=1e-12)
    r = invoke("run", tmp_path / "in.npz")
    assert r.exit_code == 1 and "--key" in r.stderr
    r = invoke("run", tmp_path / "in.npz", "--key", "a", "--kernel", tmp_path / "k.npz")
    assert r.exit_code == 1 and "choose one with --kernel-key" in r.stderr


def test_max_pixels(tmp_path: Path):
    from PIL import Image

    Image.fromarray(np.zeros((20, 30), dtype=np.uint8)).save(tmp_path / "g.png")
    assert invoke("run", tmp_path / "g.png", "--max-pixels", "600").exit_code == 0
    r = invoke("run", tmp_path / "g.png", "--max-pixels", "599")
    assert r.exit_code == 1 and "--max-pixels" in r.stderr and "600" in r.stderr


def test_batch_of_one_is_squeezed(tmp_path: Path):
    x = np.random.default_rng(6).normal(size=(1, 2, 5, 6))
    np.save(tmp_path / "nchw.npy", x)
    doc = run_json(tmp_path / "nchw.npy", "--layout", "channels-first")
    assert doc["input"]["shape"] == [5, 6, 2]
