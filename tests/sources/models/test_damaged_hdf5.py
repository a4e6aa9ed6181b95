"""A damaged legacy .h5 or .keras (cut short, bytes of its HDF5 changed: its superblock, B-trees, heaps
and attributes) is one ``Error:`` line naming the file, exit 1: never a traceback, a hang or a crash.
libhdf5 can crash the interpreter on such a file (``damaged/segfault_model_config.h5``: a segmentation
fault reading the ``model_config`` attribute) or loop in C (``damaged/hang_weights.keras``), both
found by this fuzz, so the listing is read in a child process with a time budget
(``CONVCLI_READ_TIMEOUT``) first (convcli.sources.models.hdf5.read_in_child)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT, invoke, one_error
from hostile_models import legacy_h5, small_image

pytest.importorskip("h5py")

HERE = Path(__file__).parent
#: Random edits of the file: how many, and how many bytes each changes at most.
FLIPS, BYTES = 24, 8


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bytes, int, int]]:
    """Each format's file as written, and where its HDF5 bytes are (start, length)."""
    import zipfile

    path = legacy_h5(tmp_path_factory.mktemp("h5") / "m.h5")
    keras = ROOT / "samples" / "edges.keras"
    for model in (path, keras):
        r = invoke("layers", model)
        assert r.exit_code == 0, r.output  # the file as written is listed
    with zipfile.ZipFile(keras) as zf:
        info = zf.getinfo("model.weights.h5")
    assert info.compress_type == zipfile.ZIP_STORED
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    return {".h5": (path.read_bytes(), 0, path.stat().st_size), ".keras": (keras.read_bytes(), start, info.file_size)}


def _refused(path: Path, *args: object) -> str:
    r = invoke(*args) if args else invoke("layers", path)
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    return one_error(r.stderr, str(path))


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
@pytest.mark.parametrize("fraction", [0.0, 0.002, 0.01, 0.05, 0.25, 0.5, 0.75, 0.999])
def test_a_cut_file_is_one_error_line(originals: dict[str, tuple[bytes, int, int]], tmp_path: Path, suffix: str,
                                      fraction: float) -> None:
    data, start, size = originals[suffix]
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: max(1, start + int(size * fraction))])
    _refused(path)


def test_a_cut_file_given_to_run_is_one_error_line(originals: dict[str, tuple[bytes, int, int]], tmp_path: Path) -> None:
    data = originals[".h5"][0]
    path = tmp_path / "cut.h5"
    path.write_bytes(data[: len(data) // 2])
    _refused(path, "run", small_image(tmp_path), "--model", path, "--layer", "conv", "-q")


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_changed_bytes_are_listed_or_one_error_line(originals: dict[str, tuple[bytes, int, int]], tmp_path: Path,
                                                    suffix: str) -> None:
    original, start, size = originals[suffix]
    rng = np.random.default_rng(23)
    path = tmp_path / f"changed{suffix}"
    refused = 0
    for _ in range(FLIPS):
        data = bytearray(original)
        # the metadata sits in the HDF5's first kilobytes and last (the heaps, the attributes): most edits there
        span = size if rng.random() < 0.3 else min(size, 4096)
        for pos in rng.integers(0, span, size=int(rng.integers(1, BYTES + 1))):
            data[start + pos] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(data))
        r = invoke("layers", path)
        assert r.exit_code in (0, 1), r.output
        assert "Traceback" not in r.output
        if r.exit_code == 1:
            one_error(r.stderr, str(path))
            refused += 1
    assert refused >= FLIPS // 8  # the edits hit what the listing reads (5 of 24 .keras, more of the .h5)


def test_a_file_that_crashes_libhdf5_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "crash.h5"
    path.write_bytes((HERE / "damaged" / "segfault_model_config.h5").read_bytes())
    line = _refused(path)
    assert "not a readable HDF5 file" in line


def test_a_file_that_hangs_libhdf5_is_stopped_at_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "hang.keras"
    path.write_bytes((HERE / "damaged" / "hang_weights.keras").read_bytes())
    monkeypatch.setenv("CONVCLI_READ_TIMEOUT", "3")
    line = _refused(path)
    assert "model.weights.h5 is not a readable HDF5 file" in line


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_reading_past_the_budget_is_stopped(originals: dict[str, tuple[bytes, int, int]], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    path = tmp_path / f"m{suffix}"
    path.write_bytes(originals[suffix][0])
    monkeypatch.setenv("CONVCLI_READ_TIMEOUT", "0.001")  # no child reads a file that fast
    line = _refused(path)
    assert "took more than 0.001 s and was stopped" in line and "CONVCLI_READ_TIMEOUT sets the seconds" in line


def test_a_bad_read_budget_is_one_line(originals: dict[str, tuple[bytes, int, int]], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.h5"
    path.write_bytes(originals[".h5"][0])
    monkeypatch.setenv("CONVCLI_READ_TIMEOUT", "soon")
    r = invoke("layers", path)
    assert r.exit_code == 2, r.output
    one_error(r.stderr, "CONVCLI_READ_TIMEOUT='soon': give the seconds reading a model file's listing may take, a "
                        "number above 0 (default 60)")
