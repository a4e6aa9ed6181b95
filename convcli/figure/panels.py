"""The maps of a figure at the size they are drawn: a photo's partial maps are never made whole.

A map whose long side is more than the panel limit ``L`` is drawn as the means of its ``k × k``
blocks, ``k`` the smallest whole number bringing the long side to ``L`` or less (one pixel a
block, the last row and column of blocks short, as in the terminal heatmaps); a map that fits is
drawn as it is, every value its own colour. Under each panel, its full map's exact range.

Where the values come from (:class:`PanelMaps`):

- inputs: block means of ``result.layer.x``, in memory (NaN skipped, as in every block mean); where
  a kernel tap reads each output position's own input value (stride 1, the same blocks), its tap
  sums are the input's block sums and the input is not summed a second time;
- partial maps that fit: ``engine.filter_partials``, one filter at a time, the values themselves;
- larger partial maps, finite and measured by the run (``run_layer(ranges=True)``): their block
  means from :func:`convcli.engine.tap_block_sums` (one pass over the input for every filter,
  :class:`convcli.present.maps.ResultMaps`, the heatmaps' source), their range the run's; else
  (a NaN or an infinity, or no ranges) one channel's map at a time, reduced, then dropped;
- "Σ others": ``engine.channels_map`` of those channels, one filter at a time;
- pre-activation and output: block means of the result's arrays, every filter in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from convcli import engine
from convcli.engine import Layer, LayerResult, tiles
from convcli.errors import ShapeError
from convcli.present import describe, selection
from convcli.present.filtersum import FilterSum
from convcli.present.maps import ArrayMap, BlockMap, MapSource, ResultMaps, block_factor, block_mean

PANEL = 256  #: default minimum long side of a drawn map
MAX_PANEL = 1024  #: default maximum long side of a drawn map
PANEL_LIMITS = (16, 4096)


@dataclass(frozen=True)
class Map:
    """One panel's map: ``values`` as drawn (block means of a large map), ``note`` its full range."""

    kind: str  # "input", "partial", "others", "preactivation", "output"
    title: str
    values: np.ndarray
    note: str
    #: an input drawn as block means: its own finite min and max, where its grey scale ends
    ends: tuple[float, float] | None = None


def row_counts(layer: Layer, activation: str) -> tuple[int, int, int]:
    """How many panels each block of a row has: inputs, partial maps (with "Σ others"), results."""
    cg = layer.cg
    shown = cg if cg <= selection.MAX_CHANNELS_SHOWN else selection.TOP_CHANNELS
    return shown, shown + (cg > selection.MAX_CHANNELS_SHOWN), 1 if activation == "linear" else 2


