"""What a conv layer COMPUTES: its numbers for one input, numpy only.

Everything here is **cross-correlation** (the kernel is not flipped), which is what Keras,
TensorFlow and PyTorch compute and call convolution.

Layouts are channels-last, as in Keras:

- ``x``: ``(H, W, C)``, the input image with ``C`` channels;
- ``kernel``: ``(kh, kw, C // groups, F)``, ``F`` filters of ``kh × kw × C // groups`` weights;
- ``bias``: ``(F,)``;
- results: ``(H', W', F)``; partial sums ``(H', W', C // groups, F)``.

For output position ``(i, j)`` and filter ``f`` in group ``g`` (``Cg = C // groups`` input
channels per group, ``s`` stride, ``d`` dilation, ``x`` zero-padded)::

    out[i, j, f] = bias[f] + Σ_c Σ_u Σ_v x[i·s + u·d, j·s + v·d, g·Cg + c] · kernel[u, v, c, f]

Modules: :mod:`.bind` (a spec or settings bound to arrays: :class:`Layer`), :mod:`.conv`
(``conv2d``, partial sums, a window's partials, a traced position), :mod:`.passes` (the pass
``convcli run`` makes), :mod:`.tiles` (blocks of rows and the thread pool), :mod:`.blocks` (block
sums), :mod:`.extremes` (block extremes of partial maps), :mod:`.stats`, :mod:`.activations`, :mod:`.fast` (the tiled fast paths), :mod:`.general`
(any rank, 1-D and 3-D layers included: one einsum over windows). The geometry is
:mod:`convcli.layer.geometry`'s, re-exported here. This package prints nothing, touches no file
and never exits.
"""

from __future__ import annotations

from convcli.engine.activations import ACTIVATION_FORMULAS, ACTIVATIONS, activate
from convcli.engine.bind import (
    Layer,
    bind,
    check_bias,
    one_row,
    param_count,
    prepare,
    resolve_dtype,
    with_padding_mode,
)
from convcli.engine.blocks import (
    block_counts,
    block_edges,
    block_sums,
    column_reduce,
    partial_block_means,
    tap_block_sums,
)
from convcli.engine.conv import (
    Trace,
    channels_map,
    conv2d,
    filter_partials,
    input_region,
    layer_partials,
    partial_sums,
    trace_position,
)
from convcli.engine.extremes import band_extremes, partial_block_extremes
from convcli.engine.general import depth_slice, layer_output, layer_partials_nd, run_general
from convcli.engine.passes import (
    LayerResult,
    PassResult,
    fuses_conv,
    mean_abs_partials,
    padded_region,
    partial_pass,
    run_bytes,
    run_layer,
)
from convcli.engine.stats import finite_maps, map_stats
from convcli.errors import ShapeError
from convcli.layer.geometry import (
    Geometry,
    PaddingSpec,
    Pads,
    Pair,
    as_pair,
    conv_geometry,
    output_shape,
    pad_amounts,
    same_pads_1d,
    span,
)

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_FORMULAS",
    "Geometry",
    "Layer",
    "LayerResult",
    "PaddingSpec",
    "Pads",
    "Pair",
    "PassResult",
    "ShapeError",
    "Trace",
    "activate",
    "as_pair",
    "band_extremes",
    "bind",
    "block_counts",
    "block_edges",
    "block_sums",
    "channels_map",
    "check_bias",
    "column_reduce",
    "conv2d",
    "conv_geometry",
    "depth_slice",
    "filter_partials",
    "finite_maps",
    "fuses_conv",
    "input_region",
    "layer_output",
    "layer_partials",
    "layer_partials_nd",
    "map_stats",
    "mean_abs_partials",
    "one_row",
    "output_shape",
    "pad_amounts",
    "padded_region",
    "param_count",
    "partial_block_extremes",
    "partial_block_means",
    "partial_pass",
    "partial_sums",
    "prepare",
    "resolve_dtype",
    "run_bytes",
    "run_general",
    "run_layer",
    "same_pads_1d",
    "span",
    "tap_block_sums",
    "trace_position",
    "with_padding_mode",
]
