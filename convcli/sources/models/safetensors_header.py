"""``.safetensors`` files: the header only (names, dtypes, shapes), through the safetensors package.

The header is parsed by ``safe_open`` (which checks it against the file's size); no tensor is
read, so any dtype, bfloat16 included, lists alike. :func:`layer_arrays` reads one module's weight
and bias without the package: the header parsed again, then the bytes of those two tensors alone.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any, BinaryIO

from convcli.errors import LoadError
from convcli.layer.model import Listing
from convcli.sources import sniff
from convcli.sources.models import state_dict, tensors
from convcli.sources.models.install import missing
from convcli.text import shown


def read(name: str) -> Listing:
    try:
        from safetensors import safe_open
    except ImportError:
        raise missing("safetensors", ".safetensors") from None
    try:
        with safe_open(name, framework="numpy") as f:
            arrays = []
            for key in f.keys():  # noqa: SIM118 (not a dict)
                shape = f.get_slice(key).get_shape()
                arrays.append((key, tuple(int(v) for v in shape)))
    except Exception as exc:  # SafetensorError is not importable by name in every version
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LoadError(f"{name}: not a readable .safetensors file ({shown(reason)[:200]})") from None
    if not arrays:
        raise LoadError(f"{name}: the .safetensors file holds no tensors")
    listing = state_dict.listing(name, "safetensors", arrays)
    return Listing(listing.model, listing.format, listing.layers,
                   (*listing.notes, "layers in the order the file keeps its names (sorted), not the model's"),
                   graph=False)


#: The most header bytes read (the safetensors package's own limit).
HEADER_LIMIT = 100_000_000
#: The stored dtypes' names: the float ones read, the rest named in the refusal.
DTYPES = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64", "I8": "int8", "I16": "int16",
          "I32": "int32", "I64": "int64", "U8": "uint8", "U16": "uint16", "U32": "uint32", "U64": "uint64",
          "BOOL": "bool", "C64": "complex64"}


def _header(name: str, fh: BinaryIO, size: int) -> tuple[dict[str, Any], int]:
    """The header as JSON and where the data starts, from the file's first ``8 + n`` bytes."""
    first = fh.read(8)
    n = struct.unpack("<Q", first)[0] if len(first) == 8 else None
    if n is None or n > HEADER_LIMIT or 8 + n > size:
        raise LoadError(f"{name}: not a readable .safetensors file (its header length runs past the file or "
                        f"the {HEADER_LIMIT:,} bytes convcli reads)")
    try:
        head = json.loads(fh.read(n).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoadError(f"{name}: not a readable .safetensors file (its header is not JSON: {exc})") from None
    if not isinstance(head, dict):
        raise LoadError(f"{name}: not a readable .safetensors file (its header is not a JSON object)")
    return head, 8 + n


def _entry(want: tensors.Want, key: str, entry: Any) -> tuple[str, tuple[int, ...], int, int]:
    def whole(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    dtype, shape = (entry.get("dtype"), entry.get("shape")) if isinstance(entry, dict) else (None, None)
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    if (not isinstance(dtype, str) or not isinstance(shape, list) or not all(whole(v) for v in shape)
            or not isinstance(offsets, list) or len(offsets) != 2 or not all(whole(v) for v in offsets)
            or offsets[0] > offsets[1]):
        raise want.error(f"the header's entry for {shown(key)!r} is not a dtype, a shape and two data offsets")
    return DTYPES.get(dtype, dtype), tuple(shape), offsets[0], offsets[1]


def layer_arrays(name: str, want: tensors.Want) -> tensors.Arrays:
    """``<module>.weight`` (PyTorch's ``(F, C/g, kh, kw)``, returned as Keras' ``(kh, kw, C/g, F)``)
    and ``<module>.bias``: the header's offsets checked against the file's size and each tensor's
    dtype and shape, then those bytes alone read."""
    import numpy as np

    try:
        size = os.path.getsize(name)
        with open(name, "rb") as fh:
            head, start = _header(name, fh, size)
            keys = [k for leaf in ("weight", "bias") if (k := state_dict.tensor_key(want.layer.name, leaf, head))]
            if not keys or not keys[0].endswith("weight"):
                raise want.error("the file holds no weight for it")
            want.count(len(keys))
            out = []
            dtypes = []
            for role, key in zip(("kernel", "bias"), keys, strict=False):
                dtype, stored, begin, end = _entry(want, key, head[key])
                shape = (*stored[2:], stored[1], stored[0]) if role == "kernel" and 3 <= len(stored) <= 5 else stored
                if start + end > size:
                    raise want.error(f"the header puts {shown(key)!r} at bytes {begin:,}-{end:,} of the data, past "
                                     f"the end of the file ({size - start:,} bytes of data)")
                want.check(role, key, shape, dtype, stored=stored, count=end - begin)
                fh.seek(start + begin)
                raw = fh.read(end - begin)
                if len(raw) != end - begin:
                    raise want.error(f"{shown(key)!r} is cut short")
                if dtype == "bfloat16":
                    value = tensors.bfloat16_bits(np.frombuffer(raw, "<u2"))
                else:
                    value = np.frombuffer(raw, np.dtype(dtype).newbyteorder("<")).astype(dtype)
                value = value.reshape(stored)
                kernel = role == "kernel"  # PyTorch's (F, C/g, *k) as Keras' (*k, C/g, F)
                out.append(np.ascontiguousarray(value.transpose(*range(2, value.ndim), 1, 0)) if kernel else value)
                dtypes.append(dtype)
    except OSError as exc:
        raise LoadError(f"{name}: cannot be read ({sniff.reason(exc)})") from None
    return out[0], out[1] if len(out) > 1 else None, keys[0], dtypes[0]
