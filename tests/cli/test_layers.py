"""``convcli layers MODEL``: --json against the framework's own layers, the table, --export, and
hostile files as one ``Error:`` line with exit 1."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import models as built
import pytest


def _json(cli: Any, *args: object) -> dict[str, Any]:
    r = cli("layers", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_json_against_keras(cli: Any, tmp_path: Path) -> None:
    model = built.keras_graph()
    model.save(tmp_path / "g.keras")
    doc = _json(cli, tmp_path / "g.keras", "--input-size", "20,22,3")
    assert doc["model"] == str(tmp_path / "g.keras") and doc["format"] == "keras"
    assert doc["totals"]["params"] == model.count_params()
    assert doc["totals"]["trainable_params"] == sum(int(w.numpy().size) for w in model.trainable_weights)
    rows = {row["name"]: row for row in doc["layers"]}
    assert [row["index"] for row in doc["layers"]] == list(range(len(model.layers)))
    for layer in model.layers:
        row = rows[layer.name]
        assert row["params"] == layer.count_params()
        if layer.name != "image":
            assert row["output_shape"] == list(layer.output.shape[1:])
        cfg = layer.get_config()
        if "kernel_size" in cfg:
            assert row["kernel_size"] == list(cfg["kernel_size"])
            assert row["strides"] == list(cfg["strides"])
            assert row["padding"] == cfg["padding"]
            assert row["filters"] == cfg.get("filters")
            assert row["use_bias"] == cfg["use_bias"]
            assert row["activation"] == cfg["activation"]
    stem = rows["stem"]
    assert stem["in_channels"] == 3 and stem["pads"] == [0, 1, 0, 1] and stem["groups"] == 1
    assert stem["receptive_field"] == [3, 3] and stem["effective_stride"] == [2, 2]
    assert rows["grouped"]["groups"] == 2 and rows["grouped"]["dilation"] == [1, 2]
    assert rows["dw"]["filters"] is None and rows["dw"]["depth_multiplier"] == 2
    assert rows["merge"]["inbound"] == ["dw", "grouped"] and rows["merge"]["kind"] == "add"
    assert doc["totals"]["macs"] == sum(row["macs"] for row in doc["layers"])


def test_json_without_input_size_has_no_shapes(cli: Any, tmp_path: Path) -> None:
    built.keras_sequential().save(tmp_path / "s.keras")
    doc = _json(cli, tmp_path / "s.keras")
    assert "output_shape" not in doc["layers"][1] and "macs" not in doc["totals"]
    assert doc["layers"][1]["pads"] == [0, 0, 0, 0]  # valid: known without a size
    assert doc["layers"][3]["pads"] == [1, 1, 1, 1]  # 'same' at stride 1: known too


def test_safetensors_unknowns_are_null_and_said(cli: Any, tmp_path: Path) -> None:
    st = pytest.importorskip("safetensors.torch")
    net = built.torch_net()
    st.save_file(net.state_dict(), tmp_path / "n.safetensors")
    doc = _json(cli, tmp_path / "n.safetensors")
    conv = next(row for row in doc["layers"] if row["name"] == "conv1")  # the file sorts names
    assert conv["kernel_size"] == [3, 3] and conv["filters"] == 8
    assert conv["strides"] is None and conv["padding"] is None and conv["groups"] is None
    assert conv["in_channels"] is None and conv["activation"] is None
    assert any("weights only" in note for note in doc["notes"])
    r = cli("layers", tmp_path / "n.safetensors", "--input-size", "16,16,3")
    assert r.exit_code == 1 and r.stderr.startswith("Error: --input-size: a .safetensors file holds weights only")


def test_a_state_dicts_in_out_reads_c_over_g_off_the_kernel(cli: Any, tmp_path: Path) -> None:
    st = pytest.importorskip("safetensors.torch")
    st.save_file(built.torch_net().state_dict(), tmp_path / "n.safetensors")
    r = cli("layers", tmp_path / "n.safetensors", columns=200)
    assert r.exit_code == 0, r.output
    conv1 = next(line for line in r.stdout.splitlines() if " conv1 " in line)
    assert "3→8" in conv1 and "–→" not in r.stdout
    assert "in: C/g" in r.stdout  # the caption says what the number is


def test_a_narrow_table_says_which_columns_it_left_out(cli: Any) -> None:
    keras_path = Path(__file__).resolve().parents[2] / "samples" / "edges.keras"
    sized = ("--input-size", "32,32,3")
    wide = cli("layers", keras_path, *sized, columns=250)
    assert wide.exit_code == 0 and "left out" not in wide.stdout and " act " in wide.stdout
    narrow = cli("layers", keras_path, *sized, columns=80)
    assert narrow.exit_code == 0
    note = next(line for line in narrow.stdout.splitlines() if line.startswith("left out at 80 columns: "))
    assert "bias" in note and "act" in note and "COLUMNS=" in note
    shows = int(note.rsplit("COLUMNS=", 1)[1].split()[0])
    assert "left out" not in cli("layers", keras_path, *sized, columns=shows).stdout


def test_table_and_export(cli: Any, tmp_path: Path) -> None:
    built.keras_graph().save(tmp_path / "g.keras")
    for columns in (80, 100, 120):
        r = cli("layers", tmp_path / "g.keras", "--input-size", "20,22,3", columns=columns)
        assert r.exit_code == 0, r.output
        assert all(len(line) <= columns for line in r.stdout.splitlines())
        assert "stem" in r.stdout and "merge" in r.stdout
    r = cli("layers", tmp_path / "g.keras", "--export", tmp_path / "out.txt")
    assert r.exit_code == 0
    assert "stem" in (tmp_path / "out.txt").read_text()
    r = cli("layers", tmp_path / "g.keras", "--export", tmp_path / "out.txt")
    assert r.exit_code != 0 and "Error:" in r.stderr
    r = cli("layers", tmp_path / "g.keras", "--json", "--export", tmp_path / "o2.txt")
    assert r.exit_code == 2


def test_input_size_that_contradicts_the_model(cli: Any, tmp_path: Path) -> None:
    built.keras_graph().save(tmp_path / "g.keras")
    r = cli("layers", tmp_path / "g.keras", "--input-size", "20,22,4")
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("Error: --input-size: the model's input 'image' takes")


def _one_error(cli: Any, path: Path, match: str) -> None:
    r = cli("layers", path)
    assert r.exit_code == 1, r.output
    assert r.stdout == ""
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
    assert match in r.stderr, r.stderr


class _Boom:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        import os

        return (os.system, (f"echo pwned > {self.marker}",))


def test_hostile_files_one_error_line_each(cli: Any, tmp_path: Path) -> None:
    torch = built.torch()
    marker = tmp_path / "marker"
    torch.save({"w": torch.zeros(1), "x": _Boom(str(marker))}, tmp_path / "evil.pt")
    torch.load(tmp_path / "evil.pt", weights_only=False)  # the pickle is real: it runs the command
    assert marker.exists()
    marker.unlink()
    _one_error(cli, tmp_path / "evil.pt", "refused: its pickle needs more than tensors")
    assert not marker.exists()

    (tmp_path / "t.safetensors").write_bytes(b"\xff\x00\x00\x00\x00\x00\x00\x00{\"w\":")
    _one_error(cli, tmp_path / "t.safetensors", "not a readable .safetensors file")

    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    _one_error(cli, tmp_path / "junk.keras", "not a .keras file (not a zip archive)")

    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as zf:
        zf.writestr("metadata.json", "{}")
    _one_error(cli, tmp_path / "empty.keras", "holds no config.json")

    (tmp_path / "x.onnx").write_bytes(b"\x08\x07garbage\xff\xff")
    _one_error(cli, tmp_path / "x.onnx", "x.onnx")


def test_a_whole_pickled_model_is_refused_in_whole_words(cli: Any, tmp_path: Path) -> None:
    torch = built.torch()
    torch.save(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3)), tmp_path / "whole.pt")
    _one_error(cli, tmp_path / "whole.pt", "refused: its pickle needs more than tensors")
    r = cli("layers", tmp_path / "whole.pt")
    why = r.stderr.split("tensors (", 1)[1].split("); save a state_dict", 1)[0]
    # torch's reason, cut where a word ends (and said to be cut), never inside one
    assert why.endswith((" …", ".")), why
    assert "serialization.a)" not in r.stderr


def test_names_from_the_file_are_escaped(cli: Any, tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    from onnx import TensorProto, helper, numpy_helper

    evil = "a\nError: forged\x1b[31m[bold]x[/bold]"
    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name=evil)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 5, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    onnx.save(helper.make_model(graph), str(tmp_path / "evil.onnx"))
    r = cli("layers", tmp_path / "evil.onnx", columns=120)
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.stdout and "\nError: forged" not in r.stdout
    assert "a\\nError: forged\\x1b[31m[bold]x[/bold]" in r.stdout  # escaped, and not read as markup
    doc = _json(cli, tmp_path / "evil.onnx")
    assert doc["layers"][1]["name"] == evil  # JSON carries it exactly (json escapes it)


@pytest.mark.parametrize(("module", "suffix"), [("h5py", ".keras"), ("onnx", ".onnx"), ("safetensors", ".safetensors")])
def test_missing_optional_dependency_is_one_line(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 module: str, suffix: str) -> None:
    path = tmp_path / f"m{suffix}"
    if suffix == ".keras":
        built.keras_sequential().save(path)
    elif suffix == ".onnx":
        built.save_torch_onnx(built.torch_net(), path)
    else:
        st = pytest.importorskip("safetensors.numpy")
        np = pytest.importorskip("numpy")
        st.save_file({"w": np.zeros((2, 1, 3, 3), np.float32)}, str(path))
    monkeypatch.setitem(sys.modules, module, None)
    r = cli("layers", path)
    assert r.exit_code == 1
    assert r.stderr == f"Error: reading {suffix} files needs the {module} package: pip install 'convcli[models]'\n"


def test_missing_torch_is_one_line(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = built.torch()
    torch.save({"w": torch.zeros(2, 1, 3, 3)}, tmp_path / "m.pt")
    monkeypatch.setitem(sys.modules, "torch", None)
    r = cli("layers", tmp_path / "m.pt")
    assert r.exit_code == 1 and r.stderr.startswith("Error: reading .pt/.pth files needs the torch package: pip")
    assert r.stderr.count("\n") == 1


def test_input_size_h_w_takes_the_channels_the_model_fixes(cli: Any) -> None:
    keras_path = Path(__file__).resolve().parents[2] / "samples" / "edges.keras"
    r = cli("layers", keras_path, "--input-size", "32,32", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == json.loads(cli("layers", keras_path, "--input-size", "32,32,3", "--json").stdout)
