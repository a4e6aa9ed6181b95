"""The sums of an emulated layer: its products added by the adder a GPU uses, on the input rounded
block by block where it is read (never held whole). numpy only; see :mod:`convcli.engine.precision`.

Layouts as in :mod:`convcli.engine`: ``layer.x (H, W, C)`` as given, ``layer.kernel (kh, kw, C // groups,
F)`` already rounded, ``bias (F,)``, results ``(H', W', F)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convcli.engine.bind import Layer, check_bias
from convcli.engine.conv import conv_region, input_region
from convcli.layer.geometry import conv_geometry

#: Output values per block of :func:`accumulate_fp16` (a block's float64 sum stays in the CPU's cache).
CHUNK = 1 << 20


def _fp16_block(layer: Layer, rows: tuple[int, int], bias: np.ndarray, out: np.ndarray,
                round_input: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
    """:func:`accumulate_fp16` for output rows ``[r0, r1)``, written into ``out (r1 - r0, W', F)``."""
    g = layer.geometry
    (sh, sw), (dh, dw), (kh, kw) = g.stride, g.dilation, g.kernel_hw
    ho, wo = rows[1] - rows[0], g.out_hw[1]
    region = input_region(layer, rows, (0, wo))
    if round_input is not None:
        region = round_input(region)
    cg, f = layer.cg, layer.filters
    first = (np.arange(f) // (f // layer.groups)) * cg  # the first input channel each filter reads
    acc = np.zeros((ho, wo, f), dtype=np.float64)
    for u in range(kh):
        for v in range(kw):
            view = region[u * dh : u * dh + (ho - 1) * sh + 1 : sh, v * dw : v * dw + (wo - 1) * sw + 1 : sw]
            for c in range(cg):
                acc += view[..., first + c] * layer.kernel[u, v, c]
                acc[...] = acc.astype(np.float16)
    acc += bias
    out[...] = acc.astype(np.float16)


def accumulate_fp16(layer: Layer, bias: np.ndarray,
                    round_input: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """The layer's sum in float16: ``(H', W', F)`` float32 holding float16 values.

    Tap by tap ``(u, v)``, channel by channel inside a tap, each ``acc + x·w`` is rounded to
    float16 (the product is exact in float32, the sum exact enough in float64 that one rounding to
    float16 is correct); the bias is the last add. Past 65504 a sum becomes ±inf and stays.
    ``round_input``: applied to each block's input region (the layer's input as given, its kernel
    rounded), so the rounded input is never made whole.
    Computed in blocks of output rows that stay in the CPU's cache.
    """
    ho, wo = layer.geometry.out_hw
    out = np.empty((ho, wo, layer.filters), dtype=np.float32)
    step = max(1, (CHUNK // 8) // max(1, wo * layer.filters))
    with np.errstate(over="ignore", invalid="ignore"):
        for r0 in range(0, ho, step):
            r1 = min(ho, r0 + step)
            _fp16_block(layer, (r0, r1), bias, out[r0:r1], round_input)
    return out


#: Input values per block of :func:`accumulate_fp32` (32 MiB of float32 rounded at a time).
BLOCK_VALUES = 1 << 23


def accumulate_fp32(layer: Layer, bias: np.ndarray, round_input: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The layer's sum in float32 (float64 for fp64) on its input rounded by ``round_input`` block by
    block: ``(H', W', F)``, the engine's :func:`~convcli.engine.conv.conv_region` of each block's rounded
    input region (``layer.kernel`` already rounded), ``bias (F,)`` added. Equal, value for value, to
    the convolution of the whole rounded input (the blocks are output rows: each sum is the same
    products added in the same order), without holding that input."""
    g = layer.geometry
    (ho, wo), c = g.out_hw, int(layer.x.shape[2])
    out: np.ndarray | None = None
    step = max(1, BLOCK_VALUES // max(1, wo * c * g.stride[0] * g.stride[1]))
    for r0 in range(0, ho, step):
        r1 = min(ho, r0 + step)
        region = round_input(input_region(layer, (r0, r1), (0, wo)))
        sub = Layer(region, layer.kernel.astype(region.dtype, copy=False), layer.groups,
                    conv_geometry(region.shape[:2], g.kernel_hw, stride=g.stride, padding="valid", dilation=g.dilation))
        if out is None:
            out = np.empty((ho, wo, layer.filters), dtype=region.dtype)
        out[r0:r1] = conv_region(sub, (0, r1 - r0), (0, wo), bias=check_bias(bias, layer.filters, region.dtype))
    assert out is not None
    return out
