"""The layer inputs a framework computed, kept on disk: exploring the same layer again skips the framework.

A deep layer's input comes from Keras or ONNX Runtime running the model up to it
(:mod:`convcli.sources.models.upstream`): seconds of importing and computing, paid again on every
``--filter``, ``--trace`` or ``--view`` of the same layer. The array is kept here and read back when
nothing that makes it has changed.

- **Where**: ``$CONVCLI_CACHE_DIR``, else ``$XDG_CACHE_HOME/convcli``, else ``~/.cache/convcli``; the
  entries in its ``layer-inputs`` folder (created private, mode 0700). Deleting it at any time is safe.
- **Key**: SHA-256 over the model file's bytes, the array fed to the model (the image's contents as
  loaded, resized and preprocessed: every input option that changes it changes the key), the layer's
  name and index, convcli's version, the framework's name and version (and Keras' backend), numpy's
  version and this module's :data:`FORMAT`. Nothing is trusted across versions: a new one makes new
  keys, and the old entries age out.
- **Entry**: ``KEY.npy`` (``np.save``) and ``KEY.json`` (its key, shape, dtype, BLAKE2 digest and the
  header's note), each written whole or not at all (:mod:`convcli.files.atomic`), the JSON last.
  Read back with ``np.load(allow_pickle=False)`` after its header agrees with the JSON (shape, dtype,
  the file's exact size), then the digest is checked: anything else (a cut, corrupt or forged file)
  is ignored, removed and computed again.
- **Size**: at most :data:`MAX_BYTES` (``$CONVCLI_CACHE_MAX_BYTES``), oldest first out (a hit makes
  an entry new again); an entry larger than that is not kept.
- ``--no-cache`` (``Request.cache=False``) neither reads nor writes it.

A cache that cannot be written (a read-only home, a full disk) is no error: the run goes on uncached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from convcli.layer.model import Listing
    from convcli.sources.models.upstream import Fits, LayerInput

#: Bytes the cache keeps at most (2 GiB), unless ``$CONVCLI_CACHE_MAX_BYTES`` says.
MAX_BYTES = 2 * 2**30
#: This module's way of storing an entry: part of every key.
FORMAT = 1
#: The most bytes of an entry's JSON read.
_JSON_BYTES = 1 << 16
_DTYPES = ("float32", "float64")


def folder() -> Path:
    """The cache's folder of layer inputs (not created)."""
    base = os.environ.get("CONVCLI_CACHE_DIR")
    if base:
        return Path(base) / "layer-inputs"
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return root / "convcli" / "layer-inputs"


def max_bytes() -> int:
    """:data:`MAX_BYTES`, or ``$CONVCLI_CACHE_MAX_BYTES`` when it is a whole number of bytes."""
    raw = os.environ.get("CONVCLI_CACHE_MAX_BYTES", "").strip()
    return int(raw) if raw.isdigit() else MAX_BYTES


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def key(model: str, framework: str, layer: str, index: int, x: np.ndarray) -> str:
    """The entry's name: what makes the layer's input, hashed (see the module's docstring)."""
    import numpy as np

    from convcli.sources.models.upstream import dist_version

    h = hashlib.sha256()
    arr = np.ascontiguousarray(x)
    head = {"format": FORMAT, "convcli": dist_version("convcli") or "0+unknown", "numpy": np.__version__, "framework": framework,
            "model": _file_digest(model), "layer": layer, "index": index, "shape": list(arr.shape),
            "dtype": arr.dtype.str}
    h.update(json.dumps(head, sort_keys=True).encode())
    h.update(arr.view(np.uint8).reshape(-1).data if arr.size else b"")
    return h.hexdigest()


def _digest(arr: np.ndarray) -> str:
    import numpy as np

    return hashlib.blake2b(np.ascontiguousarray(arr).view(np.uint8).reshape(-1).data, digest_size=32).hexdigest()


def _remove(base: Path) -> None:
    for suffix in (".json", ".npy"):
        with contextlib.suppress(OSError):
            base.with_suffix(suffix).unlink()


@dataclass(frozen=True)
class Entry:
    """A layer input read back from the cache."""

    array: np.ndarray  # (H', W', C') float32 or float64
    by: str
    note: str


def read(name: str) -> Entry | None:
    """The entry ``name``, checked whole; None when there is none or it is not sound (then it is removed)."""
    base = folder() / name
    try:
        with open(base.with_suffix(".json"), "rb") as fh:
            meta = json.loads(fh.read(_JSON_BYTES))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        _remove(base)
        return None
    arr = _checked_array(base, name, meta)
    if arr is None:
        _remove(base)
        return None
    with contextlib.suppress(OSError):
        os.utime(base.with_suffix(".json"))  # used now: the last to go
    return Entry(arr, str(meta["by"]), str(meta["note"]))


