"""Which input channel contributes most at each output position: the figure's categorical map.

For each position, the part (a channel's partial map, or "Σ N others") of largest ``|value|``, as
the figure draws the parts (a photo's maps: their block means, so "most at each block on average").
The arithmetic and the colours are the view model's (:mod:`convcli.present.dominant`), shared with
``run --view dominant``.
"""

from __future__ import annotations

from convcli.present.dominant import (
    CHANNEL_COLOURS,
    QUALITATIVE,
    RGB,
    UNDECIDED,
    colours,
    dominant,
    palette,
    shares,
)

__all__ = ["CHANNEL_COLOURS", "QUALITATIVE", "RGB", "UNDECIDED", "colours", "dominant", "palette", "shares"]
