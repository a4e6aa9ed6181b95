"""What the explorer points at: a filter, an output position, a channel, the channels switched off.

numpy only (no Textual, no rich), so that the keys' effects are tested without a terminal. The maps
are the result's, computed once; a move computes one position's :class:`~convcli.engine.Trace` (``kh
× kw × C/g`` products), and switching a channel off re-adds the trace's per-channel sums: nothing
here recomputes a map.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convcli import engine
from convcli.engine import LayerResult, Trace


@dataclass(frozen=True)
class TraceSum:
    """One position's sum with some channels off: ``sums (Cg,)`` each channel's Σ of products,
    ``on (Cg,)`` which of them are added; ``total`` = Σ on + ``bias`` (the pre-activation) and
    ``output`` its activation. With every channel on, ``total`` and ``output`` are the result's own."""

    sums: np.ndarray
    on: np.ndarray
    bias: float
    total: float
    output: float
    activation: str

    @property
    def complete(self) -> bool:
        return bool(self.on.all())


@dataclass
class Pointer:
    """The explorer's state over ``result``: filter ``filter``, output ``(row, col)``, the channel
    cursor ``channel`` (an index into the filter's group, ``0 ≤ channel < C/g``), the input channels
    switched ``off``, and what the map shows (``numbers``: values, not colours; ``pre``: the
    pre-activation, not the output)."""

    result: LayerResult
    filter: int = 0
    row: int = 0
    col: int = 0
    channel: int = 0
    off: set[int] = field(default_factory=set)
    numbers: bool = False
    pre: bool = False
    _traces: dict[tuple[int, int, int], Trace] = field(default_factory=dict, repr=False)

    @property
    def out_hw(self) -> tuple[int, int]:
        return self.result.layer.geometry.out_hw

    @property
    def group_size(self) -> int:
        """``C/g``: the input channels one filter reads."""
        return int(self.result.layer.kernel.shape[2])

    def centre(self) -> None:
        """Point at the middle of the output."""
        h, w = self.out_hw
        self.row, self.col = h // 2, w // 2

    def move_to(self, row: int, col: int) -> None:
        """Point at ``(row, col)``, clamped to the output."""
        h, w = self.out_hw
        self.row, self.col = min(max(row, 0), h - 1), min(max(col, 0), w - 1)

    def move(self, rows: int, cols: int) -> None:
        self.move_to(self.row + rows, self.col + cols)

    def switch_filter(self, step: int) -> None:
        """The next (``step`` 1) or previous (-1) filter, round the end."""
        self.filter = (self.filter + step) % self.result.layer.filters
        self.channel = min(self.channel, self.group_size - 1)

    def move_channel(self, step: int) -> None:
        self.channel = (self.channel + step) % self.group_size

    def toggle(self, index: int | None = None) -> None:
        """Switch the group's channel ``index`` (default: the one under the channel cursor) off, or on again."""
        i = self.channel if index is None else index
        if not 0 <= i < self.group_size:
            return
        self.channel = i
        c = int(self.trace().channels[i])
        self.off.symmetric_difference_update({c})

    def trace(self) -> Trace:
        """The position's trace (kept: moving back costs nothing)."""
        key = (self.filter, self.row, self.col)
        if key not in self._traces:
            if len(self._traces) > 4096:  # a long walk over a photo: forget the oldest
                self._traces.pop(next(iter(self._traces)))
            self._traces[key] = engine.trace_position(self.result.layer, self.row, self.col, self.filter)
        return self._traces[key]

    def trace_sum(self) -> TraceSum:
        """The position's sum with the :attr:`off` channels left out (the result's numbers when none is)."""
        trace, r, f = self.trace(), self.result, self.filter
        on = np.array([int(c) not in self.off for c in trace.channels.tolist()], dtype=bool)
        bias = float(r.bias[f])
        if on.all():
            total, out = float(r.preactivation[self.row, self.col, f]), float(r.output[self.row, self.col, f])
        else:
            # in the result's dtype, as the layer adds them
            z = np.asarray(trace.sums[on].sum(dtype=trace.sums.dtype) + r.bias[f], dtype=r.preactivation.dtype)
            total, out = float(z), float(engine.activate(z, r.activation))
        return TraceSum(trace.sums, on, bias, total, out, r.activation)

    def map(self) -> np.ndarray:
        """The filter's map the explorer draws ``(H', W')``: its output, or pre-activation (a view, not a copy)."""
        source = self.result.preactivation if self.pre else self.result.output
        return source[:, :, self.filter]
