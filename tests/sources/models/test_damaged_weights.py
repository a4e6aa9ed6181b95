"""Damaged weight data (a chunk whose deflate stream is corrupt, a filter libhdf5 does not have) in a
legacy ``.h5`` or a ``.keras``: the listing reads (only metadata), exploring the layer is one
``Error:`` line, exit 1, in bounded time. A layer's values are decoded by libhdf5 in a child process
(convcli.sources.models.hdf5.arrays_in_child) when it is chunked, its filter plugins off: a crash or
a hang there is one line too. The two ``.h5`` fixtures in ``damaged/`` are :func:`damaged_h5`'s, committed."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import invoke, one_error
from hostile_models import edited_keras, keras_members, legacy_h5, small_image, write_keras

h5py = pytest.importorskip("h5py")

HERE = Path(__file__).parent / "damaged"
KERNEL = "model_weights/conv/conv/kernel:0"


def _chunked(f: Any, path: str, compression: str) -> None:
    """Write the dataset at ``path`` again as one compressed chunk (values that compress: lzf keeps them)."""
    shape, dtype = f[path].shape, f[path].dtype
    del f[path]
    f.create_dataset(path, data=np.linspace(-1, 1, int(np.prod(shape))).astype(dtype).reshape(shape).round(1),
                     chunks=shape, compression=compression)


def _corrupt_deflate(data: bytearray, h5: Path, path: str, base: int = 0) -> None:
    """Flip the bytes of the dataset's chunk after its zlib header: an invalid deflate stream."""
    with h5py.File(h5, "r") as f:
        info = f[path].id.get_chunk_info(0)
    for i in range(base + info.byte_offset + 2, base + info.byte_offset + info.size):
        data[i] ^= 0x5A


def _unknown_filter(data: bytearray) -> None:
    """The lzf filter's id (32000) in the filter pipeline message made 32767 (no such filter), mandatory."""
    at = data.find(b"lzf\x00")
    assert at > 8 and int.from_bytes(data[at - 8:at - 6], "little") == 32000
    data[at - 8:at - 6] = (32767).to_bytes(2, "little")
    data[at - 4:at - 2] = (0).to_bytes(2, "little")  # flags: mandatory, not optional


def damaged_h5(path: Path, damage: str) -> Path:
    """A legacy ``.h5`` (:func:`hostile_models.legacy_h5`) whose Conv kernel is one chunk, damaged."""
    legacy_h5(path, edit=lambda f: _chunked(f, KERNEL, "gzip" if damage == "deflate" else "lzf"))
    data = bytearray(path.read_bytes())
    if damage == "deflate":
        _corrupt_deflate(data, path, KERNEL)
    else:
        _unknown_filter(data)
    path.write_bytes(bytes(data))
    return path


def damaged_keras(path: Path, damage: str) -> Path:
    """``samples/edges.keras`` whose ``conv2d_1`` kernel is one chunk, damaged."""
    where = "layers/conv2d_1/vars/0"
    edited_keras(path, lambda f: _chunked(f, where, "gzip" if damage == "deflate" else "lzf"))
    members = keras_members(path)
    data = bytearray(members["model.weights.h5"])
    if damage == "deflate":
        h5 = path.parent / "weights.h5"
        h5.write_bytes(bytes(data))
        _corrupt_deflate(data, h5, where)
    else:
        _unknown_filter(data)
    members["model.weights.h5"] = bytes(data)
    return write_keras(path, members)


MAKERS: dict[str, Callable[[Path, str], Path]] = {".h5": damaged_h5, ".keras": damaged_keras}
LAYER = {".h5": "conv", ".keras": "mid"}  # mid: layers/conv2d_1 of model.weights.h5


def _explore_refused(path: Path, tmp_path: Path, suffix: str, *fragments: str) -> str:
    start = time.monotonic()
    r = invoke("run", small_image(tmp_path, 3 if suffix == ".h5" else 8), "--model", path, "--layer", LAYER[suffix],
               "-q")
    assert time.monotonic() - start < 60
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    return one_error(r.stderr, f"Error: {path}", *fragments)


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
@pytest.mark.parametrize("damage", ["deflate", "filter"])
def test_damaged_weight_data_is_listed_then_one_error_line(tmp_path: Path, suffix: str, damage: str) -> None:
    path = MAKERS[suffix](tmp_path / f"damaged{suffix}", damage)
    r = invoke("layers", path)
    assert r.exit_code == 0, r.output  # the metadata is whole: listed
    says = "filter returned failure" if damage == "deflate" else "filter plugins disabled"
    _explore_refused(path, tmp_path, suffix, says)


