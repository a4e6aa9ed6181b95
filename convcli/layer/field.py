"""Where on the model's input one output position of a deep layer looks: its receptive field as a
rectangle of input pixels (numpy-free).

Walked back from the layer along the graph (:func:`convcli.layer.model.analyse` gives each layer's
input shape and concrete pads), one axis at a time: the set of positions each layer's output
positions read, exactly.

- A window ``(k, s, d)`` with ``p`` zeros before: output ``o`` reads ``o·s − p + t·d``, ``t < k``.
- A transposed layer (it cuts ``p`` from its full output, :func:`~convcli.layer.geometry.transpose_crop_1d`):
  output ``o`` reads each input ``i`` with ``i·s − p + t·d = o`` for some tap ``t``.
- An upsampling or resize from ``n`` to ``m`` positions (half-pixel centres, as Keras' backends and
  PyTorch): nearest reads ``⌊(o + ½)·n/m⌋`` (``⌊o/s⌋`` for a whole factor ``s``); bilinear the two
  neighbours of ``x = (o + ½)·n/m − ½``, clamped to the input (one where ``x`` is whole); another
  interpolation (bicubic, lanczos, an antialiased shrink) is only bounded: every position its kernel
  may reach, which a zero weight may leave unread (:attr:`Field.bounded` says so).
- A padding layer shifts positions by its pads; a layer that keeps every position where it is
  (batch norm, an activation, a rescaling) leaves them; a merge (add, concatenate) takes the union
  of its inputs' fields (a rectangle when one contains the others, else bounded).

Positions outside a layer's output are the zeros the next layer pads with: they read nothing (a
layer that keeps positions passes them on). Rows and columns outside ``0 … H−1`` of the model's
input are then the padding of the first layers that move positions:
:meth:`Field.clipped` gives the part on the image. A layer the walk cannot place (a crop or resize
it does not know, a flatten or global pooling) gives ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import floor

from convcli.errors import ShapeError
from convcli.layer import others
from convcli.layer.geometry import transpose_crop_1d
from convcli.layer.kinds import KIND_OBJECTS, is_conv_kind
from convcli.layer.listing import ModelLayer
from convcli.layer.model import Analysis, LayerNumbers

Span = tuple[int, int]  # first and last index, both included
Axis = frozenset[int]  # the positions along one axis


@dataclass(frozen=True)
class Window:
    """A sliding window along 2 axes: ``kernel``, ``stride``, ``dilation`` and the zeros ``before``
    the first row and column (top, left)."""

    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    before: tuple[int, int] = (0, 0)

    def back(self, rows: Span, cols: Span) -> tuple[Span, Span]:
        """The first and last input rows and columns that output ``rows`` × ``cols`` read."""
        out = []
        for a, (lo, hi) in enumerate((rows, cols)):
            k, s, d, p = self.kernel[a], self.stride[a], self.dilation[a], self.before[a]
            out.append((lo * s - p, hi * s - p + (k - 1) * d))
        return out[0], out[1]

    def reads(self, a: int, outs: Iterable[int]) -> Axis:
        """The input positions along axis ``a`` that output positions ``outs`` read."""
        k, s, d, p = self.kernel[a], self.stride[a], self.dilation[a], self.before[a]
        return frozenset(o * s - p + t * d for o in outs for t in range(k))


@dataclass(frozen=True)
class Spread:
    """A transposed layer along 2 axes: input ``i`` lands on output ``i·s − p + t·d`` (``t < k``;
    ``p``: what it cuts before), on an input of ``size``."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    before: tuple[int, int]
    size: tuple[int, int]

    def reads(self, a: int, outs: Iterable[int]) -> Axis:
        k, s, d, p, n = self.kernel[a], self.stride[a], self.dilation[a], self.before[a], self.size[a]
        found = set()
        for o in outs:
            for t in range(k):
                i, rest = divmod(o + p - t * d, s)
                if rest == 0 and 0 <= i < n:
                    found.add(i)
        return frozenset(found)


#: how far, in input positions, each interpolation's kernel reaches from the sample point
REACH = {"bilinear": 1, "bicubic": 2, "lanczos3": 3, "lanczos5": 5}


