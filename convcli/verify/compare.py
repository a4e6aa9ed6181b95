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

from dataclasses import dataclass

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
    """``S (H', W', F)``: at each output, the sum of the absolute values of its terms, in float64."""
    g = layer.geometry
    top, bottom, left, right = g.pads
    x = np.pad(np.abs(layer.x.astype(np.float64)), ((top, bottom), (left, right), (0, 0)))
    return engine.conv2d(x, np.abs(layer.kernel.astype(np.float64)), np.abs(bias.astype(np.float64)),
                         stride=g.stride, dilation=g.dilation, groups=layer.groups, dtype=np.float64)


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
    dt = np.dtype(dtype)  # type: ignore[call-overload]
    rtol = rtol_for(dt, n)
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return Comparison(np.inf, np.inf, rtol, False, f"shape {a.shape} instead of {e.shape}")
    s = np.broadcast_to(np.asarray(scale, dtype=np.float64), e.shape)
    same = (a == e) | (np.isnan(a) & np.isnan(e))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(a - e))  # NaN where only one side is NaN or infinities differ
    if np.isnan(diff).any():
        bad = int(np.isnan(diff).sum())
        return Comparison(np.inf, np.inf, rtol, False, f"{bad} value{'s' * (bad != 1)} non-finite on one side only")
    finite_s = s[np.isfinite(s)]
    atol = float(np.finfo(dt).eps) * (float(finite_s.max()) if finite_s.size else 0.0)
    max_abs = float(diff.max()) if diff.size else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(s > 0, diff / s, np.where(diff > 0, np.inf, 0.0))
    max_rel = float(np.nanmax(rel)) if rel.size else 0.0
    with np.errstate(invalid="ignore"):
        within = same | (diff <= rtol * s + atol)  # S is NaN where the input is: equal NaNs still agree
    ok = bool(np.all(within))
    if ok:
        return Comparison(max_abs, max_rel, rtol, True)
    worst = np.unravel_index(int(np.argmax(np.where(within, -np.inf, diff))), diff.shape)
    where = ", ".join(str(int(i)) for i in worst)
    return Comparison(max_abs, max_rel, rtol, False,
                      f"at ({where}): {a[worst]:.9g} instead of {e[worst]:.9g}")
