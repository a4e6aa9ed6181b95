"""The receptive field and effective stride of a stack of layers, per axis (numpy-free).

The receptive field is the span of input pixels one output pixel depends on (padding included,
dilation gaps included), the largest over all output positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import gcd, prod

from convcli.errors import ConfigError
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

    Padding offsets shift every position alike, so they are left out: only the span matters. This
    is the exact definition, position by position; :func:`receptive_field` uses it only when the
    closed forms do not apply and the sets stay small (see :data:`EXACT_BUDGET`).
    """
    positions = {o}
    for spec in reversed(layers):
        k, s, d = spec.kernel[axis], spec.stride[axis], spec.dilation[axis]
        if spec.kind_obj.transposed:
            # input i reaches outputs i·s .. i·s + k - 1 (and an output no input reaches has only the bias)
            positions = {i for p in positions for i in range(-(-(p - k + 1) // s), p // s + 1)}
        else:  # separable: its 1×1 pointwise part adds nothing
            positions = {p * s + t * d for p in positions for t in range(k)}
    return positions


#: The most output positions followed one by one (the period of the transpose strides), and the
#: most position-steps the set-by-set definition may take: beyond them a stack is refused with its
#: numbers rather than computed for minutes.
PERIOD_BUDGET = 1 << 16
EXACT_BUDGET = 1 << 20


def _hull(layers: Sequence[ConvSpec], axis: int, o: int) -> tuple[int, int]:
    """``(min, max)`` of :func:`_inputs_of` in O(layers), exact when every transpose has ``k ≥ s``.

    Each layer, walked back, sends a position to a set whose least and greatest members never
    decrease as the position grows: a conv to ``p·s + t·d`` (``t < k``), a transpose to the ``i``
    with ``i·s ≤ p ≤ i·s + k - 1``, which is never empty when ``k ≥ s``. The least member of the
    union is then the image of the least position, the greatest that of the greatest.
    """
    lo = hi = o
    for spec in reversed(layers):
        k, s, d = spec.kernel[axis], spec.stride[axis], spec.dilation[axis]
        if spec.kind_obj.transposed:
            lo, hi = -(-(lo - k + 1) // s), hi // s
        else:
            lo, hi = lo * s, hi * s + (k - 1) * d
    return lo, hi


def _one_transpose(layers: Sequence[ConvSpec], axis: int, at: int) -> int:
    """The receptive field when ``layers[at]`` is the only transpose, in closed form.

    The layers after it map output ``o`` to ``[o·S, o·S + R]`` (``S`` their stride product, ``R + 1``
    their textbook span); the transpose ``(k, s)`` to ``[⌈(o·S - k + 1)/s⌉, ⌊(o·S + R)/s⌋]``, whose
    width less one is ``⌊(x + R)/s⌋ + ⌊(k - 1 - x)/s⌋`` with ``x = o·S mod s``. ``x`` takes every
    multiple of ``g = gcd(S, s)`` below ``s``; the two floors add to ``⌊(R + k - 1)/s⌋`` exactly when
    ``(x + R) mod s ≤ T = (R + k - 1) mod s``, and the least ``(x + R) mod s`` is ``R mod g``; one
    less otherwise. The layers before it widen that monotonically (``w → w·s + (k - 1)·d``).
    Exact when ``k ≥ s`` (no empty preimage) or when nothing follows the transpose (one position).
    """
    after = layers[at + 1:]
    big_s = prod(spec.stride[axis] for spec in after)
    big_r = _span_conv_only(after, axis) - 1
    k, s = layers[at].kernel[axis], layers[at].stride[axis]
    width = (big_r + k - 1) // s - (0 if big_r % gcd(big_s, s) <= (big_r + k - 1) % s else 1)
    for spec in reversed(layers[:at]):
        width = width * spec.stride[axis] + (span(spec.kernel[axis], spec.dilation[axis]) - 1)
    return width + 1


def _exact_span(layers: Sequence[ConvSpec], axis: int) -> int:
    """The widest span over one period of outputs: closed form, else bounded position-by-position."""
    transposes = [i for i, spec in enumerate(layers) if spec.kind_obj.transposed]
    gapless = all(layers[i].kernel[axis] >= layers[i].stride[axis] for i in transposes)
    if len(transposes) == 1 and (gapless or transposes[0] == len(layers) - 1):
        return _one_transpose(layers, axis, transposes[0])
    period = prod(layers[i].stride[axis] for i in transposes)
    if gapless and period <= PERIOD_BUDGET:
        return max(hi - lo + 1 for lo, hi in (_hull(layers, axis, o) for o in range(period)))
    steps = period * prod(spec.kernel[axis] for spec in layers)
    if steps > EXACT_BUDGET:
        why = "" if gapless else " and a kernel narrower than its stride leaves gaps"
        raise ConfigError(
            f"the receptive field of these transpose layers is not computed: their strides multiply to {period}"
            f"{why}, which would take about {steps} steps (at most {EXACT_BUDGET})", field="stack")
    largest = 0
    for o in range(period):
        inputs = _inputs_of(layers, axis, o)
        if inputs:
            largest = max(largest, max(inputs) - min(inputs) + 1)
    return largest


def receptive_field(layers: Sequence[ConvSpec]) -> tuple[int, ...]:
    """The receptive field ``(rows, cols)`` of one output pixel of the last of ``layers``.

    For conv-like layers this is the textbook recursion ``r += (k_eff - 1)·jump``. A transpose
    layer spreads its inputs ``s`` apart, so the inputs an output depends on vary with its position
    (and can have gaps); they repeat with a period that divides the product of the transpose
    strides, and the widest span over that period is returned: in closed form for one transpose,
    from each position's ``(min, max)`` for several (:func:`_hull`), and by following the sets
    themselves only when a kernel narrower than its stride leaves gaps (bounded, see
    :data:`EXACT_BUDGET`).
    """
    result = []
    for axis in _axes(layers):
        if all(not spec.kind_obj.transposed for spec in layers):
            result.append(_span_conv_only(layers, axis))
        else:
            result.append(_exact_span(layers, axis))
    return tuple(result)


def effective_stride(layers: Sequence[ConvSpec]) -> tuple[Fraction, ...]:
    """Input pixels between neighbouring output pixels of the last layer (a fraction after transposes)."""
    out = []
    for axis in _axes(layers):
        j = Fraction(1)
        for spec in layers:
            j = j / spec.stride[axis] if spec.kind_obj.transposed else j * spec.stride[axis]
        out.append(j)
    return tuple(out)
