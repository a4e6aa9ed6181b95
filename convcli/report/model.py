"""What the report page shows, decided once in Python: its texts, its pictures and the exact numbers it holds.

Three parts, each JSON-ready or HTML-ready:

- the header: input, layer one-liner, kernel, output shape, parameter count, as ``run`` words them
  (:mod:`convcli.present.describe`);
- the pictures: every input channel (grey), and for each reported filter its channels' partial maps,
  the pre-activation and the output (one diverging or sequential scale for the parts and their sum,
  the output on its own when the activation changes units, as ``--figure``), block means at panel
  size (:mod:`convcli.report.held` holds the numbers behind them);
- the geometry the page's script needs to trace a position as :func:`convcli.engine.trace_position` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from convcli import engine
from convcli.engine import ACTIVATION_FORMULAS, LayerResult, param_count
from convcli.figure.plan import ImageScale, Scale
from convcli.present import describe, selection
from convcli.present.filtersum import FilterSum
from convcli.present.kinds import KindTexts
from convcli.present.maps import ResultMaps, block_factor, block_mean
from convcli.present.runview import Header
from convcli.report import pictures

if TYPE_CHECKING:
    from convcli.layer.spec import ConvSpec

#: The long side of a painted map, in cells: a larger map is drawn as its block means.
PANEL_LIMIT = 256
#: The same when a filter reads many channels (a deep layer): many small panels.
SMALL_PANEL_LIMIT = 96
#: Beyond this many channels in a group, the panels are small.
MANY_CHANNELS = 8


@dataclass(frozen=True)
class Picture:
    """One painted map: ``uri`` a PNG data URI of ``cells (h, w)`` block means of an ``(H, W)`` map."""

    title: str
    note: str  # the full map's range
    uri: str
    shape: tuple[int, int]
    cells: tuple[int, int]
    channel: int | None = None  # the position within the filter's group, for a partial map


@dataclass(frozen=True)
class ScaleLegend:
    """A scale as a legend bar: what it colours, its CSS gradient and the values at its ends."""

    label: str
    gradient: str
    low: str
    high: str
    clipped: bool


@dataclass(frozen=True)
class FilterMaps:
    """One reported filter: its group's input channels, partial maps, bias, pre-activation and output."""

    index: int
    channels: list[int]  # input channel indices (Cg,)
    partials: list[Picture]
    bias: float | None  # None without a bias
    bias_colour: str
    preactivation: Picture
    output: Picture | None  # None for a linear activation: the output is the pre-activation
    legends: list[ScaleLegend] = field(default_factory=list)
    #: how the pre-activation is painted, for the script to repaint it without some channels:
    #: ``k`` (block size), ``cells`` ``[h, w]``, the scale's ``ends``, ``flat`` and ``lut`` ``(n·3,)``;
    #: ``output``: the output's ``ends``, ``flat`` and ``lut`` (absent for a linear activation)
    paint: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportModel:
    """Everything the page lays out (see the module's docstring)."""

    title: str
    header: list[tuple[str, str]]
    notes: list[str]
    inputs: list[Picture]
    filters: list[FilterMaps]
    geometry: dict[str, Any]


