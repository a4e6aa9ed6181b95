"""Where a kernel reads its input, written once per axis (numpy-free).

One axis of length ``n`` read by a kernel of size ``k`` with stride ``s`` and dilation ``d``:
the kernel spans ``(k - 1)·d + 1`` positions (:func:`span`), the padding adds ``(before, after)``
zeros (:func:`axis_pads`, :func:`same_pads_1d`), and the output has
``(n + before + after - span) // s + 1`` positions (:func:`out_size_1d`). A transposed layer's
output length is :func:`transpose_out_1d`.

:class:`Geometry` applies those to every axis of a layer (1, 2 or 3 of them) in one constructor,
:meth:`Geometry.build`; :func:`pad_amounts`, :func:`conv_geometry` and :func:`output_shape` take
2-D settings as spelt (an int or an ``(h, w)`` pair) and build on it.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import TypeVar

from convcli.errors import FIELD, ConfigError, ShapeError

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]
#: Padding as spelt: "valid", "same" (Keras/TensorFlow), an int or an (h, w) pair of zeros.
PaddingSpec = str | int | Sequence[int]

#: The largest size, step or padding of one axis (2³¹ - 1): numpy's shapes and indices are bounded
#: where Python's ints are not, so nothing larger reaches an array.
MAX_SIZE = 2**31 - 1

#: What the positions along each axis are called, by the number of spatial axes.
AXIS_NAMES = {1: ("positions",), 2: ("rows", "columns"), 3: ("planes", "rows", "columns")}


# ------------------------------------------------------------------------------------------------
# One axis


def span(k: int, d: int) -> int:
    """How many input rows (or columns) a kernel of size ``k`` with dilation ``d`` covers."""
    return (k - 1) * d + 1


def same_pads_1d(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """Keras/TensorFlow 'same' padding along one axis of length ``n``: ``(before, after)``.

    ``out = ceil(n / s)``; ``total = max((out - 1)·s + (k - 1)·d + 1 - n, 0)``; the odd extra
    row or column goes after (bottom/right).
    """
    out = -(-n // s)
    total = max((out - 1) * s + span(k, d) - n, 0)
    return total // 2, total - total // 2


def axis_pads(n: int, k: int, s: int, d: int, padding: str | int) -> tuple[int, int]:
    """The zeros ``(before, after)`` that ``padding`` (``"valid"``, ``"same"``, ``"causal"`` or a
    symmetric count, already checked) adds to one axis of length ``n``. ``causal`` is Keras' Conv1D
    rule: ``(k - 1)·d`` zeros before, none after, so that output ``i`` reads no input after ``i``."""
    if isinstance(padding, str):
        if padding == "causal":
            return span(k, d) - 1, 0
        return same_pads_1d(n, k, s, d) if padding == "same" else (0, 0)
    return padding, padding


def out_size_1d(n: int, k: int, s: int, d: int, pads: tuple[int, int] = (0, 0), *,
                kernel: Sequence[int] | None = None, axis: str = "rows") -> int:
    """Output length of one axis of length ``n`` padded with ``pads (before, after)``.

    :class:`ShapeError` when the kernel spans more than the padded input; its message names the
    whole ``kernel`` (all axes, default ``(k,)``) and this ``axis`` ("rows", "columns", ...).
    """
    covered, padded = span(k, d), n + pads[0] + pads[1]
    if covered > padded:
        dil = f" with dilation {d}" if d > 1 else ""
        shape = "×".join(str(v) for v in (kernel if kernel is not None else (k,)))
        raise ShapeError(f"kernel {shape}{dil} spans {covered} {axis} but the padded input has {padded}")
    return (padded - covered) // s + 1


def transpose_out_1d(n: int, k: int, s: int, padding: str | int, *, d: int = 1,
                     output_padding: int | None = None) -> int:
    """A transposed layer's output length for input length ``n`` (:func:`transpose_crop_1d`'s rules).

    With ``K = (k - 1)·d + 1`` and ``op`` the output padding:

    - Keras 3 ``valid``: ``(n - 1)·s + K + op``; without ``op``, ``(n - 1)·s + max(K, s)``;
    - Keras 3 ``same``: ``(n - 1)·s + K mod 2 + op``; without ``op``, ``n·s``;
    - PyTorch ``padding=P``: ``(n - 1)·s - 2·P + K + op`` (``op`` 0 when not given).
    """
    before, after = transpose_crop_1d(n, k, s, d, padding, output_padding)
    return (n - 1) * s + span(k, d) - before - after


def transpose_crop_1d(n: int, k: int, s: int, d: int, padding: str | int,
                      output_padding: int | None = None) -> tuple[int, int]:
    """What a transposed layer cuts ``(before, after)`` from its *full* output along one axis.

    The full output is every place a kernel copy lands: input position ``i`` spreads its value
    times tap ``t`` onto ``i·s + t·d``, ``(n - 1)·s + K`` positions (``K = (k - 1)·d + 1``). The
    layer's output position ``o`` is full position ``o + before``; a negative cut adds zeros (a
    full position outside ``[0, (n - 1)·s + K)`` receives nothing).

    - PyTorch ``padding=P``, ``output_padding=op``: ``(P, P - op)``.
    - Keras 3 ``valid``: ``(0, -op)``, ``op`` defaulting to ``max(K, s) - K``.
    - Keras 3 ``same``: the total padding ``p = s + K - 2`` (``K + K mod 2 - 2 + op`` when ``op`` is
      given) is split as ``left = min(⌈p / 2⌉, K - 1)``, ``right = p - left``; the cuts are
      ``(K - 1 - left, K - 1 - right)`` (Keras' ``compute_conv_transpose_output_crops_for_torch``,
      the same window its JAX and TensorFlow backends compute).
    """
    big_k = span(k, d)
    if not isinstance(padding, str):
        op = 0 if output_padding is None else output_padding
        return padding, padding - op
    if padding == "valid":
        op = max(big_k, s) - big_k if output_padding is None else output_padding
        return 0, -op
    total = s + big_k - 2 if output_padding is None else big_k + big_k % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, big_k - 1)
    return big_k - 1 - left, big_k - 1 - (total - left)


def check_size(size: Sequence[int]) -> tuple[int, ...]:
    """``size`` as ints; :class:`ShapeError` unless every axis has at least one position."""
    dims = tuple(int(v) for v in size)
    if min(dims) < 1:
        if len(dims) == 2:
            raise ShapeError(f"the input is {dims[0]}×{dims[1]}; it needs at least one row and one column")
        raise ShapeError(f"the input is {'×'.join(map(str, dims))}; it needs at least one position per axis")
    if max(dims) > MAX_SIZE:
        raise ShapeError(f"the input is {'×'.join(map(str, dims))}; an axis may have at most {MAX_SIZE} positions")
    return dims


# ------------------------------------------------------------------------------------------------
# N axes


def _whole(v: object) -> bool:
    # numbers.Integral covers int and numpy's integer types without importing numpy; bool is not a size
    return isinstance(v, Integral) and not isinstance(v, bool)


def as_pair(value: int | Sequence[int], field: str, *, minimum: int = 1, name: str | None = None) -> Pair:
    """``value`` as an ``(h, w)`` pair of ints ≥ ``minimum``; an int is used for both axes.

    Errors are :class:`ConfigError` with ``field``; their message names the setting as ``name``
    (default: the field itself, worded by the caller).
    """
    what = FIELD if name is None else name
    if _whole(value):
        pair: tuple[int, ...] = (operator.index(value), operator.index(value))  # type: ignore[arg-type]
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        if not all(_whole(v) for v in value):
            raise ConfigError(f"{what} must be whole numbers, got {tuple(value)!r}", field=field)
        pair = (operator.index(value[0]), operator.index(value[1]))
    else:
        raise ConfigError(f"{what} must be an int or an (h, w) pair, got {value!r}", field=field)
    if min(pair) < minimum:
        shown = pair if pair[0] != pair[1] else pair[0]
        raise ConfigError(f"{what} must be ≥ {minimum}, got {shown}", field=field)
    if max(pair) > MAX_SIZE:
        shown = pair if pair[0] != pair[1] else pair[0]
        raise ConfigError(f"{what} must be ≤ {MAX_SIZE}, got {shown}", field=field)
    return pair[0], pair[1]


@dataclass(frozen=True)
class Geometry:
    """Where a layer's kernel reads its input, per spatial axis (1, 2 or 3 of them).

    ``in_size``, ``kernel``, ``strides``, ``dilations`` and ``out_size`` hold one entry per axis;
    ``pad_width`` the zeros ``((before, after), ...)`` per axis (numpy's ``np.pad`` layout, without
    the channel axis). Built by :meth:`build` (from a spec: :meth:`convcli.layer.spec.ConvSpec.geometry`).

    The 2-D views ``in_hw``, ``kernel_hw``, ``stride``, ``dilation``, ``out_hw`` (pairs) and ``pads``
    ``(top, bottom, left, right)`` serve the engine's 2-D fast paths; they raise ``ValueError`` on a
    geometry of another rank.
    """

    in_size: tuple[int, ...]
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pad_width: tuple[tuple[int, int], ...]
    out_size: tuple[int, ...]

    @classmethod
    def build(cls, in_size: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
              dilations: Sequence[int], padding: Sequence[str | int]) -> Geometry:
        """The geometry of checked settings (one per axis; ``padding`` per axis ``"valid"``, ``"same"``
        or a symmetric count) on an input of ``in_size``: :class:`ShapeError` for an empty input or
        output (naming the first axis that has none)."""
        size = check_size(in_size)
        kernel_t = tuple(kernel)
        names = AXIS_NAMES.get(len(size), ("positions",) * len(size))
        pad_width = tuple(axis_pads(n, kernel_t[a], strides[a], dilations[a], padding[a]) for a, n in enumerate(size))
        out = tuple(out_size_1d(n, kernel_t[a], strides[a], dilations[a], pad_width[a], kernel=kernel_t, axis=names[a])
                    for a, n in enumerate(size))
        return cls(size, kernel_t, tuple(strides), tuple(dilations), pad_width, out)

    @property
    def ndim(self) -> int:
        return len(self.in_size)

    @property
    def in_hw(self) -> Pair:
        return _hw(self.in_size)

    @property
    def kernel_hw(self) -> Pair:
        return _hw(self.kernel)

    @property
    def stride(self) -> Pair:
        return _hw(self.strides)

    @property
    def dilation(self) -> Pair:
        return _hw(self.dilations)

    @property
    def pads(self) -> Pads:
        """``(top, bottom, left, right)``, the 2-D view of :attr:`pad_width`."""
        (top, bottom), (left, right) = _hw(self.pad_width)
        return top, bottom, left, right

    @property
    def out_hw(self) -> Pair:
        return _hw(self.out_size)

    @property
    def padding_name(self) -> str:
        return "none" if not any(b or a for b, a in self.pad_width) else "zeros"


_T = TypeVar("_T")


def _hw(values: tuple[_T, ...]) -> tuple[_T, _T]:
    # the engine's 2-D paths read (h, w) views: a 1-D or 3-D geometry has none
    if len(values) != 2:
        raise ValueError(f"a {len(values)}-D geometry has no (h, w) view")
    return values[0], values[1]


def _spelt_pads(padding: PaddingSpec) -> tuple[str | int, str | int]:
    """The per-axis padding of a spelt ``padding``, checked."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode in ("valid", "same"):
            return mode, mode
        raise ConfigError(f"{FIELD} must be 'valid', 'same', an int or an (h, w) pair, got {padding!r}",
                          field="padding")
    return as_pair(padding, "padding", minimum=0)


