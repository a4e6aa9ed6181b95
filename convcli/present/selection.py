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
#: The summary table lists every filter up to this many; beyond, the first and last few and the
#: strongest (see :func:`summary_filters`), so a million filters print in a moment.
SUMMARY_ALL_UP_TO = 40
SUMMARY_FIRST, SUMMARY_LAST, SUMMARY_STRONGEST = 10, 5, 10


def group_channels(result: LayerResult, f: int) -> np.ndarray:
    """Input channel indices (Cg,) that filter ``f`` reads."""
    layer = result.layer
    group = group_of(f, layer.filters, layer.groups)
    return np.arange(group * layer.cg, (group + 1) * layer.cg)


def shown_channels(result: LayerResult, f: int) -> tuple[list[int], list[int]]:
    """Channel positions (within the group) shown one by one, and those folded into "Σ others"."""
    return largest_channels(result.mean_abs[:, f])


def largest_channels(strength: np.ndarray) -> tuple[list[int], list[int]]:
    """Positions in ``strength (Cg,)`` shown one by one, and those folded into "Σ others".

    Every channel up to :data:`MAX_CHANNELS_SHOWN`; beyond, the :data:`TOP_CHANNELS` of largest
    ``|strength|`` (ties to the lower index), both lists in channel order.
    """
    cg = len(strength)
    if cg <= MAX_CHANNELS_SHOWN:
        return list(range(cg)), []
    order = np.argsort(-np.abs(strength), kind="stable")
    top = sorted(order[:TOP_CHANNELS].tolist())
    return top, sorted(order[TOP_CHANNELS:].tolist())


def summary_filters(output_stats: np.ndarray) -> list[int]:
    """The filters a summary of ``output_stats`` (``(F, 3)`` min, mean, max) lists, in order.

    Every filter up to :data:`SUMMARY_ALL_UP_TO`; beyond, the first :data:`SUMMARY_FIRST`, the last
    :data:`SUMMARY_LAST` and the :data:`SUMMARY_STRONGEST` strongest (the largest ``max(|min|, |max|)``,
    NaN last; ties to the lower index).
    """
    f = len(output_stats)
    if f <= SUMMARY_ALL_UP_TO:
        return list(range(f))
    with np.errstate(invalid="ignore"):
        strength = np.fmax(np.abs(output_stats[:, 0]), np.abs(output_stats[:, 2]))
    strength = np.where(np.isnan(strength), -np.inf, strength)
    # the strongest few without sorting all F: argpartition, then a stable order among them
    k = SUMMARY_STRONGEST
    part = np.argpartition(-strength, k - 1)[:k]
    threshold = strength[part].min()
    ties = np.flatnonzero(strength >= threshold)  # every filter as strong as the weakest chosen
    order = ties[np.lexsort((ties, -strength[ties]))][:k]
    chosen = set(range(SUMMARY_FIRST)) | set(range(f - SUMMARY_LAST, f)) | {int(i) for i in order}
    return sorted(chosen)
