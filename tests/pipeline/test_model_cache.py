"""A deep model layer's input, computed by the model's framework, is kept on disk and read back on the next
run of the same layer (convcli.pipeline.cache): only while the model, the image and the versions are the
same; never a file that is not whole and sound; never with ``cache=False`` (``--no-cache``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import convcli
from convcli.pipeline import cache
from convcli.sources.models import upstream

from helpers import ROOT, invoke

EDGES_KERAS = ROOT / "samples" / "edges.keras"
EDGES_ONNX = ROOT / "samples" / "edges.onnx"
PHOTO = ROOT / "samples" / "grace_hopper.png"


def _entries() -> list[Path]:
    return sorted(cache.folder().glob("*.npy"))


def _fail(*args: object, **kw: object) -> None:
    raise AssertionError("the framework ran: the cache was not read")


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the framework's runs (upstream.layer_input), which still compute."""
    calls: list[int] = []
    real = upstream.layer_input

    def counted(*args: object, **kw: object) -> upstream.LayerInput:
        calls.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(upstream, "layer_input", counted)
    return calls


@pytest.fixture(scope="module")
def keras_first() -> np.ndarray:
    pytest.importorskip("keras")
    return convcli.explore(str(PHOTO), model=str(EDGES_KERAS), layer="mid", cache=False).input


def test_the_second_run_reads_what_the_framework_computed(monkeypatch: pytest.MonkeyPatch,
                                                          keras_first: np.ndarray) -> None:
    first = convcli.explore(str(PHOTO), model=str(EDGES_KERAS), layer="mid")
    np.testing.assert_array_equal(first.input, keras_first)  # the framework's, as without the cache
    assert len(_entries()) == 1
    monkeypatch.setattr(upstream, "layer_input", _fail)
    second = convcli.explore(str(PHOTO), model=str(EDGES_KERAS), layer="mid")
    np.testing.assert_array_equal(second.input, keras_first)
    assert second.input.dtype == keras_first.dtype
    assert second.to_json() == first.to_json()  # the header says the same: by Keras, the same note
    with pytest.raises(AssertionError, match="the framework ran"):
        convcli.explore(str(PHOTO), model=str(EDGES_KERAS), layer="mid", cache=False)


def test_no_cache_neither_reads_nor_writes(monkeypatch: pytest.MonkeyPatch, keras_first: np.ndarray) -> None:
    calls = _counting(monkeypatch)
    for _ in range(2):
        ex = convcli.explore(str(PHOTO), model=str(EDGES_KERAS), layer="mid", cache=False)
        np.testing.assert_array_equal(ex.input, keras_first)
    assert len(calls) == 2
    assert not cache.folder().exists()


def _forge_same_shape(npy: Path) -> None:
    arr = np.load(npy)
    np.save(npy, arr + 1)  # a sound .npy of the right shape and dtype, other values


def _forge_pickle(npy: Path) -> None:
    np.save(npy, np.array([{"boom": 1}], dtype=object), allow_pickle=True)


def _cut(npy: Path) -> None:
    npy.write_bytes(npy.read_bytes()[:-100])


def _garble_json(npy: Path) -> None:
    npy.with_suffix(".json").write_bytes(b"{not json")


def _other_shape_json(npy: Path) -> None:
    meta = json.loads(npy.with_suffix(".json").read_text())
    meta["shape"] = [1, 1, 1]
    npy.with_suffix(".json").write_text(json.dumps(meta))


def _other_key_json(npy: Path) -> None:
    meta = json.loads(npy.with_suffix(".json").read_text())
    meta["key"] = "0" * 64
    npy.with_suffix(".json").write_text(json.dumps(meta))


def _escape_in_note(npy: Path) -> None:
    meta = json.loads(npy.with_suffix(".json").read_text())
    meta["note"] = "the input\x1b[2J\rError: forged\u202e"  # the header would print it to the terminal
    npy.with_suffix(".json").write_text(json.dumps(meta))


@pytest.mark.parametrize("damage", [_forge_same_shape, _forge_pickle, _cut, _garble_json, _other_shape_json,
                                    _other_key_json, _escape_in_note])
def test_a_damaged_or_forged_entry_is_ignored_and_replaced(monkeypatch: pytest.MonkeyPatch, damage: object,
                                                           keras_first: np.ndarray) -> None:
    convcli.explore(str(PHOTO), model=str(EDGES_KERAS), layer="mid")
    (npy,) = _entries()
    damage(npy)  # type: ignore[operator]
    calls = _counting(monkeypatch)
    again = convcli.explore(str(PHOTO), model=str(EDGES_KERAS), layer="mid")
    assert len(calls) == 1  # computed again
    np.testing.assert_array_equal(again.input, keras_first)
    (replaced,) = _entries()
    assert replaced == npy
    np.testing.assert_array_equal(np.load(replaced, allow_pickle=False), keras_first)
    monkeypatch.setattr(upstream, "layer_input", _fail)
    np.testing.assert_array_equal(convcli.explore(str(PHOTO), model=str(EDGES_KERAS), layer="mid").input, keras_first)


