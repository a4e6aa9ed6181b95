"""An ONNX graph's constants: the tensors no input's values reach, folded where they are small.

Exporters compute some settings inside the graph: a ``Pad`` whose pads are a ``Concat`` of int64
vectors (timm's ``tf_*`` models through the TorchScript exporter's ``ConstantOfShape``/``Reshape``/
``Slice``/``Transpose``/``Cast``; Keras 3's own ``export(format="onnx")`` computes them from the
input's ``Shape`` with ``Gather``, ``Add``, ``Div``), a weight passed through an ``Identity`` (the
TorchScript exporter merges equal initializers and aliases the copies). A node of :data:`FOLDS`
whose inputs are all constants, a tensor's ``Shape`` and arithmetic (:data:`ARITH`) on such values
are themselves constant: no layer of the listing, their outputs read like initializers, and their
values are computed here (a ``Shape`` from the file's static shapes; numpy, at most
:data:`LIMIT` elements in and out: a hostile ``ConstantOfShape`` of 10^12 is left unknown, never
allocated). An ``Identity`` of an initializer is an *alias*: the conv that reads it reads the
initializer (its weight, its bias), counted once. :class:`Counts` gives each layer the parameters
it reads first (float arrays only); :func:`zero_pads` reads a ``Pad``'s pads where they are known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from math import prod
from typing import Any

from convcli.layer.model import ModelLayer

#: The ops folded when every input is constant (shape arithmetic, never a layer's work).
FOLDS = frozenset({"Constant", "Identity", "Concat", "Cast", "Unsqueeze", "Squeeze", "Reshape", "Slice",
                   "Transpose", "Gather", "ConstantOfShape"})
#: A tensor's shape, as a value: the start of the shape arithmetic exporters write.
SHAPE_OPS = frozenset({"Shape", "Size"})
#: Arithmetic folded on shape values and small constants (a pad computed from the input's size).
ARITH = frozenset({"Add", "Sub", "Mul", "Div", "Floor", "Ceil", "Neg", "Abs", "Max", "Min", "Equal", "Less",
                   "Greater", "Where", "Not"})
#: The folds that copy an initializer's values in another layout (their parameters are the initializer's).
RELAYOUT = frozenset({"Identity", "Reshape", "Cast", "Transpose", "Squeeze", "Unsqueeze"})
#: The most elements a folded value may have (pads, axes and shapes are a handful).
LIMIT = 4096
#: The float element types an initializer may hold (the rest are refused by name).
FLOAT_TYPES = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16"}


@dataclass
class Constants:
    """What :func:`fold` found: every constant tensor's name, the node indices folded away, the
    aliases (an ``Identity``'s output → the initializer it copies) and the values it computed."""

    names: set[str] = field(default_factory=set)
    nodes: set[int] = field(default_factory=set)
    alias: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    #: a folded copy of an initializer in another layout (reshaped, cast, transposed) → the initializer
    copies: dict[str, str] = field(default_factory=dict)

    def source(self, name: str) -> str:
        """The initializer (or constant) a tensor name stands for, through aliases."""
        return self.alias.get(name, name)

    def origin(self, name: str) -> str:
        """The initializer whose values a tensor holds, in any layout (what its parameters count)."""
        return self.copies.get(name, name)


class Counts:
    """Each layer's parameters from the float arrays it reads: an initializer (through an ``Identity``
    alias, to the one it copies) counted by the first layer that reads it, never again; int64
    shapes, axes and indices and ``Constant`` scalars are no parameters."""

    def __init__(self, graph: Any, consts: Constants) -> None:
        self.consts = consts
        self.floats = {t.name: prod(int(d) for d in t.dims) for t in graph.initializer
                       if t.data_type in FLOAT_TYPES}
        for node in graph.node:
            if node.op_type == "Constant" and node.output:
                value = consts.values.get(node.output[0])
                if value is not None and value.dtype.kind == "f" and value.size > 1:
                    self.floats[node.output[0]] = int(value.size)

    def counted(self, layer: ModelLayer, node: Any, counted: set[str]) -> ModelLayer:
        inputs = [self.consts.origin(x) for x in node.input if x]
        total = trainable = 0
        for j, x in enumerate(inputs):
            if x in self.floats and x not in counted:
                counted.add(x)
                total += self.floats[x]
                if not (layer.kind == "batchnorm" and j in (3, 4)):  # running mean and variance
                    trainable += self.floats[x]
        return replace(layer, params=total, trainable=trainable)


def zero_pads(a: dict[str, Any], inputs: list[str], consts: Constants) -> tuple[int, int, int, int] | None:
    """A ``Pad``'s zeros on H and W as ``(top, bottom, left, right)``, where it pads with zeros, N and C
    not at all, none negative (a crop), and its pads are known (an attribute, or a constant the graph
    computes). ``inputs`` are the node's, empty names kept (an optional input left out)."""
    if str(a.get("mode", "constant")) != "constant" or len([x for x in inputs[3:] if x]) > 0:
        return None
    fill: Any = a.get("value", 0.0)
    if len(inputs) > 2 and inputs[2]:
        fill = consts.values.get(inputs[2])
        if fill is None or fill.size != 1:
            return None
        fill = fill.reshape(-1)[0]
    raw = consts.values.get(inputs[1]) if len(inputs) > 1 and inputs[1] else a.get("pads")
    try:
        if raw is None or float(fill) != 0.0:
            return None
        values = [int(v) for v in list(raw.reshape(-1) if hasattr(raw, "reshape") else raw)]
    except (TypeError, ValueError, OverflowError):  # a fill or pads that are not numbers: an op, not zeros
        return None
    if len(values) != 8 or any(values[j] for j in (0, 1, 4, 5)) or any(v < 0 for v in values):
        return None
    return values[2], values[6], values[3], values[7]


def _small(value: Any) -> bool:
    return value is not None and value.size <= LIMIT


def _initializer_value(tensor: Any, numpy_helper: Any, onnx: Any) -> Any:
    """An int initializer's value when it is small and held in the file itself (never external data)."""
    if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.data_type not in INT_TYPES:
        return None
    if prod(int(d) for d in tensor.dims) > LIMIT:
        return None
    try:
        return numpy_helper.to_array(tensor)
    except Exception:  # noqa: BLE001 - a malformed tensor is simply not known
        return None


#: int32, int64, int8, int16, uint8, bool: the element types of shapes, axes and pads.
INT_TYPES = frozenset({6, 7, 3, 5, 2, 9})


def fold(graph: Any, onnx: Any, shapes: Mapping[str, tuple[int | None, ...]] | None = None,
         carried: Mapping[str, Any] | None = None) -> Constants:
    """The constants of ``graph``: its initializers, ``Constant`` nodes, what :data:`FOLDS` makes of
    them, and the shape arithmetic (:data:`SHAPE_OPS` of a tensor's ``Shape``, :data:`ARITH` on such
    values). ``shapes`` (the file's own static shapes, by tensor) give a ``Shape``'s value where they
    are known; which nodes fold never depends on them (the listing's names do not either). ``carried``
    are values an earlier fold computed and put in the graph as initializers (floats among them).
    ``onnx``: the package or its stand-in (:mod:`~convcli.sources.models.onnx_proto`)."""
    numpy_helper = onnx.numpy_helper
    found = Constants()
    for t in graph.initializer:
        found.names.add(t.name)
        value = carried.get(t.name) if carried else None
        value = value if value is not None else _initializer_value(t, numpy_helper, onnx)
        if value is not None:
            found.values[t.name] = value
    initializers = {t.name for t in graph.initializer}
    meta: set[str] = set()  # computed from a tensor's shape: never a weight, never a feature map
    for i, node in enumerate(graph.node):
        ins = [x for x in node.input if x]
        op = node.op_type
        outs = [o for o in node.output if o]
        if op in SHAPE_OPS and ins:
            meta.update(outs)
        elif op in FOLDS and all(x in found.names for x in ins) and (ins or op == "Constant"):
            if any(x in meta for x in ins):
                meta.update(outs)
        elif op in ARITH and ins and all(x in meta or x in found.values for x in ins):
            meta.update(outs)
        else:
            continue
        found.nodes.add(i)
        found.names.update(outs)
        if ins and outs and op in RELAYOUT and found.origin(ins[0]) in initializers:
            found.copies[outs[0]] = found.origin(ins[0])
            if op == "Identity":
                found.alias[outs[0]] = found.origin(ins[0])
        try:
            if op in SHAPE_OPS:
                held = found.values.get(ins[0])  # the shape of a constant is its value's
                value = _shape_value(node, {ins[0]: held.shape} if held is not None else shapes or {}, onnx)
            else:
                value = _evaluate(node, [found.values.get(x) for x in node.input], onnx, numpy_helper)
        except Exception:  # noqa: BLE001 - an op this fold does not compute, or bad values: left unknown
            value = None
        if _small(value) and outs:
            found.values[outs[0]] = value
    return found


def _shape_value(node: Any, shapes: Mapping[str, tuple[int | None, ...]], onnx: Any) -> Any:
    """A ``Shape``'s (or ``Size``'s) value from the file's static shapes; an unknown batch size reads
    as 1 (a pad or a window never depends on it), any other unknown size leaves it unknown."""
    import numpy as np

    dims = shapes.get(node.input[0])
    if dims is None:
        return None
    known = [1 if d is None and j == 0 else d for j, d in enumerate(dims)]
    if any(d is None for d in known):
        return None
    if node.op_type == "Size":
        return np.asarray(prod(d for d in known if d is not None), dtype=np.int64)
    a = _attrs(node, onnx)
    start, end = int(a.get("start", 0)), a.get("end")
    return np.asarray(known[start:None if end is None else int(end)], dtype=np.int64)


def _attrs(node: Any, onnx: Any) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _evaluate(node: Any, ins: list[Any], onnx: Any, numpy_helper: Any) -> Any:
    """One folded node's value with numpy (None where an input is unknown or too large)."""
    import numpy as np

    a = _attrs(node, onnx)
    op = node.op_type
    if op == "Constant":
        if "value" in a:
            return numpy_helper.to_array(a["value"]) if prod(a["value"].dims) <= LIMIT else None
        for key, dtype in (("value_ints", np.int64), ("value_int", np.int64), ("value_floats", np.float32),
                           ("value_float", np.float32)):
            if key in a:
                return np.asarray(a[key], dtype=dtype)
        return None
    if not ins or any(v is None or not _small(v) for v in ins):
        return None
    x: Any = ins[0]
    if op == "Identity":
        return x
    if op == "Concat":
        return np.concatenate(ins, axis=int(a.get("axis", 0)))
    if op == "Cast":
        return x.astype(onnx.helper.tensor_dtype_to_np_dtype(int(a["to"])))
    if op == "ConstantOfShape":
        shape = [int(v) for v in np.asarray(x).reshape(-1)]
        if any(v < 0 for v in shape) or prod(shape) > LIMIT:
            return None
        fill = numpy_helper.to_array(a["value"]).reshape(-1) if "value" in a else np.zeros(1, np.float32)
        return np.full(shape, fill[0], dtype=fill.dtype)
    if op in ("Unsqueeze", "Squeeze"):
        axes: Any = a.get("axes") if "axes" in a else (ins[1].reshape(-1).tolist() if len(ins) > 1 else None)
        if op == "Squeeze":
            return np.squeeze(x, axis=tuple(int(v) for v in axes)) if axes is not None else np.squeeze(x)
        if axes is None:
            return None
        out = x
        for ax in sorted(int(v) % (x.ndim + len(axes)) for v in axes):
            out = np.expand_dims(out, ax)
        return out
    if op == "Reshape":
        shape = [int(v) for v in ins[1].reshape(-1)]
        shape = [x.shape[j] if v == 0 and not a.get("allowzero") else v for j, v in enumerate(shape)]
        return x.reshape(shape)
    if op == "Transpose":
        return np.transpose(x, a.get("perm"))
    if op == "Gather":
        return np.take(x, ins[1], axis=int(a.get("axis", 0)))
    if op == "Slice":
        starts, ends = ins[1].reshape(-1), ins[2].reshape(-1)
        axes = ins[3].reshape(-1) if len(ins) > 3 else range(len(starts))
        steps = ins[4].reshape(-1) if len(ins) > 4 else [1] * len(starts)
        index = [slice(None)] * x.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps, strict=False):
            # ONNX clamps ends to the axis (INT64_MIN/MAX stand for "to the end"); Python's slice does too
            index[int(ax)] = slice(int(max(min(s, 2**62), -(2**62))), int(max(min(e, 2**62), -(2**62))), int(st))
        return x[tuple(index)]
    return _arith(op, ins)


def _arith(op: str, ins: list[Any]) -> Any:
    """:data:`ARITH` in numpy, as ONNX computes it (integer division truncates); a division by zero,
    an overflow or an invalid value leaves the result unknown, with no numpy warning."""
    import numpy as np

    unary = {"Floor": np.floor, "Ceil": np.ceil, "Neg": np.negative, "Abs": np.abs, "Not": np.logical_not}
    binary = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Equal": np.equal, "Less": np.less,
              "Greater": np.greater}
    with np.errstate(all="raise"):
        if op in unary and len(ins) == 1:
            return unary[op](ins[0])
        if op in binary and len(ins) == 2:
            return binary[op](ins[0], ins[1])
        if op == "Div" and len(ins) == 2:
            x, y = ins
            if x.dtype.kind in "iu" and y.dtype.kind in "iu":
                if np.any(y == 0):
                    return None
                return np.trunc(x.astype(np.float64) / y).astype(np.result_type(x, y))
            return np.divide(x, y)
        if op in ("Max", "Min"):
            return (np.maximum if op == "Max" else np.minimum).reduce(np.broadcast_arrays(*ins))
        if op == "Where" and len(ins) == 3:
            return np.where(*ins)
    return None