def drawn_shape(hw: Sequence[int], limit: int) -> tuple[int, int]:
    """The shape of an ``(H, W)`` map's values in a figure whose maps are at most ``limit`` long."""
    k = block_factor(hw, limit, limit)
    return -(-int(hw[0]) // k), -(-int(hw[1]) // k)


def display_size(hw: Sequence[int], panel: int = PANEL, max_panel: int = MAX_PANEL) -> tuple[int, int]:
    """``(h, w)`` at which an ``(H, W)`` map is drawn.

    Long side under ``panel``: enlarged ``k`` times, ``k`` the smallest whole number reaching
    ``panel`` (so at most ``2·panel``) but never past ``max_panel``. Up to ``max_panel``: as is.
    Beyond: its ``k × k`` block means, ``k`` the smallest whole number bringing it to ``max_panel``
    or less (:func:`drawn_shape`).
    """
    h, w = int(hw[0]), int(hw[1])
    long = max(h, w)
    if long > max_panel:
        return drawn_shape((h, w), max_panel)
    k = max(1, min(-(-panel // long), max_panel // long))
    return h * k, w * k


def note(values: np.ndarray) -> str:
    """``min … max`` of the finite values, and how many are not finite (``· 3 non-finite``)."""
    a = np.asarray(values)
    if a.dtype.kind == "f":
        lo, hi = float(a.min()), float(a.max())  # one pass each; a NaN or ±Inf shows in them
        if np.isfinite(lo) and np.isfinite(hi):
            return range_note(lo, hi)
        bad = int((~np.isfinite(a)).sum())
        text = describe.value_range(a)
        return f"{text} · {bad} non-finite" if bad else text
    return describe.value_range(a)


def range_note(lo: float, hi: float) -> str:
    """:func:`note` of a finite map known by its range: ``describe.value_range``'s text."""
    return f"{describe.fmt(float(lo))} … {describe.fmt(float(hi))}"


def _source_note(source: MapSource) -> str:
    lo, hi = source.value_range()
    return range_note(lo, hi)


class PanelMaps:
    """The panels' values and notes for a figure of ``result`` whose maps are at most ``limit`` long.

    ``given[f]``: filter ``f``'s partial maps ``(H', W', Cg)`` if the caller has them (then used).
    Block sums are made once per figure and shared by its rows.
    """

    def __init__(self, result: LayerResult, limit: int, given: Mapping[int, np.ndarray] | None = None) -> None:
        self.result = result
        layer = result.layer
        self.k_in = block_factor(layer.x.shape[:2], limit, limit)
        self.k_out = block_factor(layer.geometry.out_hw, limit, limit)
        self.given = given or {}
        self.sources = ResultMaps(result)
        self._inputs: dict[int, Map] = {}
        self._means: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._taps: np.ndarray | None = None  # engine.tap_block_sums at k_out, shared by the rows
        self._sums: np.ndarray | None = None  # the input's block sums at k_in
        self._stats: np.ndarray | None = None  # the input's (min, mean, max) per channel
        self._warmed = False

    def _reduced(self, values: np.ndarray, k: int) -> np.ndarray:
        return np.asarray(values) if k == 1 else block_mean(values, k, k)

    def _input(self, ch: int, name: str) -> Map:
        if ch not in self._inputs:  # filters of one group read the same channels
            x, k = self.result.layer.x, self.k_in
            if k == 1:
                self._inputs[ch] = Map("input", f"input {name}", x[:, :, ch], note(x[:, :, ch]))
            else:
                means, stats, finite = self._input_means()
                lo, hi = float(stats[ch, 0]), float(stats[ch, 2])
                if finite[ch]:
                    self._inputs[ch] = Map("input", f"input {name}", means[:, :, ch], range_note(lo, hi), (lo, hi))
                else:  # a NaN or an infinity: NaN skipped in the means, counted under the panel
                    ends = ArrayMap(x[:, :, ch]).value_range()
                    self._inputs[ch] = Map("input", f"input {name}", block_mean(x[:, :, ch], k, k), note(x[:, :, ch]),
                                           ends if np.isfinite(ends).all() else None)
        return self._inputs[ch]

    def _input_means(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every input channel's block means and (min, mean, max), one pass each; which channels are finite."""
        if self._means is None:
            x, k = self.result.layer.x, self.k_in
            sums = self._input_sums()
            finite = np.isfinite(sums).all(axis=(0, 1))
            self._means = sums / engine.block_counts(x.shape, k, k)[:, :, None], self._input_stats(), finite
        return self._means

    def _input_sums(self) -> np.ndarray:
        """The input's block sums: the aligned tap's (:meth:`_aligned_tap`) once the tap sums are made,
        else one pass over the input (a NaN or an infinity makes its block's sum one)."""
        if self._sums is None:
            tap = self._aligned_tap()
            x, k = self.result.layer.x, self.k_in
            if tap is not None and self._taps is not None:
                # the blocks of the last row and column: the output's may be short of the input's, summed here
                sums = self._taps[tap].copy()
                r0, c0 = (sums.shape[0] - 1) * k, (sums.shape[1] - 1) * k
                sums[-1:] = engine.block_sums(x[r0:], k, k, np.float64)
                sums[:, -1:] = engine.block_sums(x[:, c0:], k, k, np.float64)
                self._sums = sums
            else:
                self._sums = engine.block_sums(x, k, k, np.float64)
        return self._sums

    def _input_stats(self) -> np.ndarray:
        if self._stats is None:
            self._stats = engine.map_stats(self.result.layer.x)
        return self._stats

    def _aligned_tap(self) -> tuple[int, int] | None:
        """The kernel tap that reads the input at the output position itself, when the input and the
        output are cut into the same blocks (stride 1, as many blocks of the same ``k``; the output no
        larger): its tap sums are the input's block sums but for the last row and column of blocks, so
        the input is not summed a second time. ``None`` for any other geometry."""
        layer = self.result.layer
        g, k = layer.geometry, self.k_in
        (h, w), (ho, wo) = layer.x.shape[:2], g.out_hw
        if (k != self.k_out or tuple(g.stride) != (1, 1) or ho > h or wo > w
                or -(-h // k) != -(-ho // k) or -(-w // k) != -(-wo // k)):
            return None
        (dh, dw), (kh, kw), (top, _, left, _) = g.dilation, g.kernel_hw, g.pads
        u, v = top // dh, left // dw
        if top % dh or left % dw or not (0 <= u < kh and 0 <= v < kw):
            return None
        return u, v

    def _partial_means(self, f: int) -> np.ndarray:
        """Filter ``f``'s partial maps' block means, every channel of its group from one contraction of
        the tap sums (one pass over the input for the whole figure, :func:`engine.tap_block_sums`)."""
        if self._taps is None:
            self._taps = engine.tap_block_sums(self.result.layer, self.k_out)
        return engine.partial_block_means(self.result.layer, f, self.k_out, self._taps)

    def _partials(self, f: int, shown: list[int], others: list[int], names: list[str], others_label: str) -> list[Map]:
        layer, k = self.result.layer, self.k_out
        maps = self.given.get(f)
        if maps is None and k == 1:
            maps = engine.filter_partials(layer, f)  # a map that fits: its values, as drawn
        if maps is not None:
            ho, wo = layer.geometry.out_hw
            if maps.shape != (ho, wo, layer.cg):
                raise ShapeError(f"partial maps for filter {f} are {maps.shape}, expected {(ho, wo, layer.cg)}")
            parts = [Map("partial", f"partial {names[c]}", self._reduced(maps[:, :, c], k), note(maps[:, :, c]))
                     for c in shown]
            rest = maps[:, :, others].sum(axis=2) if others else None
        else:
            if self.sources.from_block_sums(f):  # block means of finite maps, from one pass over the input
                means, (low, high) = self._partial_means(f), (self.result.partial_low, self.result.partial_high)
                assert low is not None and high is not None  # from_block_sums: the run measured them
                parts = [Map("partial", f"partial {names[c]}", means[:, :, c], range_note(low[c, f], high[c, f]))
                         for c in shown]
            else:  # a NaN or an infinity: one channel's whole map at a time
                parts = []
                for c in shown:
                    one = engine.channels_map(layer, f, [c])
                    parts.append(Map("partial", f"partial {names[c]}", self._reduced(one, k), note(one)))
                    del one
            rest = engine.channels_map(layer, f, others) if others else None
        if rest is not None:
            parts.append(Map("others", others_label, self._reduced(rest, k), note(rest)))
        return parts

    def _result(self, kind: str, title: str, f: int) -> Map:
        r, k = self.result, self.k_out
        values = (r.preactivation if kind == "preactivation" else r.output)[:, :, f]
        if k == 1:
            return Map(kind, title, values, note(values))
        source = self.sources.preactivation(f) if kind == "preactivation" else self.sources.output(f)
        # a BlockMap is finite and knows its range; an ArrayMap (a NaN or an infinity) is measured
        return Map(kind, title, source.cells(k), _source_note(source) if isinstance(source, BlockMap) else note(values))

    def _side_by_side(self, view: FilterSum) -> None:
        """Before the first row: the figure's passes over whole arrays, on the engine's threads side by
        side (numpy releases the GIL): the tap sums (the partials' block means, every filter), the input's
        block means (after the tap sums when one tap's are the input's: :meth:`_aligned_tap`) and its
        range, the pre-activation's and the output's (every filter). Each is made once, as before."""
        if self._warmed:
            return
        self._warmed = True
        f, jobs = view.index, list[Callable[[], object]]()
        taps = self.k_out > 1 and self.given.get(f) is None and self.sources.from_block_sums(f)
        if taps and self.k_in > 1 and self._aligned_tap() is not None:  # the input's sums are one of the taps'
            jobs += [lambda: (self._partial_means(f), self._input_sums()), self._input_stats]
        else:
            if taps:
                jobs.append(lambda: self._partial_means(f))
            if self.k_in > 1:
                jobs.append(self._input_means)
        if self.k_out > 1:
            for source in (self.sources.preactivation(f), *((self.sources.output(f),) if view.has_output else ())):
                if isinstance(source, BlockMap):
                    jobs.append(partial(source.cells, self.k_out))
        if len(jobs) > 1:
            tiles.each(lambda pair: jobs[pair[0]]() is None, [(i, i) for i in range(len(jobs))], None)

    def row(self, view: FilterSum) -> list[list[Map]]:
        """The blocks of a filter's row: inputs, partials (and Σ others), then pre-activation (and output)."""
        self._side_by_side(view)
        f = view.index
        shown, others = list(view.shown), list(view.others)
        inputs = [self._input(view.channels[c], view.names[c]) for c in shown]
        parts = self._partials(f, shown, others, list(view.names), view.parts()[-1].label)
        bias = f"Σ + bias {describe.fmt(view.bias)}" if view.use_bias else "Σ, no bias"
        results = [self._result("preactivation", f"pre-activation = {bias}", f)]
        if view.has_output:
            results.append(self._result("output", f"output = {view.activation}(pre-act.)", f))
        return [inputs, parts, results]
