"""Which filters and channels a view shows in detail: the same choice for tables, heatmaps and figures.

numpy only.
"""

from __future__ import annotations

import numpy as np

from convcli.engine import LayerResult
from convcli.layer.spec import group_of

#: Channels shown one by one in a filter's sum; beyond this the largest few and "Σ others".
MAX_CHANNELS_SHOWN = 6
TOP_CHANNELS = 4
#: Filters shown in detail when --filter is not given.
DEFAULT_DETAIL_FILTERS = 4


def group_channels(result: LayerResult, f: int) -> np.ndarray:
    """Input channel indices (Cg,) that filter ``f`` reads."""
    layer = result.layer
    group = group_of(f, layer.filters, layer.groups)
    return np.arange(group * layer.cg, (group + 1) * layer.cg)


def shown_channels(result: LayerResult, f: int) -> tuple[list[int], list[int]]:
    """Channel positions (within the group) shown one by one, and those folded into "Σ others"."""
    cg = result.layer.cg
    if cg <= MAX_CHANNELS_SHOWN:
        return list(range(cg)), []
    order = np.argsort(-result.mean_abs[:, f], kind="stable")
    top = sorted(order[:TOP_CHANNELS].tolist())
    return top, sorted(order[TOP_CHANNELS:].tolist())
