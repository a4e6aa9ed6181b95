"""What one layer's weight arrays must be, checked from each array's metadata before its values are read.

Every reader of :mod:`convcli.sources.models` that reads values (:func:`convcli.sources.models.weights.
layer_weights`) is given a :class:`Want`: the kernel's shape in Keras layout and the bias length the
listing makes, the model file's name for messages. It checks each array's shape (turned into Keras
layout), dtype and size with :meth:`Want.check` before reading it, and returns :data:`Arrays`. Only
float arrays are read: float16, float32 and float64 as stored, bfloat16 exactly as float32 (its bits
are a float32's upper half).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from math import prod
from typing import TYPE_CHECKING, Any

from convcli.errors import LoadError
from convcli.layer.model import ModelLayer
from convcli.text import shown

if TYPE_CHECKING:
    import numpy as np

#: The stored dtypes read, with their bytes per value.
FLOATS = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}
#: The most bytes one layer's kernel and bias may take (a 3×3 conv of 4096 → 4096 channels is 600 MB).
LIMIT = 2**30
#: ``(kernel in Keras layout, bias or None, where the kernel is in the file, its stored dtype)``
Arrays = tuple["np.ndarray", "np.ndarray | None", str, str]


def _shape(s: Sequence[int]) -> str:
    return "(" + ", ".join(str(v) for v in s) + ")"


@dataclass(frozen=True)
class Want:
    """The arrays a conv-kind layer of the listing holds, in Keras layout."""

    model: str
    layer: ModelLayer
    kernel: tuple[int, ...]
    bias: tuple[int, ...] | None
    #: a separable layer's pointwise kernel ``(1, …, C·M, F)``, held between its depthwise kernel and its bias ...
    pointwise: tuple[int, ...] | None = None
    #: ... which :func:`read_h5` puts here (``"pointwise_kernel"``): the readers' return stays (kernel, bias)
    extra: dict[str, np.ndarray] = field(default_factory=dict, compare=False)

    def error(self, message: str) -> LoadError:
        return LoadError(f"{self.model}: layer {shown(self.layer.name)!r}: {message}")

    def check(self, role: str, where: str, shape: Sequence[int], dtype: str, stored: Sequence[int] | None = None,
              count: int | None = None) -> None:
        """Refuse an array that is not what the listing says: ``role`` is ``"kernel"`` or ``"bias"``,
        ``shape`` in Keras layout (``stored`` as the file holds it, when another), ``dtype`` the
        stored dtype's name; ``count`` the bytes the file holds for it, when it says."""
        at = shown(where)
        if dtype not in FLOATS:
            raise self.error(f"{at} holds {shown(dtype)} values; convcli reads float weights only "
                             "(float16, bfloat16, float32, float64)")
        want = self.kernel if role == "kernel" else self.pointwise if role == "pointwise" else self.bias
        if want is None:
            raise self.error(f"the listing says it has no bias, but the file holds {at}")
        shape = tuple(int(v) for v in shape)
        if shape != want:
            held = _shape(shape) if stored is None else f"{_shape(stored)} (Keras layout {_shape(shape)})"
            raise self.error(f"{at} is {held}, but the listing makes its {role} {_shape(want)}")
        size = prod(shape) * FLOATS[dtype]
        if count is not None and count != size:
            raise self.error(f"{at} is {_shape(stored or shape)} {dtype} ({size:,} bytes), but the file holds "
                             f"{count:,} bytes for it")
        total = (prod(self.kernel) + prod(self.pointwise or ()) + prod(self.bias or ())) * FLOATS[dtype]
        if total > LIMIT:
            raise self.error(f"its weights take {total:,} bytes, more than the {LIMIT:,} convcli reads")

    def count(self, found: int) -> None:
        """Refuse a layer whose file holds another number of arrays than the listing's kernel (and bias)."""
        need = (1 if self.bias is None else 2) + (self.pointwise is not None)
        if found != need:
            kernels = "a kernel" if self.pointwise is None else "a depthwise and a pointwise kernel"
            what = f"{kernels} and {'a' if self.bias is not None else 'no'} bias"
            raise self.error(f"the listing says it holds {what}, the file holds {found} arrays for it")


def bfloat16_bits(raw: Any) -> np.ndarray:
    """bfloat16 values, given as their 16-bit patterns (``uint16``), as the float32 they are exactly."""
    import numpy as np

    bits = np.asarray(raw, dtype=np.uint16)
    return (bits.astype(np.uint32) << 16).view(np.float32)


def read_h5(want: Want, arrays: Sequence[tuple[str, Any]]) -> Arrays:
    """Keras-layout HDF5 datasets ``(where, dataset)`` in creation order (the kernel, then the bias):
    each checked from its metadata, then read (that dataset alone)."""
    import numpy as np

    want.count(len(arrays))
    out = []
    roles = ("kernel", "bias") if want.pointwise is None else ("kernel", "pointwise", "bias")
    for (where, ds), role in zip(arrays, roles, strict=False):
        dtype = ds.dtype.name if ds.dtype.kind == "f" else str(ds.dtype)
        want.check(role, where, tuple(ds.shape), dtype)
        value = np.asarray(ds[()])
        out.append(value.astype(value.dtype.newbyteorder("=")) if not value.dtype.isnative else value)
    if want.pointwise is not None:
        want.extra["pointwise_kernel"] = out.pop(1)
    return out[0], out[1] if len(out) > 1 else None, arrays[0][0], out[0].dtype.name
