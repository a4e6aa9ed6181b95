"""Where on the model's input one output position of a deep layer looks: its receptive field as a
rectangle of input pixels (numpy-free).

Walked back from the layer along the graph (:func:`convcli.layer.model.analyse` gives each layer's
input shape and concrete pads): a window ``(k, s, d)`` with ``p`` zeros before maps output rows
``lo … hi`` to input rows ``lo·s − p … hi·s − p + (k − 1)·d``; a padding layer shifts them by its
pads; a layer that keeps every position where it is (batch norm, an activation, a rescaling) leaves
them; a merge (add, concatenate) takes the hull of its inputs' rectangles. Rows and columns outside
``0 … H−1`` are the zeros of padding: :meth:`Field.clipped` gives the part on the image. A layer the
walk cannot place (a transpose, a resize, a flatten or global pooling) gives ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from convcli.layer import others
from convcli.layer.kinds import KIND_OBJECTS, is_conv_kind
from convcli.layer.listing import ModelLayer
from convcli.layer.model import Analysis, LayerNumbers

Span = tuple[int, int]  # first and last index, both included


@dataclass(frozen=True)
class Window:
    """A sliding window along 2 axes: ``kernel``, ``stride``, ``dilation`` and the zeros ``before``
    the first row and column (top, left)."""

    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    before: tuple[int, int] = (0, 0)

    def back(self, rows: Span, cols: Span) -> tuple[Span, Span]:
        """The input rows and columns that output ``rows`` × ``cols`` read."""
        out = []
        for a, (lo, hi) in enumerate((rows, cols)):
            k, s, d, p = self.kernel[a], self.stride[a], self.dilation[a], self.before[a]
            out.append((lo * s - p, hi * s - p + (k - 1) * d))
        return out[0], out[1]


@dataclass(frozen=True)
class Field:
    """Input ``rows`` × ``cols`` (first, last; may reach past the image into padding) one output
    position reads, on an input of ``hw`` pixels."""

    rows: Span
    cols: Span
    hw: tuple[int, int]

    @property
    def size(self) -> tuple[int, int]:
        return self.rows[1] - self.rows[0] + 1, self.cols[1] - self.cols[0] + 1

    def clipped(self) -> tuple[Span, Span]:
        """The rows and columns of the field on the image (the rest is padding)."""
        (r0, r1), (c0, c1) = self.rows, self.cols
        h, w = self.hw
        return (max(0, r0), min(h - 1, r1)), (max(0, c0), min(w - 1, c1))


class _Lost(Exception):
    """The walk met a layer it cannot place."""


def _pair(values: Sequence[int] | None, default: int) -> tuple[int, int]:
    if values is None:
        return default, default
    return int(values[0]), int(values[-1]) if len(values) > 1 else int(values[0])


def _window(numbers: LayerNumbers) -> Window | None:
    """The layer's window (None: every position stays where it is); :class:`_Lost` where it moves them
    in a way no window says."""
    layer, pads = numbers.layer, numbers.pads or (0, 0, 0, 0)
    shape_in, shape_out = numbers.in_shape, numbers.out_shape
    if shape_in is None or shape_out is None or len(shape_in) != 3 or len(shape_out) != 3:
        raise _Lost(layer.name)
    if is_conv_kind(layer.kind):
        if KIND_OBJECTS[layer.kind].transposed or layer.kernel is None:
            raise _Lost(layer.name)
        return Window(_pair(layer.kernel, 1), _pair(layer.strides, 1), _pair(layer.dilation, 1), (pads[0], pads[2]))
    _, _, _, window, whole = others.flow(layer, shape_in)
    if whole:
        raise _Lost(layer.name)
    if window is not None:
        kernel, strides = window
        return Window(_pair(kernel, 1), _pair(strides, 1), (1, 1), (pads[0], pads[2]))
    if any(pads):
        return Window((1, 1), (1, 1), (1, 1), (pads[0], pads[2]))
    if shape_in[:2] != shape_out[:2]:  # a resize, a crop: positions move without a window
        raise _Lost(layer.name)
    return None


def _inbound(analysis: Analysis, index: int) -> list[int]:
    layer = analysis.layers[index].layer
    if layer.inbound is None:
        return [index - 1] if index > 0 else []
    where = {n.layer.name: i for i, n in enumerate(analysis.layers)}
    return [where[name] for name in layer.inbound if name in where]


def _starts(layer: ModelLayer) -> bool:
    return not is_conv_kind(layer.kind) and others.other_kind(layer.kind).starts


def _walk(analysis: Analysis, index: int, rows: Span, cols: Span) -> tuple[Span, Span]:
    """Layer ``index``'s input rows and columns that its output ``rows`` × ``cols`` read, back to the model's input."""
    numbers = analysis.layers[index]
    if _starts(numbers.layer):
        return rows, cols
    window = _window(numbers)
    if window is not None:
        rows, cols = window.back(rows, cols)
    sources = _inbound(analysis, index)
    if not sources:
        return rows, cols
    spans = [_walk(analysis, i, rows, cols) for i in sources]
    return ((min(s[0][0] for s in spans), max(s[0][1] for s in spans)),
            (min(s[1][0] for s in spans), max(s[1][1] for s in spans)))


def field_at(analysis: Analysis, name: str, at: tuple[int, int], last: Window | None = None) -> Field | None:
    """The receptive field of layer ``name``'s output position ``at`` (row, col) on the model's input
    (``analysis`` made with its input size); ``last``: the layer's own window as run (its options may
    override the file's), else the file's. ``None`` where the walk meets a layer it cannot place."""
    if analysis.input_size is None:
        raise ValueError("the analysis needs the input size")
    index = next((i for i, n in enumerate(analysis.layers) if n.layer.name == name), None)
    if index is None:
        raise ValueError(f"no layer {name!r}")
    rows, cols = (at[0], at[0]), (at[1], at[1])
    try:
        window = last if last is not None else _window(analysis.layers[index])
        if window is not None:
            rows, cols = window.back(rows, cols)
        sources = _inbound(analysis, index)
        spans = [_walk(analysis, i, rows, cols) for i in sources] or [(rows, cols)]
    except _Lost:
        return None
    return Field((min(s[0][0] for s in spans), max(s[0][1] for s in spans)),
                 (min(s[1][0] for s in spans), max(s[1][1] for s in spans)),
                 (analysis.input_size[0], analysis.input_size[1]))