@dataclass(frozen=True)
class Resample:
    """An upsampling or resize from ``size`` to ``out`` positions per axis, by ``interpolation``
    (half-pixel centres, as Keras' backends and PyTorch's ``nearest-exact``; ``+antialias``: the kernel
    widened by the shrink factor); ``exact`` False where its reads are only bounded."""

    size: tuple[int, int]
    out: tuple[int, int]
    interpolation: str = "nearest"

    @property
    def exact(self) -> bool:
        mode, _, antialias = self.interpolation.partition("+")
        shrinks = any(n > m for n, m in zip(self.size, self.out, strict=True))
        return mode == "nearest" or mode == "bilinear" and not (antialias and shrinks)

    def reads(self, a: int, outs: Iterable[int]) -> Axis:
        n, m = self.size[a], self.out[a]
        mode, _, antialias = self.interpolation.partition("+")
        found: set[int] = set()
        if mode == "nearest":  # ⌊(o + ½)·n/m⌋: Keras' repeat for a whole factor, its resize otherwise
            return frozenset(min(n - 1, (2 * o + 1) * n // (2 * m)) for o in outs)
        widen = Fraction(n, m) if antialias and n > m else Fraction(1)
        radius = REACH.get(mode, 5) * widen
        for o in outs:
            x = Fraction(2 * o + 1, 2) * n / m - Fraction(1, 2)  # the sample point, in input positions
            if mode == "bilinear" and not (antialias and n > m):
                near = {floor(x)} if x == floor(x) else {floor(x), floor(x) + 1}  # a whole x: one neighbour
            else:  # every position the kernel may reach: a bound (a zero weight may leave some unread)
                near = set(range(floor(x - radius), floor(x + radius) + 2))
            found.update(min(n - 1, max(0, i)) for i in near)
        return frozenset(found)


Step = Window | Spread | Resample


@dataclass(frozen=True)
class Field:
    """Input ``rows`` × ``cols`` (first, last; may reach past the image into padding) one output
    position reads, on an input of ``hw`` pixels.

    ``reads``: the rows and the columns it reads (None: not known exactly, see ``bounded``); rows
    or columns of the rectangle outside them (a dilated or strided window's gaps) are not read.
    ``bounded``: the layers whose reads are only bounded (the rectangle holds every pixel read, and
    maybe some that are not)."""

    rows: Span
    cols: Span
    hw: tuple[int, int]
    reads: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    bounded: tuple[str, ...] = ()

    @classmethod
    def of(cls, rows: Axis, cols: Axis, hw: tuple[int, int], bounded: Sequence[str] = ()) -> Field:
        return cls((min(rows), max(rows)), (min(cols), max(cols)), hw,
                   None if bounded else (tuple(sorted(rows)), tuple(sorted(cols))), tuple(bounded))

    @property
    def size(self) -> tuple[int, int]:
        return self.rows[1] - self.rows[0] + 1, self.cols[1] - self.cols[0] + 1

    def clipped(self) -> tuple[Span, Span]:
        """The rows and columns of the field on the image (the rest is padding)."""
        (r0, r1), (c0, c1) = self.rows, self.cols
        h, w = self.hw
        return (max(0, r0), min(h - 1, r1)), (max(0, c0), min(w - 1, c1))

    @property
    def exact(self) -> bool:
        """Whether every pixel of the rectangle on the image is read (no gaps, nothing only bounded)."""
        if self.reads is None:
            return not self.bounded
        (r0, r1), (c0, c1) = self.clipped()
        rows, cols = (set(self.reads[0]), set(self.reads[1]))
        return rows >= set(range(r0, r1 + 1)) and cols >= set(range(c0, c1 + 1))


class _Lost(Exception):
    """The walk met a layer it cannot place."""


def _pair(values: Sequence[int] | None, default: int) -> tuple[int, int]:
    if values is None:
        return default, default
    return int(values[0]), int(values[-1]) if len(values) > 1 else int(values[0])


def _spread(numbers: LayerNumbers) -> Spread:
    """A transposed layer's step: what it cuts before, by its padding as Keras or PyTorch spell it."""
    layer, spec, shape_in = numbers.layer, numbers.spec, numbers.in_shape
    assert shape_in is not None
    k, s, d = _pair(layer.kernel, 1), _pair(layer.strides, 1), _pair(layer.dilation, 1)
    if layer.pads is not None:  # ONNX's explicit pads: PyTorch's P before
        before = (layer.pads[0], layer.pads[2])
    elif spec is not None and len(spec.kernel) == 2:
        ops = spec.output_padding or (None, None)
        before = tuple(transpose_crop_1d(shape_in[a], k[a], s[a], d[a], spec.padding if isinstance(spec.padding, str)
                                         else spec.padding[a], ops[a])[0] for a in range(2))  # type: ignore[assignment]
    else:
        raise _Lost(layer.name)
    return Spread(k, s, d, (before[0], before[1]), (shape_in[0], shape_in[1]))


def _step(numbers: LayerNumbers) -> Step | None:
    """The layer's step back (None: every position stays where it is); :class:`_Lost` where it moves them
    in a way no step says."""
    layer, pads = numbers.layer, numbers.pads or (0, 0, 0, 0)
    shape_in, shape_out = numbers.in_shape, numbers.out_shape
    if shape_in is None or shape_out is None or len(shape_in) != 3 or len(shape_out) != 3:
        raise _Lost(layer.name)
    if is_conv_kind(layer.kind):
        if layer.kernel is None:
            raise _Lost(layer.name)
        if KIND_OBJECTS[layer.kind].transposed:
            return _spread(numbers)
        return Window(_pair(layer.kernel, 1), _pair(layer.strides, 1), _pair(layer.dilation, 1), (pads[0], pads[2]))
    kind = others.other_kind(layer.kind)
    try:
        _, _, _, window, whole = kind.flow(layer, shape_in)
    except ShapeError:  # a layer only the framework's shape inference knows (an ONNX Resize, say)
        raise _Lost(layer.name) from None
    if whole:
        raise _Lost(layer.name)
    if kind.resamples:  # an upsampling, a resize: each output reads the input it repeats or blends
        return Resample((shape_in[0], shape_in[1]), (shape_out[0], shape_out[1]), layer.interpolation or "nearest")
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


#: the rows, the columns, and the names of the layers that only bound them
Reach = tuple[Axis, Axis, tuple[str, ...]]


def _back(step: Step | None, reach: Reach, name: str) -> Reach:
    rows, cols, bounded = reach
    if step is None:
        return reach
    if isinstance(step, Resample) and not step.exact:
        bounded = (*bounded, name)
    return step.reads(0, rows), step.reads(1, cols), bounded


def _union(reaches: Sequence[Reach], name: str) -> Reach:
    """A merge's inputs' fields: their union, a rectangle's when one holds every other."""
    rows = frozenset().union(*(r[0] for r in reaches))
    cols = frozenset().union(*(r[1] for r in reaches))
    bounded = tuple(dict.fromkeys(b for r in reaches for b in r[2]))
    if not any(r[0] == rows and r[1] == cols for r in reaches):
        bounded = (*bounded, name)  # an L of two rectangles: the rectangle bounds it
    return rows, cols, bounded


def _walk(analysis: Analysis, index: int, reach: Reach) -> Reach:
    """Layer ``index``'s input positions that its output positions ``reach`` read, back to the model's input."""
    numbers = analysis.layers[index]
    if _starts(numbers.layer):
        return reach
    step, out = _step(numbers), numbers.out_shape
    if step is not None and out is not None:  # past its output: the next layer's padding, which reads nothing
        reach = (frozenset(r for r in reach[0] if 0 <= r < out[0]), frozenset(c for c in reach[1] if 0 <= c < out[1]),
                 reach[2])
        if not reach[0] or not reach[1]:
            return reach
    return _sources(analysis, index, _back(step, reach, numbers.layer.name))


def _sources(analysis: Analysis, index: int, reach: Reach) -> Reach:
    sources = _inbound(analysis, index)
    if not sources:
        return reach
    reaches = [r for r in (_walk(analysis, i, reach) for i in sources) if r[0] and r[1]]
    if not reaches:
        return reach
    return reaches[0] if len(reaches) == 1 else _union(reaches, analysis.layers[index].layer.name)


def field_at(analysis: Analysis, name: str, at: tuple[int, int], last: Step | None = None) -> Field | None:
    """The receptive field of layer ``name``'s output position ``at`` (row, col) on the model's input
    (``analysis`` made with its input size); ``last``: the layer's own step as run (a window, a transposed
    layer's spread: its options may override the file's), else the file's. ``None`` where the walk meets
    a layer it cannot place, or the position reads no input (a transposed output no copy reaches)."""
    if analysis.input_size is None:
        raise ValueError("the analysis needs the input size")
    index = next((i for i, n in enumerate(analysis.layers) if n.layer.name == name), None)
    if index is None:
        raise ValueError(f"no layer {name!r}")
    reach: Reach = (frozenset((at[0],)), frozenset((at[1],)), ())
    try:
        step = last if last is not None else _step(analysis.layers[index])
        rows, cols, bounded = _sources(analysis, index, _back(step, reach, name))
    except _Lost:
        return None
    if not rows or not cols:
        return None
    return Field.of(rows, cols, (analysis.input_size[0], analysis.input_size[1]), bounded)
