"""Keras 3 ``.keras`` files: a zip of ``config.json`` (the graph) and ``model.weights.h5``.

The weights file is opened in place inside the zip (h5py reads a file object) and, for the listing,
only its metadata is read: the shape of each array, never its values (:func:`layer_arrays` reads
one layer's). Its layout follows Keras'
``saving_lib``: ``layers/<path>/vars/<i>``, where ``<path>`` is the layer's class name in snake
case, numbered ``_1``, ``_2`` ... in layer order; recent Keras also writes the layer's name as the
``name`` attribute of ``vars``, which is used when present. Zip members are size-checked from the
archive's directory before anything is read, and ``config.json`` is read no further than its limit.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from convcli.errors import LoadError
from convcli.layer.model import Listing
from convcli.sources import sniff
from convcli.sources.models import hdf5, keras_config, tensors
from convcli.sources.models.install import missing
from convcli.text import shown

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
#: The most config.json may hold (a ResNet's is ~100 KB).
CONFIG_LIMIT = 64 * 2**20
#: A member may not declare more than this many times its compressed size (a zip bomb).
RATIO_LIMIT = 200
#: The members Keras itself needs; it extracts every other one (``assets/``) to TMPDIR when loading.
NEEDED = (CONFIG, WEIGHTS, "metadata.json")
#: The most the other members may declare together (a conv model's assets are a few KB, if any).
EXTRA_LIMIT = 64 * 2**20
#: The most all members may declare together, and the most members an archive may hold.
TOTAL_LIMIT = 16 * 2**30
MEMBERS_LIMIT = 10_000


def to_snake_case(name: str) -> str:
    """Keras' ``naming.to_snake_case``: the path a layer of this class gets in the weights file."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def check_member(name: str, info: zipfile.ZipInfo, archive_size: int, limit: int | None = None) -> None:
    """Refuse a member whose declared size is beyond ``limit``, the archive, or a sane ratio."""
    declared, packed = info.file_size, info.compress_size
    what = f"{name}: member {shown(info.filename)!r} declares {declared:,} bytes"
    if limit is not None and declared > limit:
        raise LoadError(f"{what}, more than the {limit:,} convcli reads")
    if packed > archive_size:
        raise LoadError(f"{what} compressed into {packed:,}, more than the archive holds")
    if info.compress_type == zipfile.ZIP_STORED and declared != packed:
        raise LoadError(f"{what} but stores {packed:,}")
    if declared > max(packed, 1) * RATIO_LIMIT and declared > 2**20:
        raise LoadError(f"{what} from {packed:,} compressed: refused (a zip bomb?)")


def check_archive(name: str, infos: list[zipfile.ZipInfo], archive_size: int) -> None:
    """Refuse an archive whose members would fill the disk where Keras extracts them: each member
    checked (:func:`check_member`), the members Keras does not need (:data:`NEEDED`) no more than
    :data:`EXTRA_LIMIT` together, all of them no more than :data:`TOTAL_LIMIT`, at most
    :data:`MEMBERS_LIMIT` of them. Only the archive's directory is read."""
    if len(infos) > MEMBERS_LIMIT:
        raise LoadError(f"{name}: the archive holds {len(infos):,} members, more than the {MEMBERS_LIMIT:,} "
                        "convcli opens")
    for info in infos:
        check_member(name, info, archive_size)
    extra = sum(i.file_size for i in infos if i.filename not in NEEDED)
    if extra > EXTRA_LIMIT:
        raise LoadError(f"{name}: its members other than {CONFIG} and {WEIGHTS} declare {extra:,} bytes, more than "
                        f"the {EXTRA_LIMIT:,} convcli lets Keras extract")
    total = sum(i.file_size for i in infos)
    if total > TOTAL_LIMIT:
        raise LoadError(f"{name}: its members declare {total:,} bytes, more than the {TOTAL_LIMIT:,} convcli reads")


class _Window(io.RawIOBase):
    """A stored (uncompressed) zip member read in place: seeks are free, and only the bytes asked for
    are read (a ZipExtFile reads, and checksums, everything before a seek's target)."""

    def __init__(self, fh: BinaryIO, start: int, size: int) -> None:
        super().__init__()
        self._fh, self._start, self._size, self._pos = fh, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), self._size - self._pos))
        if n == 0:
            return 0
        self._fh.seek(self._start + self._pos)
        data = self._fh.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _stored(fh: BinaryIO, info: zipfile.ZipInfo, archive_size: int) -> _Window | None:
    """The window of a stored member, from its local header; None when compressed."""
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise LoadError(f"member {shown(info.filename)!r} has no local header where the directory says")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    if start + info.file_size > archive_size:
        raise LoadError(f"member {shown(info.filename)!r} runs past the end of the archive")
    return _Window(fh, start, info.file_size)


