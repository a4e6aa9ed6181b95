"""A ``.keras`` archive cannot fill the disk: Keras extracts every member it does not need (``assets/``)
to TMPDIR, so each member's declared size, the extra members' total and the members' count are
checked from the archive's directory before Keras (or convcli) reads any of them."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from convcli.errors import LoadError
from convcli.sources.models import keras_v3, read_model, upstream

from helpers import invoke
from hostile_models import EDGES_KERAS, keras_members, one_error, small_png, write_keras


@pytest.fixture
def tmpdir_watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A TMPDIR of the test's own, to see that nothing was extracted to it."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


def test_deflated_assets_that_would_fill_the_disk_are_refused(tmp_path: Path, tmpdir_watched: Path) -> None:
    zeros = bytes(8 * 2**20)  # 8 MiB of zeros deflate to ~8 KB: 1000 times
    members = keras_members() | {"assets/a.bin": zeros, "assets/b.bin": zeros}
    write_keras(tmp_path / "bomb.keras", members, compress=True)
    small_png(tmp_path)
    r = invoke("run", "img.png", "--model", "bomb.keras", "--layer", "mid", "--save", "out.npz")
    assert r.exit_code == 1, r.output
    one_error(r.stderr, "bomb.keras: member 'assets/a.bin' declares 8,388,608 bytes", "zip bomb")
    assert list(tmpdir_watched.iterdir()) == []
    assert not (tmp_path / "out.npz").exists()


def test_stored_assets_past_the_limit_are_refused(tmp_path: Path, tmpdir_watched: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras_v3, "EXTRA_LIMIT", 2**20)
    members = keras_members() | {"assets/a.bin": bytes(600_000), "assets/b.bin": bytes(600_000)}
    write_keras(tmp_path / "big.keras", members)
    small_png(tmp_path)
    r = invoke("run", "img.png", "--model", "big.keras", "--layer", "mid", "--save", "out.npz")
    assert r.exit_code == 1, r.output
    one_error(r.stderr, "big.keras: its members other than config.json and model.weights.h5 declare 1,200,000 "
                        "bytes, more than the 1,048,576 convcli lets Keras extract")
    assert list(tmpdir_watched.iterdir()) == []


def test_too_many_members_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras_v3, "MEMBERS_LIMIT", 5)
    members = keras_members() | {f"assets/{i}": b"x" for i in range(3)}
    with pytest.raises(LoadError, match="holds 6 members, more than the 5"):
        read_model(write_keras(tmp_path / "many.keras", members))


def test_the_keras_runner_checks_the_archive_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A library caller that runs the model without listing it first is checked too."""
    listing = read_model(write_keras(tmp_path / "ok.keras", keras_members() | {"assets/a.bin": bytes(600_000)}))
    monkeypatch.setattr(keras_v3, "EXTRA_LIMIT", 2**19)
    with pytest.raises(LoadError, match="convcli lets Keras extract"):
        upstream.layer_input(str(tmp_path / "ok.keras"), listing, 3, np.zeros((8, 8, 3), "float32"))


def test_the_sample_archive_passes() -> None:
    with zipfile.ZipFile(EDGES_KERAS) as zf:
        keras_v3.check_archive("edges.keras", zf.infolist(), EDGES_KERAS.stat().st_size)
