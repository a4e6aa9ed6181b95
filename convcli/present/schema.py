"""Every JSON document convcli writes, built from one shape of a layer object.

A layer object (``run --json``'s ``"layer"``, ``params --json``'s ``"config"``, ``maps.json``'s
``"layer"``) uses Keras' config names, in the order of :data:`LAYER_KEYS`, each key present when the
document knows it:

``in_channels`` C · ``filters`` F (null for a depthwise layer) · ``units`` (a dense layer's) · ``kernel_size``, ``strides``,
``dilation_rate`` ``[h, w]`` · ``padding`` ``"valid"``/``"same"``, P or ``[ph, pw]`` as given ·
``pads`` ``[top, bottom, left, right]`` · ``groups`` · ``depth_multiplier`` · ``activation`` ·
``use_bias`` · ``dtype`` · ``input_shape`` ``[H, W, C]`` · ``output_shape`` ``[H', W', F]`` ·
``semantics`` ``"keras"``/``"torch"`` · ``flip`` (the kernel flipped into a true convolution).

Non-finite numbers become null, so ``json.dumps(..., allow_nan=False)`` holds. numpy only: writing
``--json`` never imports rich.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from convcli.engine import LayerResult, Trace
from convcli.layer import counts, model
from convcli.layer.spec import ConvSpec
from convcli.present.describe import InputInfo
from convcli.present.filtersum import FilterSum
from convcli.present.runview import RunView
from convcli.present.window import Window

#: The keys of a layer object, in the order every document writes them.
LAYER_KEYS = ("in_channels", "filters", "units", "kernel_size", "strides", "padding", "pads", "dilation_rate", "groups",
              "depth_multiplier", "activation", "use_bias", "dtype", "input_shape", "output_shape", "semantics",
              "flip")



def dumps(doc: dict[str, Any]) -> str:
    """A document as convcli writes it: indented, strict JSON (no NaN: they are null here), one newline."""
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"

def finite_number(v: float) -> float | None:
    """``v``, or None (JSON's null) for NaN and ±inf."""
    return float(v) if math.isfinite(v) else None


def nested(a: np.ndarray) -> Any:
    """An array of any shape as nested lists of :func:`finite_number`."""
    if a.ndim == 0:
        return finite_number(float(a))
    return [nested(s) for s in a]


def _json_number(j: Any) -> int | float:
    """A Fraction (an effective stride) as an int when whole, else a float."""
    return int(j) if j.denominator == 1 else float(j)


def padding_json(padding: object) -> Any:
    """The padding as given: ``"same"``, ``2`` or ``[ph, pw]``."""
    return padding if isinstance(padding, (str, int)) else list(padding)  # type: ignore[call-overload]


def layer_object(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` in the order of :data:`LAYER_KEYS` (each key must be one of them)."""
    unknown = set(fields) - set(LAYER_KEYS)
    assert not unknown, f"not a layer key: {sorted(unknown)}"
    return {key: fields[key] for key in LAYER_KEYS if key in fields}


def layer_json(
    result: LayerResult,
    padding: object = None,
    *,
    semantics: str | None = None,
    flip: bool | None = None,
    shapes: bool = False,
) -> dict[str, Any]:
    """A computed layer as a layer object; ``padding``, ``semantics``, ``flip`` are written when given,
    ``input_shape`` and ``output_shape`` with ``shapes`` (``maps.json`` has no other record of them)."""
    layer = result.layer
    g = layer.geometry
    fields: dict[str, Any] = {
        "filters": layer.filters,
        "kernel_size": list(g.kernel_hw),
        "strides": list(g.stride),
        "pads": list(g.pads),
        "dilation_rate": list(g.dilation),
        "groups": layer.groups,
        "activation": result.activation,
        "use_bias": result.use_bias,
        "dtype": layer.x.dtype.name,
    }
    if padding is not None:
        fields["padding"] = padding_json(padding)
    if shapes:
        fields["input_shape"] = list(layer.x.shape)
        fields["output_shape"] = list(result.output.shape)
    if semantics is not None:
        fields["semantics"] = semantics
    if flip is not None:
        fields["flip"] = flip
    return layer_object(fields)


def spec_json(spec: ConvSpec) -> dict[str, Any]:
    """A layer spec (no input yet) as a layer object: ``params --json``'s ``"config"``."""
    return layer_object({
        "in_channels": spec.in_channels,
        "filters": spec.filters,
        "kernel_size": list(spec.kernel),
        "strides": list(spec.stride),
        "padding": padding_json(spec.padding),
        "dilation_rate": list(spec.dilation),
        "groups": spec.groups,
        "depth_multiplier": spec.depth_multiplier,
        "use_bias": spec.use_bias,
    })  # fmt: skip


# ------------------------------------------------------------------------------------------------
# convcli run --json


def _trace_json(result: LayerResult, t: Trace, at: tuple[int, int], f: int) -> dict[str, Any]:
    return {
        "position": list(at),
        "input_rows": t.in_rows.tolist(),
        "input_cols": t.in_cols.tolist(),
        "patch": nested(t.patch.transpose(2, 0, 1)),
        "products": nested(t.products.transpose(2, 0, 1)),
        "channel_sums": nested(t.sums),
        "preactivation": finite_number(float(result.preactivation[at[0], at[1], f])),
        "output": finite_number(float(result.output[at[0], at[1], f])),
    }


def _filter_json(view: FilterSum, window: Window) -> dict[str, Any]:
    """A filter's sum over the shown window: kernel ``(Cg, kh, kw)``, partials ``(Cg, h, w)``, sums ``(h, w)``."""
    lo, mean, hi = view.output_stats.tolist()
    numbers = view.window(window)
    return {
        "index": view.index,
        "bias": finite_number(view.bias),
        "output_min": finite_number(lo),
        "output_mean": finite_number(mean),
        "output_max": finite_number(hi),
        "channels": list(view.channels),
        "channel_share_percent": [finite_number(float(s)) for s in view.shares],
        "kernel": nested(view.kernel.transpose(2, 0, 1)),
        "window_partials": nested(numbers.partials.transpose(2, 0, 1)),
        "window_preactivation": nested(numbers.preactivation),
        "window_output": nested(numbers.output),
    }


def result_json(
    info: InputInfo, result: LayerResult, padding: object, filters: Sequence[int], trace: dict[int, Trace] | None,
    at: tuple[int, int] | None, *, window: Window, semantics: str | None = None, flip: bool | None = None,
) -> dict[str, Any]:
    """The same numbers the tables show, as one JSON-ready dict (non-finite values become null).

    ``filters`` are the filters shown in detail, their numbers over ``window``; ``trace`` (filter -> its trace at ``at``) adds each
    one's products. ``semantics`` and ``flip``, when given, close the layer object (:func:`run_json` of the run's view).
    """
    view = RunView.of(result, info, filters, window=window, padding=padding, semantics=semantics or "keras",
                      traces=trace, trace_at=at)
    return run_json(view, semantics=semantics, flip=flip)


def run_json(view: RunView, *, semantics: str | None = None, flip: bool | None = None) -> dict[str, Any]:
    """A run's view as ``run --json``'s document; ``semantics`` and ``flip``, when given, close the layer object."""
    info, head, window = view.header.info, view.header, view.window
    weights, biases = head.params
    (r0, r1), (c0, c1) = window.rows, window.cols
    doc: dict[str, Any] = {
        "input": {
            "path": info.path,
            "description": info.description,
            "shape": list(info.shape),
            "dtype": info.dtype,
            "channels": list(info.channel_names),
        },
        "layer": layer_json(view.result, head.padding, semantics=semantics, flip=flip),
        "kernel_shape": list(head.kernel_shape),
        "output_shape": list(head.output_shape),
        "params": {"weights": weights, "biases": biases, "total": weights + biases},
        # the first and the last row and column, as the screen spells them ("rows 0–1"): not Python's stop
        "window": {"rows": [r0, r1 - 1], "cols": [c0, c1 - 1]},
        "filters": [],
    }
    for fsum in view.filters:
        entry = _filter_json(fsum, window)
        trace = view.trace(fsum.index)
        if trace is not None and view.trace_at is not None:
            entry["trace"] = _trace_json(view.result, trace, view.trace_at, fsum.index)
        doc["filters"].append(entry)
    return doc


# ------------------------------------------------------------------------------------------------
# convcli params --json


def params_json(rep: counts.LayerReport, other: counts.LayerReport | None = None) -> dict[str, Any]:
    """One layer's counts as a JSON-ready dict: ``weights``, ``biases``, ``total`` and, with an input
    size, ``input_shape``, ``output_shape``, ``pads``, ``macs``, ``flops``."""
    spec, p = rep.spec, rep.params
    doc: dict[str, Any] = {
        "kind": spec.kind,
        "layer": spec.keras_name,
        "config": spec_json(spec),
        "out_channels": spec.out_channels,
        "variables": {name: list(s) for name, s in spec.kernel_shapes().items()},
        "weights": p.weights,
        "biases": p.biases,
        "total": p.total,
        "receptive_field": list(rep.receptive_field),
        "effective_stride": [_json_number(j) for j in rep.effective_stride],
    }
    if rep.text:
        doc["text"] = rep.text
    if rep.shape is not None:
        doc |= {
            "input_shape": list(rep.shape.in_shape),
            "output_shape": list(rep.shape.out_shape),
            "pads": list(rep.shape.pads) if rep.shape.pads is not None else None,
            "macs": rep.shape.macs,
            "flops": rep.shape.flops,
        }
    if other is not None:
        doc["compare"] = {
            "layer": other.spec.keras_name,
            "kind": other.spec.kind,
            "weights": other.params.weights,
            "biases": other.params.biases,
            "total": other.params.total,
            **({"macs": other.shape.macs} if other.shape is not None else {}),
        }
    return doc


def _other_variables(rep: counts.LayerNumbers) -> dict[str, list[int]]:
    """The arrays Keras gives a non-conv layer, by name: a dense layer's kernel and bias, batch norm's four."""
    layer, c = rep.layer, (rep.in_shape or (0,))[-1]
    if layer.kind == "dense":
        units = (rep.out_shape or (0,))[-1]
        return {"kernel": [c, units], **({"bias": [units]} if layer.use_bias else {})}
    if layer.kind == "batchnorm":
        return {name: [c] for name in ("gamma", "beta", "moving_mean", "moving_variance")}
    return {}


def other_json(rep: counts.LayerNumbers) -> dict[str, Any]:
    """A stack layer that is not a convolution, with the keys of :func:`params_json` (null where a
    value does not apply): ``config`` in Keras' names (``kernel_size`` is a pool's size, ``padding``
    a ZeroPadding2D's ``[[top, bottom], [left, right]]``), ``effective_stride`` null once every
    output depends on the whole input."""
    layer, jump = rep.layer, rep.effective_stride
    assert rep.in_shape is not None and rep.out_shape is not None and rep.receptive_field is not None
    pads = [list(layer.pads[:2]), list(layer.pads[2:])] if layer.pads is not None else None
    return {
        "kind": layer.kind,
        "layer": layer.class_name,
        "config": layer_object({
            "in_channels": rep.in_shape[-1], "filters": None, "units": layer.units,
            "kernel_size": _maybe_list(layer.kernel), "strides": _maybe_list(layer.strides),
            "padding": layer.padding if layer.kind in ("maxpool", "avgpool") else pads,
            "dilation_rate": None, "groups": None, "depth_multiplier": None, "use_bias": layer.use_bias,
        }),
        "out_channels": None if layer.kind == "flatten" else rep.out_shape[-1],
        "variables": _other_variables(rep),
        "weights": rep.weights,
        "biases": rep.biases,
        "total": rep.total,
        "receptive_field": list(rep.receptive_field),
        "effective_stride": [_json_number(j) for j in jump] if jump is not None else None,
        **({"text": rep.text} if rep.text else {}),
        "input_shape": list(rep.in_shape),
        "output_shape": list(rep.out_shape),
        "pads": list(rep.pads) if rep.pads is not None else None,
        "macs": rep.macs,
        "flops": rep.flops,
    }


def _with_trainable(doc: dict[str, Any], trainable: int) -> dict[str, Any]:
    """``doc`` with ``trainable`` after its ``total``."""
    items = list(doc.items())
    at = [key for key, _ in items].index("total") + 1
    return dict([*items[:at], ("trainable", trainable), *items[at:]])


def _stack_layer_json(n: counts.LayerNumbers) -> dict[str, Any]:
    """A stack layer: a conv layer as :func:`params_json` lays one out, any other as :func:`other_json`."""
    if n.spec is None or not isinstance(n.params, counts.Params):
        return other_json(n)
    return params_json(counts.LayerReport(n.spec, n.params.count, n.receptive_field or (), n.effective_stride or (),
                                          n.shape, n.text))


def stack_json(stack: counts.Analysis) -> dict[str, Any]:
    """A stack: ``layers`` (one :func:`params_json` or :func:`other_json` object each, with its
    ``trainable`` parameters) and ``totals``.

    ``totals``: ``weights`` and ``biases`` of the conv and dense layers, ``total`` (batch norm's four
    arrays too), ``trainable`` and ``non_trainable`` (batch norm's moving mean and variance), MACs,
    FLOPs, and the last layer's output shape, receptive field and effective stride (null once every
    output depends on the whole input)."""
    last = stack.layers[-1]
    layers = [_with_trainable({"index": n, **_stack_layer_json(rep)}, counts.layer_trainable(rep))
              for n, rep in enumerate(stack.layers, start=1)]
    return {
        "input_shape": list(stack.in_shape),
        "layers": layers,
        "totals": {
            "weights": stack.weights,
            "biases": stack.biases,
            "total": stack.total,
            "trainable": stack.trainable,
            "non_trainable": stack.non_trainable,
            "macs": stack.macs,
            "flops": stack.flops,
            "output_shape": list(stack.out_shape or ()),
            "receptive_field": list(last.receptive_field or ()),
            "effective_stride": [_json_number(j) for j in last.effective_stride]
            if last.effective_stride is not None else None,
        },
        "flop_convention": counts.FLOP_CONVENTION,
    }


# ------------------------------------------------------------------------------------------------
# convcli layers --json


def _maybe_list(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def model_json(analysis: model.Analysis) -> dict[str, Any]:
    """A model file's listing (:class:`convcli.layer.model.Analysis`): ``model``, ``format``, ``layers``
    (one object each, a value the file does not hold null) and ``totals``; ``input_shape``,
    ``output_shape``, ``pads``, ``macs``, ``receptive_field`` and ``effective_stride`` with an input size."""
    listing = analysis.listing
    sized = analysis.input_size is not None
    layers = []
    for index, n in enumerate(analysis.layers):
        layer = n.layer
        doc: dict[str, Any] = {
            "index": index,
            "name": layer.name,
            "kind": layer.kind,
            "class_name": layer.class_name,
            "kernel_size": _maybe_list(layer.kernel),
            "strides": _maybe_list(layer.strides),
            "padding": _maybe_list(layer.padding),
            "pads": _maybe_list(n.pads),
            "dilation": _maybe_list(layer.dilation),
            "groups": layer.groups,
            "depth_multiplier": layer.depth_multiplier,
            "in_channels": layer.in_channels if layer.in_channels is not None
            else (n.in_shape[-1] if n.in_shape and layer.kind not in ("input",) else None),
            "filters": layer.filters,
            "units": layer.units,
            "use_bias": layer.use_bias,
            "activation": layer.activation,
            "params": n.params,
            "trainable_params": n.trainable,
            "inbound": list(layer.inbound) if layer.inbound is not None else None,
            "weights": {k: list(v) for k, v in layer.weights.items()},
        }
        if sized:
            doc |= {
                "input_shape": _maybe_list(n.in_shape),
                "output_shape": _maybe_list(n.out_shape),
                "macs": n.macs,
                "receptive_field": _maybe_list(n.receptive_field),
                "effective_stride": [_json_number(j) for j in n.effective_stride]
                if n.effective_stride is not None else None,
            }
        layers.append(doc)
    totals: dict[str, Any] = {"params": analysis.params, "trainable_params": analysis.trainable,
                              "non_trainable_params": (analysis.params - analysis.trainable
                                                       if analysis.params is not None
                                                       and analysis.trainable is not None else None),
                              "layers": len(analysis.layers)}
    if sized:
        last = analysis.layers[-1] if analysis.layers else None
        totals |= {"macs": analysis.macs, "flops": 2 * analysis.macs if analysis.macs is not None else None,
                   "input_shape": _maybe_list(analysis.input_size), "output_shape": _maybe_list(analysis.out_shape),
                   "receptive_field": _maybe_list(last.receptive_field) if last else None}
    doc_out: dict[str, Any] = {"model": listing.model, "format": listing.format, "graph": listing.graph,
                               "layers": layers, "totals": totals, "notes": list(listing.notes)}
    if sized:
        doc_out["flop_convention"] = counts.FLOP_CONVENTION
    return doc_out
