"""Only an HDF5 file's own bytes: the walk and the checks every Keras weights reader goes through.

HDF5 can make a dataset's values come from elsewhere: a dataset with *external storage* reads raw
bytes from any file named in the file (``/etc/passwd``), a *virtual dataset* maps datasets of other
HDF5 files, an *external link* opens another file, a *soft link* points anywhere by path. h5py follows
all of them silently, so a weights file could turn any readable file of the user's into a "kernel"
shown on screen and saved. Keras never writes any of them: a path is followed through hard links
only (:func:`member`), and a dataset is read only from its own contiguous, compact or chunked
storage (:func:`check_dataset`).

libhdf5 reads a damaged file's metadata (a cut file, a corrupted B-tree, heap or superblock) in C,
where it can crash the interpreter (a segmentation fault reading an attribute) or loop forever where
no signal ends it. So a listing is first read in a child process (:func:`read_in_child`, within
:data:`READ_TIMEOUT` s, ``CONVCLI_READ_TIMEOUT`` to change it): a crash or a hang there is one
``Error:`` line naming the file, and only a file the child listed whole is read in convcli's process.
A layer's chunked weight values are read in such a child too (:func:`arrays_in_child`, the same
budget): decoding a damaged chunk (a corrupt deflate stream, a filter libhdf5 does not have) runs libhdf5's
filters on the file's bytes; there, with libhdf5's plugin loading off, no filter library is looked
for, and the arrays come back as one ``.npy`` of bytes and their checked shapes and dtypes.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from convcli.errors import LoadError
from convcli.text import shown

if TYPE_CHECKING:
    import numpy as np

    from convcli.sources.models import tensors

REFUSED = "refused: convcli reads only the file's own data"
#: The readers whose listing a child reads first (:func:`read_in_child`), and what they read with libhdf5.
READERS = {"keras_h5": "", "keras_v3": "its model.weights.h5 is "}
#: True in the child that reads a listing: it reads in its own process.
_in_child = False
#: Seconds a child may take to read a listing (its metadata only: a second or two for the largest models),
#: unless ``CONVCLI_READ_TIMEOUT`` says otherwise.
READ_TIMEOUT = 60.0
READ_TIMEOUT_ENV = "CONVCLI_READ_TIMEOUT"


def read_in_child(name: str, reader: str) -> None:
    """Read the listing of ``name`` with ``reader`` (a module of :data:`READERS`) in a child process first:
    its refusal is raised here as it is; a crash or a hang of libhdf5 on a damaged file is one
    :class:`LoadError` naming the file. In that child, nothing (it reads in its own process)."""
    if _in_child:
        return
    import numpy as np

    from convcli.sources.models import child

    what = READERS[reader]
    seconds = child.budget(READ_TIMEOUT_ENV, READ_TIMEOUT, "reading a model file's listing may take")
    try:
        # the name as given (the child works in this folder): its messages are the ones read here would give
        child.run("convcli.sources.models.hdf5:listing_task", {"name": name, "reader": reader}, np.zeros(0, np.uint8),
                  seconds=seconds)
    except child.OverBudget:
        raise LoadError(f"{name}: {what}not a readable HDF5 file (reading it took more than {seconds:g} s and was "
                        f"stopped: a damaged file?; {READ_TIMEOUT_ENV} sets the seconds)") from None
    except child.Died as exc:
        how = f"crashed (signal {-exc.rc})" if exc.rc < 0 else f"ended with exit code {exc.rc}"
        raise LoadError(f"{name}: {what}not a readable HDF5 file (libhdf5 {how} reading it: a damaged file?)"
                        ) from None


def listing_task(x: np.ndarray, folder: str, *, name: str, reader: str) -> tuple[np.ndarray, dict[str, bool]]:
    """In the child of :func:`read_in_child`: the listing of ``name`` read whole by ``reader`` (its refusal
    goes back to the parent)."""
    import importlib

    global _in_child
    if reader not in READERS:
        raise LoadError(f"{name}: no HDF5 reader {shown(reader)!r}")
    _in_child = True
    importlib.import_module(f"convcli.sources.models.{reader}").read(name)
    return x, {"listed": True}


#: The float dtypes a weight may come back from the child as (``tensors.FLOATS``' names).
_DTYPES = ("float16", "bfloat16", "float32", "float64")


def _numpy_dtype(name: str) -> Any:
    import numpy as np

    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def arrays_in_child(name: str, reader: str, want: tensors.Want, datasets: list[Any]) -> tensors.Arrays | None:
    """The layer's arrays (``reader.layer_arrays``) read in a child process, within the listing's budget,
    when one of its ``datasets`` is chunked (its values decoded through a chunk index and filters, which
    the listing never read): a crash or a hang of libhdf5 on damaged weight data is one
    :class:`LoadError` naming the file. None where the reader reads them itself: in that child, and
    for contiguous or compact datasets (raw bytes at an offset the checked metadata gives; what Keras
    writes)."""
    if _in_child or not any(ds.chunks is not None for ds in datasets):
        return None
    import math

    import numpy as np

    from convcli.sources.models import child, tensors

    what = READERS[reader]
    seconds = child.budget(READ_TIMEOUT_ENV, READ_TIMEOUT, "reading a model file's listing may take")
    args = {"name": name, "reader": reader, "layer": want.layer.name, "kernel": list(want.kernel),
            "bias": None if want.bias is None else list(want.bias),
            "pointwise": None if want.pointwise is None else list(want.pointwise)}
    try:
        raw, answer = child.run("convcli.sources.models.hdf5:arrays_task", args, np.zeros(0, np.uint8),
                                seconds=seconds)
    except child.OverBudget:
        raise want.error(f"{what}not readable: reading its weights took more than {seconds:g} s and was stopped "
                         f"(a damaged file?; {READ_TIMEOUT_ENV} sets the seconds)") from None
    except child.Died as exc:
        how = f"crashed (signal {-exc.rc})" if exc.rc < 0 else f"ended with exit code {exc.rc}"
        raise want.error(f"{what}not readable: libhdf5 {how} reading its weights (a damaged file?)") from None
    # the child's own answer, checked all the same: float dtypes, whole shapes, the bytes they take
    parts, out, at = answer.get("arrays"), [], 0
    data = raw.tobytes() if raw.dtype == np.uint8 and raw.ndim == 1 else b""
    if not isinstance(parts, list) or not 1 <= len(parts) <= 3:
        raise want.error("the process reading its weights gave no arrays")
    for part in parts:
        shape, dtype = part.get("shape") if isinstance(part, dict) else None, part.get("dtype") if isinstance(part, dict) else None
        if dtype not in _DTYPES or not isinstance(shape, list) or not all(isinstance(v, int) and v >= 0 for v in shape):
            raise want.error("the process reading its weights gave an array convcli cannot take")
        size = math.prod(shape) * tensors.FLOATS[dtype]
        if at + size > len(data) or size > tensors.LIMIT:
            raise want.error("the process reading its weights gave fewer bytes than its arrays take")
        out.append(np.frombuffer(data, _numpy_dtype(dtype), math.prod(shape), at).reshape(shape).copy())
        at += size
    if want.pointwise is not None and len(out) > 1:
        want.extra["pointwise_kernel"] = out.pop(1)
    return out[0], out[1] if len(out) > 1 else None, str(answer.get("where", "")), str(answer.get("dtype", ""))


def arrays_task(x: np.ndarray, folder: str, *, name: str, reader: str, layer: str, kernel: list[int],
                bias: list[int] | None, pointwise: list[int] | None) -> tuple[np.ndarray, dict[str, Any]]:
    """In the child of :func:`arrays_in_child`: the layer's arrays read by ``reader`` (libhdf5's plugin
    loading off: ``HDF5_PLUGIN_PRELOAD=::``), as one array of their bytes and ``{"arrays": [{"shape", "dtype"}, ...], "where", "dtype"}``
    (the kernel, the pointwise kernel if any, the bias if any)."""
    import importlib

    import numpy as np

    from convcli.layer.model import ModelLayer
    from convcli.sources.models import tensors

    global _in_child
    if reader not in READERS:
        raise LoadError(f"{name}: no HDF5 reader {shown(reader)!r}")
    _in_child = True
    if "h5py" not in sys.modules:  # libhdf5 reads it when it starts: "::" turns plugin loading off
        os.environ["HDF5_PLUGIN_PRELOAD"] = "::"  # a filter the file names is never looked for as a library
    # the layer by its name alone: the readers use the listing's layer for its name (their messages)
    want = tensors.Want(name, ModelLayer(layer, "conv", "Conv2D"), tuple(kernel),
                        None if bias is None else tuple(bias), None if pointwise is None else tuple(pointwise))
    k, b, where, dtype = importlib.import_module(f"convcli.sources.models.{reader}").layer_arrays(name, want)
    arrays = [k, *([want.extra["pointwise_kernel"]] if "pointwise_kernel" in want.extra else []), *([] if b is None else [b])]
    if any(a.dtype.name not in _DTYPES for a in arrays):
        raise want.error("read values that are not floats")
    data = b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)
    return np.frombuffer(data, np.uint8), {"arrays": [{"shape": list(a.shape), "dtype": a.dtype.name} for a in arrays],
                                           "where": where, "dtype": dtype}


def member(model: str, group: Any, path: str, h5py: Any) -> Any | None:
    """The object at ``path`` below ``group`` (``"conv/kernel:0"``), through hard links only; None
    when a part of the path is not there. A soft or external link, an absolute path or an empty part
    is one :class:`LoadError` naming ``model`` and the path."""
    full = f"{group.name.rstrip('/')}/{path}"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise LoadError(f"{model}: {shown(full)!r} is not a plain path inside the file: {REFUSED}")
    obj = group
    for part in parts:
        if not isinstance(obj, h5py.Group):
            return None
        link = obj.get(part, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            kind = "an external link to another file" if isinstance(link, h5py.ExternalLink) else "a soft link"
            raise LoadError(f"{model}: {shown(full)!r} is {kind}: {REFUSED}")
        obj = obj[part]
    return obj


def children(model: str, group: Any, h5py: Any) -> list[tuple[str, Any]]:
    """``(name, object)`` of every member of ``group``, through :func:`member` (a link refused)."""
    return [(key, member(model, group, key, h5py)) for key in group]


def check_dataset(model: str, ds: Any, h5py: Any) -> tuple[int, ...]:
    """The shape of ``ds`` once its storage is its own: a virtual dataset, external storage or an
    empty dataspace (no shape) is one :class:`LoadError` naming ``model`` and the dataset."""
    plist = ds.id.get_create_plist()
    where = shown(ds.name)
    if plist.get_layout() == h5py.h5d.VIRTUAL:
        raise LoadError(f"{model}: dataset {where!r} is a virtual dataset (its values come from other files): "
                        f"{REFUSED}")
    if plist.get_external_count() > 0:
        raise LoadError(f"{model}: dataset {where!r} keeps its values in external files: {REFUSED}")
    if ds.shape is None:
        raise LoadError(f"{model}: dataset {where!r} has an empty dataspace (no shape, no values)")
    return tuple(int(v) for v in ds.shape)


def text(v: Any) -> str | None:
    """A string attribute's value (h5py gives ``bytes`` or ``str``); None for anything else."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


def names(model: str, owner: Any, attr: str) -> list[str]:
    """A string-list attribute (``weight_names``): its strings; anything but a list of strings, one
    :class:`LoadError`."""
    import numpy as np

    raw = owner.attrs.get(attr, [])
    values = list(raw) if isinstance(raw, (list, tuple, np.ndarray)) and np.ndim(raw) == 1 else None
    out = [text(v) for v in values] if values is not None else None
    if out is None or any(v is None for v in out):
        raise LoadError(f"{model}: {shown(owner.name)!r}: its {attr} attribute is not a list of names")
    return [v for v in out if v is not None]
