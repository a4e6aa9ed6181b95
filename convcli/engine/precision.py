"""What a GPU computes in reduced precision, emulated on the CPU: TF32, bfloat16, float16. numpy only.

A GPU in TF32, bfloat16 or float16 mode rounds the float32 input and weights to the format (round
to nearest, ties to even), multiplies them exactly (two mantissas of ≤ 11 bits make ≤ 22 bits,
which float32 holds), adds the products in float32 (cuDNN's and oneDNN's default; some kernels add
in float16), adds the bias and stores the output in the format. :func:`emulate` does the same with
numpy; :mod:`convcli.engine.precision_errors` says, channel by channel, where the difference from
float64 comes from.

Layouts as in :mod:`convcli.engine`: ``x (H, W, C)``, ``kernel (kh, kw, C // groups, F)``,
``bias (F,)``, results ``(H', W', F)``.

TF32 and bfloat16 are rounded by integer operations on float32's bits, in cache-sized chunks;
float16 by numpy's own cast. ``ml_dtypes`` (the tests' oracle for bfloat16, equal value for value)
was measured the slower choice: 0.16-0.26 s against 0.12-0.13 s for a 12 MP RGB photo (36 M
values) on the 2-core development machine (``benchmarks/bench_precision.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from convcli.engine.activations import activate
from convcli.engine.bind import Layer, check_bias, prepare
from convcli.engine.conv import input_region
from convcli.engine.precision_sums import accumulate_fp16, accumulate_fp32
from convcli.errors import ConfigError
from convcli.layer.geometry import PaddingSpec

#: Activations whose result is in the format whenever their input is: no second rounding.
KEEPS_FORMAT = frozenset({"linear", "relu", "relu6"})

def _float32(a: np.ndarray) -> np.ndarray:
    # a framework hands the GPU a float32 tensor: wider data is first cast to float32, as it does
    return np.asarray(a, dtype=np.float32)


def _round_fp64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _round_fp32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


#: Values rounded per chunk (4 MiB): a chunk and its temporaries stay in the CPU's cache; 36 M
#: values round to TF32 in 0.05-0.09 s this way against 0.7-0.8 s in whole-array steps.
CHUNK = 1 << 20


def _chunked(a: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``fn`` (element-wise, float32 to float32) over float32 ``a`` chunk by chunk: same shape."""
    a = np.ascontiguousarray(_float32(a))
    out = np.empty_like(a)
    flat_in, flat_out = a.reshape(-1), out.reshape(-1)
    for i in range(0, flat_in.size, CHUNK):
        flat_out[i : i + CHUNK] = fn(flat_in[i : i + CHUNK])
    return out


def _mantissa_bits(a: np.ndarray, drop: int) -> np.ndarray:
    u = a.view(np.uint32)
    # adding half a place less one, plus the kept last bit, carries into the kept bits exactly when
    # the dropped ones are above half, or at half with an odd last bit: round to nearest even
    r = u >> np.uint32(drop)
    r &= np.uint32(1)
    r += np.uint32((1 << (drop - 1)) - 1)
    r += u
    r &= np.uint32((0xFFFFFFFF << drop) & 0xFFFFFFFF)
    rounded = r.view(np.float32)
    nan = np.isnan(a)
    if nan.any():  # a NaN's mantissa may carry into the sign or round to zero bits (inf): keep it
        rounded[nan] = a[nan]
    return rounded


def round_mantissa(a: np.ndarray, bits: int) -> np.ndarray:
    """float32 ``a`` (any shape) rounded to ``bits`` explicit mantissa bits (≤ 23), ties to even,
    float32's exponent range kept: TF32 is ``bits=10``, bfloat16 ``bits=7``. NaN stays NaN; a value
    past the format's largest finite one becomes ±inf, as round to nearest says."""
    drop = 23 - bits
    if drop <= 0:
        return _float32(a).copy()
    return _chunked(a, lambda c: _mantissa_bits(c, drop))


def _round_tf32(a: np.ndarray) -> np.ndarray:
    return round_mantissa(a, 10)


def _round_bf16(a: np.ndarray) -> np.ndarray:
    return round_mantissa(a, 7)


