"""PyTorch checkpoints and model folders as people have them: the ImageNet example's
``model_best.pth.tar`` lists its state dict (a DataParallel ``module.`` prefix stripped, and said), a
TorchScript file is one ``Error:`` line with advice and no torch warning, a Hugging Face
``save_pretrained`` folder reads its ``model.safetensors``, a TensorFlow SavedModel folder says what
to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import models as built
import numpy as np
import pytest

from helpers import invoke, one_error

ROOT = Path(__file__).resolve().parents[2]


def _net() -> Any:
    t = built.torch()
    nn = t.nn

    class Small(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)
            self.conv2, self.fc = nn.Conv2d(4, 6, 3, stride=2), nn.Linear(6, 2)

        def forward(self, x: Any) -> Any:
            return self.fc(self.conv2(t.relu(self.bn1(self.conv1(x)))).mean((2, 3)))

    t.manual_seed(0)
    return Small()


def _checkpoint(model: Any, state: dict[str, Any], path: Path) -> Path:
    """What the ImageNet example's save_checkpoint writes: the state dict beside the training's state."""
    t = built.torch()
    opt = t.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(t.zeros(2, 3, 8, 8)).sum().backward()
    opt.step()
    t.save({"epoch": 3, "arch": "resnet18", "state_dict": state, "best_acc1": t.tensor(71.3),
            "optimizer": opt.state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    t = built.torch()
    folder = tmp_path_factory.mktemp("checkpoints")
    model = _net()
    out: dict[str, Any] = {"model": model}
    out["best"] = _checkpoint(model, model.state_dict(), folder / "model_best.pth.tar")
    out["wrapped"] = _checkpoint(model, t.nn.DataParallel(model).state_dict(), folder / "dp_best.pth.tar")
    t.jit.save(t.jit.trace(model.eval(), t.zeros(1, 3, 8, 8)), str(folder / "scripted.pt"))
    out["scripted"] = folder / "scripted.pt"
    save_file = pytest.importorskip("safetensors.torch").save_file
    hf = folder / "hf_model"
    hf.mkdir()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(hf / "model.safetensors"))
    (hf / "config.json").write_text(json.dumps({"model_type": "small", "architectures": ["Small"]}))
    out["hf"] = hf
    saved = folder / "saved_model_dir"
    (saved / "variables").mkdir(parents=True)
    (saved / "saved_model.pb").write_bytes(b"\x08\x01\x12\x00")
    out["saved_model"] = saved
    return out


def _listed(path: Path) -> dict[str, Any]:
    r = invoke("layers", path, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _names_and_params(doc: dict[str, Any]) -> dict[str, int]:
    return {layer["name"]: layer["params"] for layer in doc["layers"]}


def _expected(model: Any) -> dict[str, int]:
    """Each module's arrays (its buffers too, as the file holds them), by PyTorch."""
    out: dict[str, int] = {}
    for key, v in model.state_dict().items():
        module, _, leaf = key.rpartition(".")
        if leaf != "num_batches_tracked":
            out[module] = out.get(module, 0) + v.numel()
    return out


def test_imagenet_checkpoint_lists_its_state_dict(files: dict[str, Any]) -> None:
    doc = _listed(files["best"])
    assert _names_and_params(doc) == _expected(files["model"])  # not one layer 'best_acc1'
    notes = " ".join(doc.get("notes", []))
    assert "'state_dict'" in notes and "best_acc1" in notes


def test_a_data_parallel_prefix_is_stripped_and_said(files: dict[str, Any]) -> None:
    doc = _listed(files["wrapped"])
    assert _names_and_params(doc) == _expected(files["model"])
    assert "'module.'" in " ".join(doc.get("notes", []))
    r = invoke("layers", files["wrapped"])
    assert r.exit_code == 0 and "stripped" in r.stdout


