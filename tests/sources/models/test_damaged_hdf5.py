"""A damaged legacy .h5 (cut short, bytes changed: its superblock, B-trees, heaps and attributes) is one
``Error:`` line naming the file, exit 1: never a traceback, a hang or a crash. libhdf5 can crash the
interpreter on such a file (``damaged/segfault_model_config.h5``: a segmentation fault reading the
``model_config`` attribute, found by this fuzz) or loop in C, so the listing is read in a child
process with a time budget first (convcli.sources.models.keras_h5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import invoke, one_error
from hostile_models import legacy_h5, small_image

pytest.importorskip("h5py")

HERE = Path(__file__).parent
#: Random edits of the file: how many, and how many bytes each changes at most.
FLIPS, BYTES = 24, 8


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = legacy_h5(tmp_path_factory.mktemp("h5") / "m.h5")
    r = invoke("layers", path)
    assert r.exit_code == 0, r.output  # the file as written is listed
    return path.read_bytes()


def _refused(path: Path, *args: object) -> str:
    r = invoke(*args) if args else invoke("layers", path)
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    return one_error(r.stderr, str(path))


@pytest.mark.parametrize("fraction", [0.0, 0.002, 0.01, 0.05, 0.25, 0.5, 0.75, 0.999])
def test_a_cut_file_is_one_error_line(original: bytes, tmp_path: Path, fraction: float) -> None:
    path = tmp_path / "cut.h5"
    path.write_bytes(original[: max(1, int(len(original) * fraction))])
    line = _refused(path)
    assert "HDF5" in line


def test_a_cut_file_given_to_run_is_one_error_line(original: bytes, tmp_path: Path) -> None:
    path = tmp_path / "cut.h5"
    path.write_bytes(original[: len(original) // 2])
    _refused(path, "run", small_image(tmp_path), "--model", path, "--layer", "conv", "-q")


def test_changed_bytes_are_listed_or_one_error_line(original: bytes, tmp_path: Path) -> None:
    rng = np.random.default_rng(23)
    path = tmp_path / "flipped.h5"
    refused = 0
    for _ in range(FLIPS):
        data = bytearray(original)
        # the metadata sits in the file's first kilobytes and last (the heaps, the attributes): most edits there
        span = len(data) if rng.random() < 0.3 else min(len(data), 4096)
        for pos in rng.integers(0, span, size=int(rng.integers(1, BYTES + 1))):
            data[pos] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(data))
        r = invoke("layers", path)
        assert r.exit_code in (0, 1), r.output
        assert "Traceback" not in r.output
        if r.exit_code == 1:
            one_error(r.stderr, str(path))
            refused += 1
    assert refused >= FLIPS // 4  # the edits hit what the listing reads


def test_a_file_that_crashes_libhdf5_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "crash.h5"
    path.write_bytes((HERE / "damaged" / "segfault_model_config.h5").read_bytes())
    line = _refused(path)
    assert "not a readable HDF5 file" in line


def test_reading_past_the_budget_is_stopped(original: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.h5"
    path.write_bytes(original)
    monkeypatch.setenv("CONVCLI_UPSTREAM_TIMEOUT", "0.001")  # no child reads a file that fast
    line = _refused(path)
    assert "took more than 0.001 s and was stopped" in line and "CONVCLI_UPSTREAM_TIMEOUT" in line
