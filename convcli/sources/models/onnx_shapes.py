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


def _dims(value: Any) -> tuple[int, ...] | None:
    dims = value.type.tensor_type.shape.dim
    out = tuple(int(d.dim_value) if d.HasField("dim_value") else 0 for d in dims)
    if not out or any(v <= 0 for v in out) or out[0] != 1:
        return None
    return (out[2], out[3], out[1]) if len(out) == 4 else out[1:] or None


def infer(onnx: Any, model: Any, inputs: list[Any], nodes: list[tuple[str, Any]],
          size: tuple[int, ...]) -> Mapping[str, tuple[int, ...]]:
    """Each listed layer's output shape (by its listing name, ``nodes`` as
    :func:`convcli.sources.models.onnx_graph.named` gives them) for an ``(H, W, C)`` input, as ONNX
    infers it on ``model`` (whose one image input among ``inputs`` is set to that size); ``{}`` where
    it cannot."""
    if len(size) != 3 or len(inputs) != 1 or len(inputs[0].type.tensor_type.shape.dim) != 4:
        return {}
    h, w, c = size
    for d, v in zip(inputs[0].type.tensor_type.shape.dim, (1, c, h, w), strict=True):
        d.Clear()
        d.dim_value = v
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - the inference refuses the graph: the walk goes on alone
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        return {}
    g = inferred.graph
    values = {v.name: v for v in (*g.value_info, *g.output)}
    out: dict[str, tuple[int, ...]] = {}
    for lname, node in nodes:
        value = values.get(node.output[0]) if node.output else None
        dims = _dims(value) if value is not None else None
        if dims is not None:
            out[lname] = dims
    return out
