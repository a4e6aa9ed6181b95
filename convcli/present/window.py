"""The window of a layer's output that the number views show, and its partial sums. numpy only.

The engine computes whole maps (:class:`~convcli.engine.LayerResult`); which few output positions a
table, the JSON or the lesson spells out digit by digit is display state, chosen here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convcli.engine import LayerResult, layer_partials
from convcli.errors import FIELD, ConfigError, ShapeError

Pair = tuple[int, int]


@dataclass(frozen=True)
class Window:
    """Output rows ``[r0, r1)`` × cols ``[c0, c1)`` that the number views show.

    ``asked``: the ``--at`` position when the window could not start there (it would have run past
    the output's edge) and was shifted back inside, so that a view can say so; else None. Equality
    and the hash are the positions'.
    """

    rows: Pair
    cols: Pair
    # display state, not the window: two windows over the same positions are equal
    asked: Pair | None = field(default=None, compare=False)
    # result -> its partials here, so that every filter's panel and the JSON share one computation;
    # the result is kept beside its array so that its id cannot be reused while the entry lives
    _partials: dict[int, tuple[LayerResult, np.ndarray]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    @property
    def shape(self) -> Pair:
        """``(r1 - r0, c1 - c0)``."""
        return self.rows[1] - self.rows[0], self.cols[1] - self.cols[0]

    @classmethod
    def choose(cls, out_hw: Pair, at: Pair | None = None, size: int | None = None, *,
               default_size: int = 3, showing: Pair | None = None) -> Window:
        """:func:`choose_window` as a :class:`Window`, remembering an ``at`` it had to shift.

        ``showing``: an output position the window must contain when ``at`` is not given (the
        ``--trace`` position): the default window when it does, else one centred on it.
        """
        rows, cols = choose_window(out_hw, at, size, default_size=default_size)
        if at is None and showing is not None and not _inside(showing, rows, cols):
            (r0, r1), (c0, c1) = rows, cols
            nh, nw = r1 - r0, c1 - c0
            # centred on the position, then kept inside (a position outside the output is refused later)
            r0 = max(0, min(showing[0] - nh // 2, out_hw[0] - nh))
            c0 = max(0, min(showing[1] - nw // 2, out_hw[1] - nw))
            rows, cols = (r0, r0 + nh), (c0, c0 + nw)
        shifted = at is not None and (rows[0], cols[0]) != tuple(at)
        return cls(rows, cols, tuple(at) if shifted else None)  # type: ignore[arg-type]

    @property
    def start(self) -> Pair:
        """The top-left output position ``(r0, c0)``."""
        return self.rows[0], self.cols[0]


def _inside(p: Pair, rows: Pair, cols: Pair) -> bool:
    return rows[0] <= p[0] < rows[1] and cols[0] <= p[1] < cols[1]


def choose_window(out_hw: Pair, at: Pair | None, size: int | None, *, default_size: int = 3) -> tuple[Pair, Pair]:
    """Output rows and cols ``((r0, r1), (c0, c1))`` to show: ``size × size`` starting at ``at``.

    Without ``at`` the window is centred on the output. A window that would run past the edge
    is shifted back inside; an explicit ``size`` larger than the whole output is an error.
    """
    ho, wo = out_hw
    if size is not None:
        if size < 1:
            raise ConfigError(f"{FIELD} must be ≥ 1, got {size}", field="window")
        if size > max(ho, wo):
            raise ShapeError(f"{FIELD} {size} is larger than the {ho}×{wo} output; use at most {max(ho, wo)}",
                             field="window")
    n = default_size if size is None else size
    nh, nw = min(n, ho), min(n, wo)
    if at is None:
        r0, c0 = (ho - nh) // 2, (wo - nw) // 2
    else:
        r, c = at
        if not (0 <= r < ho and 0 <= c < wo):
            raise ShapeError(f"{FIELD} {r},{c} is outside the {ho}×{wo} output (rows 0..{ho - 1}, cols 0..{wo - 1})",
                             field="at")
        r0, c0 = min(r, ho - nh), min(c, wo - nw)
    return (r0, r0 + nh), (c0, c0 + nw)


def window_partials(result: LayerResult, window: Window) -> np.ndarray:
    """Each channel's partial sums over the window: ``(r1 - r0, c1 - c0, Cg, F)``.

    Computed on first use for ``result`` and kept by ``window`` for the next view that asks.
    """
    kept = window._partials.get(id(result))
    if kept is not None and kept[0] is result:
        return kept[1]
    partials = layer_partials(result.layer, window.rows, window.cols)
    window._partials[id(result)] = (result, partials)
    return partials
