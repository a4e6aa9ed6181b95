"""Numbers and channel choices in words, as the terminal view gives them, without rich.

TEMPORARY: present.describe after the merge (helper [render] moves render.fmt / number_format and
the channel choice there; these are the same functions, giving the same strings).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from convcli.engine import LayerResult

#: Channels shown one by one; more than this and only the TOP_CHANNELS largest are.
MAX_CHANNELS_SHOWN = 6
TOP_CHANNELS = 4


def number_format(values: np.ndarray) -> Callable[[float], str]:
    """One format for a whole grid: integers stay integers, others get four significant digits for
    the largest magnitude, huge or tiny magnitudes go scientific."""
    a = np.asarray(values, dtype=np.float64)
    finite = a[np.isfinite(a)]
    m = float(np.abs(finite).max()) if finite.size else 0.0
    if m >= 1e7 or 0 < m < 1e-3:
        return lambda v: f"{v:.3e}"
    if finite.size and np.all(finite == np.round(finite)):
        return lambda v: f"{v:.0f}"
    decimals = 4 if m == 0 else max(0, min(4, 3 - math.floor(math.log10(m))))
    return lambda v: f"{v:.{decimals}f}"


def fmt(v: float) -> str:
    """A single number: integers plainly, others to four significant digits."""
    return number_format(np.array([v]))(float(v))


def pair_text(p: Sequence[int]) -> str:
    return f"({p[0]}, {p[1]})"


def shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape)


def value_range(a: np.ndarray) -> str:
    """``min … max`` of the finite values of ``a`` (any shape)."""
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    if finite.size == 0:
        return "no finite values"
    return f"{fmt(float(finite.min()))} … {fmt(float(finite.max()))}"


def group_channels(result: LayerResult, f: int) -> np.ndarray:
    """Input channel indices (Cg,) that filter ``f`` reads."""
    layer = result.layer
    group = f // (layer.filters // layer.groups)
    return np.arange(group * layer.cg, (group + 1) * layer.cg)


def shown_channels(result: LayerResult, f: int) -> tuple[list[int], list[int]]:
    """Channel positions (within the group) shown one by one, and those folded into "Σ others"."""
    cg = result.layer.cg
    if cg <= MAX_CHANNELS_SHOWN:
        return list(range(cg)), []
    order = np.argsort(-result.mean_abs[:, f], kind="stable")
    top = sorted(order[:TOP_CHANNELS].tolist())
    return top, sorted(order[TOP_CHANNELS:].tolist())