def _round_fp16(a: np.ndarray) -> np.ndarray:
    # numpy's float32 -> float16 cast rounds to nearest even, keeps subnormals and overflows to ±inf
    with np.errstate(over="ignore"):
        return _chunked(a, lambda c: c.astype(np.float16).astype(np.float32))


@dataclass(frozen=True)
class Format:
    """A floating-point format: ``mantissa_bits`` explicit bits, ``eps = 2^-mantissa_bits`` (the
    gap above 1), ``max_finite``; ``storage`` the format a GPU writes this mode's outputs in (TF32
    is a compute mode: its outputs are float32)."""

    name: str
    title: str
    mantissa_bits: int
    max_finite: float
    storage: str
    rounding: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)

    @property
    def eps(self) -> float:
        return 2.0 ** -self.mantissa_bits

    @property
    def unit_roundoff(self) -> float:
        """Half of ``eps``: the largest relative error of one rounding to nearest."""
        return self.eps / 2

    def round(self, a: np.ndarray) -> np.ndarray:
        """``a`` (any shape) rounded to this format, held in float32 (float64 for ``fp64``); ``a``
        itself when it is already that array (float32 for ``fp32``): never write to the result."""
        return self.rounding(np.asarray(a))


FORMATS: dict[str, Format] = {
    "fp64": Format("fp64", "float64", 52, float(np.finfo(np.float64).max), "fp64", _round_fp64),
    "fp32": Format("fp32", "float32", 23, float(np.finfo(np.float32).max), "fp32", _round_fp32),
    "tf32": Format("tf32", "TF32", 10, (2 - 2.0 ** -10) * 2.0 ** 127, "fp32", _round_tf32),
    "bf16": Format("bf16", "bfloat16", 7, (2 - 2.0 ** -7) * 2.0 ** 127, "bf16", _round_bf16),
    "fp16": Format("fp16", "float16", 10, 65504.0, "fp16", _round_fp16),
}
PRECISIONS = tuple(FORMATS)
#: The adders a kernel may use for the products: float32 (cuDNN's, oneDNN's default) or float16.
ACCUMULATIONS = ("fp32", "fp16")


def get_format(name: str) -> Format:
    """The :class:`Format` called ``name`` (:data:`PRECISIONS`); :class:`ConfigError` otherwise."""
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"{{field}} must be one of {', '.join(PRECISIONS)}, got {name!r}",
                          field="precision") from None


def round_to(a: np.ndarray, precision: str) -> np.ndarray:
    """``a`` (any shape) rounded to the format ``precision``: float32 (float64 for ``fp64``)."""
    return get_format(precision).round(a)


def check_accumulate(precision: str, accumulate: str | None) -> str:
    """The adder for ``precision``: ``accumulate`` checked, or the default (fp32; fp64 for fp64)."""
    fmt = get_format(precision)
    if fmt.name == "fp64":
        if accumulate not in (None, "fp64"):
            raise ConfigError(f"{{field}} {accumulate} with precision fp64: float64 adds in float64",
                              field="accumulate")
        return "fp64"
    if accumulate is None:
        return "fp32"
    if accumulate not in ACCUMULATIONS:
        raise ConfigError(f"{{field}} must be one of {', '.join(ACCUMULATIONS)}, got {accumulate!r}",
                          field="accumulate")
    if accumulate == "fp16" and fmt.name not in ("fp16", "bf16"):
        raise ConfigError(f"{{field}} fp16 with precision {fmt.name}: no kernel adds {fmt.title} products "
                          "in float16; use fp16 or bf16 inputs, or fp32 accumulation", field="accumulate")
    return accumulate


@dataclass(frozen=True)
class Overflow:
    """``count`` values of ``what`` (input, kernel, bias, output) past the format's range, now
    ±inf; ``first`` the index of the first one."""

    what: str
    count: int
    first: tuple[int, ...]
    precision: str

    @property
    def message(self) -> str:
        fmt = FORMATS[self.precision]
        where = ", ".join(str(i) for i in self.first)
        return (f"{self.count} {self.what} value{'s' if self.count != 1 else ''} overflow {fmt.title} "
                f"(largest {fmt.max_finite:g}) and become ±inf; the first at ({where})")


