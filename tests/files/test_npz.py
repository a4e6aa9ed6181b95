"""`--save`: the archive np.savez writes, written in one pass from the arrays; `--compress` deflates it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from convcli.files import writers

from helpers import invoke


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "input": rng.standard_normal((40, 30, 3)).astype(np.float32),
        "kernel": np.asfortranarray(rng.standard_normal((5, 7))),  # Fortran order, as np.savez keeps it
        "strided": rng.standard_normal((9, 8))[::2, 1::3],  # neither order: copied a block of rows at a time
        "scalar": np.float64(2.5),
        "empty": np.zeros((0, 4), np.float32),
        "flags": np.array([True, False]),
        "big_endian": np.arange(6, dtype=">i4"),
        "dates": np.array(["2026-12-01"], dtype="M8[D]"),
    }


@pytest.mark.parametrize("chunk", [writers.NPZ_CHUNK, 7])  # 7 bytes: chunks that cut values in half
def test_save_npz_writes_the_entries_np_savez_writes(tmp_path: Path, monkeypatch, chunk: int):
    monkeypatch.setattr(writers, "NPZ_CHUNK", chunk)
    arrays = _arrays()
    ours, theirs = tmp_path / "ours.npz", tmp_path / "theirs.npz"
    writers.save_npz(ours, arrays)
    np.savez(theirs, **arrays)  # type: ignore[arg-type]
    with zipfile.ZipFile(ours) as a, zipfile.ZipFile(theirs) as b:
        assert a.namelist() == b.namelist() == [f"{k}.npy" for k in arrays]
        for name in a.namelist():
            assert a.read(name) == b.read(name), name  # byte for byte: header, order and data
            assert a.getinfo(name).compress_type == zipfile.ZIP_STORED
    with np.load(ours) as z:
        for k, v in arrays.items():
            assert z[k].dtype == v.dtype and np.array_equal(z[k], v), k


def test_save_npz_compress_deflates_the_same_entries(tmp_path: Path):
    arrays = {"zeros": np.zeros((300, 300), np.float32), **_arrays()}
    plain, packed = tmp_path / "plain.npz", tmp_path / "packed.npz"
    writers.save_npz(plain, arrays)
    writers.save_npz(packed, arrays, compress=True)
    assert packed.stat().st_size < plain.stat().st_size / 2
    with zipfile.ZipFile(plain) as a, zipfile.ZipFile(packed) as b:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in b.infolist())
        for name in a.namelist():
            assert a.read(name) == b.read(name), name


def test_run_compress(textbook: Path, tmp_path: Path):
    plain, packed = tmp_path / "plain.npz", tmp_path / "packed.npz"
    assert invoke("run", textbook, "-k", "2", "--save", plain).exit_code == 0
    assert invoke("run", textbook, "-k", "2", "--save", packed, "--compress").exit_code == 0
    with np.load(plain) as a, np.load(packed) as b, zipfile.ZipFile(packed) as z:
        assert a.files == b.files and "partials" in b.files
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())
    r = invoke("run", textbook, "-k", "2", "--compress")
    assert r.exit_code == 2 and "--compress applies to --save" in r.stderr
