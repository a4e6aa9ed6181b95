"""The activations a model makes on the way to a layer, as its framework's shape inference gives them for
one image, before anything is computed: the largest is handed to the caller's memory budget (``fits``).

convcli's listing follows the layers whose shapes it knows (:func:`convcli.layer.model.analyse`); past a
layer it does not know (an ``UpSampling2D``, a ``Resize``, a ``Pad``) only the framework can say how
large the next activations are: Keras' symbolic ``compute_output_spec`` (no array made) and ONNX's
``infer_shapes`` (on a copy of the graph without its weights' data). A graph neither can infer is left
to the run.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

import numpy as np

from convcli.text import shown

#: ``fits(nbytes, what)``: raise when an activation of ``nbytes`` (``what``: "layer 'x' (Op) would make a
#: 1×64×64×3 activation") cannot be held; the caller's memory budget (:mod:`convcli.pipeline.model_input`).
Fits = Callable[[int, str], None]


def largest(found: list[tuple[str, str, tuple[int, ...], int]], fits: Fits) -> None:
    """``fits`` on the largest of ``(layer, op, dims, itemsize)``."""
    if found:
        layer, op, dims, itemsize = max(found, key=lambda f: prod(f[2]) * f[3])
        fits(prod(dims) * itemsize, f"layer {shown(layer)!r} ({shown(op)}) would make a "
                                    f"{'×'.join(str(d) for d in dims)} activation")


def keras_fits(keras: Any, inp: Any, tensor: Any, x: np.ndarray, fits: Fits) -> None:
    """Every layer's output on the way to ``tensor`` as Keras infers it for ``x``, with no array made; a
    graph Keras cannot infer is left to the run."""
    try:
        sub = keras.Model(inp, tensor)
        layers = [lay for lay in sub.layers if not isinstance(lay, keras.layers.InputLayer)]
        probe = keras.Model(sub.inputs[0], [lay.output for lay in layers])
        specs = probe.compute_output_spec(keras.KerasTensor((1, *x.shape), dtype="float32"))
        found = [(lay.name, type(lay).__name__, tuple(int(d) for d in spec.shape), np.dtype(spec.dtype).itemsize)
                 for lay, spec in zip(layers, specs, strict=True)]
    except Exception:  # noqa: BLE001 - Keras cannot say (a shared layer, a layer without shape inference)
        return
    largest(found, fits)


#: Bytes of one value of each ONNX element type (float when not listed).
_ONNX_ITEMSIZE = {2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}


def onnx_fits(onnx: Any, model: Any, feed: str, nchw: tuple[int, ...], data: str, fits: Fits) -> None:
    """Every tensor computed on the way to ``data`` as ONNX's shape inference gives it for an input of
    ``nchw``: inferred on a copy of the graph that holds only the small initializers (shapes, scales,
    pads) and declares the others by their dims, so no weight is copied."""
    graph = model.graph
    light = onnx.ModelProto()
    light.ir_version = max(int(model.ir_version), 4)
    light.opset_import.extend(model.opset_import)
    lg = light.graph
    lg.node.extend(graph.node)
    for inp in graph.input:
        if inp.name == feed:
            lg.input.append(onnx.helper.make_tensor_value_info(feed, onnx.TensorProto.FLOAT, list(nchw)))
        elif inp.name not in {t.name for t in graph.initializer}:
            lg.input.append(inp)
    for t in graph.initializer:
        if prod(t.dims) <= 4096:
            lg.initializer.append(t)
        else:
            lg.input.append(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    lg.output.append(onnx.ValueInfoProto(name=data))
    try:
        inferred = onnx.shape_inference.infer_shapes(light, strict_mode=False, data_prop=True).graph
    except Exception:  # noqa: BLE001 - a graph onnx cannot infer is left to the run
        return
    producer = {out: node for node in graph.node for out in node.output}
    wanted, todo = set(), [data]
    while todo:
        name = todo.pop()
        if name in wanted or name not in producer:
            continue
        wanted.add(name)
        todo.extend(producer[name].input)
    found = []
    for info in (*inferred.value_info, *inferred.output):
        ttype = info.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else 0 for d in ttype.shape.dim]
        if info.name in wanted and dims and all(d > 0 for d in dims):
            node = producer[info.name]
            found.append((node.name or info.name, node.op_type, tuple(dims), _ONNX_ITEMSIZE.get(ttype.elem_type, 4)))
    largest(found, fits)