def layer_groups(root: Any, order: list[tuple[str, str]], h5py: Any, model: str = WEIGHTS,
                 nested: dict[str, Any] | None = None, prefix: str = "", depth: int = 0) -> dict[str, tuple[str, Any]]:
    """Each layer's ``vars`` group in the weights file, by layer name: ``{name: (path, group)}``.

    The paths are the ones ``saving_lib`` gives, in layer order (the class in snake case, ``_1``,
    ``_2`` ...); a ``vars`` group's ``name`` attribute, when present, names its layer instead. Only
    hard links are followed (:func:`convcli.sources.models.hdf5.member`); ``model`` names the file
    in a refusal. A model nested in the model (``nested``: its config by name) keeps its layers in
    ``<path>/layers/``: they are named by their path (``backbone/conv1``), as the listing names them."""
    groups: dict[str, Any] = {}
    named: dict[str, str] = {}
    for path, group in hdf5.children(model, root, h5py):
        vars_ = hdf5.member(model, group, "vars", h5py) if isinstance(group, h5py.Group) else None
        if not isinstance(vars_, h5py.Group):
            continue
        groups[path] = vars_
        attr = vars_.attrs.get("name")
        if isinstance(attr, bytes):
            attr = attr.decode("utf-8", "replace")
        if isinstance(attr, str):
            named[path] = attr
    used: dict[str, int] = {}
    out: dict[str, tuple[str, Any]] = {}
    for layer_name, cls in order:
        base = to_snake_case(cls)
        if base in used:
            used[base] += 1
            path = f"{base}_{used[base]}"
        else:
            used[base] = 0
            path = base
        if nested and layer_name in nested and depth < keras_config.MAX_NESTING:
            inner = hdf5.member(model, root, f"{path}", h5py)
            inner_root = hdf5.member(model, inner, "layers", h5py) if isinstance(inner, h5py.Group) else None
            if isinstance(inner_root, h5py.Group):
                sub = nested[layer_name]
                for owner, (sub_path, vars_) in layer_groups(inner_root, order_of(sub), h5py, model,
                                                             nested_of(sub), f"{prefix}{layer_name}/",
                                                             depth + 1).items():
                    out[owner] = (f"{path}/layers/{sub_path}", vars_)
            continue
        if path in groups:
            out[prefix + named.get(path, layer_name)] = (path, groups[path])
    return out


def nested_of(config: Any) -> dict[str, Any]:
    """The models nested in a Keras model config, by name (their own configs)."""
    layers = config.get("config", {}).get("layers") if isinstance(config, dict) else None
    out: dict[str, Any] = {}
    for entry in layers if isinstance(layers, list) else []:
        if keras_config.is_nested_model(entry) and isinstance(entry["config"].get("name"), str):
            out[entry["config"]["name"]] = entry
    return out


def arrays_of(vars_: Any, h5py: Any, model: str = WEIGHTS) -> list[tuple[str, Any]]:
    """A ``vars`` group's datasets in creation order (``0``, ``1`` ...), as ``(key, dataset)``, each
    one's storage checked (:func:`convcli.sources.models.hdf5.check_dataset`)."""
    found = sorted(((k, hdf5.member(model, vars_, k, h5py)) for k in vars_ if k.isascii() and k.isdigit()),
                   key=lambda kv: int(kv[0]))
    out = [(k, ds) for k, ds in found if isinstance(ds, h5py.Dataset)]
    for _, ds in out:
        hdf5.check_dataset(model, ds, h5py)
    return out


def _h5py(fmt: str = ".keras") -> Any:
    try:
        import h5py
    except ImportError:
        raise missing("h5py", fmt) from None
    return h5py


def _weight_shapes(name: str, fileobj: Any, order: list[tuple[str, str]],
                   nested: dict[str, Any]) -> dict[str, list[tuple[str, tuple[int, ...]]]]:
    h5py = _h5py()
    try:
        with h5py.File(fileobj, "r") as f:
            where = f"{name}: {WEIGHTS}"
            root = hdf5.member(where, f, "layers", h5py)
            if root is None:
                return {}
            if not isinstance(root, h5py.Group):
                raise LoadError(f"{where}: 'layers' is not a group")
            out: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
            for owner, (_, vars_) in layer_groups(root, order, h5py, where, nested).items():
                shapes = [("", tuple(int(v) for v in ds.shape)) for _, ds in arrays_of(vars_, h5py, where)]
                if shapes:
                    out[owner] = shapes
            return out
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise LoadError(f"{name}: {WEIGHTS} is not a readable HDF5 file ({sniff.reason(exc)})") from None