def test_the_checkpoints_layer_runs_with_its_weights(files: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "conv1.npz"
    r = invoke("run", ROOT / "samples/grace_hopper.png", "--model", files["wrapped"], "--layer", "conv1",
               "--save", out)
    assert r.exit_code == 0, r.output
    t = built.torch()
    image = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(ROOT / "samples/grace_hopper.png")
                       .convert("RGB"), dtype=np.float32)
    conv = files["model"].conv1  # the weights the file holds (saved last); a state dict has no padding: 'valid'
    x = t.from_numpy(image.transpose(2, 0, 1).copy())[None]
    want = t.nn.functional.conv2d(x, conv.weight, conv.bias).detach().numpy()[0].transpose(1, 2, 0)
    with np.load(out) as z:
        np.testing.assert_allclose(z["output"], want, rtol=1e-4, atol=1e-3)


def test_torchscript_is_one_error_line_with_advice(files: dict[str, Any]) -> None:
    """In a process of its own: no UserWarning of torch's (with convcli's source path) beside the line."""
    r = subprocess.run([sys.executable, "-m", "convcli", "layers", str(files["scripted"])], capture_output=True,
                       text=True, timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 1, r.stderr
    line = one_error(r.stderr, "TorchScript", "torch.onnx.export", "state_dict")
    assert line == (f"Error: {files['scripted']}: a TorchScript file (torch.jit.save), which convcli does not read; "
                    "export the model to ONNX (torch.onnx.export) or save its state_dict "
                    "(torch.save(model.state_dict(), path))")


def test_a_hugging_face_folder_reads_its_safetensors(files: dict[str, Any]) -> None:
    doc = _listed(files["hf"])
    assert _names_and_params(doc) == _expected(files["model"])
    assert "a Hugging Face save_pretrained folder: read its model.safetensors" in doc.get("notes", [])
    r = invoke("run", ROOT / "samples/grace_hopper.png", "--model", files["hf"], "--layer", "conv1", "--json")
    assert r.exit_code == 0, r.output


def test_a_saved_model_folder_says_what_to_do(files: dict[str, Any]) -> None:
    r = invoke("layers", files["saved_model"])
    assert r.exit_code == 1
    assert one_error(r.stderr) == (
        f"Error: {files['saved_model']}: is a TensorFlow SavedModel folder, which convcli does not read; convert "
        "it to ONNX with tf2onnx (python -m tf2onnx.convert --saved-model DIR --output model.onnx) or save the "
        "model as .keras (model.save('model.keras'))")


def test_another_folder_is_refused_as_one(tmp_path: Path) -> None:
    r = invoke("layers", tmp_path)
    assert r.exit_code == 1
    one_error(r.stderr, "is a directory, not a model file")


def test_an_older_hugging_face_folder_reads_its_pytorch_model_bin(files: dict[str, Any], tmp_path: Path) -> None:
    t = built.torch()
    t.save(files["model"].state_dict(), tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text("{}")
    doc = _listed(tmp_path)
    assert _names_and_params(doc) == _expected(files["model"])
    assert "a Hugging Face save_pretrained folder: read its pytorch_model.bin" in doc.get("notes", [])


def test_a_sharded_folder_names_the_files_to_list(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors.index.json").write_text('{"weight_map": {}}')
    r = invoke("layers", tmp_path)
    assert r.exit_code == 1
    one_error(r.stderr, "sharded model (model.safetensors.index.json)", "list one of its shard files")


def test_a_legacy_format_checkpoint_named_pth_tar(files: dict[str, Any], tmp_path: Path) -> None:
    """Checkpoints written before PyTorch 1.6 (no zip): the name's .pth.tar says PyTorch."""
    t = built.torch()
    path = tmp_path / "model_best.pth.tar"
    t.save({"epoch": 90, "state_dict": files["model"].state_dict(), "best_acc1": t.tensor(69.8)}, path,
           _use_new_zipfile_serialization=False)
    doc = _listed(path)
    assert _names_and_params(doc) == _expected(files["model"])