def _checked_array(base: Path, name: str, meta: object) -> np.ndarray | None:
    import numpy as np

    if not (isinstance(meta, dict) and meta.get("key") == name and meta.get("format") == FORMAT
            and meta.get("dtype") in _DTYPES and isinstance(meta.get("shape"), list) and len(meta["shape"]) == 3
            and all(isinstance(n, int) and n > 0 for n in meta["shape"]) and isinstance(meta.get("by"), str)
            and isinstance(meta.get("note"), str) and isinstance(meta.get("digest"), str)
            and meta["by"].isprintable() and meta["note"].isprintable()):  # shown on the terminal: no escapes
        return None
    shape, dtype = tuple(meta["shape"]), np.dtype(meta["dtype"])
    path = base.with_suffix(".npy")
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version not in ((1, 0), (2, 0)):
                return None
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                           np.lib.format.read_array_header_2_0)
            stored, fortran, stored_dtype = read_header(fh)
            size = os.fstat(fh.fileno()).st_size
            if (stored != shape or fortran or stored_dtype != dtype
                    or size != fh.tell() + int(np.prod(shape)) * dtype.itemsize):
                return None
            arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if arr.shape != shape or arr.dtype != dtype or _digest(arr) != meta["digest"]:
        return None
    return arr


def write(name: str, found: LayerInput) -> None:
    """Keep ``found`` as the entry ``name`` (each file written whole or not at all), then bring the cache
    back under :func:`max_bytes`. Nothing is raised: a cache that cannot be written is no cache."""
    import numpy as np

    from convcli.errors import ConvcliError
    from convcli.files.atomic import atomic_write

    arr = found.array
    limit = max_bytes()
    if arr.dtype.name not in _DTYPES or arr.ndim != 3 or arr.nbytes > limit:
        return
    meta = {"key": name, "format": FORMAT, "shape": list(arr.shape), "dtype": arr.dtype.name, "digest": _digest(arr),
            "by": found.by, "note": found.note}
    try:
        where = folder()
    except (RuntimeError, KeyError):  # no home folder
        return
    base = where / name
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(base.with_suffix(".npy"), lambda fh: np.save(fh, np.ascontiguousarray(arr), allow_pickle=False))
        atomic_write(base.with_suffix(".json"), lambda fh: fh.write(json.dumps(meta).encode()))
    except (OSError, ConvcliError):
        _remove(base)
        return
    trim(limit)


def trim(limit: int | None = None) -> None:
    """Remove the oldest entries (by their JSON's time: written or last read) until the cache holds at most
    ``limit`` bytes (:func:`max_bytes`); files that are no entry's (an ``.npy`` without its JSON, a
    temporary file left by a killed writer) count and go first."""
    limit = max_bytes() if limit is None else limit
    entries: dict[str, list[tuple[float, int, Path]]] = {}
    try:
        listing = list(os.scandir(folder()))
    except (OSError, RuntimeError, KeyError):
        return
    for item in listing:
        try:
            st = item.stat(follow_symlinks=False)
        except OSError:
            continue
        entries.setdefault(Path(item.name).stem, []).append((st.st_mtime, st.st_size, Path(item.path)))
    total = sum(size for files in entries.values() for _, size, _ in files)
    if total <= limit:
        return

    def age(files: list[tuple[float, int, Path]]) -> float:
        stamps = [t for t, _, p in files if p.suffix == ".json"]
        return stamps[0] if stamps else float("-inf")

    for _, files in sorted(entries.items(), key=lambda kv: age(kv[1])):
        if total <= limit:
            break
        for _, size, path in files:
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size


def layer_input(model: str, listing: Listing, index: int, x: np.ndarray, *, use: bool = True,
                fits: Fits | None = None, check: Callable[[], None] | None = None) -> LayerInput:
    """:func:`convcli.sources.models.upstream.layer_input` (``fits`` passed on), read from the cache when it
    holds it (``use``), kept there when a framework computed it. ``check`` runs first whenever the input is
    computed, never on a hit (the caller's checks of what computing it would take)."""
    from convcli.sources.models import upstream

    def compute() -> LayerInput:
        if check is not None:
            check()
        return upstream.layer_input(model, listing, index, x, fits=fits)

    framework = upstream.framework(listing) if use else ""
    if not framework:
        return compute()
    try:
        name = key(model, framework, listing.layers[index].name, index, x)
        hit = read(name)
    except (OSError, RuntimeError, KeyError):  # the model unreadable now; no home folder to find the cache in
        return compute()
    if hit is not None:
        return upstream.LayerInput(hit.array, hit.by, hit.note)
    found = compute()
    if not found.by.startswith("convcli"):
        write(name, found)
    return found
