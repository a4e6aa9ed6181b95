"""Keras 3 ``.keras`` files: a zip of ``config.json`` (the graph) and ``model.weights.h5``.

The weights file is opened in place inside the zip (h5py reads a file object) and only its
metadata is read: the shape of each array, never its values. Its layout follows Keras'
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
from typing import Any, BinaryIO

from convcli.errors import LoadError
from convcli.layer.model import Listing
from convcli.sources import sniff
from convcli.sources.models import keras_config, missing
from convcli.text import shown

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
#: The most config.json may hold (a ResNet's is ~100 KB).
CONFIG_LIMIT = 64 * 2**20
#: A member may not declare more than this many times its compressed size (a zip bomb).
RATIO_LIMIT = 200


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


def _weight_shapes(name: str, fileobj: Any, order: list[tuple[str, str]]) -> dict[str, list[tuple[str, tuple[int, ...]]]]:
    try:
        import h5py
    except ImportError:
        raise missing("h5py", ".keras") from None
    try:
        with h5py.File(fileobj, "r") as f:
            root = f.get("layers")
            if root is None:
                return {}
            by_path: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
            named: dict[str, str] = {}
            for path in root:
                group = root[path]
                vars_ = group.get("vars") if isinstance(group, h5py.Group) else None
                if vars_ is None:
                    continue
                arrays = sorted(((k, vars_[k]) for k in vars_ if k.isdigit()), key=lambda kv: int(kv[0]))
                by_path[path] = [("", tuple(int(v) for v in ds.shape)) for _, ds in arrays
                                 if isinstance(ds, h5py.Dataset)]
                attr = vars_.attrs.get("name")
                if isinstance(attr, bytes):
                    attr = attr.decode("utf-8", "replace")
                if isinstance(attr, str):
                    named[path] = attr
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise LoadError(f"{name}: {WEIGHTS} is not a readable HDF5 file ({sniff.reason(exc)})") from None
    # the paths saving_lib gives, in layer order
    used: dict[str, int] = {}
    out: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for layer_name, cls in order:
        base = to_snake_case(cls)
        if base in used:
            used[base] += 1
            path = f"{base}_{used[base]}"
        else:
            used[base] = 0
            path = base
        owner = named.get(path, layer_name)
        if path in by_path and by_path[path]:
            out[owner] = by_path[path]
    return out


def read(name: str) -> Listing:
    try:
        archive_size = os.path.getsize(name)
        with zipfile.ZipFile(name) as zf:
            infos = {i.filename: i for i in zf.infolist()}
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
            weights = None
            if WEIGHTS in infos:
                check_member(name, infos[WEIGHTS], archive_size)
                order = _order(config)
                with open(name, "rb") as archive:
                    try:
                        window = _stored(archive, infos[WEIGHTS], archive_size)
                    except LoadError as exc:
                        raise LoadError(f"{name}: {exc.message}") from None
                    if window is not None:
                        weights = _weight_shapes(name, window, order)
                if window is None:
                    with zf.open(WEIGHTS) as fh:
                        weights = _weight_shapes(name, fh, order)
    except zipfile.BadZipFile as exc:
        raise LoadError(f"{name}: not a readable zip archive ({exc})") from None
    except (zipfile.LargeZipFile, EOFError) as exc:
        raise LoadError(f"{name}: a damaged zip archive ({sniff.reason(exc)})") from None
    listing = keras_config.listing(name, "keras", config, weights, WEIGHTS)
    if weights is None:
        return Listing(listing.model, listing.format, listing.layers,
                       (*listing.notes, f"the archive holds no {WEIGHTS}: counts come from the config alone"))
    return listing


def _order(config: Any) -> list[tuple[str, str]]:
    layers = config.get("config", {}).get("layers") if isinstance(config, dict) else None
    out = []
    for entry in layers if isinstance(layers, list) else []:
        cfg = entry.get("config") if isinstance(entry, dict) else None
        if isinstance(cfg, dict) and isinstance(cfg.get("name"), str) and isinstance(entry.get("class_name"), str):
            out.append((cfg["name"], entry["class_name"]))
    return out