def header_rows(info: describe.InputInfo, result: LayerResult, padding: object, kernel_source: str,
                semantics: str = "keras", spec: ConvSpec | None = None,
                in_size: tuple[int, ...] = ()) -> list[tuple[str, str]]:
    """The header's rows as ``run``'s header words them: input, layer, kernel, output, params; ``spec`` with
    ``in_size`` (the input's size per axis): a layer of another kind or rank, in its own axes."""
    facts = Header.of(info, result, padding, kernel_source, semantics=semantics, spec=spec, in_size=in_size)
    layer = result.layer
    rows = [("input", " · ".join([info.path, info.description, describe.input_shape_text(info.shape, semantics),
                                  f"channels {describe.channel_list(info.channel_names)}",
                                  f"values {info.value_range}"])),
            ("layer", facts.call.text())]
    activation = f"{layer.x.dtype.name} · activation {result.activation} = {ACTIVATION_FORMULAS[result.activation]}"
    if spec is not None:
        kind = KindTexts.of(spec, facts.out_size)
        return rows + [("kernel", f"{kernel_source} · {kind.kernel}"), ("output", f"{kind.output} · {activation}"),
                       ("params", f"{kind.params}   ({kind.symbols})")]
    ho, wo = layer.geometry.out_hw
    kh, kw, cg, f = (int(v) for v in layer.kernel.shape)
    weights, biases = param_count(layer.kernel.shape, result.use_bias)
    cg_text = f"({cg * layer.groups}/{layer.groups})" if layer.groups > 1 else str(cg)
    params = f"{kh}·{kw}·{cg_text}·{f}" + (f" + {f}" if result.use_bias else "") + f" = {weights + biases:,}"
    params += "   (kh·kw·C/g·F weights" + (" + F biases)" if result.use_bias else ", no bias)")
    return rows + [
        ("kernel", f"{kernel_source} · {describe.kernel_shape_text(layer.kernel.shape, semantics)}"),
        ("output", f"{describe.output_shape_text((ho, wo, layer.filters), semantics)} · {activation}"),
        ("params", params),
    ]


def geometry(result: LayerResult, names: Sequence[str], rank: int = 2, plane: int | None = None) -> dict[str, Any]:
    """What the page's script needs to trace any position as :func:`convcli.engine.trace_position`, and to
    write it as ``run --trace`` takes it: ``rank`` 1 (``I``, the one row's column), 2 (``ROW,COL``) or 3
    (``D,ROW,COL``, ``D`` the output ``plane`` the page shows)."""
    layer = result.layer
    g = layer.geometry
    return {
        "in_hw": list(g.in_hw), "out_hw": list(g.out_hw), "kernel_hw": list(g.kernel_hw),
        "stride": list(g.stride), "dilation": list(g.dilation), "pads": list(g.pads),
        "channels": int(layer.x.shape[2]), "cg": int(layer.cg), "groups": int(layer.groups),
        "filters": int(layer.filters), "activation": result.activation, "use_bias": bool(result.use_bias),
        "dtype": layer.x.dtype.name, "names": list(names), "rank": rank, "plane": plane,
    }


def _legend(label: str, scale: Scale) -> ScaleLegend:
    lo, hi = scale.ends
    return ScaleLegend(label, pictures.gradient(scale), describe.fmt(lo), describe.fmt(hi), scale.clipped)


def _range(lo: float, hi: float) -> str:
    return f"{describe.fmt(float(lo))} … {describe.fmt(float(hi))}"


def input_pictures(result: LayerResult, names: Sequence[str], limit: int) -> list[Picture]:
    """Every input channel, grey on one scale (a picture, not signed values), block means at ``limit``.

    A finite input is reduced in one pass over all its channels (a photo's channels are strided
    views: one at a time would read it three times); its ranges are the engine's statistics.
    """
    x = result.layer.x
    h, w, c = x.shape
    k = block_factor((h, w), limit, limit)
    stats = engine.map_stats(x)  # (C, 3): min, mean, max, NaN ignored
    if k == 1:
        means = [np.asarray(x[:, :, ch], dtype=np.float64) for ch in range(c)]
    elif np.isfinite(stats).all():
        sums = engine.block_sums(x, k, k, np.float64) / engine.block_counts(x.shape, k, k)[:, :, None]
        means = [sums[:, :, ch] for ch in range(c)]
    else:  # a NaN or an infinity: each channel's means skip its NaN
        means = [block_mean(x[:, :, ch], k, k) for ch in range(c)]
    scale = ImageScale.fit(means)
    return [Picture(f"input {names[ch]}", _range(stats[ch, 0], stats[ch, 2]), pictures.map_uri(m, scale),
                    (h, w), m.shape, None) for ch, m in enumerate(means)]


