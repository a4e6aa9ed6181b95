"""``.npy`` files and ``.npz`` archives, read without trusting them.

Pickles are never loaded (``allow_pickle=False``), and the header is checked before any data is
read: object dtypes, non-numeric kinds, empty shapes and headers that claim more data than the file
holds are refused without reading or allocating the data.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from collections.abc import Callable

import numpy as np

from convcli.errors import ConfigError, LoadError
from convcli.sources.sniff import NPY_MAGIC, reason
from convcli.text import shown

#: ``check(shape, dtype)``: sees a header before its data is read; raises to refuse it.
HeaderCheck = Callable[[tuple[int, ...], np.dtype], None]

_ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    ValueError,
    EOFError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    MemoryError,
)


def read_numpy(
    name: str, head: bytes, key: str | None, check: HeaderCheck, key_field: str = "key"
) -> tuple[np.ndarray, str]:
    """The array of a ``.npy`` file or one member of a ``.npz``, and a label for it.

    ``key_field`` is the field that chooses the member (``"key"``, ``"kernel_key"``): the error
    when an archive holds several and none was chosen names it.

    ``check(shape, dtype)`` sees the header before any data is read, so object dtypes (pickles),
    wrong kinds and oversize shapes are refused without reading or allocating the data.
    """
    if head.startswith(NPY_MAGIC):
        if key is not None:
            raise ConfigError(f"{name}: key {key!r} given, but a .npy file holds a single array")
        try:
            with open(name, "rb") as fh:
                shape, dtype = npy_header(fh)
                check(shape, dtype)
                _check_data_size(name, shape, dtype, os.fstat(fh.fileno()).st_size - fh.tell())
                fh.seek(0)
                arr = np.load(fh, allow_pickle=False, mmap_mode=None)
        except LoadError:
            raise
        except ValueError as exc:
            raise LoadError(_numpy_reason(name, exc)) from None
        except (OSError, EOFError, MemoryError) as exc:
            raise LoadError(f"{name}: not a readable .npy file ({reason(exc)})") from None
        label = ".npy array"
    else:
        arr, member = read_npz(name, key, check, key_field)
        label = f".npz array {member!r}"
    if not isinstance(arr, np.ndarray):  # np.load returns arrays for these magics; be sure
        raise LoadError(f"{name}: does not hold a numpy array")
    return arr.astype(arr.dtype.newbyteorder("="), copy=False), label


def read_npz(
    name: str, key: str | None, check: HeaderCheck, key_field: str = "key"
) -> tuple[np.ndarray, str]:
    """The member ``key`` of a ``.npz`` archive (the only one when ``key`` is None) and its name."""
    try:
        # Our own handle: np.load leaks the one it opens when the zip turns out to be broken.
        with open(name, "rb") as raw, np.load(raw, allow_pickle=False, mmap_mode=None) as npz:
            zf = npz.zip
            members = [m for m in zf.namelist() if m.endswith(".npy")]
            keys = [m[: -len(".npy")] for m in members]
            listing = ", ".join(shown(k) for k in keys)  # names from the file: one line, no escapes
            if not keys:
                raise LoadError(f"{name}: the archive holds no arrays")
            if key is None:
                if len(keys) > 1:
                    raise LoadError("{name} holds {count} arrays ({listing}); choose one with {field}", field=key_field,
                                    values={"name": name, "count": len(keys), "listing": listing})
                key = keys[0]
            wanted = key.removesuffix(".npy")
            if wanted not in keys:
                n = len(keys)
                raise LoadError(
                    f"{name} has no array named {key!r}; it holds {n} array{'s' * (n > 1)} ({listing})"
                )
            member = members[keys.index(wanted)]
            with zf.open(member) as fh:
                if fh.read(len(NPY_MAGIC)) != NPY_MAGIC:
                    raise LoadError(f"{name}: member {member!r} is not a .npy array")
                fh.seek(0)
                shape, dtype = npy_header(fh)
                check(shape, dtype)
                _check_data_size(name, shape, dtype, zf.getinfo(member).file_size - fh.tell(), member)
            arr = npz[wanted]
    except LoadError:
        raise
    except ValueError as exc:
        raise LoadError(_numpy_reason(name, exc)) from None
    except _ZIP_ERRORS as exc:
        raise LoadError(f"{name}: not a readable .npz archive ({reason(exc)})") from None
    return arr, wanted


def npy_header(fh) -> tuple[tuple[int, ...], np.dtype]:  # type: ignore[no-untyped-def]
    """``(shape, dtype)`` from a ``.npy`` header (a literal, parsed safely); ``fh`` is left at the data."""
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    # Version 3.0 differs from 2.0 only by a UTF-8 header, which only structured dtypes need.
    reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, _fortran, dtype = reader(fh)
    return tuple(int(n) for n in shape), np.dtype(dtype)


def _check_data_size(
    name: str, shape: tuple[int, ...], dtype: np.dtype, available: int, member: str = ""
) -> None:
    needed = math.prod(shape) * dtype.itemsize
    if needed > available:
        where = f"member {member!r} holds" if member else "the file holds"
        raise LoadError(
            f"{name}: the header claims shape {shape} {dtype} ({needed:,} bytes) "
            f"but {where} only {max(available, 0):,} bytes of data (truncated or corrupt)"
        )


def _numpy_reason(name: str, exc: ValueError) -> str:
    text = str(exc)
    if "allow_pickle" in text or "pickle" in text.lower():
        return f"{name}: object arrays are refused (pickles are never loaded)"
    return f"{name}: not a readable numpy file ({text.splitlines()[0] if text else 'bad header'})"


def check_header(name: str, shape: tuple[int, ...], dtype: np.dtype, what: str) -> None:
    """Refuse what is not an array of real numbers, from its shape and dtype alone."""
    if dtype.hasobject:
        raise LoadError(f"{name}: object arrays are refused (pickles are never loaded)")
    kind = dtype.kind
    if kind == "b":
        raise LoadError(
            f"{name}: the {what} holds booleans; only real numbers are taken (save it as 0/1 numbers)"
        )
    if kind == "c":
        raise LoadError(f"{name}: the {what} holds complex numbers ({dtype}); only real numbers are taken")
    if kind in "USV":
        held = "records (a structured dtype)" if dtype.names else "strings or raw bytes"
        raise LoadError(f"{name}: the {what} holds {held}, dtype {dtype}; only real numbers are taken")
    if kind not in "iuf":
        raise LoadError(f"{name}: the {what} has dtype {dtype}; only real numbers are taken")
    if math.prod(shape) == 0:
        raise LoadError(f"{name}: the {what} is empty (shape {shape})")
