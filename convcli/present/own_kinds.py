"""The JSON of a transposed or separable layer, which ``run`` computes as an ordinary conv: what the layer
is (its kind, Keras and PyTorch names, settings and weight shapes), how it was computed, and the scatter
traces of a transposed layer. numpy only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convcli.engine.transpose import TransposeTrace
from convcli.layer.spec import ConvSpec
from convcli.present.schema import spec_json


def scatter_json(trace: TransposeTrace, names: Sequence[str]) -> dict[str, Any]:
    """One transposed trace: every landing's input position and tap, each channel's values, weights and
    products (``[landing][channel]``), the channels' sums and their total (before the bias)."""
    return {
        "position": list(trace.position),
        "full_position": list(trace.full_position),
        "filter": trace.filter,
        "channels": [names[c] for c in trace.channels.tolist()],
        "landings": [{"input": list(i), "tap": list(t)} for i, t in trace.landings],
        "values": trace.values.tolist(),
        "weights": trace.weights.tolist(),
        "products": trace.products.tolist(),
        "sums": trace.sums.tolist(),
        "total": trace.total,
    }


def own_kind_json(spec: ConvSpec, weights: Mapping[str, Any], notes: Sequence[str],
                  scatter: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """``"kind"``: the layer as asked (the top-level ``"layer"`` is the conv that computes it)."""
    config = spec_json(spec)
    if spec.output_padding is not None:
        config["output_padding"] = list(spec.output_padding)
    doc: dict[str, Any] = {
        "kind": spec.kind,
        "keras": spec.keras_name,
        "torch": spec.torch_name,
        "config": config,
        "weights": {name: list(a.shape) for name, a in weights.items()},
        "computed_as": list(notes),
    }
    if scatter:
        doc["scatter"] = list(scatter)
    return doc
