"""Map sources the views share: a map ``(h, w)`` known by its size, range and block means.

:func:`block_mean` averages ``k × k`` blocks (ragged at the end, NaN skipped); :func:`downsample`
fits a map into a box by one block size on both axes. A :class:`MapSource` is what a view needs of
a map; :class:`ArrayMap` holds the values, :class:`BlockMap` only their block means, and
:class:`ResultMaps` gives each filter's maps of a :class:`LayerResult` without making the partial
maps at full resolution where it can.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol

import numpy as np

from convcli import engine
from convcli.engine import LayerResult


def block_factor(shape: Sequence[int], max_h: int, max_w: int) -> int:
    """The block size ``k`` that :func:`downsample` uses on an ``(h, w)`` map: 1 when it fits."""
    if max_h < 1 or max_w < 1:
        raise ValueError(f"max_h and max_w must be ≥ 1, got {max_h} and {max_w}")
    h, w = int(shape[0]), int(shape[1])
    return max(1, -(-h // max_h), -(-w // max_w))


def block_mean(values: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Mean of each ``kh × kw`` block of ``values (h, w)``: ``(ceil(h / kh), ceil(w / kw))``, float64.

    A ragged last block averages the cells it has; NaN is skipped and an all-NaN block is NaN.
    """
    a = np.asarray(values)
    nan = np.isnan(a) if a.dtype.kind == "f" else None
    if nan is not None and nan.any():
        a = np.where(nan, 0.0, a)
        count = engine.block_sums(~nan, kh, kw)
    else:  # every cell counts: the block sizes, ragged at the end
        count = engine.block_counts(a.shape, kh, kw)
    # ragged last blocks are summed as they are, so nothing is padded to a multiple of k
    total = engine.block_sums(a, kh, kw, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


#: What one heatmap cell shows of its block of positions (``--heatmap-stat``), in words.
STATS = {
    "mean": "the mean",
    "mean-abs": "the mean |value|",
    "max-abs": "the largest-magnitude value",
}
#: The same, short, for a legend.
BLOCK_WORDS = {"mean": "block means", "mean-abs": "block means of |value|", "max-abs": "largest |value| per block"}


def auto_stat(kernel: np.ndarray, filters: Sequence[int]) -> str:
    """``--heatmap-stat auto``: ``"max-abs"`` when every filter of ``filters`` is high-pass (each channel's
    ``kh × kw`` weights sum to 0 within rounding, as Sobel, Laplacian and other edge detectors do), whose
    block means cancel to nothing; else ``"mean"``. ``kernel`` is ``(kh, kw, C/g, F)``."""
    k = np.asarray(kernel, dtype=np.float64)[:, :, :, list(filters)]
    if k.size == 0 or not np.isfinite(k).all():
        return "mean"
    sums = np.abs(k.sum(axis=(0, 1)))  # (C/g, F')
    scale = np.abs(k).sum(axis=(0, 1))
    return "max-abs" if bool(np.all(sums <= 1e-6 * np.maximum(scale, np.finfo(np.float64).tiny))) else "mean"


def block_max_abs(values: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """The value of largest ``|value|`` of each ``kh × kw`` block, sign kept (ties: the positive one):
    ``(ceil(h / kh), ceil(w / kw))`` float64; NaN is skipped and an all-NaN block is NaN."""
    a = np.asarray(values)
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    rows, cols = np.arange(0, a.shape[0], kh), np.arange(0, a.shape[1], kw)
    if kh == kw:  # whole rows at a time (reduceat down the rows is many times slower); extremes are exact in any order
        hi, lo = engine.band_extremes(a, kh)
    else:
        # fmax / fmin skip NaN; reduceat takes the ragged last block as it is
        hi = np.fmax.reduceat(np.fmax.reduceat(a, rows, axis=0), cols, axis=1)
        lo = np.fmin.reduceat(np.fmin.reduceat(a, rows, axis=0), cols, axis=1)
    return signed_peak(hi, lo)


def signed_peak(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Of each block's max ``hi`` and min ``lo`` (same shape), the one of larger magnitude (ties: ``hi``),
    float64; NaN where ``hi`` is NaN (an all-NaN block)."""
    hi, lo = np.asarray(hi, dtype=np.float64), np.asarray(lo, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(hi) | (-lo <= hi), hi, lo)


def block_stat(values: np.ndarray, k: int, stat: str = "mean") -> np.ndarray:
    """``k × k`` blocks of ``values (h, w)`` reduced by ``stat`` (:data:`STATS`); ``k = 1``: the values."""
    if stat not in STATS:
        raise ValueError(f"unknown block statistic {stat!r}: one of {', '.join(STATS)}")
    if stat == "mean-abs":
        values = np.abs(values)
    if k == 1:
        return np.asarray(values)
    return block_max_abs(values, k, k) if stat == "max-abs" else block_mean(values, k, k)


def downsample(values: np.ndarray, max_h: int, max_w: int) -> np.ndarray:
    """``values (h, w)`` as block means ``(ceil(h / k), ceil(w / k))`` that fit ``max_h × max_w``.

    ``k`` (:func:`block_factor`) is the same on both axes, so the aspect ratio is kept. A map that
    already fits is returned unchanged (same array, same dtype).
    """
    a = np.asarray(values)
    if a.ndim != 2:
        raise ValueError(f"a heatmap needs an (h, w) map, got shape {a.shape}")
    k = block_factor(a.shape, max_h, max_w)
    return a if k == 1 else block_mean(a, k, k)


class MapSource(Protocol):
    """What a :class:`Heatmap` needs of a map ``(h, w)``: its size, its exact range and NaN count,
    and its ``k × k`` block means. A map need not exist at full resolution to be drawn."""

    @property
    def shape(self) -> tuple[int, int]: ...

    def value_range(self) -> tuple[float, float]:
        """The finite min and max (NaN, NaN when there is no finite value)."""
        ...

    def nan_count(self) -> int: ...

    def cells(self, k: int, stat: str = "mean") -> np.ndarray:
        """``k × k`` blocks reduced by ``stat`` (:data:`STATS`): ``(ceil(h / k), ceil(w / k))``
        (``k = 1``: the values themselves, or their ``|value|``)."""
        ...


class ArrayMap:
    """A map held as an array ``(h, w)``."""

    def __init__(self, values: np.ndarray) -> None:
        a = np.asarray(values)
        if a.ndim != 2 or a.size == 0:
            raise ValueError(f"a heatmap needs a non-empty (h, w) map, got shape {a.shape}")
        self.values = a
        self._cells: dict[tuple[int, str], np.ndarray] = {}  # a heatmap asks twice: to lay out, to draw

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.values.shape[0]), int(self.values.shape[1])

    def value_range(self) -> tuple[float, float]:
        a = self.values
        lo, hi = float(a.min()), float(a.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):  # only then pay for a masked copy
            finite = a[np.isfinite(a)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (np.nan, np.nan)
        return lo, hi

    def nan_count(self) -> int:
        return int(np.isnan(self.values).sum()) if self.values.dtype.kind == "f" else 0

    def cells(self, k: int, stat: str = "mean") -> np.ndarray:
        if (k, stat) not in self._cells:
            self._cells[k, stat] = block_stat(self.values, k, stat)
        return self._cells[k, stat]


class BlockMap:
    """A finite map known by its shape, its range and a function giving its blocks' ``stat``
    (block means by default)."""

    def __init__(self, shape: tuple[int, int], lo: float, hi: float, means: Callable[[int], np.ndarray],
                 stat: str = "mean") -> None:
        self.shape = shape
        self._range = (float(lo), float(hi))
        self._means = means
        self.stat = stat

    def value_range(self) -> tuple[float, float]:
        return self._range

    def nan_count(self) -> int:
        return 0

    def cells(self, k: int, stat: str = "mean") -> np.ndarray:
        if stat != self.stat:  # linear block sums give means only; block extremes max-abs only
            raise ValueError(f"a map known by its blocks' {self.stat!r} has no {stat!r} blocks")
        return self._means(k)


class ResultMaps:
    """Each filter's maps of one :class:`LayerResult` as :class:`MapSource` objects, for heatmaps.

    When the result carries each partial map's range (``run_layer(ranges=True)``) and they are
    finite, partial maps are never made at full resolution: their block means come from
    :func:`engine.partial_block_means` (one pass over the input per block size, shared by all
    filters), and the pre-activation's and output's from one pass over all filters at once.
    Otherwise (NaN or Inf, or no ranges) each map is computed and averaged as an array.

    ``max-abs`` cannot come from linear block sums: with finite ranges, the block extremes of the
    partial maps of every filter in ``filters`` (default: each filter when asked for) come from one
    banded pass over the input per block size (:func:`engine.partial_block_extremes`, the maps' own values, never whole),
    those of the pre-activation and the output from their arrays, all filters at once.
    ``progress(fraction)`` is told how far that pass is. ``mean-abs``, and ``max-abs`` without finite
    ranges: each filter's partial maps are computed when asked for (``engine.filter_partials``,
    ``H'·W'·Cg`` values, one filter at a time, dropped with its heatmaps).
    """

    def __init__(self, result: LayerResult, stat: str = "mean", *, filters: Sequence[int] | None = None,
                 progress: Callable[[float], None] | None = None) -> None:
        if stat not in STATS:
            raise ValueError(f"unknown block statistic {stat!r}: one of {', '.join(STATS)}")
        self.result = result
        self.stat = stat
        self.filters = [] if filters is None else [int(f) for f in filters]
        self.progress = progress
        self._taps: dict[int, np.ndarray] = {}
        self._stacks: dict[tuple[str, int], np.ndarray] = {}
        self._peaks: dict[tuple[int, int], np.ndarray] = {}  # (k, filter) -> (by, bx, Cg) max-abs blocks

    def _finite(self, f: int) -> bool:
        low, high = self.result.partial_low, self.result.partial_high
        return low is not None and high is not None and bool(np.isfinite(low[:, f]).all() and np.isfinite(high[:, f]).all())

    def _blocks_ok(self, f: int) -> bool:
        return self.stat == "mean" and self._finite(f)

    def _peaks_ok(self, f: int) -> bool:
        return self.stat == "max-abs" and self._finite(f)

    def _partial_peaks(self, k: int, f: int, c: int) -> np.ndarray:
        """Filter ``f``'s channel ``c`` partial map's ``max-abs`` blocks: ``(by, bx)`` float64."""
        layer = self.result.layer
        if k == 1:  # the values themselves: a map that small is cheap to make
            return engine.filter_partials(layer, f)[:, :, c]
        if (k, f) not in self._peaks:
            filters = self.filters if f in self.filters else [f]
            ho = layer.geometry.out_hw[0]
            done = [0]

            def step(rows: int) -> None:
                done[0] += rows
                if self.progress is not None:
                    self.progress(min(1.0, done[0] / (ho * len(filters))))

            hi, lo = engine.partial_block_extremes(layer, filters, k, step)
            peaks = signed_peak(hi, lo)
            self._peaks.update({(k, g): peaks[..., i] for i, g in enumerate(filters)})
        return self._peaks[k, f][:, :, c]

    def from_block_sums(self, f: int) -> bool:
        """Whether filter ``f``'s partial maps come from block sums (:class:`BlockMap`), never made whole."""
        return self._blocks_ok(f)

    def _partial_means(self, k: int, f: int, c: int) -> np.ndarray:
        layer = self.result.layer
        if k not in self._taps:
            self._taps[k] = engine.tap_block_sums(layer, k)
        return engine.partial_block_means(layer, f, k, self._taps[k])[:, :, c]

    def partials(self, f: int, maps: np.ndarray | None = None,
                 others: Sequence[int] = ()) -> tuple[list[MapSource], MapSource | None]:
        """Filter ``f``'s partial maps, one per channel of its group (``maps (H', W', Cg)`` if
        computed), and the sum of the ``others`` channels' maps (``None`` without others)."""
        r, layer = self.result, self.result.layer
        if maps is None and self._peaks_ok(f):
            assert r.partial_low is not None and r.partial_high is not None
            peaks: list[MapSource] = [
                BlockMap(layer.geometry.out_hw, r.partial_low[c, f], r.partial_high[c, f],
                         partial(self._partial_peaks, f=f, c=c), stat="max-abs")
                for c in range(layer.cg)]
            return peaks, ArrayMap(engine.channels_map(layer, f, others)) if others else None
        if maps is None and self._blocks_ok(f):
            assert r.partial_low is not None and r.partial_high is not None
            shape = layer.geometry.out_hw
            blocks: list[MapSource] = [
                BlockMap(shape, r.partial_low[c, f], r.partial_high[c, f], partial(self._partial_means, f=f, c=c))
                for c in range(layer.cg)]
            return blocks, ArrayMap(engine.channels_map(layer, f, others)) if others else None
        if maps is None:
            maps = engine.filter_partials(layer, f)
        rest = ArrayMap(maps[:, :, list(others)].sum(axis=2, dtype=np.float64)) if others else None
        return [ArrayMap(maps[:, :, c]) for c in range(maps.shape[2])], rest

    def _stack(self, name: str, f: int) -> MapSource:
        r = self.result
        values = r.preactivation if name == "pre" else r.output
        stats = r.preactivation_stats if name == "pre" else r.output_stats
        lo, hi = stats[f, 0], stats[f, 2]
        # finite partials leave no NaN to skip (the stats ignore NaN); an overflow shows as ±Inf here
        if not ((self._blocks_ok(f) or self._peaks_ok(f)) and np.isfinite(lo) and np.isfinite(hi)):
            return ArrayMap(values[..., f])

        def means(k: int) -> np.ndarray:
            if k == 1:
                return values[..., f]
            if (name, k) not in self._stacks:  # every filter's blocks in one pass over the array
                self._stacks[name, k] = (stack_block_mean(values, k) if self.stat == "mean"
                                         else signed_peak(*engine.band_extremes(values, k)))
            return self._stacks[name, k][..., f]

        return BlockMap(r.layer.geometry.out_hw, lo, hi, means, stat=self.stat)

    def preactivation(self, f: int) -> MapSource:
        return self._stack("pre", f)

    def output(self, f: int) -> MapSource:
        return self._stack("out", f)


def stack_block_mean(values: np.ndarray, k: int) -> np.ndarray:
    """:func:`block_mean` of every map of a finite ``values (h, w, F)`` in one pass: ``(by, bx, F)`` float64."""
    return engine.block_sums(values, k, k, np.float64) / engine.block_counts(values.shape, k, k)[:, :, None]


def block_mean32(a: np.ndarray, k: int) -> np.ndarray:
    """Means of the ``k × k`` blocks of a finite ``a (h, w)`` float32, the last row and column of
    blocks short: ``(ceil(h / k), ceil(w / k))`` float32 (summed in ``a``'s dtype, for speed)."""
    return (engine.block_sums(a, k, k) / engine.block_counts(a.shape, k, k)).astype(np.float32)
