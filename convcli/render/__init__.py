"""Results -> rich renderables, one module per screen; nothing here prints.

:mod:`~convcli.render.numbers` (grids, flows, styles, a wrapping call), :mod:`~convcli.render.run`,
:mod:`~convcli.render.trace`, :mod:`~convcli.render.params`, :mod:`~convcli.render.stack`,
:mod:`~convcli.render.verify`, :mod:`~convcli.render.explain`. The texts and the JSON they share
with every other view are in :mod:`convcli.present`.
"""

# TEMPORARY shim for the merge: below, everything `convcli.render` (then one module) offered, so that
# `from convcli import render; render.fmt(...)` keeps working until its callers import the new modules.

from __future__ import annotations

from convcli.engine import LayerResult
from convcli.layer.spec import ConvSpec
from convcli.present import describe as _describe
from convcli.present.describe import (
    InputInfo,
    channel_list,
    fmt,
    input_shape_text,
    kernel_shape_text,
    number_format,
    output_shape_text,
    padding_text,
    pair_text,
    shape_text,
    share_text,
    square_text,
    stride_text,
    value_range,
)
from convcli.present.describe import index_range as _range_text
from convcli.present.schema import _json_number, _nested, _num, params_json, result_json, stack_json
from convcli.present.selection import (
    DEFAULT_DETAIL_FILTERS,
    MAX_CHANNELS_SHOWN,
    TOP_CHANNELS,
    group_channels,
    shown_channels,
)
from convcli.render.numbers import (
    GRID_BOX,
    LABEL,
    NEGATIVE,
    OPERATOR,
    POSITIVE,
    Call,
    Flow,
    _style,
    joined,
    key_values,
    number_grid,
)
from convcli.render.params import _times, compare_rows, count_line, param_formula, params_panel, terms_formula
from convcli.render.run import filter_panel, header, summary_table
from convcli.render.stack import SHORT_KINDS, StackTable, stack_table, stack_totals
from convcli.render.trace import trace_panel


def layer_call(result: LayerResult, padding: object) -> Call:
    """TEMPORARY: ``Call.of(describe.keras_call(result, padding))``."""
    return Call.of(_describe.keras_call(result, padding))


def torch_call(result: LayerResult, padding: object) -> Call:
    """TEMPORARY: ``Call.of(describe.torch_call(result, padding))``."""
    return Call.of(_describe.torch_call(result, padding))


def spec_call(spec: ConvSpec) -> Call:
    """TEMPORARY: ``Call.of(describe.spec_call(spec))``."""
    return Call.of(_describe.spec_call(spec))


__all__ = [
    "DEFAULT_DETAIL_FILTERS", "GRID_BOX", "LABEL", "MAX_CHANNELS_SHOWN", "NEGATIVE", "OPERATOR", "POSITIVE",
    "SHORT_KINDS", "TOP_CHANNELS", "Call", "Flow", "InputInfo", "StackTable", "_json_number", "_nested", "_num",
    "_range_text", "_style", "_times", "channel_list", "compare_rows", "count_line", "filter_panel", "fmt", "header",
    "group_channels", "input_shape_text", "joined", "kernel_shape_text", "key_values", "layer_call",
    "number_format", "number_grid", "output_shape_text", "padding_text", "pair_text", "param_formula",
    "params_json", "params_panel", "result_json", "shape_text", "share_text", "shown_channels", "spec_call",
    "square_text", "stack_json", "stack_table", "stack_totals", "stride_text", "summary_table", "terms_formula",
    "torch_call", "trace_panel", "value_range",
]