@contextmanager
def opened(name: str) -> Iterator[tuple[Any, Any | None]]:
    """``config.json`` parsed, and ``model.weights.h5`` as a file object (``None`` when the archive
    holds none): every member size-checked first, a stored member read in place."""
    try:
        archive_size = os.path.getsize(name)
        with zipfile.ZipFile(name) as zf, open(name, "rb") as archive:
            infos = {i.filename: i for i in zf.infolist()}
            check_archive(name, zf.infolist(), archive_size)
            if CONFIG not in infos:
                raise LoadError(f"{name}: not a .keras file (the archive holds no {CONFIG})")
            check_member(name, infos[CONFIG], archive_size, CONFIG_LIMIT)
            with zf.open(CONFIG) as fh:
                raw = fh.read(CONFIG_LIMIT + 1)
            if len(raw) > CONFIG_LIMIT:
                raise LoadError(f"{name}: {CONFIG} is larger than the {CONFIG_LIMIT:,} bytes convcli reads")
            try:
                config = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise LoadError(f"{name}: {CONFIG} is not JSON ({exc})") from None
            except RecursionError:
                raise LoadError(f"{name}: {CONFIG} is nested too deeply to read") from None
            if WEIGHTS not in infos:
                yield config, None
                return
            check_member(name, infos[WEIGHTS], archive_size)
            try:
                window = _stored(archive, infos[WEIGHTS], archive_size)
            except LoadError as exc:
                raise LoadError(f"{name}: {exc.message}") from None
            if window is not None:
                yield config, window
                return
            with zf.open(WEIGHTS) as fh:
                yield config, fh
    except zipfile.BadZipFile as exc:
        raise LoadError(f"{name}: not a readable zip archive ({exc})") from None
    except (zipfile.LargeZipFile, EOFError) as exc:
        raise LoadError(f"{name}: a damaged zip archive ({sniff.reason(exc)})") from None
    except (NotImplementedError, OSError) as exc:  # a compression method zipfile does not know, a bad offset
        raise LoadError(f"{name}: a member of the archive cannot be read ({sniff.reason(exc)})") from None


def read(name: str) -> Listing:
    hdf5.read_in_child(name, "keras_v3")  # libhdf5 can crash or hang on a damaged model.weights.h5
    with opened(name) as (config, fh):
        weights = None if fh is None else _weight_shapes(name, fh, order_of(config), nested_of(config))
    listing = keras_config.listing(name, "keras", config, weights, WEIGHTS)
    if weights is None:
        return Listing(listing.model, listing.format, listing.layers,
                       (*listing.notes, f"the archive holds no {WEIGHTS}: counts come from the config alone"))
    return listing


def order_of(config: Any) -> list[tuple[str, str]]:
    """``(name, class_name)`` of every layer of a Keras model config, in order."""
    layers = config.get("config", {}).get("layers") if isinstance(config, dict) else None
    out = []
    for entry in layers if isinstance(layers, list) else []:
        cfg = entry.get("config") if isinstance(entry, dict) else None
        if isinstance(cfg, dict) and isinstance(cfg.get("name"), str) and isinstance(entry.get("class_name"), str):
            out.append((cfg["name"], entry["class_name"]))
    return out


def layer_arrays(name: str, want: tensors.Want) -> tensors.Arrays:
    """One layer's kernel and bias from ``model.weights.h5`` (``layers/<path>/vars/0``, ``1``): the
    layer's path found as :func:`layer_groups` finds it, the two datasets checked, then read alone."""
    h5py = _h5py()
    with opened(name) as (config, fh):
        if fh is None:
            raise want.error(f"the archive holds no {WEIGHTS}, so no weights to read")
        try:
            with h5py.File(fh, "r") as f:
                where = f"{name}: {WEIGHTS}"
                root = hdf5.member(where, f, "layers", h5py)
                groups = layer_groups(root, order_of(config), h5py, where, nested_of(config)) if isinstance(root, h5py.Group) else {}
                if want.layer.name not in groups:
                    raise want.error(f"{WEIGHTS} holds no weights for it")
                path, vars_ = groups[want.layer.name]
                found = arrays_of(vars_, h5py, where)
                in_child = hdf5.arrays_in_child(name, "keras_v3", want, [ds for _, ds in found])
                return in_child if in_child is not None else tensors.read_h5(want, [(f"layers/{path}/vars/{k}", ds)
                                                                                   for k, ds in found])
        except LoadError:
            raise
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
            raise LoadError(f"{name}: {WEIGHTS} is not a readable HDF5 file ({sniff.reason(exc)})") from None
