"""``.onnx`` files: the graph's nodes and the dims of its initializers, through ONNX's protobuf messages.

Read with :mod:`~convcli.sources.models.onnx_proto` (the messages, without the onnx package's
second of importing), the package itself where ONNX's shape inference is asked for (computed pads,
``--input-size``).

Loaded with ``load_external_data=False``: no weight is read for the listing (an initializer's dims
are in the graph). An initializer stored as external data must sit beside the model file (in its
folder or below); a location outside it is refused. Layouts are ONNX's, NCHW: a Conv's weight is
``(F, C/g, kh, kw)``, ``pads`` are ``[top, left, bottom, right]`` (shown as convcli's
``(top, bottom, left, right)``). ``Conv`` with groups stays a conv with ``groups`` (a depthwise
conv is ``groups = C``); a 1-D Conv is :mod:`convcli.sources.models.onnx_conv1d`'s.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from functools import partial
from math import prod
from typing import Any

from convcli import reads
from convcli.errors import LoadError
from convcli.layer.model import Listing, ModelLayer
from convcli.sources import sniff
from convcli.sources.models import bounds, onnx_consts, onnx_conv1d, onnx_proto, onnx_shapes, tensors
from convcli.sources.models import onnx_functions as functions
from convcli.sources.models.install import missing
from convcli.text import shown

KINDS = {
    "Conv": "conv", "ConvTranspose": "transpose", "BatchNormalization": "batchnorm", "Gemm": "dense",
    "MatMul": "dense", "MaxPool": "maxpool", "AveragePool": "avgpool", "GlobalAveragePool": "globalavgpool",
    "GlobalMaxPool": "globalmaxpool", "Flatten": "flatten", "Add": "add", "Sum": "add", "Concat": "concatenate",
    "Pad": "zeropad",
}
SKIPPED = ("Constant",)
AUTO_PAD = {"NOTSET": None, "VALID": "valid", "SAME_UPPER": "same", "SAME_LOWER": "same_lower"}
#: An NCHW axis as an (H, W, C) one.
AXES = {1: -1, 2: 0, 3: 1}


def _attrs(node: Any, onnx: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    return out


def check_external(name: str, tensor: Any, folder: str) -> None:
    """Refuse an external-data initializer whose file is not in ``folder`` (the model's) or below it;
    the file it names is registered as read (:func:`convcli.reads.register`), so no output replaces it."""
    location = next((e.value for e in tensor.external_data if e.key == "location"), None)
    if location is None:
        raise LoadError(f"{name}: initializer {shown(tensor.name)!r} is external data without a location")
    if os.path.isabs(location) or "\x00" in location:
        raise LoadError(f"{name}: initializer {shown(tensor.name)!r} points outside the model's folder "
                        f"({shown(location)!r}): refused")
    real_folder = os.path.realpath(folder)
    target = os.path.realpath(os.path.join(folder, location))
    if os.path.commonpath([real_folder, target]) != real_folder:
        raise LoadError(f"{name}: initializer {shown(tensor.name)!r} points outside the model's folder "
                        f"({shown(location)!r}): refused")
    reads.register(target)  # read with the model: no writer of this command may replace it


def _ints(v: Any, key: str, count: int) -> list[int]:
    """An INTS attribute of ``count`` whole numbers (a float, a string or another length is refused)."""
    values = list(v) if isinstance(v, (list, tuple)) else None
    if values is None or not all(bounds.whole(x) for x in values):
        raise LoadError(f"its {key} attribute is {shown(repr(v))[:60]}; it must be whole numbers")
    if len(values) != count:
        raise LoadError(f"its {key} attribute has {len(values)} values; a 2-D layer takes {count}")
    return [int(x) for x in values]


def _int(a: dict[str, Any], key: str, default: int) -> int:
    """An INT attribute (``group``, ``axis``): a float (Infinity), a string or a list is refused."""
    v = a.get(key, default)
    if not bounds.whole(v):
        raise LoadError(f"its {key} attribute is {shown(repr(v))[:60]}; it must be a whole number")
    return int(v)


def _pair(v: Any, default: tuple[int, int], key: str) -> tuple[int, int]:
    if v is None:
        return default
    values = _ints(v, key, 2)
    return values[0], values[1]


def _pads(v: Any) -> tuple[int, int, int, int] | None:
    if v is None:
        return None
    top, left, bottom, right = _ints(v, "pads", 4)
    return top, bottom, left, right


def named_nodes(graph: Any) -> Iterator[tuple[str, Any]]:
    """The graph's listed nodes with their layer names, as :func:`named` gives them (its constants known)."""
    yield from named(graph, dict.fromkeys(graph_constants(graph).names, ()))[1]


def graph_constants(graph: Any) -> onnx_consts.Constants:
    """The constants of ``graph`` (:func:`convcli.sources.models.onnx_consts.fold`)."""
    return onnx_consts.fold(graph, onnx_proto.module())


def load(name: str) -> tuple[Any, Any]:
    """The onnx module (:func:`convcli.sources.models.onnx_proto.module`: the package, or its light stand-in)
    and the model, its external data not loaded, its local functions inlined (:mod:`.onnx_functions`)."""
    try:
        onnx = onnx_proto.module()
    except ImportError:
        raise missing("onnx", ".onnx") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # onnx's own about the file: the refusal, if any, is one line
            model = onnx.load(name, load_external_data=False)
    except Exception as exc:
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        raise LoadError(f"{name}: not a readable ONNX model ({shown(sniff.reason(exc)).splitlines()[0][:160]})") from None
    if functions.calls_functions(model):  # the package's inliner: the package's messages
        model, onnx = functions.inline(name, model), onnx_proto.full()
    functions.check_names(name, model.graph)
    return onnx, model


def read(name: str) -> Listing:
    onnx, model = load(name)
    graph = model.graph
    if not graph.node:
        raise LoadError(f"{name}: not an ONNX model (no graph nodes)")
    folder = os.path.dirname(os.path.abspath(name))
    dims: dict[str, tuple[int, ...]] = {}
    for t in graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            check_external(name, t, folder)
        dims[t.name] = tuple(int(d) for d in t.dims)
    static = None
    if any(n.op_type in onnx_consts.SHAPE_OPS for n in graph.node):  # pads computed from the input's size
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        static = onnx_shapes.settle(onnx_proto.full(), copy)
    consts = onnx_consts.fold(graph, onnx, static)
    for out in sorted(consts.names - set(dims)):
        value = consts.values.get(out)
        dims[out] = dims.get(consts.source(out)) or (tuple(value.shape) if value is not None else ())
    counted: set[str] = set()
    notes: list[str] = []
    counts = onnx_consts.Counts(graph, consts)
    layers: list[ModelLayer] = []
    producer: dict[str, str] = {}
    inputs, nodes = named(graph, dims, consts)
    for inp in inputs:
        shape = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
        if 3 <= len(shape) <= 5 and onnx_shapes.channels_last(graph, inp.name):  # (N, C, *S) read as (*S, C)
            hwc: tuple[int | None, ...] = tuple(shape[1:])
            notes.append(f"ONNX: the input {shown(inp.name)!r} is channels-last (N, …, C): a Transpose to NC… "
                         "reads it")
        else:
            hwc = (*shape[2:], shape[1]) if 3 <= len(shape) <= 5 else tuple(shape[1:])
        layers.append(ModelLayer(name=inp.name, kind="input", class_name="input", input_shape=hwc, inbound=()))
        producer[inp.name] = inp.name
    made = {out for node in graph.node for out in node.output}
    for lname, node in nodes:
        with functions.node_errors(name, lname, node.op_type):
            _check_reads(node, dims, producer, made)
            layer = counts.counted(_layer(node, lname, dims, producer, onnx, consts), node, counted)
        bounds.check_layer(name, layer, "onnx")
        layers.append(layer)
        for out in node.output:
            producer[out] = lname
        layers += functions.body_layers(name, lname, node, dims, counts, counted, partial(_layer, onnx=onnx, consts=consts))
    return Listing(name, "onnx", tuple(layers), ("ONNX: shapes read channels-last (H, W, C) from NCHW", *notes),
                   shapes=partial(layer_shapes, name))


def layer_shapes(name: str, size: tuple[int, ...]) -> Mapping[str, tuple[int, ...]]:
    """Each layer's output shape on an ``(H, W, C)`` input, by ONNX's own shape inference
    (:mod:`~convcli.sources.models.onnx_shapes`); ``{}`` where it cannot run."""
    try:
        onnx, model = load(name)
    except LoadError:
        return {}
    consts = onnx_consts.fold(model.graph, onnx)
    inputs, nodes = named(model.graph, dict.fromkeys(consts.names, ()), consts)
    return onnx_shapes.infer(onnx_proto.full(), model, inputs, [(lname, n.output[0]) for lname, n in nodes if n.output], size)


def _check_reads(node: Any, dims: dict[str, tuple[int, ...]], producer: dict[str, str], made: set[str]) -> None:
    """Refuse a node that reads a tensor that neither the graph's inputs, its initializers and constants,
    nor an earlier node make (a later one: a cycle, or nodes out of the order ONNX requires)."""
    for x in node.input:
        if x and x not in dims and x not in producer:
            later = " (only a later node makes it: a cycle, or nodes out of order)" if x in made else ""
            raise LoadError(f"it reads {shown(x)!r}, which no input, initializer or earlier node makes{later}")


def named(graph: Any, dims: dict[str, tuple[int, ...]],
          consts: onnx_consts.Constants | None = None) -> tuple[list[Any], list[tuple[str, Any]]]:
    """The graph's inputs that are not initializers (the listing's input layers, named as they are),
    and each listed node with its layer name (its own, else ``<op>_<i>``; a repeat gets ``_<i>``), in
    the listing's order: the one naming :func:`read` and the model runner share. Constants and the
    nodes folded into constants (:mod:`~convcli.sources.models.onnx_consts`) are not listed."""
    folded = (consts if consts is not None else graph_constants(graph)).nodes
    inputs = [inp for inp in graph.input if inp.name not in dims]
    used = {inp.name for inp in inputs}
    nodes: list[tuple[str, Any]] = []
    for i, node in enumerate(graph.node):
        if node.op_type in SKIPPED or i in folded:
            continue
        lname = node.name or f"{node.op_type}_{i}"
        if lname in used:
            lname = f"{lname}_{i}"
        used.add(lname)
        nodes.append((lname, node))
    return inputs, nodes


def _layer(node: Any, lname: str, dims: dict[str, tuple[int, ...]], producer: dict[str, str], onnx: Any,
           consts: onnx_consts.Constants) -> ModelLayer:
    op = node.op_type
    a = _attrs(node, onnx)
    inputs = [consts.source(x) for x in node.input if x]
    weights = {x: dims[x] for x in inputs if x in dims}
    inbound = tuple(producer[x] for x in inputs if x in producer and x not in dims)
    kind = KINDS.get(op, "other")
    common: dict[str, Any] = {"name": lname, "class_name": op, "inbound": inbound, "weights": weights}
    if kind in ("add", "dense") and len(inbound) < 2 and op in ("Add", "Sum"):
        kind = "other"  # a bias or a constant added: keeps the shape
    if kind in ("conv", "transpose"):
        if len(inputs) < 2 or inputs[1] not in dims or len(dims[inputs[1]]) not in (3, 4, 5):
            raise LoadError("its weight is not a 3-D, 4-D or 5-D initializer (a 1-D, 2-D or 3-D conv)")
        w = dims[inputs[1]]
        if len(w) != 4:  # a 1-D conv, as Keras' export writes a Conv1D, or a 3-D one
            return onnx_conv1d.conv_1d(kind, a, w, inputs, dims, common)
        g = _int(a, "group", 1)
        k = _pair(a.get("kernel_shape"), (w[2], w[3]), "kernel_shape")
        if k != (w[2], w[3]):
            raise LoadError(f"its kernel_shape {list(k)} disagrees with its weight {shown(inputs[1])!r} of {w}")
        auto = AUTO_PAD.get(str(a.get("auto_pad", "NOTSET")), None)
        pads = _pads(a.get("pads")) if auto is None else None
        if auto is None and pads is None:
            pads = (0, 0, 0, 0)
        c, f = (w[1] * g, w[0]) if kind == "conv" else (w[0], w[1] * g)
        bias = len(inputs) > 2 and inputs[2] in dims
        if bias and dims[inputs[2]] != (f,):
            raise LoadError(f"its bias {shown(inputs[2])!r} is {dims[inputs[2]]}, not ({f},) for its {f} output channels")
        if kind == "transpose" and (pads not in (None, (0, 0, 0, 0)) or a.get("output_padding")
                                    or auto == "same_lower"):
            raise LoadError("a ConvTranspose with pads or output_padding is not supported")
        if kind == "transpose" and pads == (0, 0, 0, 0):
            auto, pads = "valid", None
        return ModelLayer(kind=kind, kernel=k, strides=_pair(a.get("strides"), (1, 1), "strides"), padding=auto,
                          pads=pads, dilation=_pair(a.get("dilations"), (1, 1), "dilations"), groups=g, in_channels=c,
                          filters=f,
                          use_bias=bias, **common)
    if kind == "batchnorm":
        names = ("scale", "bias", "running_mean", "running_var")
        arrays = inputs[1:5]
        stats = {names[j]: dims[x] for j, x in enumerate(arrays) if x in dims}
        channels = stats["scale"][0] if "scale" in stats and len(stats["scale"]) == 1 else None
        common["weights"] = stats
        return ModelLayer(kind=kind, in_channels=channels, **common)
    if kind == "dense":
        if len(inputs) < 2 or inputs[1] not in dims or len(dims[inputs[1]]) != 2:
            return ModelLayer(kind="other", **common)
        b = dims[inputs[1]]
        trans = bool(_int(a, "transB", 0)) if op == "Gemm" else False
        k_in, units = (b[1], b[0]) if trans else (b[0], b[1])
        bias = op == "Gemm" and len(inputs) > 2 and inputs[2] in dims and prod(dims[inputs[2]]) == units
        if op == "Gemm" and len(inputs) > 2 and inputs[2] in dims and not bias:
            raise LoadError(f"its bias {dims[inputs[2]]} does not fit {units} units")
        return ModelLayer(kind=kind, in_channels=k_in, units=units, use_bias=bias, transpose_b=trans, **common)
    if kind in ("maxpool", "avgpool"):
        if a.get("kernel_shape") is None:
            raise LoadError("it has no kernel_shape")
        k = _pair(a.get("kernel_shape"), (1, 1), "kernel_shape")
        auto = AUTO_PAD.get(str(a.get("auto_pad", "NOTSET")), None)
        pads = _pads(a.get("pads")) if auto is None else None
        if auto is None and pads is None:
            pads = (0, 0, 0, 0)
        return ModelLayer(kind=kind, kernel=k, strides=_pair(a.get("strides"), (1, 1), "strides"), padding=auto,
                          pads=pads, dilation=_pair(a.get("dilations"), (1, 1), "dilations"),
                          ceil_mode=bool(_int(a, "ceil_mode", 0)), **common)
    if kind in ("globalavgpool", "globalmaxpool"):
        return ModelLayer(kind=kind, keepdims=True, **common)
    if kind == "zeropad":
        pads = onnx_consts.zero_pads(a, list(node.input), consts)
        return ModelLayer(kind="zeropad" if pads is not None else "other", pads=pads, **common)
    if kind == "concatenate":
        axis = _int(a, "axis", 1)
        if axis % 4 not in AXES:
            raise LoadError(f"concatenates along axis {axis} (the batch)")
        return ModelLayer(kind=kind, axis=AXES[axis % 4], **common)
    return ModelLayer(kind=kind, **common)


#: The float element types an initializer may hold (the rest are refused by name).
FLOAT_TYPES = onnx_consts.FLOAT_TYPES


def type_name(onnx: Any, data_type: int) -> str:
    """An ONNX element type's name (``int64``), or ``data type 99`` for one ONNX does not define."""
    try:
        return str(onnx.TensorProto.DataType.Name(data_type)).lower()
    except ValueError:
        return f"data type {data_type}"


def _values(name: str, tensor: Any, folder: str, onnx: Any, want: tensors.Want, role: str) -> Any:
    """One initializer checked from its metadata, then converted (external data read from beside
    the model, the bytes it names alone)."""
    dims = tuple(int(d) for d in tensor.dims)
    dtype = FLOAT_TYPES.get(tensor.data_type) or type_name(onnx, tensor.data_type)
    # (F, C/g, *k) -> (*k, C/g, F); a ConvTranspose's (C, F/g, *k) -> (*k, F/g, C) alike
    shape = (*dims[2:], dims[1], dims[0]) if role == "kernel" and len(dims) >= 3 else dims
    want.check(role, tensor.name, shape, dtype, stored=dims if role == "kernel" else None)
    item = tensors.FLOATS[dtype]
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        check_external(name, tensor, folder)
        info = {e.key: e.value for e in tensor.external_data}
        target = os.path.join(folder, info["location"])
        try:
            offset, length = int(info.get("offset", 0)), info.get("length")
            if not os.path.isfile(target):
                raise want.error(f"{shown(tensor.name)}: its external file {shown(info['location'])!r} is not "
                                 "a regular file")
            size = os.path.getsize(target)
            count = int(length) if length is not None else size - offset
            if offset < 0 or offset + count > size:
                raise want.error(f"{shown(tensor.name)} runs past the end of its external file "
                                 f"{shown(info['location'])!r} ({size:,} bytes)")
            want.check(role, tensor.name, shape, dtype, stored=dims, count=count)
            with open(target, "rb") as fh:
                fh.seek(offset)
                raw = fh.read(count)
        except OSError as exc:
            raise want.error(f"{shown(tensor.name)}: its external file {shown(info['location'])!r} cannot be "
                             f"read ({sniff.reason(exc)})") from None
        except ValueError:
            raise want.error(f"{shown(tensor.name)}: its external data's offset or length is not a number") from None
        inline = onnx.TensorProto()
        inline.CopyFrom(tensor)
        del inline.external_data[:]
        inline.data_location = onnx.TensorProto.DEFAULT
        inline.raw_data = raw
        tensor = inline
    elif tensor.HasField("raw_data"):
        want.check(role, tensor.name, shape, dtype, stored=dims, count=len(tensor.raw_data))
    else:
        field = {1: "float_data", 11: "double_data"}.get(tensor.data_type, "int32_data")
        want.check(role, tensor.name, shape, dtype, stored=dims, count=len(getattr(tensor, field)) * item)
    try:
        value = onnx.numpy_helper.to_array(tensor)
    except (ValueError, TypeError) as exc:
        raise want.error(f"{shown(tensor.name)} cannot be read ({shown(str(exc))[:120]})") from None
    return value.astype("float32") if dtype == "bfloat16" else value


def layer_arrays(name: str, want: tensors.Want) -> tensors.Arrays:
    """A Conv node's ``W`` initializer as a Keras kernel (``(F, C/g, kh, kw)`` → ``(kh, kw, C/g, F)``)
    and its ``B``; only the two are converted (the protobuf itself is parsed whole: it has no index)."""
    import numpy as np

    onnx, model = load(name)
    graph = model.graph
    node, inits = functions.find(graph, list(named_nodes(graph)), want.layer.name)
    if node is None or node.op_type not in ("Conv", "ConvTranspose"):
        raise want.error("the graph holds no Conv or ConvTranspose node of that name")
    consts = graph_constants(graph)
    inputs = [consts.source(x) for x in node.input if x]
    names = inputs[1:3]
    inits |= {x: functions.constant_tensor(graph, x, onnx) for x in names if x not in inits}  # a Constant's
    if not names or any(inits[x] is None for x in names):
        raise want.error("its weight or bias is not an initializer of the graph")
    want.count(len(names))
    folder = os.path.dirname(os.path.abspath(name))
    w = _values(name, inits[names[0]], folder, onnx, want, "kernel")
    kernel = np.ascontiguousarray(w.transpose(*range(2, w.ndim), 1, 0))
    bias = _values(name, inits[names[1]], folder, onnx, want, "bias") if len(names) > 1 else None
    dtype = FLOAT_TYPES[inits[names[0]].data_type]
    return kernel, bias, names[0], dtype
