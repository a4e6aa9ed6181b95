"""An ONNX ``Conv`` or ``ConvTranspose`` of one or three spatial axes (weight ``(F, C/g, *k)``; transposed
``(C, F/g, *k)``), as Keras' export writes a Conv1D and PyTorch's writes ``Conv1d``/``Conv3d``/``ConvTranspose1d``.

A 1-D Conv's ``pads`` ``[before, after]`` are kept as ``(0, 0, before, after)``: the one row a 1-D layer is
shown as (:mod:`convcli.pipeline.model_kinds` reads them back). A 3-D Conv's pads are kept per axis when
each axis pads as much before as after (PyTorch's ``padding=``); other pads, ``auto_pad`` other than
``NOTSET``, ``VALID`` or a Conv's ``SAME_UPPER``, and a transposed layer's pads or ``output_padding`` are
refused (as on a 2-D ConvTranspose).
"""

from __future__ import annotations

from typing import Any

from convcli.errors import LoadError
from convcli.layer.model import ModelLayer
from convcli.sources.models import bounds
from convcli.text import shown


def _one(a: dict[str, Any], key: str, default: int, count: int = 1, ndim: int = 1) -> list[int]:
    """An INTS attribute of ``count`` whole numbers (``[default] * count`` when absent; ``count`` is one value
    per axis of a 1-D layer, or per axis of a 3-D one)."""
    v = a.get(key, [default] * count)
    values = list(v) if isinstance(v, (list, tuple)) else None
    if values is None or not all(bounds.whole(x) for x in values):
        raise LoadError(f"its {key} attribute is {shown(repr(v))[:60]}; it must be whole numbers")
    if len(values) != count:
        raise LoadError(f"its {key} attribute has {len(values)} values; a {ndim}-D layer takes {count}")
    return [int(x) for x in values]


def conv_1d(kind: str, a: dict[str, Any], w: tuple[int, ...], inputs: list[str], dims: dict[str, tuple[int, ...]],
            common: dict[str, Any]) -> ModelLayer:
    """The layer of a 1-D ``Conv`` node: ``a`` its attributes, ``w`` its weight's dims, ``inputs`` its inputs
    (constants resolved), ``dims`` the initializers' dims, ``common`` its name, class, inbound and weights."""
    if kind != "conv" or len(w) == 5:
        return _conv_nd(kind, a, w, inputs, dims, common)
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
    # the same pads before and after: a padding of the one axis, as PyTorch's Conv1d(padding=p) is written
    padding, pads = ((before,), None) if before == after else (None, (0, 0, before, after))
    return ModelLayer(kind=kind, kernel=(k,), strides=(_one(a, "strides", 1)[0],), padding=padding,
                      pads=pads, dilation=(_one(a, "dilations", 1)[0],), groups=int(group),
                      in_channels=c, filters=f, use_bias=bias, **common)


def _conv_nd(kind: str, a: dict[str, Any], w: tuple[int, ...], inputs: list[str], dims: dict[str, tuple[int, ...]],
             common: dict[str, Any]) -> ModelLayer:
    """A 3-D Conv, or a 1-D or 3-D ConvTranspose (see the module's docstring)."""
    n = len(w) - 2
    group = a.get("group", 1)
    if not bounds.whole(group) or int(group) < 1:
        raise LoadError(f"its group attribute is {shown(repr(group))[:60]}; it must be a whole number ≥ 1")
    k = tuple(_one(a, "kernel_shape", 0, n, n)) if "kernel_shape" in a else tuple(w[2:])
    if k != tuple(w[2:]):
        raise LoadError(f"its kernel_shape {list(k)} disagrees with its weight {shown(inputs[1])!r} of {w}")
    auto = str(a.get("auto_pad", "NOTSET"))
    pads = _one(a, "pads", 0, 2 * n, n)
    padding: str | tuple[int, ...]
    if auto == "VALID" or (auto == "NOTSET" and not any(pads)):
        padding = "valid"
    elif auto == "SAME_UPPER" and kind == "conv":
        padding = "same"
    elif auto == "NOTSET" and kind == "conv" and pads[:n] == pads[n:]:
        padding = tuple(pads[:n])
    else:
        what = f"auto_pad {shown(auto)}" if auto != "NOTSET" else f"pads {pads}"
        raise LoadError(f"a {n}-D {common['class_name']} with {what} is not supported"
                        + (" (only the same pads before and after each axis)" if auto == "NOTSET" else ""))
    if kind == "transpose" and any(_one(a, "output_padding", 0, n, n)):
        raise LoadError("a ConvTranspose with pads or output_padding is not supported")
    g = int(group)
    c, f = (w[1] * g, w[0]) if kind == "conv" else (w[0], w[1] * g)
    bias = len(inputs) > 2 and inputs[2] in dims
    if bias and dims[inputs[2]] != (f,):
        raise LoadError(f"its bias {shown(inputs[2])!r} is {dims[inputs[2]]}, not ({f},) for its {f} output channels")
    return ModelLayer(kind=kind, kernel=k, strides=tuple(_one(a, "strides", 1, n, n)), padding=padding, pads=None,
                      dilation=tuple(_one(a, "dilations", 1, n, n)), groups=g, in_channels=c, filters=f, use_bias=bias,
                      **common)
