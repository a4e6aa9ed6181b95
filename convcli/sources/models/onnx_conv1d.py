"""An ONNX ``Conv`` of one spatial axis (weight ``(F, C/g, k)``), as Keras' export writes a Conv1D.

Its ``pads`` ``[before, after]`` are kept as ``(0, 0, before, after)``: the one row a 1-D layer is
shown as (:mod:`convcli.pipeline.model_kinds` reads them back). ``auto_pad`` other than ``NOTSET`` or
``VALID`` and a 1-D ``ConvTranspose`` are refused.
"""

from __future__ import annotations

from typing import Any

from convcli.errors import LoadError
from convcli.layer.model import ModelLayer
from convcli.sources.models import bounds
from convcli.text import shown


def _one(a: dict[str, Any], key: str, default: int, count: int = 1) -> list[int]:
    """An INTS attribute of ``count`` whole numbers (``[default] * count`` when absent)."""
    v = a.get(key, [default] * count)
    values = list(v) if isinstance(v, (list, tuple)) else None
    if values is None or not all(bounds.whole(x) for x in values):
        raise LoadError(f"its {key} attribute is {shown(repr(v))[:60]}; it must be whole numbers")
    if len(values) != count:
        raise LoadError(f"its {key} attribute has {len(values)} values; a 1-D layer takes {count}")
    return [int(x) for x in values]


def conv_1d(kind: str, a: dict[str, Any], w: tuple[int, ...], inputs: list[str], dims: dict[str, tuple[int, ...]],
            common: dict[str, Any]) -> ModelLayer:
    """The layer of a 1-D ``Conv`` node: ``a`` its attributes, ``w`` its weight's dims, ``inputs`` its inputs
    (constants resolved), ``dims`` the initializers' dims, ``common`` its name, class, inbound and weights."""
    if kind != "conv":
        raise LoadError("a 1-D ConvTranspose is not supported")
    group = a.get("group", 1)
    if not bounds.whole(group):
        raise LoadError(f"its group attribute is {shown(repr(group))[:60]}; it must be a whole number")
    k = _one(a, "kernel_shape", w[2])[0]
    if k != w[2]:
        raise LoadError(f"its kernel_shape [{k}] disagrees with its weight {shown(inputs[1])!r} of {w}")
    if str(a.get("auto_pad", "NOTSET")) not in ("NOTSET", "VALID"):
        raise LoadError(f"a 1-D Conv with auto_pad {shown(str(a.get('auto_pad')))} is not supported")
    before, after = _one(a, "pads", 0, 2)
    c, f = w[1] * int(group), w[0]
    bias = len(inputs) > 2 and inputs[2] in dims
    if bias and dims[inputs[2]] != (f,):
        raise LoadError(f"its bias {shown(inputs[2])!r} is {dims[inputs[2]]}, not ({f},) for its {f} output channels")
    return ModelLayer(kind=kind, kernel=(k,), strides=(_one(a, "strides", 1)[0],), padding=None,
                      pads=(0, 0, before, after), dilation=(_one(a, "dilations", 1)[0],), groups=int(group),
                      in_channels=c, filters=f, use_bias=bias, **common)
