"""Every ONNX layer's output shape on an input size, from ONNX's own shape inference.

``onnx.shape_inference.infer_shapes`` (with data propagation, so a ``Reshape`` whose shape the
graph computes is followed) runs on the graph with its image input set to ``(1, C, H, W)``: it knows
every op of the standard (a squeeze-excite ``Mul`` that broadcasts, ``ReduceMean``, ``Transpose``,
``Reshape``, ``Concat``), where convcli's own walk knows the layers it counts. A 4-D ``(N, C, H, W)``
shape reads as ``(H, W, C)``; any other drops the batch. Where the inference cannot run (a graph it
refuses, an input that is not one image batch) nothing is known and the walk goes on alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convcli.sources.models import onnx_consts


def _hwc(dims: tuple[int | None, ...] | None, layout: str | None) -> tuple[int, ...] | None:
    """A batch of one's shape as the listing shows it (``None``: not known whole)."""
    if not dims or any(v is None or v <= 0 for v in dims):
        return None
    out = tuple(int(v or 0) for v in dims)
    if out[0] != 1:  # no batch axis left (the dynamo exporter's flattened as_strided): the shape as it is
        return out
    if len(out) == 4:
        return out[1:] if layout == "NHWC" else (out[2], out[3], out[1])
    return out[1:] or None


#: Ops that keep their input's layout (its element type, or each value, may change: a Rescaling).
PASSING = frozenset({"Cast", "Identity", "Mul", "Add", "Sub", "Div"})


def channels_last(graph: Any, name: str) -> bool:
    """Whether the graph input ``name`` is an ``(N, H, W, C)`` batch (``(N, L, C)``, ``(N, D, H, W, C)``): the
    first op that reads it (past casts and a rescaling) is a ``Transpose`` to NCHW (NCL, NCDHW), as Keras' own
    ONNX export writes."""
    tensor = name
    for _ in range(16):
        readers = [n for n in graph.node if tensor in n.input]
        if len(readers) != 1:
            return False
        node = readers[0]
        if node.op_type == "Transpose":
            perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
            return perm is not None and len(perm) >= 3 and perm == [0, len(perm) - 1, *range(1, len(perm) - 1)]
        if node.op_type not in PASSING or not node.output:
            return False
        tensor = node.output[0]
    return False


def static(onnx: Any, model: Any) -> dict[str, tuple[int | None, ...]]:
    """Every tensor's shape as the file fixes it (``None`` for a size it leaves free), by ONNX's
    inference on the graph as it is; ``{}`` where the inference refuses it."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - the inference refuses the graph: no Shape is known
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        return {}
    g = inferred.graph
    out: dict[str, tuple[int | None, ...]] = {}
    for v in (*g.input, *g.value_info, *g.output):
        if v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape"):
            out[v.name] = tuple(int(d.dim_value) if d.HasField("dim_value") else None
                                for d in v.type.tensor_type.shape.dim)
    return out


def infer(onnx: Any, model: Any, inputs: list[Any], outputs: list[tuple[str, str]],
          size: tuple[int, ...]) -> Mapping[str, tuple[int, ...]]:
    """Each listed layer's output shape (``outputs``: its listing name and output tensor) for an
    ``(H, W, C)`` input, as ONNX infers it on ``model`` (its one image input among ``inputs`` set to
    that size); ``{}`` where it cannot. Shape arithmetic ONNX does not propagate (a pad computed in
    floats from the input's ``Shape``) is folded here first, at that size, and handed to it as
    constants. Each 4-D tensor reads as (H, W, C) in the layout it has: NCHW, or NHWC past a
    ``Transpose`` (ConvNeXt's blocks, Keras' export)."""
    if len(size) != 3 or len(inputs) != 1 or len(inputs[0].type.tensor_type.shape.dim) != 4:
        return {}
    graph = model.graph
    h, w, c = size
    last = channels_last(graph, inputs[0].name)
    for d, v in zip(inputs[0].type.tensor_type.shape.dim, (1, h, w, c) if last else (1, c, h, w), strict=True):
        d.Clear()
        d.dim_value = v
    layouts = _layouts(graph, inputs[0].name, "NHWC" if last else "NCHW")
    shapes = settle(onnx, model)
    out: dict[str, tuple[int, ...]] = {}
    for lname, tensor in outputs:
        dims = _hwc(shapes.get(tensor), layouts.get(tensor))
        if dims is not None:
            out[lname] = dims
    return out


#: The most rounds of folding and inference :func:`settle` takes (one per pad computed from a shape),
#: and the most node visits they may make all together (a hostile graph of a million nodes and as
#: many computed pads lists in a few rounds, not in hours).
ROUNDS = 64
WORK = 2_000_000


def settle(onnx: Any, model: Any) -> dict[str, tuple[int | None, ...]]:
    """:func:`static` shapes, with the shape arithmetic ONNX does not propagate (a pad computed in
    floats from a ``Shape``) folded in as constants, round after round while a round finds more
    (each ``Pad`` so computed opens the next one's ``Shape``). Changes ``model``'s graph: give it a copy."""
    shapes = static(onnx, model)
    if not any(n.op_type in onnx_consts.SHAPE_OPS for n in model.graph.node):
        return shapes
    carried: dict[str, Any] = {}
    for _ in range(min(ROUNDS, max(1, WORK // max(1, len(model.graph.node))))):
        if not _fold_in(onnx, model.graph, onnx_consts.fold(model.graph, onnx, shapes, carried), carried):
            break
        shapes = static(onnx, model)
    return shapes


def _fold_in(onnx: Any, graph: Any, consts: onnx_consts.Constants, carried: dict[str, Any]) -> int:
    """Replace the folded nodes whose every output is known by those values, as initializers (kept in
    ``carried`` too: the next fold reads them); how many nodes went."""
    import numpy as np
    from onnx import numpy_helper

    dropped = {i for i in consts.nodes if all(o in consts.values for o in graph.node[i].output if o)}
    kept = []
    for i, node in enumerate(graph.node):
        if i not in dropped:
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            kept.append(copy)
    read = {x for node in kept for x in node.input if x}
    made = {o for i in dropped for o in graph.node[i].output if o}
    have = {t.name for t in graph.initializer}
    del graph.node[:]
    graph.node.extend(kept)
    for x in sorted(made & read - have):
        carried[x] = np.asarray(consts.values[x])
        graph.initializer.append(numpy_helper.from_array(carried[x], x))
    return len(dropped)


#: Ops whose output is NCHW whatever their input's layout (ONNX defines them on NCHW).
NCHW_OPS = frozenset({"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                      "BatchNormalization", "LpPool", "InstanceNormalization"})


def _layouts(graph: Any, image: str, layout: str) -> dict[str, str]:
    """Each 4-D tensor's layout from the image's, along the graph: a ``Transpose`` permutes it, the
    NCHW ops make NCHW, any other op keeps its first input's."""
    out = {image: layout}
    for node in graph.node:
        if node.op_type in NCHW_OPS:
            here: str | None = "NCHW"
        else:
            here = next((out[x] for x in node.input if x in out), None)
            if here is not None and node.op_type == "Transpose":
                perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
                here = "".join(here[p] for p in perm) if perm and sorted(perm) == [0, 1, 2, 3] else None
        if here in ("NCHW", "NHWC"):
            for o in node.output:
                out[o] = here
    return out
