"""The exact numbers the page holds, within a stated budget: the input (or the part of it that fits),
the reported filters' kernels and the biases, so that its script traces any position it holds exactly.

Arrays travel as base64 of their little-endian bytes (the script reads them as typed arrays):
the input as ``uint8`` when every value is a whole number in 0 … 255 (an image as loaded: the same
values, a quarter of the bytes), else in the compute dtype. When the input does not fit the budget
the page holds a rectangle of it, centred on the input the chosen output position reads, and says so:
a photo of 12 MP is 36 MB even as bytes, and the page stays a few MB.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convcli.engine import Layer

#: The bytes of exact numbers a page holds by default (base64 makes them a third larger in the file).
DATA_BUDGET = 2_500_000


@dataclass(frozen=True)
class Held:
    """What the page holds: ``data`` (JSON-ready) and, when something was left out, ``note`` saying what."""

    data: dict[str, Any]
    note: str | None
    rows: tuple[int, int]  # the input rows and columns held, [start, stop)
    cols: tuple[int, int]
    exact_rows: tuple[int, int]  # the output rows and columns whose every tap lies in them, [start, stop)
    exact_cols: tuple[int, int]


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False).tobytes()).decode("ascii")


def _typed(a: np.ndarray) -> dict[str, Any]:
    kind = {"uint8": "u8", "float32": "f32", "float64": "f64"}[a.dtype.name]
    return {"type": kind, "shape": list(a.shape), "b64": _b64(a)}


def as_bytes(x: np.ndarray) -> np.ndarray | None:
    """``x`` as ``uint8`` when every value is a whole number in 0 … 255 (then exact), else None."""
    if x.size and x.dtype.kind == "f" and np.isfinite(x).all():
        lo, hi = float(x.min()), float(x.max())
        if lo >= 0 and hi <= 255 and np.array_equal(x, np.rint(x)):
            return x.astype(np.uint8)
    return None


def _span(n: int, want: int, centre: int) -> tuple[int, int]:
    """``[start, stop)`` of ``want`` of ``n`` indices centred on ``centre``, shifted to fit."""
    want = max(1, min(n, want))
    start = min(max(0, centre - want // 2), n - want)
    return start, start + want


def exact_span(out_n: int, in_n: int, held: tuple[int, int], stride: int, pad: int, k: int, dilation: int) -> tuple[int, int]:
    """The output indices ``[start, stop)`` on one axis whose taps inside ``[0, in_n)`` all lie in ``held``
    (taps in the padding are zeros and need no data); ``(0, 0)`` when none."""
    first = np.arange(out_n, dtype=np.int64) * stride - pad
    ok = np.ones(out_n, dtype=bool)
    for i in range(k):
        tap = first + i * dilation
        ok &= (tap < 0) | (tap >= in_n) | ((tap >= held[0]) & (tap < held[1]))
    idx = np.flatnonzero(ok)
    return (int(idx[0]), int(idx[-1]) + 1) if idx.size else (0, 0)


def _region(layer: Layer, pixels: int, at: tuple[int, int] | None) -> tuple[tuple[int, int], tuple[int, int]]:
    """The input rows and columns ``[start, stop)`` held: all of them when ``pixels`` allow, else about a
    square of ``pixels`` centred on the taps of output ``at`` (default: the centre)."""
    g = layer.geometry
    (h, w), (ho, wo) = g.in_hw, g.out_hw
    if h * w <= pixels:
        return (0, h), (0, w)
    pixels = max(1, pixels)
    n_rows = min(h, math.isqrt(pixels))
    n_cols = min(w, max(1, pixels // n_rows))
    orow, ocol = at if at is not None else (ho // 2, wo // 2)
    kh, kw = g.kernel_hw
    crow = orow * g.stride[0] - g.pads[0] + (kh - 1) * g.dilation[0] // 2
    ccol = ocol * g.stride[1] - g.pads[2] + (kw - 1) * g.dilation[1] // 2
    return _span(h, n_rows, crow), _span(w, n_cols, ccol)


def held_numbers(layer: Layer, bias: np.ndarray, filters: Sequence[int], *, budget: int = DATA_BUDGET,
                 at: tuple[int, int] | None = None) -> Held:
    """The page's exact numbers for ``filters``: ``layer.x (H, W, C)`` or the rectangle of it that fits
    ``budget`` bytes, centred on what output position ``at`` (default: the centre) reads; the
    filters' kernels ``(kh, kw, Cg, len(filters))``; ``bias (F,)``."""
    g = layer.geometry
    (h, w), (ho, wo) = g.in_hw, g.out_hw
    kernel = layer.kernel[:, :, :, list(filters)]
    room = max(0, budget - kernel.nbytes)
    # the region that fits as bytes; where its values are not all bytes, the smaller one that fits as floats
    stored: np.ndarray | None = None
    for per_value in (1, layer.x.itemsize):
        rows, cols = _region(layer, room // (per_value * int(layer.x.shape[2])), at)
        region = layer.x[rows[0]:rows[1], cols[0]:cols[1], :]
        stored = as_bytes(region) if per_value == 1 else region
        if stored is not None:
            break
    assert stored is not None
    kh, kw = g.kernel_hw
    exact_rows = exact_span(ho, h, rows, g.stride[0], g.pads[0], kh, g.dilation[0])
    exact_cols = exact_span(wo, w, cols, g.stride[1], g.pads[2], kw, g.dilation[1])
    note = None
    if (rows, cols) != ((0, h), (0, w)):
        mb = (h * w * int(layer.x.shape[2]) * stored.itemsize) / 1e6
        note = (f"The input ({h}×{w}, {mb:.1f} MB as {stored.dtype.name}) is larger than this page's budget for "
                f"exact numbers ({budget / 1e6:g} MB): it holds input rows {rows[0]}–{rows[1] - 1}, "
                f"columns {cols[0]}–{cols[1] - 1}, so the trace is exact at output rows {exact_rows[0]}–"
                f"{exact_rows[1] - 1}, columns {exact_cols[0]}–{exact_cols[1] - 1}. Elsewhere the maps show "
                f"block means only; build the report with --at ROW,COL to centre it elsewhere, or raise --data-budget.")
    data = {
        "x": {**_typed(stored), "rows": list(rows), "cols": list(cols)},
        "kernel": {**_typed(kernel), "filters": [int(f) for f in filters]},
        "bias": [float(b) if np.isfinite(b) else None for b in np.asarray(bias, dtype=np.float64).tolist()],
        "exact_rows": list(exact_rows), "exact_cols": list(exact_cols),
        "budget": int(budget),
        "start": list(at) if at is not None else None,  # where the page opens without a #at= link
    }
    return Held(data, note, rows, cols, exact_rows, exact_cols)