def filter_maps(result: LayerResult, sources: ResultMaps, f: int, names: Sequence[str], limit: int) -> FilterMaps:
    """Filter ``f``'s pictures: every channel's partial map, the pre-activation and (not linear) the output."""
    layer = result.layer
    out_hw = layer.geometry.out_hw
    k = block_factor(out_hw, limit, limit)
    channels = [int(c) for c in selection.group_channels(result, f)]
    parts, _ = sources.partials(f)
    part_values = [p.cells(k) for p in parts]
    pre_source = sources.preactivation(f)
    pre_values = pre_source.cells(k)
    linear = result.activation == "linear"
    out_source = None if linear else sources.output(f)
    out_values = None if out_source is None else out_source.cells(k)
    shared = out_values is not None and FilterSum.of(result, f, names).output_shared  # the one rule of every view
    scale = Scale.of_values([*part_values, pre_values, *([out_values] if shared and out_values is not None else [])])
    legends = [_legend("partial maps, bias, pre-activation" + (", output" if shared else ""), scale)]
    out_scale = scale
    if out_values is not None and not shared:
        out_scale = Scale.of_values([out_values])
        legends.append(_legend("output", out_scale))
    partials = [Picture(f"partial {names[ch]}", _range(*p.value_range()), pictures.map_uri(v, scale), out_hw,
                        v.shape, c) for c, (ch, p, v) in enumerate(zip(channels, parts, part_values, strict=True))]
    bias = float(result.bias[f]) if result.use_bias else None
    pre = Picture("pre-activation = Σ + bias" if bias is not None else "pre-activation = Σ (no bias)",
                  _range(*pre_source.value_range()), pictures.map_uri(pre_values, scale), out_hw, pre_values.shape)
    out = None
    if out_source is not None and out_values is not None:
        out = Picture(f"output = {result.activation}(pre-activation)", _range(*out_source.value_range()),
                      pictures.map_uri(out_values, out_scale), out_hw, out_values.shape)
    lo, hi = scale.ends
    paint: dict[str, Any] = {"k": k, "cells": list(pre_values.shape), "ends": [lo, hi], "flat": scale.flat,
                             "lut": [int(v) for v in scale.lut.ravel()]}
    if out is not None:  # the output's scale, for the script to repaint it too (the pre-activation's when shared)
        olo, ohi = out_scale.ends
        paint["output"] = {"ends": [olo, ohi], "flat": out_scale.flat, "lut": [int(v) for v in out_scale.lut.ravel()]}
    return FilterMaps(f, channels, partials, bias, pictures.hex_colour(bias or 0.0, scale), pre, out, legends, paint)


def report_model(result: LayerResult, info: describe.InputInfo, padding: object, kernel_source: str,
                 filters: Sequence[int], *, semantics: str = "keras", notes: Sequence[str] = (),
                 limit: int | None = None, spec: ConvSpec | None = None, in_size: tuple[int, ...] = (),
                 plane: int | None = None) -> ReportModel:
    """The page's texts and pictures for ``filters`` of ``result`` (computed with ``run_layer(ranges=True)``,
    so that partial maps come from block sums and are never made whole); ``plane``: a 3-D layer's output plane
    shown."""
    layer = result.layer
    names = list(info.channel_names)
    if limit is None:
        limit = SMALL_PANEL_LIMIT if layer.cg > MANY_CHANNELS else PANEL_LIMIT
    sources = ResultMaps(result)
    title = f"convcli report · {info.path}"
    return ReportModel(
        title, header_rows(info, result, padding, kernel_source, semantics, spec, in_size), list(notes),
        input_pictures(result, names, limit if layer.x.shape[2] <= MANY_CHANNELS else SMALL_PANEL_LIMIT),
        [filter_maps(result, sources, f, names, limit) for f in filters],
        geometry(result, names, 2 if spec is None else spec.ndim, plane),
    )
