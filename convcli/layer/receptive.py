"""The receptive field and effective stride of a stack of layers, per axis (numpy-free).

The receptive field is the span of input pixels one output pixel depends on (padding included,
dilation gaps included), the largest over all output positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import prod

from convcli.layer.geometry import span
from convcli.layer.spec import ConvSpec


def _axes(layers: Sequence[ConvSpec]) -> range:
    return range(layers[0].ndim if layers else 2)


def _span_conv_only(layers: Sequence[ConvSpec], axis: int) -> int:
    """The textbook recursion ``r += (k_eff - 1)·jump``, exact when no layer is a transpose."""
    r, jump = 1, 1
    for spec in layers:
        r += (span(spec.kernel[axis], spec.dilation[axis]) - 1) * jump
        jump *= spec.stride[axis]
    return r


def _inputs_of(layers: Sequence[ConvSpec], axis: int, o: int) -> set[int]:
    """The input rows (axis 0) or cols (axis 1) that output ``o`` of the last layer depends on.

    Padding offsets shift every position alike, so they are left out: only the span matters.
    """
    positions = {o}
    for spec in reversed(layers):
        k, s, d = spec.kernel[axis], spec.stride[axis], spec.dilation[axis]
        if spec.kind == "transpose":
            # input i reaches outputs i·s .. i·s + k - 1 (and an output no input reaches has only the bias)
            positions = {i for p in positions for i in range(-(-(p - k + 1) // s), p // s + 1)}
        else:  # separable: its 1×1 pointwise part adds nothing
            positions = {p * s + t * d for p in positions for t in range(k)}
    return positions


def receptive_field(layers: Sequence[ConvSpec]) -> tuple[int, ...]:
    """The receptive field ``(rows, cols)`` of one output pixel of the last of ``layers``.

    For conv-like layers this is the textbook recursion ``r += (k_eff - 1)·jump``. A transpose
    layer spreads its inputs ``s`` apart, so the inputs an output depends on vary with its position
    (and can have gaps); they repeat with a period that divides the product of the transpose
    strides, so those positions are followed exactly and the widest span is returned.
    """
    result = []
    for axis in _axes(layers):
        if all(spec.kind != "transpose" for spec in layers):
            result.append(_span_conv_only(layers, axis))
            continue
        period = prod(spec.stride[axis] for spec in layers if spec.kind == "transpose")
        largest = 0
        for o in range(period):
            inputs = _inputs_of(layers, axis, o)
            if inputs:
                largest = max(largest, max(inputs) - min(inputs) + 1)
        result.append(largest)
    return tuple(result)


def effective_stride(layers: Sequence[ConvSpec]) -> tuple[Fraction, ...]:
    """Input pixels between neighbouring output pixels of the last layer (a fraction after transposes)."""
    out = []
    for axis in _axes(layers):
        j = Fraction(1)
        for spec in layers:
            j = j / spec.stride[axis] if spec.kind == "transpose" else j * spec.stride[axis]
        out.append(j)
    return tuple(out)
