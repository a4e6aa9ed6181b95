"""The options of ``convcli run`` beyond the layer's (:class:`convcli.cli.options.LayerOptions`): what to show, what to write."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from convcli.cli.options import OUT_PANEL, SHOW_PANEL, View

#: ``--figure-width``'s default: a full-HD screen or slide (a row of RGB → relu panels 200 px each).
FIGURE_WIDTH = 1920


class HeatmapStat(StrEnum):
    """``--heatmap-stat``: what one heatmap cell shows of the block of output positions it stands for."""

    auto = "auto"
    mean = "mean"
    mean_abs = "mean-abs"
    max_abs = "max-abs"


HeatmapStatOpt = Annotated[HeatmapStat, typer.Option(
    "--heatmap-stat",
    help="What a heatmap cell shows when it stands for a block of positions: auto (max-abs for edge "
         "detectors, whose weights sum to 0 and whose means cancel; else mean), mean (signed; fine "
         "detail averages out), mean-abs (mean |value|: where a map is strong, either sign) or "
         "max-abs (the value of largest |value|, sign kept: thin edges stay visible). Other than "
         "mean, each shown filter's partial maps are computed in full, one filter at a time.",
    rich_help_panel=SHOW_PANEL)]
AtOpt = Annotated[str | None, typer.Option(help="ROW,COL: top-left output position of the window shown "
                                           "(default: centred); I in 1-D, D,ROW,COL in 3-D.",
                                           rich_help_panel=SHOW_PANEL, show_default=False)]
DepthAtOpt = Annotated[int | None, typer.Option("--depth-at", min=0, help="3-D: the output plane shown (default: "
                                                "the middle one).", rich_help_panel=SHOW_PANEL, show_default=False)]
WindowOpt = Annotated[int | None, typer.Option(help="Window size N (N×N output positions; default 3).",
                                               rich_help_panel=SHOW_PANEL, show_default=False)]
TraceOpt = Annotated[str | None, typer.Option(help="ROW,COL: every product that makes this output position "
                                              "(I in 1-D, D,ROW,COL in 3-D).",
                                              rich_help_panel=SHOW_PANEL, show_default=False)]
FilterOpt = Annotated[str | None, typer.Option("--filter", help="Filters to show in detail: 0,3 or 2-5 "
                                               "(default: the first 4).", rich_help_panel=SHOW_PANEL,
                                               show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.",
                                       rich_help_panel=SHOW_PANEL)]
SaveOpt = Annotated[Path | None, typer.Option(help="Write input, kernel, bias, partials, preactivation, output to "
                                              "this .npz.", rich_help_panel=OUT_PANEL, show_default=False)]
NoPartialsOpt = Annotated[bool, typer.Option("--no-partials", help="Leave the (large) partials out of --save.",
                                             rich_help_panel=OUT_PANEL)]
CompressOpt = Annotated[bool, typer.Option("--compress", help="Deflate the --save archive (np.savez_compressed): "
                                           "smaller, but many times slower to write.", rich_help_panel=OUT_PANEL)]
ViewOpt = Annotated[View, typer.Option(help="numbers: the window's values; heatmap: whole maps as coloured cells; "
                                       "both; dominant: the input channel of largest |partial| at each position; auto: both "
                                       "when the maps are larger than the window.",
                                       rich_help_panel=SHOW_PANEL)]
FigureOpt = Annotated[Path | None, typer.Option(help="Draw each shown filter's whole sum (a line per input "
                                                "channel: input ⊛ kernel slice = partial map; + bias = "
                                                "pre-activation → output) to this .png, .jpg, .webp, .svg or "
                                                ".pdf (a raster page).", rich_help_panel=OUT_PANEL,
                                                show_default=False)]
FigureWidthOpt = Annotated[int, typer.Option("--figure-width", metavar="PIXELS", min=1,
                                             help="Width of the --figure at most: its panels are sized to fit, "
                                             "a map larger than its panel drawn as block means (one pixel a "
                                             "block), then the results wrapped under the channels. Never "
                                             "narrower than its labels need (about 650 px).",
                                             rich_help_panel=OUT_PANEL)]
SaveMapsOpt = Annotated[Path | None, typer.Option(help="Write each filter's output map as a 16-bit PNG into "
                                                  "this folder, with maps.json giving the scaling (greyscale "
                                                  "data to read back, not a picture).",
                                                  rich_help_panel=OUT_PANEL, show_default=False)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.", rich_help_panel=SHOW_PANEL)]
PrecisionOpt = Annotated[str | None, typer.Option(
    metavar="fp64|fp32|tf32|bf16|fp16",
    help="Also compute the layer as a GPU does in this precision (inputs and weights rounded to it, products "
         "added in --accumulate, output stored in it) and show, channel by channel, where its difference from "
         "float64 comes from.", rich_help_panel=SHOW_PANEL, show_default=False)]
AccumulateOpt = Annotated[str | None, typer.Option(
    metavar="fp32|fp16", help="What --precision adds the products in: fp32 (default, as cuDNN and oneDNN do) or "
    "fp16 (some kernels; bf16 and fp16 inputs only).", rich_help_panel=SHOW_PANEL, show_default=False)]