def test_the_key_follows_the_contents_of_the_model_and_the_image(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((8, 8, 3)).astype("float32")
    copy = tmp_path / "copy.keras"
    shutil.copyfile(EDGES_KERAS, copy)
    base = cache.key(str(EDGES_KERAS), "keras 3", "mid", 3, x)
    assert cache.key(str(copy), "keras 3", "mid", 3, x.copy()) == base  # the same bytes elsewhere: the same key
    with copy.open("ab") as fh:
        fh.write(b"\0")
    changed = x.copy()
    changed[4, 4, 1] = np.nextafter(changed[4, 4, 1], 2)
    others = [cache.key(str(copy), "keras 3", "mid", 3, x),  # one byte more in the model
              cache.key(str(EDGES_KERAS), "keras 3", "mid", 3, changed),  # one value of the image
              cache.key(str(EDGES_KERAS), "keras 3", "mid", 3, x.astype("float64")),  # its dtype
              cache.key(str(EDGES_KERAS), "keras 3", "mid", 3, x.reshape(8, 4, 6)),  # its shape
              cache.key(str(EDGES_KERAS), "keras 3.1", "mid", 3, x),  # the framework's version
              cache.key(str(EDGES_KERAS), "keras 3", "edges", 2, x)]  # the layer
    assert len({base, *others}) == 1 + len(others)


def test_the_key_follows_the_preprocessing_and_the_image_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              keras_first: np.ndarray) -> None:
    from PIL import Image

    convcli.explore(str(PHOTO), model=str(EDGES_KERAS), layer="mid")
    calls = _counting(monkeypatch)
    convcli.explore(str(PHOTO), model=str(EDGES_KERAS), layer="mid", preprocess="unit")
    convcli.explore(str(PHOTO), model=str(EDGES_KERAS), layer="mid", resize=(64, 64))
    pixels = np.asarray(Image.open(PHOTO)).copy()
    pixels[0, 0, 0] ^= 1
    other = tmp_path / "other.png"
    Image.fromarray(pixels).save(other)
    convcli.explore(str(other), model=str(EDGES_KERAS), layer="mid")
    assert len(calls) == 3 and len(_entries()) == 4
    convcli.explore(str(PHOTO), model=str(EDGES_KERAS), layer="mid", resize=(64, 64))
    assert len(calls) == 3


def _entry(name: str, values: int) -> upstream.LayerInput:
    return upstream.LayerInput(np.full((values // 4, 1, 1), 1, "float32"), "test", name)


def test_the_cache_keeps_to_its_size_oldest_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("CONVCLI_CACHE_MAX_BYTES", str(3 * 4096 + 3 * 600))
    for i, name in enumerate("abcd"):
        cache.write(name * 64, _entry(name, 4096))
        for suffix in (".npy", ".json"):  # a second apart, a before b before c ...
            os.utime(cache.folder() / f"{name * 64}{suffix}", (1000 + i, 1000 + i))
    assert [p.stem[0] for p in _entries()] == ["b", "c", "d"]
    assert cache.read("b" * 64) is not None  # read: now the newest
    cache.write("e" * 64, _entry("e", 4096))
    assert [p.stem[0] for p in _entries()] == ["b", "d", "e"]
    cache.write("f" * 64, _entry("f", 64 * 4096))  # larger than the whole cache: not kept
    assert [p.stem[0] for p in _entries()] == ["b", "d", "e"]


def test_the_folder_is_the_users_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVCLI_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.folder() == tmp_path / "xdg" / "convcli" / "layer-inputs"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.folder() == tmp_path / "home" / ".cache" / "convcli" / "layer-inputs"
    cache.write("a" * 64, _entry("a", 16))
    assert (cache.folder().stat().st_mode & 0o777) == 0o700  # private


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("CONVCLI_CACHE_DIR", str(blocked))
    cache.write("a" * 64, _entry("a", 16))
    assert cache.read("a" * 64) is None
    assert blocked.read_text() == "not a folder"


def test_onnx_runs_read_the_cache_and_no_cache_skips_it(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    first = invoke("run", PHOTO, "--model", EDGES_ONNX, "--layer", "3", "--json")
    assert first.exit_code == 0, first.output
    assert len(_entries()) == 1
    monkeypatch.setattr(upstream, "layer_input", _fail)
    second = invoke("run", PHOTO, "--model", EDGES_ONNX, "--layer", "3", "--json")
    assert second.exit_code == 0, second.output
    assert second.stdout == first.stdout
    third = invoke("run", PHOTO, "--model", EDGES_ONNX, "--layer", "3", "--json", "--no-cache")
    assert third.exit_code != 0 and "the framework ran" in repr(third.exception)


@pytest.mark.parametrize("command", ["run", "verify", "report", "explore"])
def test_every_command_that_takes_a_model_takes_no_cache(command: str) -> None:
    r = invoke(command, "--help", columns=200)
    assert r.exit_code == 0, r.output
    assert "--no-cache" in r.stdout
