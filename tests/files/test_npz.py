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


@pytest.mark.parametrize("chunk", [writers.NPZ_CHUNK, 7])
def test_an_entry_written_in_blocks_of_rows_is_the_one_np_savez_writes(tmp_path: Path, monkeypatch, chunk: int):
    """`run --save` streams the partials into the archive as the pass makes them: the same bytes."""
    monkeypatch.setattr(writers, "NPZ_CHUNK", chunk)
    rng = np.random.default_rng(1)
    arrays = {"partials": rng.standard_normal((11, 5, 3, 2)).astype(np.float32), "output": rng.standard_normal((4, 3))}
    ours, theirs = tmp_path / "ours.npz", tmp_path / "theirs.npz"
    with writers.npz_archive(ours) as archive:
        with archive.rows("partials", (11, 5, 3, 2), np.dtype(np.float32)) as entry:
            for r0, r1 in ((0, 4), (4, 5), (5, 11)):
                entry.write(arrays["partials"][r0:r1])
        archive.add("output", arrays["output"])
    np.savez(theirs, **arrays)  # type: ignore[arg-type]
    with zipfile.ZipFile(ours) as a, zipfile.ZipFile(theirs) as b:
        assert a.namelist() == b.namelist() == ["partials.npy", "output.npy"]
        for name in a.namelist():
            assert a.read(name) == b.read(name), name


def test_an_entry_missing_rows_or_given_a_wrong_block_writes_no_file(tmp_path: Path):
    target = tmp_path / "o.npz"
    with pytest.raises(ValueError, match=r"partials.npy has 4 of its 11 rows"):
        with writers.npz_archive(target) as archive, archive.rows("partials", (11, 2), np.dtype(np.float32)) as entry:
            entry.write(np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"does not fit rows 0\+ of \(11, 2\) float32"):
        with writers.npz_archive(target) as archive, archive.rows("partials", (11, 2), np.dtype(np.float32)) as entry:
            entry.write(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"does not fit"):
        with writers.npz_archive(target) as archive, archive.rows("partials", (3, 2), np.dtype(np.float32)) as entry:
            entry.write(np.zeros((4, 2), np.float32))  # more rows than the array has
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary file


@pytest.mark.parametrize("extra", [[], ["--stride", "2", "--padding", "same"], ["--compress"]])
def test_run_save_streams_partials_in_many_blocks(tmp_path: Path, monkeypatch, extra: list[str]):
    """The partials are written block by block as the threads make them: the archive holds the oracle's."""
    from convcli.engine import tiles

    from oracle import naive_partials, naive_same_pads

    monkeypatch.setattr(tiles, "THREADS", 2)
    monkeypatch.setattr(tiles, "TILE_VALUES", 300)
    x = np.random.default_rng(8).standard_normal((61, 17, 3))
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "o.npz"
    r = invoke("run", tmp_path / "x.npy", "-f", "3", "--dtype", "float64", "--save", out, "-q", "--json", *extra)
    assert r.exit_code == 0, r.output
    with np.load(out) as z:
        assert sorted(z.files) == ["bias", "input", "kernel", "output", "partials", "preactivation"]
        stride = 2 if extra[:1] == ["--stride"] else 1
        pads = (0, 0, 0, 0) if stride == 1 else (*naive_same_pads(61, 3, 2, 1), *naive_same_pads(17, 3, 2, 1))
        want = naive_partials(x, z["kernel"], stride, pads)
        assert z["partials"].shape == want.shape
        np.testing.assert_allclose(z["partials"], want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(z["partials"].sum(axis=2), z["preactivation"], rtol=1e-12, atol=1e-12)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.npz", "x.npy"]