def pad_amounts(
    in_hw: Sequence[int],
    kernel_hw: Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: PaddingSpec = "valid",
    dilation: int | Sequence[int] = 1,
) -> Pads:
    """The concrete zero padding ``(top, bottom, left, right)`` that ``padding`` means here.

    ``padding`` is ``"valid"`` (none), ``"same"`` (Keras/TensorFlow rule, see
    :func:`same_pads_1d`), an int, or an ``(h, w)`` pair (symmetric, PyTorch style).
    """
    sh, sw = as_pair(stride, "stride")
    dh, dw = as_pair(dilation, "dilation")
    kh, kw = as_pair(tuple(kernel_hw), "kernel_size", name="kernel size")
    h, w = int(in_hw[0]), int(in_hw[1])
    ph, pw = _spelt_pads(padding)
    return (*axis_pads(h, kh, sh, dh, ph), *axis_pads(w, kw, sw, dw, pw))


def conv_geometry(
    in_hw: Sequence[int],
    kernel_hw: Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: PaddingSpec = "valid",
    dilation: int | Sequence[int] = 1,
) -> Geometry:
    """Everything about where the kernel reads; raises :class:`ShapeError` for an empty output."""
    stride_p = as_pair(stride, "stride")
    dil_p = as_pair(dilation, "dilation")
    kernel_p = as_pair(tuple(kernel_hw), "kernel_size", name="kernel size")
    size = check_size((in_hw[0], in_hw[1]))
    return Geometry.build(size, kernel_p, stride_p, dil_p, _spelt_pads(padding))


