"""Terminal heatmaps of a filter's sum (:class:`FilterHeatmaps`), one map each drawn by
:mod:`convcli.render.heatcells` (coloured cells, or shaded characters without colour).

:class:`FilterHeatmaps` lays out one filter's sum (:class:`convcli.present.filtersum.FilterSum`):
each channel's partial map, the bias, the pre-activation and the output, the parts and their sum on
one shared scale; it measures its width when rendered.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.text import Text

from convcli.engine import LayerResult
from convcli.present import describe
from convcli.present.filtersum import FilterSum
from convcli.present.maps import STATS, MapSource, ResultMaps, block_factor
from convcli.render import numbers

# the one-map renderables, re-exported: the heatmaps' public names stay where they were
from convcli.render.heatcells import Heatmap, Legend, PaletteNote, Scale, range_text

__all__ = ["MAX_LINES", "BIAS_COLUMNS", "SLOT_COLUMNS", "FilterHeatmaps", "Heatmap", "Legend", "Scale",
           "filter_heatmaps", "height_cap", "range_text", "slots"]

#: Text lines a map of :func:`filter_heatmaps` may take (two map rows each).
MAX_LINES = 24
#: Columns per map slot below which :func:`filter_heatmaps` puts fewer maps on a line.
SLOT_COLUMNS = 24
#: Columns the bias between the partial maps and the pre-activation takes ("+ bias -0.25").
BIAS_COLUMNS = 14


# ------------------------------------------------------------------------------------------------
# A filter


def slots(width: int, maps: int | None = None, bias: bool = False, cap: int | None = None) -> tuple[int, int]:
    """``(maps per line, columns per map)`` for a panel ``width`` columns wide holding ``maps`` maps.

    A slot also holds the operator in front and a gap. As many maps a line as leave each
    :data:`SLOT_COLUMNS`, the lines balanced (5 maps: 3 + 2), each map as wide as its line allows up
    to ``cap`` (:func:`height_cap`), less the ``bias`` text when no line has room for it.
    """
    inner = width - 4  # the panel's border and padding
    if maps is None:
        per_line = min(4, max(2, inner // SLOT_COLUMNS))
        return per_line, max(4, inner // per_line - 3)
    fit = max(1, min(maps, inner // SLOT_COLUMNS))
    lines = -(-maps // fit)
    per_line = -(-maps // lines)
    full = maps % per_line == 0  # every line holds per_line maps: the bias has to share one
    room = inner - (BIAS_COLUMNS if bias and full else 0)
    max_w = max(4, room // per_line - 3)
    return per_line, max_w if cap is None else max(4, min(max_w, cap))


def height_cap(hw: tuple[int, int]) -> int:
    """The columns of an ``(h, w)`` map drawn :data:`MAX_LINES` lines tall (wider gains no cells),
    at least a slot's (:data:`SLOT_COLUMNS`, so that its title and range stay readable)."""
    h, w = hw
    k = max(1, -(-h // (2 * MAX_LINES)))
    return max(SLOT_COLUMNS - 3, -(-w // k))


def filter_heatmaps(
    result: LayerResult, f: int, names: Sequence[str], *, width: int | None = None, maps: np.ndarray | None = None,
    sources: ResultMaps | None = None, stat: str = "mean",
) -> FilterHeatmaps:
    """Filter ``f`` as heatmaps (:class:`FilterHeatmaps` of its :class:`~convcli.present.filtersum.FilterSum`)."""
    return FilterHeatmaps(FilterSum.of(result, f, names), width=width, maps=maps, sources=sources, stat=stat)


class FilterHeatmaps:
    """A filter's sum as heatmaps: each input channel's partial map + bias = pre-activation → output.

    Laid out when rendered, for the width it is given (``options.max_width``, or ``width`` when
    set), so that one object serves a terminal, an export and a resizing widget: maps are as wide
    as the panel allows (:func:`slots`). ``maps (H', W', Cg)`` are the filter's partial maps if
    already computed; otherwise ``sources`` (one :class:`ResultMaps` for every filter of the result,
    made with ``stat``) provides them, without full-resolution maps where it can. ``stat``: what a
    cell shows of its block (:data:`convcli.present.maps.STATS`). The parts and their sum share ONE
    scale (the output too when the view model says so: :func:`convcli.present.filtersum.output_scale`),
    so that colours compare across ``+``, ``=`` and ``→``.
    """

    def __init__(self, view: FilterSum, *, width: int | None = None, maps: np.ndarray | None = None,
                 sources: ResultMaps | None = None, stat: str = "mean") -> None:
        self.view = view
        self.width = width
        self.sources = ResultMaps(view.result, stat) if sources is None else sources
        channel_maps, others_map = self.sources.partials(view.index, maps, list(view.others))
        self.parts: list[tuple[str, MapSource]] = [(p.label, channel_maps[p.positions[0]]) for p in view.parts()
                                                   if not p.folded]
        if others_map is not None:
            self.parts.append((view.parts()[-1].label, others_map))
        self._panels: dict[int, Panel] = {}

    def panel(self, width: int) -> Panel:
        """The heatmaps laid out for a ``width``-column line (made once per width)."""
        if width not in self._panels:
            self._panels[width] = self._layout(width)
        return self._panels[width]

    def _layout(self, width: int) -> Panel:
        view, sources, partials = self.view, self.sources, self.parts
        stat = sources.stat
        ho, wo = view.result.layer.geometry.out_hw
        out_shared = view.output_shared
        n_maps = len(partials) + 1 + view.has_output
        _, max_w = slots(width, n_maps, view.use_bias, height_cap((ho, wo)))
        k = block_factor((ho, wo), 2 * MAX_LINES, max_w)
        pre_source = sources.preactivation(view.index)
        out_source = sources.output(view.index) if view.has_output else None
        # one scale for the parts and their sum: it spans the cells as drawn (block statistics)
        summed = [m.cells(k, stat) for _, m in partials] + [pre_source.cells(k, stat)]
        if out_source is not None and out_shared:
            summed.append(out_source.cells(k, stat))
        shared = Scale.including_zero(*summed)

        def heatmap(values: MapSource, title: str, scale: Scale | None = None) -> Heatmap:
            lo, hi = (scale.lo, scale.hi) if scale is not None else (None, None)
            return Heatmap(values, title, lo=lo, hi=hi, max_w=max_w, max_h=MAX_LINES, legend=False,
                           show_factor=False, stat=stat)

        items: list[RenderableType] = []
        for n, (title, m) in enumerate(partials):
            hm = heatmap(m, title, shared)
            items.append(hm if n == 0 else numbers.joined("+", hm))
        if view.use_bias:
            # the bias is one number added everywhere: a flat map would only repeat it
            items.append(numbers.joined("+", Text.assemble(("bias ", numbers.LABEL), describe.fmt(view.bias),
                                                          ("\nat every\nposition", "dim"))))
        pre = heatmap(pre_source, "pre-activation", shared)
        items.append(numbers.joined("=", pre))
        fit = pre.fit(max_w)
        means = fit.k > 1
        keys: list[tuple[str, RenderableType]] = [
            ("one scale", Group(Legend(shared, explain=False, means=means, stat=stat),
                                Text("the channels and their sum (pre-activation" + (", output" if out_shared else "")
                                     + "): their cells compare", style="dim"))),
        ]
        if out_source is not None and view.output is not None:
            out = heatmap(out_source, "output", shared if out_shared else None)
            items.append(numbers.joined(f"{view.activation} →", out))
            if not out_shared:
                legend: RenderableType = Legend(out.fit(max_w).scale, explain=False, means=means, stat=stat)
                if not view.output.same_units:  # say why its colours do not compare with the sum's
                    legend = Group(legend, Text(view.output.reason, style="dim"))
                keys.append(("output", legend))

        if fit.k > 1:
            block = f"{fit.k}" if ho == 1 else f"{fit.k}×{fit.k}"  # a 1-D layer's one row: blocks of k positions
            cells = f"one cell = {STATS[stat]} of {block} output positions"
        elif fit.z > 1:
            cells = f"each value drawn as {fit.z}×{fit.z} cells"
        else:
            cells = "one cell per output position" + ("" if stat == "mean" else f" ({STATS[stat]})")
        body = Group(
            Text(f"{ho}×{wo} maps · {cells}", style=numbers.LABEL),
            numbers.Flow(items),
            numbers.key_values(keys),
            PaletteNote(),
        )
        title = f"filter {view.index} · heatmaps · bias {describe.fmt(view.bias)} · {view.activation}"
        if view.grouped:
            title += f" · {view.group_title}"
        return Panel(body, title=title, title_align="left")

    def _width(self, options: ConsoleOptions) -> int:
        return self.width if self.width is not None else options.max_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.panel(self._width(options))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.panel(self._width(options)))
