"""What ``run --figure`` adds to a run's memory, in bytes: the figure's own term of the budget.

The run's budget is :func:`convcli.pipeline.memory.check_run_fits`; this term is the figure's,
since only the figure knows how it lays its panels out (:func:`convcli.figure.layout.figure_layout`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convcli.engine import Layer


def figure_bytes(layer: Layer, activation: str, shown_filters: int, width: int | None) -> int:
    """What ``run --figure`` adds to a run: ``shown_filters`` rows at most ``width`` pixels wide
    (:data:`FIGURE_MAX_PANEL`), as :mod:`convcli.figure.panels` makes them.

    Kept while the figure is planned: each panel's values (float64 block means where the maps are
    larger than the panels, with the tap sums they come from; where they fit, each shown filter's
    partial maps themselves). Made and dropped on the way, all counted: a band of the tap sums'
    row pass, one result's block sums (every filter), the input's block sums, one map made whole
    ("Σ others", more than ``MAX_CHANNELS_SHOWN`` channels, and the copy of those channels). And
    the RGB picture, twice (the image and the tiles painted into it). Not counted: a map with a
    NaN or an infinity, made whole one channel at a time (``H'·W'`` values, a mask and a float64
    copy), within the run's own block buffers, which are free by then.
    """
    from convcli.engine.blocks import BAND_VALUES
    from convcli.figure.layout import figure_layout
    from convcli.figure.panels import drawn_shape
    from convcli.present import selection

    layout = figure_layout(layer, activation, shown_filters, max_panel=FIGURE_MAX_PANEL, width=width)
    n_in, n_parts, n_res = layout.blocks
    (h, w, c), (ho, wo), item = layer.x.shape, layer.geometry.out_hw, layer.x.itemsize
    (bh, bw), (ih, iw) = drawn_shape((ho, wo), layout.limit), drawn_shape((h, w), layout.limit)
    (kh, kw), others = layer.geometry.kernel_hw, layer.cg > selection.MAX_CHANNELS_SHOWN
    if (bh, bw) != (ho, wo):
        kept = shown_filters * (n_parts + n_res) * bh * bw * 8 + kh * kw * bh * bw * c * 8
        # Σ others: those input channels copied (and padded), their map, its block mean's mask and
        # float64 copy; the convolution's own block buffers are the run's, done by then
        whole = (2 * h * w * (layer.cg - selection.TOP_CHANNELS) * item + ho * wo * (item + 9)) if others else 0
        passing = [4 * max(BAND_VALUES, kh * w * c) * 8, 2 * bh * wo * layer.filters * 8, whole]
    else:
        kept, passing = shown_filters * (layer.cg + others) * ho * wo * item, [layer.cg * ho * wo * item * others]
    if (ih, iw) != (h, w):
        kept += min(c, shown_filters * n_in) * ih * iw * 8
        passing.append(2 * ih * w * c * 8)
    return kept + sum(passing) + 2 * 3 * layout.size[0] * layout.size[1]


#: The longest side ``run --figure`` draws a map at; its ``--figure-width`` decides below that.
FIGURE_MAX_PANEL = 4096
