"""A bounded fuzz of the model readers: random byte changes, insertions and cuts of small valid
``.onnx`` and ``.safetensors`` files, and of the Keras model config inside a ``.keras`` and an ``.h5``.
Whatever the bytes, reading the listing and a conv layer's weights either works or raises one of
convcli's own errors; anything else (a traceback) fails the test. Each test stops drawing new work
after a time budget.

The HDF5 bytes themselves are not mutated here: libhdf5 can loop forever or crash on some damaged
files (seen reading an attribute), in C where no signal ends it. A legacy .h5's listing is read in a
child process with a time budget, and test_damaged_hdf5.py cuts and changes its bytes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcli.errors import ConvcliError
from convcli.sources.models import read_model
from convcli.sources.models.weights import EXPLORED, layer_weights

from hostile_models import EDGES_KERAS, EDGES_ONNX, EDGES_SAFETENSORS, keras_members, legacy_h5, write_keras

#: Seconds of examples per format; later examples return at once.
BUDGET = 6.0

#: (position as a fraction of the file, what happens there, a byte)
_EDITS = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from(["set", "insert", "delete", "cut"]),
                            st.integers(0, 255)), min_size=1, max_size=6)


def _mutated(data: bytes, edits: list[tuple[float, str, int]]) -> bytes:
    out = bytearray(data)
    for where, how, byte in edits:
        if not out:
            break
        at = int(where * len(out))
        if how == "set":
            out[at] = byte
        elif how == "insert":
            out.insert(at, byte)
        elif how == "delete":
            del out[at]
        else:
            del out[max(at, 1):]
    return bytes(out)


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The bytes mutated: the whole file (ONNX, safetensors), the model config (Keras)."""
    import h5py

    folder = tmp_path_factory.mktemp("originals")
    with h5py.File(legacy_h5(folder / "m.h5"), "r") as f:
        h5_config = str(f.attrs["model_config"]).encode()
    return {".keras": keras_members()["config.json"], ".onnx": EDGES_ONNX.read_bytes(),
            ".safetensors": EDGES_SAFETENSORS.read_bytes(), ".h5": h5_config}


def _write(path: Path, data: bytes) -> None:
    """The file of ``path``'s format made of ``data``: itself, or the Keras model config inside one."""
    if path.suffix == ".keras":
        write_keras(path, keras_members() | {"config.json": data})
    elif path.suffix == ".h5":

        def config(f: Any) -> None:
            f.attrs["model_config"] = data.decode("utf-8", "replace").replace("\x00", "")  # h5py stores no NUL
        legacy_h5(path, edit=config)
    else:
        path.write_bytes(data)


def _read_everything(path: Path) -> None:
    """The listing, then every explorable layer's weights: the reads ``convcli run --model`` makes
    (a layer refused, as a safetensors ConvTranspose read as a conv is, does not stop the others)."""
    listing = read_model(path)
    for layer in listing.layers:
        if layer.kind in EXPLORED:
            try:
                layer_weights(path, listing, layer)
            except ConvcliError:
                pass


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".onnx", ".safetensors"])
def test_a_mutated_model_file_is_read_or_refused_by_convcli(tmp_path_factory: pytest.TempPathFactory,
                                                             originals: dict[str, bytes], suffix: str) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / f"m{suffix}"
    start = time.monotonic()
    _write(path, originals[suffix])
    assert read_model(path).layers  # the unmutated file is listed

    # derandomized: the same examples on every run, so a failure is reproduced by the next run
    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(edits=_EDITS)
    def check(edits: list[tuple[float, str, int]]) -> None:
        if time.monotonic() - start > BUDGET:
            return
        _write(path, _mutated(originals[suffix], edits))
        try:
            _read_everything(path)
        except ConvcliError:
            pass

    check()


# What the fuzz found, kept as plain cases


def test_a_keras_member_in_an_unknown_compression_is_refused(tmp_path: Path) -> None:
    data = bytearray(EDGES_KERAS.read_bytes())
    for magic, at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # config.json is the second member
        first = data.find(magic)
        where = data.find(magic, first + 4)
        data[where + at: where + at + 2] = (99).to_bytes(2, "little")
    path = tmp_path / "m.keras"
    path.write_bytes(bytes(data))
    with pytest.raises(ConvcliError, match="a member of the archive cannot be read"):
        read_model(path)


def test_an_onnx_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    from hostile_models import onnx_conv

    onnx_conv(tmp_path / "ok.onnx")
    data = (tmp_path / "ok.onnx").read_bytes()
    assert data.count(b"conv") == 1
    path = tmp_path / "m.onnx"
    path.write_bytes(data.replace(b"conv", b"co\xffv"))
    with pytest.raises(ConvcliError, match="not UTF-8 text"):
        read_model(path)
