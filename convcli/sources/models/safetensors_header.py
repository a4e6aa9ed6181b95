"""``.safetensors`` files: the header only (names, dtypes, shapes), through the safetensors package.

The header is parsed by ``safe_open`` (which checks it against the file's size); no tensor is
read, so any dtype, bfloat16 included, lists alike.
"""

from __future__ import annotations

from convcli.errors import LoadError
from convcli.layer.model import Listing
from convcli.sources.models import missing, state_dict
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
