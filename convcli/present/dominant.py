"""Which input channel contributes most at each output position: the dominant-channel map.

For filter ``f`` and each output position, the input channel of its group whose partial map has the
largest ``|value|`` there (cross-correlation's terms ``x ⊛ w[..., c, f]``, summed over the window).
A map larger than it is shown is reduced to ``k × k`` blocks first (each partial map's block means:
"most at each block on average"). One view model serves the terminal view (``run --view
dominant``), its JSON and the figure's categorical panel: the same colours everywhere, R, G and B in
their own, other channels in Tableau's ten; past ten channels the nine that win most positions keep
a colour and the rest share one grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from convcli.engine import LayerResult
from convcli.present import selection
from convcli.present.maps import ResultMaps

RGB = tuple[int, int, int]

#: Tableau's ten, for channels that are not R, G, B.
QUALITATIVE: tuple[RGB, ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)
CHANNEL_COLOURS = {"R": (215, 48, 39), "G": (26, 152, 80), "B": (49, 54, 200)}
#: the colour of a position where no part is finite
UNDECIDED: RGB = (200, 200, 200)
#: the colour the channels past the first nine share
OTHERS_COLOUR: RGB = (70, 70, 70)
#: the most categories a map names (colours stay told apart)
MAX_CATEGORIES = len(QUALITATIVE)


def dominant(parts: Sequence[np.ndarray]) -> np.ndarray:
    """``(h, w)`` index of the part of largest ``|value|`` at each position (the first on a tie);
    -1 where none is finite. ``parts``: ``n`` maps ``(h, w)``."""
    stack = np.abs(np.stack([np.asarray(p, dtype=np.float64) for p in parts]))
    finite = np.isfinite(stack)
    best = np.where(finite, stack, -1.0).argmax(axis=0)
    return np.where(finite.any(axis=0), best, -1)


def palette(labels: Sequence[str]) -> tuple[RGB, ...]:
    """A colour per part: R, G and B in their own colours when all of them are so named, else Tableau's."""
    if labels and all(label in CHANNEL_COLOURS for label in labels):
        return tuple(CHANNEL_COLOURS[label] for label in labels)
    return tuple(QUALITATIVE[k % len(QUALITATIVE)] for k in range(len(labels)))


def colours(index: np.ndarray, colours_of: Sequence[RGB]) -> np.ndarray:
    """``index (h, w)`` as ``(h, w, 3)`` uint8 in ``colours_of`` (-1: :data:`UNDECIDED`)."""
    table = np.array([*colours_of, UNDECIDED], dtype=np.uint8)
    return table[np.where(index < 0, len(colours_of), index)]


def shares(index: np.ndarray, n: int) -> list[float]:
    """Each part's share of the positions it dominates, in percent (of the decided ones)."""
    counts = np.bincount(index[index >= 0].ravel(), minlength=n)[:n]
    total = max(1, int(counts.sum()))
    return [100.0 * c / total for c in counts]


@dataclass(frozen=True)
class Category:
    """One colour of the map: a channel (``channels`` of one), or the channels past the first nine."""

    label: str
    channels: tuple[int, ...]  # input channels (indices into the input's C)
    colour: RGB
    share: float  # percent of the (decided) cells it wins


@dataclass(frozen=True)
class DominantMap:
    """Filter ``index``'s dominant channels: ``channels (h, w)`` the winning input channel of each cell
    (-1: no finite partial), ``cells (h, w)`` the same as an index into ``categories``; a cell is a
    ``k × k`` block of the ``out_hw`` output."""

    index: int
    k: int
    out_hw: tuple[int, int]
    channels: np.ndarray
    cells: np.ndarray
    categories: tuple[Category, ...]


def dominant_map(result: LayerResult, f: int, names: Sequence[str], k: int = 1,
                 sources: ResultMaps | None = None) -> DominantMap:
    """Filter ``f``'s :class:`DominantMap` at block size ``k`` (``names``: every input channel's, ``C``);
    ``sources``: a ``"mean"`` :class:`ResultMaps` of ``result`` to share (block sums, no whole maps)."""
    sources = ResultMaps(result, "mean") if sources is None or sources.stat != "mean" else sources
    group = [int(c) for c in selection.group_channels(result, f)]
    maps, _ = sources.partials(f)
    best = dominant([m.cells(k, "mean") for m in maps])  # positions within the group
    table = np.array([*group, -1])
    channels = table[np.where(best < 0, len(group), best)]
    wins = np.bincount(best[best >= 0].ravel(), minlength=len(group))
    if len(group) <= MAX_CATEGORIES:
        kept = list(range(len(group)))
    else:  # the nine that win most, in channel order (stable: the first on a tie)
        kept = sorted(np.argsort(-wins, kind="stable")[:MAX_CATEGORIES - 1].tolist())
    labels = [names[group[p]] for p in kept]
    cols = palette(labels)
    category_of = np.full(len(group) + 1, -1)
    total = max(1, int(wins.sum()))
    cats = []
    for n, p in enumerate(kept):
        category_of[p] = n
        cats.append(Category(labels[n], (group[p],), cols[n], 100.0 * int(wins[p]) / total))
    rest = [p for p in range(len(group)) if p not in kept]
    if rest:
        category_of[rest] = len(cats)
        cats.append(Category(f"{len(rest)} other channels", tuple(group[p] for p in rest), OTHERS_COLOUR,
                             100.0 * int(wins[rest].sum()) / total))
    cells = category_of[np.where(best < 0, len(group), best)]
    return DominantMap(f, k, result.layer.geometry.out_hw, channels, cells, tuple(cats))


def hex_colour(rgb: RGB) -> str:
    """``#rrggbb``."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def dominant_json(view: DominantMap) -> dict[str, object]:
    """The map as JSON: the winning input channel of each cell, the block size and each category."""
    return {
        "filter": view.index, "block": view.k, "shape": list(view.channels.shape),
        "channels": [{"label": c.label, "channels": list(c.channels), "share": round(c.share, 3),
                      "colour": hex_colour(c.colour)} for c in view.categories],
        "map": view.channels.tolist(),
    }