def _overflow(what: str, before: np.ndarray, after: np.ndarray, precision: str) -> Overflow | None:
    inf = np.isinf(after)
    if not inf.any():  # the common case, in two cheap passes
        return None
    new = inf & np.isfinite(before)
    count = int(np.count_nonzero(new))
    if not count:
        return None
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(new)), new.shape))
    return Overflow(what, count, first, precision)


@dataclass(frozen=True)
class Emulation:
    """One conv layer computed as a GPU does in ``precision``, with what it started from.

    ``source`` is the layer on the unrounded arrays (as given), :attr:`rounded` the same layer on the
    inputs and weights rounded to the format (``rounded_kernel`` held, the input rounded where it is
    read: :meth:`rounded_region`); ``bias (F,)`` the bias in the storage format,
    ``source_bias (F,)`` as given. ``accumulated (H', W', F)`` is the sum of products and bias in
    the adder's precision; :attr:`preactivation` ``(H', W', F)`` is that sum stored in the format,
    :attr:`output` ``(H', W', F)`` the activation of it, stored again. ``warnings`` are the overflows.

    Only ``accumulated`` is held: the stored and activated results follow from it value by value, so
    they are made on demand, for output rows at a time (:meth:`stored`, :meth:`activated`) or whole
    (the two properties, kept once made). A 12 MP photo's emulation holds 0.2 GB less per result, and
    0.14 GB less for not holding the rounded input.
    """

    precision: str
    accumulate: str
    activation: str
    source: Layer
    rounded_kernel: np.ndarray
    source_bias: np.ndarray
    bias: np.ndarray
    accumulated: np.ndarray
    warnings: tuple[Overflow, ...]

    @property
    def format(self) -> Format:
        return FORMATS[self.precision]

    @cached_property
    def rounded(self) -> Layer:
        """The layer on the rounded input and kernel, the input rounded whole (made on first use and kept:
        ``--save`` and ``explain`` ask for it; the passes round only the regions they read)."""
        with np.errstate(over="ignore"):
            x = self.format.round(self.source.x)
        return Layer(x, self.rounded_kernel, self.source.groups, self.source.geometry)

    def rounded_region(self, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
        """The rounded, zero-padded input that output rows ``[r0, r1)`` × cols ``[c0, c1)`` read:
        ``(h, w, C)``, equal to :func:`convcli.engine.conv.input_region` of :attr:`rounded` (rounding is
        value by value, and a zero stays zero)."""
        kept = self.__dict__.get("rounded")
        if kept is not None:
            out: np.ndarray = input_region(kept, rows, cols)
            return out
        with np.errstate(over="ignore"):
            return self.format.round(input_region(self.source, rows, cols))

    def stored(self, rows: tuple[int, int] | None = None) -> np.ndarray:
        """The sum stored in the format for output rows ``[r0, r1)`` (all by default): ``(h, W', F)``
        float32 (float64 for fp64). Never write to it: it may be :attr:`accumulated` itself."""
        kept: np.ndarray | None = self.__dict__.get("preactivation")
        if kept is not None:
            return kept if rows is None else kept[rows[0] : rows[1]]
        acc = self.accumulated if rows is None else self.accumulated[rows[0] : rows[1]]
        with np.errstate(over="ignore"):
            return FORMATS[self.format.storage].round(acc)

    def activated(self, rows: tuple[int, int] | None = None) -> np.ndarray:
        """The activation of :meth:`stored`, stored again unless the activation keeps the format:
        ``(h, W', F)`` for output rows ``[r0, r1)`` (all by default)."""
        kept: np.ndarray | None = self.__dict__.get("output")
        if kept is not None:
            return kept if rows is None else kept[rows[0] : rows[1]]
        with np.errstate(over="ignore"):
            out = activate(self.stored(rows), self.activation)
            return out if self.activation in KEEPS_FORMAT else FORMATS[self.format.storage].round(out)

    @cached_property
    def preactivation(self) -> np.ndarray:
        """The whole stored sum ``(H', W', F)`` (:meth:`stored`), made on first use and kept."""
        return self.stored()

    @cached_property
    def output(self) -> np.ndarray:
        """The whole output ``(H', W', F)`` (:meth:`activated`), made on first use and kept."""
        return self.activated()


def _rows_overflow(what: str, before: np.ndarray, form: Format, precision: str, *,
                   adder: bool = False) -> Overflow | None:
    """:func:`_overflow` of ``before (H, ...)`` rounded to ``form``, in blocks of rows (none made whole).
    A block whose every |value| is within the format's largest finite one cannot overflow: it is not
    rounded (the common case: one comparison pass). ``adder``: count the values of ``before`` (a
    float16 adder's sums) that are ±inf already, the adder having overflowed."""
    step = max(1, CHUNK // max(1, before[0].size))
    count, first = 0, None
    for r0 in range(0, before.shape[0], step):
        part = before[r0 : r0 + step]
        with np.errstate(invalid="ignore"):
            if not part.size or np.abs(part).max() <= form.max_finite:  # NaN compares False: rounded
                continue
        with np.errstate(over="ignore"):
            found = (_overflow(what, np.zeros(part.shape, np.float32), form.round(part), precision) if adder
                     else _overflow(what, part, form.round(part), precision))
        if found is not None:
            count += found.count
            first = first or (found.first[0] + r0, *found.first[1:])
    return None if first is None else Overflow(what, count, first, precision)


def emulate(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | Sequence[float] | float | None = None,
    activation: str = "linear",
    precision: str = "bf16",
    accumulate: str | None = None,
    *,
    stride: int | Sequence[int] = 1,
    padding: PaddingSpec = "valid",
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Emulation:
    """The layer ``x (H, W, C)`` ∗ ``kernel (kh, kw, C // groups, F)`` + ``bias (F,)`` in ``precision``.

    ``x``, ``kernel`` are cast to float32 (what a framework hands the GPU), then rounded to the
    format; the bias is rounded to the storage format (TF32 leaves it float32). ``accumulate``:

    - ``"fp32"`` (default): the float32 sum of :func:`convcli.engine.conv2d` on the rounded arrays,
      bias added in float32, each product exact. The order is the engine's (tap by tap, BLAS's
      blocked order over channels); a kernel that adds the same ``n = kh·kw·C/groups`` products in
      another order differs by at most ``2·γ(n)·Σ|x·w|`` before the output rounding, with
      ``γ(n) = n·u/(1 - n·u)`` and ``u = 2⁻²⁴``, and by at most one more rounding of each result to
      the storage format (``u_fmt·(|a| + |b|)``) after it;
    - ``"fp16"``: :func:`accumulate_fp16` (fp16 and bf16 inputs only).

    ``fp64`` is the float64 layer itself. Stride, padding, dilation, groups as :func:`convcli.engine.prepare`.
    """
    fmt = get_format(precision)
    acc = check_accumulate(precision, accumulate)
    settings = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    checked = prepare(x, kernel, dtype=np.float64 if fmt.name == "fp64" else np.float32, **settings)  # type: ignore[arg-type]
    source = Layer(np.asarray(x), np.asarray(kernel), checked.groups, checked.geometry)
    store = FORMATS[fmt.storage]
    source_bias = check_bias(bias, checked.filters, np.dtype(np.float64))
    with np.errstate(over="ignore"):
        kr, br = fmt.round(checked.kernel), store.round(source_bias)
    # the input is rounded where it is read, never whole (:func:`accumulate_fp32`): 4 bytes a value less
    warnings = [_rows_overflow("input", checked.x, fmt, precision),
                *(_overflow(what, before, after, precision) for what, before, after in
                  (("kernel", checked.kernel, kr), ("bias", source_bias, br)))]
    given = Layer(checked.x, kr, checked.groups, checked.geometry)  # the input as given, the kernel rounded
    with np.errstate(over="ignore"):
        if acc == "fp16":
            accumulated = accumulate_fp16(given, br, fmt.round)
        else:
            accumulated = accumulate_fp32(given, br, fmt.round)
    em = Emulation(fmt.name, acc, activation, source, kr, source_bias, br, accumulated, ())
    warnings.append(_rows_overflow("output", accumulated, store, precision))
    if acc == "fp16" and not any(warnings):  # the adder itself overflowed: its sum is ±inf already
        warnings.append(_rows_overflow("output", accumulated, store, precision, adder=True))
    return replace(em, warnings=tuple(w for w in warnings if w is not None))
