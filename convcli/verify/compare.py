"""Two computations of the same layer, side by side: how far apart they are, and whether that is rounding.

Rounding in a sum of ``n`` products is bounded by about ``n·ε·Σ|x·w|`` (``ε`` the dtype's machine
epsilon, ``Σ|x·w|`` the sum of the absolute values of the terms), whatever order the terms are
added in. Two implementations may each be off by that much, so the tolerance of one output value is

    |a − e| ≤ 4·n·ε·S + ε·max(S)        S = Σ|x·w| + |bias| at that output position

(the ``ε·max(S)`` term forgives one unit of noise on outputs whose terms are all zero). A wrong
permutation, a pad on the wrong side or a flipped kernel moves values by a good fraction of ``S``,
orders of magnitude above this.

numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from convcli import engine

#: Safety factor over the ``n·ε`` rounding bound (both sides round, and summation orders differ).
FACTOR = 4


@dataclass(frozen=True)
class Comparison:
    """``actual`` against ``expected``: the largest differences and the verdict.

    ``max_abs`` is ``max |a − e|``; ``max_rel`` is ``max |a − e| / S`` over outputs with ``S > 0``,
    the difference relative to the size of the terms summed (``S = Σ|x·w| + |bias|``);
    ``rtol`` the allowed ``|a − e| / S``. ``ok`` is the verdict; ``problem`` says why not.
    """

    max_abs: float
    max_rel: float
    rtol: float
    ok: bool
    problem: str = ""


def magnitude(layer: engine.Layer, bias: np.ndarray) -> np.ndarray:
    """``S (H', W', F)``: at each output, the sum of the absolute values of its terms, an upper bound.

    ``S`` only scales the tolerance, so it need not be exact, only never smaller than the true sum:
    a float32 (or narrower) layer whose products stay in float32's normal range (:func:`_float32_safe`)
    gets it in float32, raised by its own worst rounding (``2·n·ε₃₂``), at half the cost; any other
    layer in float64.
    """
    g = layer.geometry
    top, bottom, left, right = g.pads
    ax, aw, ab = np.abs(layer.x), np.abs(layer.kernel), np.abs(bias)
    dt = np.float32 if layer.x.dtype.itemsize <= 4 and _float32_safe(ax, aw, ab, terms(layer)) else np.float64
    x = np.pad(ax.astype(dt, copy=False), ((top, bottom), (left, right), (0, 0)))
    s = engine.conv2d(x, aw.astype(dt), ab.astype(dt), stride=g.stride, dilation=g.dilation, groups=layer.groups,
                      dtype=dt)
    if dt == np.float32:
        s *= np.float32(1 + 2 * terms(layer) * float(np.finfo(np.float32).eps))
    return s


#: ``S`` is taken in float32 when every term ``|x·w|`` lies in ``[SAFE_LOW, SAFE_HIGH / n]``:
#: normal float32 numbers with their 24 bits (no subnormal loss) and a sum far from overflow.
SAFE_LOW, SAFE_HIGH = 1e-30, 1e30


def _float32_safe(x: np.ndarray, w: np.ndarray, bias: np.ndarray, n: int) -> bool:
    """Whether ``S`` of ``n``-term sums of ``|x|``·``|w|`` (plus ``|bias|``), all absolute values of
    a floating layer, can be summed in float32 without overflow or underflow."""
    if not np.issubdtype(x.dtype, np.floating) or not (np.isfinite(x).all() and np.isfinite(w).all()
                                                       and np.isfinite(bias).all()):
        return False
    x_max, w_max = float(x.max(initial=0)), float(w.max(initial=0))
    x_min = float(x.min(initial=np.inf, where=x > 0))
    w_min = float(w.min(initial=np.inf, where=w > 0))
    high = n * x_max * w_max + float(bias.max(initial=0))
    return high <= SAFE_HIGH and (x_max == 0 or w_max == 0 or x_min * w_min >= SAFE_LOW)


def terms(layer: engine.Layer) -> int:
    """``n``: products summed into one output value, plus the bias."""
    kh, kw = layer.geometry.kernel_hw
    return kh * kw * layer.cg + 1


def rtol_for(dtype: np.dtype | type, n: int) -> float:
    """The allowed ``|a − e| / S`` for sums of ``n`` terms in ``dtype``: ``FACTOR·n·ε``."""
    return FACTOR * n * float(np.finfo(dtype).eps)


def tolerance_text(dtype: np.dtype | type, n: int) -> str:
    """The rule :func:`rtol_for` applies, in words for a reader, with this ``n`` and this ``ε``.

    E.g. ``|Δ| ≤ 4·n·ε·Σ|x·w| at each output (n = 28 terms: kh·kw·C/g + bias; ε = 1.2e-07 for
    float32)``: the formula is written here only, so the text shown can never drift from the test.
    """
    dt = np.dtype(dtype)
    eps = float(np.finfo(dt).eps)
    return (f"|Δ| ≤ {FACTOR}·n·ε·Σ|x·w| at each output (n = {n} terms: kh·kw·C/g + bias; "
            f"ε = {eps:.2g} for {dt.name})")


def compare(actual: np.ndarray, expected: np.ndarray, scale: np.ndarray, *, n: int, dtype: object) -> Comparison:
    """Compare ``actual`` with ``expected`` (both ``(H', W', F)``) within rounding of ``n``-term sums.

    ``scale (H', W', F)`` is ``S`` from :func:`magnitude`; ``dtype`` the precision both were
    computed in. Values that are equal (including equal infinities) or NaN in both agree.
    """
    tally = Tally(dtype, n)
    tally.add(0, actual, expected, scale)
    return tally.result(lambda _key: (actual, expected, scale))


#: ``(actual, expected, scale)`` of one block again, by its key: for the few blocks a verdict needs twice.
Recheck = Callable[[Any], tuple[np.ndarray, np.ndarray, np.ndarray]]


class Tally:
    """:func:`compare` over blocks of output rows, each seen once, so that no whole-image float64
    array is ever made: the verdict and the largest differences are the same as on the whole.

    The tolerance's ``ε·max(S)`` term needs ``S`` over *every* block, so each block keeps only the
    largest ``|a − e| − rtol·S`` it has (its threshold for ``atol``); :meth:`result` settles the
    verdict from those and looks again (``recheck``) only at blocks that fail or lie within
    rounding of the threshold, to find the worst position exactly as :func:`compare` does.
    """

    def __init__(self, dtype: object, n: int) -> None:
        self.dtype = np.dtype(dtype)  # type: ignore[call-overload]
        self.rtol = rtol_for(self.dtype, n)
        self.max_abs = 0.0
        self.max_rel = 0.0
        self.s_max = 0.0  # max finite S so far
        self.bad = 0  # values non-finite on one side only
        self.shape: str = ""
        self.excess: dict[Any, tuple[float, int]] = {}  # key -> (max(|a − e| − rtol·S), the block's first row)

    #: Values per chunk of a block on the fast path: its float64 temporaries stay in cache.
    CHUNK = 1 << 15

    def add(self, key: Any, actual: np.ndarray, expected: np.ndarray, scale: np.ndarray, row0: int = 0) -> None:
        """One block (``row0``: its first row in the whole output); ``key`` names it for ``recheck``."""
        a, e = np.asarray(actual), np.asarray(expected)
        if a.shape != e.shape:
            self.shape = self.shape or f"shape {a.shape} instead of {e.shape}"
            return
        if self.bad:
            return
        s = np.broadcast_to(np.asarray(scale), e.shape)  # float32 or float64: each chunk's sums in float64
        excess = -np.inf
        if a.ndim and a.shape[0] > 1 and a[0].size and a.size > self.CHUNK:
            rows = max(1, self.CHUNK // a[0].size)
            parts = [(a[r : r + rows], e[r : r + rows], s[r : r + rows]) for r in range(0, a.shape[0], rows)]
        else:
            parts = [(a, e, s)]
        for pa, pe, ps in parts:
            ex = self._fast(pa, pe, ps)
            if ex is None:
                ex = self._exact(pa, pe, ps)
            if ex is None:  # a value non-finite on one side only: the verdict is made
                return
            excess = max(excess, ex)
        self.excess[key] = (excess, row0)

    def _fast(self, a: np.ndarray, e: np.ndarray, s: np.ndarray) -> float | None:
        """:meth:`_exact` for a chunk of finite values with every ``S > 0`` (None otherwise): five
        passes instead of a dozen. Where ``a == e`` the difference is 0, within for any tolerance."""
        if not a.size:
            return -np.inf
        d = np.subtract(a, e, dtype=np.float64)
        np.abs(d, out=d)
        d_max, s_max, s_min = float(d.max()), float(s.max()), float(s.min())
        if not (np.isfinite(d_max) and np.isfinite(s_max) and s_min > 0):
            return None
        self.s_max = max(self.s_max, s_max)
        self.max_abs = max(self.max_abs, d_max)
        r = np.divide(d, s)
        self.max_rel = max(self.max_rel, float(r.max()))
        np.multiply(s, self.rtol, out=r)
        np.subtract(d, r, out=r)
        return float(r.max())

    def _exact(self, actual: np.ndarray, expected: np.ndarray, s: np.ndarray) -> float | None:
        """The largest ``|a − e| − rtol·S`` of a chunk (``-inf`` where equal, ``+inf`` where never
        within), its largest differences noted; None when a value is non-finite on one side only."""
        a = np.asarray(actual, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
        same, diff = _difference(a, e)
        bad = int(np.isnan(diff).sum())
        self.bad += bad
        if bad:
            return None
        if not diff.size:
            return -np.inf
        finite_s = s[np.isfinite(s)]
        if finite_s.size:
            self.s_max = max(self.s_max, float(finite_s.max()))
        self.max_abs = max(self.max_abs, float(diff.max()))
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(s > 0, diff / s, np.where(diff > 0, np.inf, 0.0))
            self.max_rel = max(self.max_rel, float(np.nanmax(rel)))
            allowed = self.rtol * s
            ex = np.where(same, -np.inf, diff - allowed)
            # NaN: S is NaN (never within unless equal) or both infinite (within when diff <= rtol·S)
            ex = np.where(np.isnan(ex), np.where(diff <= allowed, -np.inf, np.inf), ex)
        return float(ex.max())

    def result(self, recheck: Recheck) -> Comparison:
        """The verdict over every block added; ``recheck(key)`` gives a block's arrays again."""
        rtol = self.rtol
        if self.shape:
            return Comparison(np.inf, np.inf, rtol, False, self.shape)
        if self.bad:
            bad = self.bad
            return Comparison(np.inf, np.inf, rtol, False, f"{bad} value{'s' * (bad != 1)} non-finite on one side only")
        atol = float(np.finfo(self.dtype).eps) * self.s_max
        margin = 1e-9 * max(atol, 1e-300)
        worst: tuple[float, tuple[int, ...], float, float] | None = None
        for key, (ex, row0) in self.excess.items():
            if ex <= atol - margin:
                continue  # within, beyond any rounding of the subtraction
            a, e, s = recheck(key)
            a, e = np.asarray(a, dtype=np.float64), np.asarray(e, dtype=np.float64)
            s = np.broadcast_to(np.asarray(s, dtype=np.float64), e.shape)
            same, diff = _difference(a, e)
            with np.errstate(invalid="ignore"):
                within = same | (diff <= rtol * s + atol)  # S is NaN where the input is: equal NaNs still agree
            if within.all():
                continue
            at = np.unravel_index(int(np.argmax(np.where(within, -np.inf, diff))), diff.shape)
            if worst is None or diff[at] > worst[0]:
                worst = (float(diff[at]), (int(at[0]) + row0, *(int(i) for i in at[1:])), float(a[at]), float(e[at]))
        if worst is None:
            return Comparison(self.max_abs, self.max_rel, rtol, True)
        where = ", ".join(str(int(i)) for i in worst[1])
        return Comparison(self.max_abs, self.max_rel, rtol, False, f"at ({where}): {worst[2]:.9g} instead of {worst[3]:.9g}")


def _difference(a: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where ``a`` and ``e`` are the same (equal, or NaN in both), and ``|a − e|`` elsewhere (0 where same;
    NaN where only one side is NaN or infinities differ)."""
    same = (a == e) | (np.isnan(a) & np.isnan(e))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(a - e))
    return same, diff