@pytest.mark.parametrize("damage", ["deflate", "filter"])
def test_the_committed_fixtures_are_refused(tmp_path: Path, damage: str) -> None:
    path = HERE / f"{damage}_kernel.h5"
    assert path.is_file()
    _explore_refused(path, tmp_path, ".h5")


def test_the_undamaged_chunked_kernel_reads_as_written(tmp_path: Path) -> None:
    """The same chunked gzip kernel, undamaged: its values come back from the child exact."""
    path = legacy_h5(tmp_path / "gz.h5", edit=lambda f: _chunked(f, KERNEL, "gzip"))
    with h5py.File(path, "r") as f:
        want = f[KERNEL][()]
    out = tmp_path / "out.npz"
    r = invoke("run", small_image(tmp_path), "--model", path, "--layer", "conv", "--save", out, "-q")
    assert r.exit_code == 0, r.output
    with np.load(out) as z:
        np.testing.assert_array_equal(z["kernel"], want)


def test_a_crash_or_a_hang_reading_the_weights_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the child's end would look like (libhdf5 killed by SIGSEGV; stopped at the budget)."""
    from convcli.sources.models import child

    path = legacy_h5(tmp_path / "m.h5", edit=lambda f: _chunked(f, KERNEL, "gzip"))  # chunked: read in a child
    real = child.run

    def crashes(task: str, *args: Any, **kw: Any) -> Any:
        if task.endswith(":arrays_task"):
            raise child.Died("killed", -11)
        return real(task, *args, **kw)

    monkeypatch.setattr(child, "run", crashes)
    _explore_refused(path, tmp_path, ".h5", "libhdf5 crashed (signal 11) reading its weights")

    def hangs(task: str, *args: Any, **kw: Any) -> Any:
        if task.endswith(":arrays_task"):
            raise child.OverBudget("stopped")
        return real(task, *args, **kw)

    monkeypatch.setattr(child, "run", hangs)
    _explore_refused(path, tmp_path, ".h5", "took more than", "CONVCLI_READ_TIMEOUT")


def test_arrays_from_the_child_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer that does not hold the bytes it says (a child cut short) is refused, not read past."""
    from convcli.sources.models import child

    path = legacy_h5(tmp_path / "m.h5", edit=lambda f: _chunked(f, KERNEL, "gzip"))
    real = child.run

    def short(task: str, *args: Any, **kw: Any) -> Any:
        y, answer = real(task, *args, **kw)
        return (y[:10], answer) if task.endswith(":arrays_task") else (y, answer)

    monkeypatch.setattr(child, "run", short)
    _explore_refused(path, tmp_path, ".h5", "fewer bytes than its arrays take")


def test_contiguous_weights_are_read_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What Keras writes (contiguous datasets: raw bytes at an offset the listed metadata gives) starts
    no child: exploring a layer stays as fast as it was."""
    from convcli.sources.models import child

    path = legacy_h5(tmp_path / "m.h5")
    real = child.run
    tasks: list[str] = []

    def recording(task: str, *args: Any, **kw: Any) -> Any:
        tasks.append(task)
        return real(task, *args, **kw)

    monkeypatch.setattr(child, "run", recording)
    r = invoke("run", small_image(tmp_path), "--model", path, "--layer", "conv", "-q")
    assert r.exit_code == 0, r.output
    assert not any(t.endswith(":arrays_task") for t in tasks) and any(t.endswith(":listing_task") for t in tasks)


def test_in_keras_archive_helpers_agree(tmp_path: Path) -> None:
    """The .keras maker changes only the kernel it names (the archive otherwise as written)."""
    path = damaged_keras(tmp_path / "d.keras", "deflate")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        with h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as f:
            assert f["layers/conv2d_1/vars/0"].chunks == (3, 3, 8, 16)
    assert "config.json" in names
