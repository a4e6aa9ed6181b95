"""A Keras weights file (``model.weights.h5`` in a ``.keras``, a legacy ``.h5``) whose kernel's values
come from elsewhere (HDF5 external storage, a virtual dataset, an external or a soft link) is refused:
only the file's own storage is read, and no byte of the other file is shown or saved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convcli.errors import LoadError
from convcli.sources.models import read_model

from helpers import invoke
from hostile_models import SECRET, edited_keras, legacy_h5, one_error, small_image

KERAS_KERNEL = "/layers/conv2d/vars/0"
H5_KERNEL = "/model_weights/conv/conv/kernel:0"


def _secret(folder: Path) -> Path:
    path = folder / "secret.txt"
    path.write_bytes(SECRET)
    return path


def _other_h5(folder: Path, shape: tuple[int, ...]) -> Path:
    """Another HDF5 file holding a dataset ``k`` of ``shape`` made of the secret's bytes."""
    import h5py

    path = folder / "other.h5"
    raw = np.frombuffer(SECRET[: 4 * int(np.prod(shape))], dtype="float32").reshape(shape)
    with h5py.File(path, "w") as f:
        f.create_dataset("k", data=raw)
    return path


def _replace(f: Any, where: str, make: Callable[[Any, str], None]) -> None:
    parent, key = where.rsplit("/", 1)
    shape = f[where].shape
    del f[where]
    f.attrs["shape"] = shape  # for the makers below
    make(f[parent], key)


def external_storage(folder: Path) -> Callable[[Any, str], None]:
    def make(group: Any, key: str) -> None:
        shape = tuple(group.file.attrs["shape"])
        group.create_dataset(key, shape=shape, dtype="float32",
                             external=[(str(_secret(folder)), 0, 4 * int(np.prod(shape)))])
    return make


def virtual(folder: Path) -> Callable[[Any, str], None]:
    def make(group: Any, key: str) -> None:
        import h5py

        shape = tuple(group.file.attrs["shape"])
        layout = h5py.VirtualLayout(shape=shape, dtype="float32")
        layout[...] = h5py.VirtualSource(str(_other_h5(folder, shape)), "k", shape=shape)
        group.create_virtual_dataset(key, layout)
    return make


def external_link(folder: Path) -> Callable[[Any, str], None]:
    def make(group: Any, key: str) -> None:
        import h5py

        group[key] = h5py.ExternalLink(str(_other_h5(folder, tuple(group.file.attrs["shape"]))), "k")
    return make


def soft_link(folder: Path) -> Callable[[Any, str], None]:
    def make(group: Any, key: str) -> None:
        import h5py

        shape = tuple(group.file.attrs["shape"])
        group.file.create_dataset("stash", data=np.ones(shape, "float32"))
        group[key] = h5py.SoftLink("/stash")
    return make


HOSTILE = {"external storage": (external_storage, "keeps its values in external files"),
           "a virtual dataset": (virtual, "is a virtual dataset"),
           "an external link": (external_link, "is an external link to another file"),
           "a soft link": (soft_link, "is a soft link")}


def _hostile(folder: Path, fmt: str, how: str) -> tuple[Path, str, str]:
    """The hostile file, its conv layer's name and the kernel's path in the weights file."""
    maker = HOSTILE[how][0](folder)
    if fmt == "keras":
        return edited_keras(folder / "hostile.keras", lambda f: _replace(f, KERAS_KERNEL, maker)), "edges", KERAS_KERNEL
    return legacy_h5(folder / "hostile.h5", edit=lambda f: _replace(f, H5_KERNEL, maker)), "conv", H5_KERNEL


@pytest.mark.parametrize("how", list(HOSTILE))
@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_a_kernel_from_outside_the_file_is_refused_by_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          fmt: str, how: str) -> None:
    monkeypatch.chdir(tmp_path)
    model, layer, kernel = _hostile(tmp_path, fmt, how)
    x = small_image(tmp_path)
    r = invoke("run", x, "--model", model.name, "--layer", layer, "--save", "out.npz", "--json")
    assert r.exit_code == 1, r.output
    one_error(r.stderr, model.name, repr(kernel), HOSTILE[how][1], "refused")
    assert "SECRET-PASSWD" not in r.output
    assert not (tmp_path / "out.npz").exists()
    assert r.stdout == ""


@pytest.mark.parametrize("how", list(HOSTILE))
@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_a_kernel_from_outside_the_file_is_refused_by_the_listing(tmp_path: Path, fmt: str, how: str) -> None:
    model, _, kernel = _hostile(tmp_path, fmt, how)
    with pytest.raises(LoadError, match="refused") as caught:
        read_model(model)
    assert kernel in str(caught.value)


def test_a_weight_path_that_leaves_its_group_is_refused(tmp_path: Path) -> None:
    def absolute(f: Any) -> None:
        f["model_weights/conv"].attrs["weight_names"] = np.array([b"/model_weights/conv/conv/kernel:0",
                                                                  b"conv/bias:0"])

    with pytest.raises(LoadError, match="not a plain path inside the file"):
        read_model(legacy_h5(tmp_path / "abs.h5", edit=absolute))


def test_the_own_storage_of_a_file_is_read(tmp_path: Path) -> None:
    def chunked(f: Any) -> None:
        value = f[H5_KERNEL][()]
        del f[H5_KERNEL]
        f.create_dataset(H5_KERNEL, data=value, chunks=(1, 3, 3, 2), compression="gzip")

    listing = read_model(legacy_h5(tmp_path / "chunked.h5", edit=chunked))
    assert [layer.name for layer in listing.layers] == ["image", "conv"]