def output_shape(
    in_hw: Sequence[int],
    kernel_hw: Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: PaddingSpec = "valid",
    dilation: int | Sequence[int] = 1,
) -> Pair:
    """Output size ``(H', W')`` of a conv layer on an ``(H, W)`` input."""
    return conv_geometry(in_hw, kernel_hw, stride=stride, padding=padding, dilation=dilation).out_hw


@dataclass(frozen=True)
class TransposeGeometry:
    """Where a transposed layer's kernel copies land, per spatial axis (1, 2 or 3 of them).

    Input position ``i`` of an axis spreads ``x[i]·w[t]`` onto full position ``i·s + t·d``; the
    output is the full output cut by ``crops ((before, after), ...)`` per axis
    (:func:`transpose_crop_1d`): output ``o`` is full position ``o + before``. ``out_size`` is
    :func:`transpose_out_1d` per axis.
    """

    in_size: tuple[int, ...]
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    crops: tuple[tuple[int, int], ...]
    out_size: tuple[int, ...]

    @classmethod
    def build(cls, in_size: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
              dilations: Sequence[int], padding: Sequence[str | int],
              output_padding: Sequence[int | None] | None = None) -> TransposeGeometry:
        """The geometry of settings given one per axis: ``padding`` ``"valid"``/``"same"`` (Keras) or
        PyTorch's count ``P``; ``output_padding`` per axis (``None``: the framework's default).

        :class:`ConfigError` (field ``output_padding``) for an output padding not smaller than the
        stride (Keras' padding) or than both stride and dilation (PyTorch's), or negative;
        :class:`ShapeError` for an empty output."""
        size = check_size(in_size)
        n = len(size)
        ops: tuple[int | None, ...] = (None,) * n if output_padding is None else tuple(output_padding)
        for a in range(n):
            check_output_padding(ops[a], strides[a], dilations[a], padding[a])
        crops = tuple(transpose_crop_1d(size[a], kernel[a], strides[a], dilations[a], padding[a], ops[a])
                      for a in range(n))
        out = tuple((size[a] - 1) * strides[a] + span(kernel[a], dilations[a]) - crops[a][0] - crops[a][1]
                    for a in range(n))
        if min(out) < 1:
            names = AXIS_NAMES.get(n, ("positions",) * n)
            a = min(range(n), key=lambda i: out[i])
            raise ShapeError(f"the transposed output has {out[a]} {names[a]}: padding {padding[a]} cuts away "
                             f"all {(size[a] - 1) * strides[a] + span(kernel[a], dilations[a])} it spreads")
        return cls(size, tuple(kernel), tuple(strides), tuple(dilations), crops, out)

    @property
    def ndim(self) -> int:
        return len(self.in_size)


def check_output_padding(op: int | None, s: int, d: int, padding: str | int) -> None:
    """A transposed axis' output padding: ≥ 0 and smaller than the stride (Keras' ``valid``/``same``)
    or than the stride or the dilation (PyTorch's count); :class:`ConfigError` (field ``output_padding``)."""
    if op is None:
        return
    if op < 0:
        raise ConfigError(f"the output padding must be ≥ 0, got {op}", field="output_padding")
    if isinstance(padding, str):
        if op >= s:
            raise ConfigError(f"the output padding must be smaller than the stride (Keras), got {op} "
                              f"with stride {s}", field="output_padding")
    elif op >= max(s, d):
        raise ConfigError(f"the output padding must be smaller than the stride or the dilation (PyTorch), "
                          f"got {op} with stride {s} and dilation {d}", field="output_padding")
