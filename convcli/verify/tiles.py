"""A :class:`~convcli.verify.problem.Problem` cut into bands of output rows, each a problem of its own.

A framework fed a band of input rows (with the halo its outputs read) computes those outputs
exactly, under its own padding rules, provided the band's pads are the whole image's: numeric and
'valid' pads never depend on the size, and 'same' pads depend on it only modulo the stride, so a
band starts on a multiple of the stride and has as many rows as the image modulo the stride.
Each band's outputs that read only its own rows (or the image's true edges) are kept. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from convcli.engine import Layer
from convcli.errors import ConvcliError
from convcli.layer.geometry import conv_geometry
from convcli.verify.problem import Problem

#: Output values (rows × W' × F) per band: a few tens of MB in float64 for the comparison.
TILE_VALUES = 1 << 22


@dataclass(frozen=True)
class Band:
    """Output rows ``[r0, r1)`` of the whole layer, computed as rows ``[i0, i0 + r1 - r0)`` of ``problem``."""

    r0: int
    r1: int
    i0: int
    problem: Problem


def bands(problem: Problem, tile_values: int | None = None) -> list[Band]:
    """``problem`` as bands of at most ``tile_values`` (default :data:`TILE_VALUES`) output values;
    one band, the problem itself, when it is that small or cannot be cut with the same pads."""
    layer, g = problem.layer, problem.layer.geometry
    ho, wo = g.out_hw
    per = max(1, (tile_values or TILE_VALUES) // max(1, wo * layer.filters))
    whole = [Band(0, ho, 0, problem)]
    if per >= ho:
        return whole
    h = layer.x.shape[0]
    kh, _ = g.kernel_hw
    sh, dh = g.stride[0], g.dilation[0]
    top = g.pads[0]
    reach = (kh - 1) * dh + 1
    out = []
    for r0 in range(0, ho, per):
        r1 = min(r0 + per, ho)
        a = max(0, r0 * sh - top) // sh * sh  # on the stride, so that band output i is row i + a / sh
        e = min(h, (r1 - 1) * sh - top + reach)
        e = min(h, e + (h - e) % sh)  # as many rows as the image, modulo the stride: the same 'same' pads
        try:
            sub = conv_geometry((e - a, layer.x.shape[1]), g.kernel_hw, stride=g.stride, padding=problem.padding,
                                dilation=g.dilation)
        except (ValueError, ConvcliError):
            return whole
        i0 = r0 - a // sh
        if sub.pads != g.pads or sub.out_hw[1] != wo or sub.out_hw[0] < i0 + r1 - r0:
            return whole  # never expected; the whole problem is always right
        band_layer = Layer(layer.x[a:e], layer.kernel, layer.groups, sub)
        out.append(Band(r0, r1, i0, replace(problem, layer=band_layer, banded=True)))
    return out
