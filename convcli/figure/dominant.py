"""Which input channel contributes most at each output position: the figure's categorical map.

For each position, the part (a channel's partial map, or "Σ N others") of largest ``|value|``, as
the figure draws the parts (a photo's maps: their block means, so "most at each block on average").
RGB inputs are drawn in red, green and blue; other channels in a qualitative palette.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RGB = tuple[int, int, int]

#: Tableau's ten, for channels that are not R, G, B.
QUALITATIVE: tuple[RGB, ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)
CHANNEL_COLOURS = {"R": (215, 48, 39), "G": (26, 152, 80), "B": (49, 54, 200)}
#: the colour of a position where no part is finite
UNDECIDED: RGB = (200, 200, 200)


def dominant(parts: Sequence[np.ndarray]) -> np.ndarray:
    """``(h, w)`` index of the part of largest ``|value|`` at each position; -1 where none is finite."""
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
    """Each part's share of the positions it dominates, in percent."""
    counts = np.bincount(index[index >= 0].ravel(), minlength=n)[:n]
    total = max(1, int(counts.sum()))
    return [100.0 * c / total for c in counts]
