"""The display window of a layer's output (display state: it moves to the view models later)."""

from __future__ import annotations

from convcli.errors import FIELD, ConfigError, ShapeError

Pair = tuple[int, int]


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
