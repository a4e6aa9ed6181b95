"""TEMPORARY shim for the merge: the terminal heatmaps live in convcli.render.heatmap."""

from convcli.render.heatmap import *  # noqa: F403
from convcli.render.heatmap import (  # noqa: F401
    Fit,
    Heatmap,
    Legend,
    Scale,
    filter_heatmaps,
    note,
    range_text,
    slots,
    uses_colour,
)
