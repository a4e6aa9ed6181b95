"""What the precision view shows for one filter at one output position: plain numbers. numpy only.

Built from an :class:`~convcli.engine.precision.Emulation` and its
:func:`~convcli.engine.precision_errors.error_parts`; the views lay it out and compute nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from convcli.engine import trace_position
from convcli.engine.precision import FORMATS, Emulation
from convcli.engine.precision_errors import error_parts

#: How the adders are called on screen.
ADDERS = {"fp64": "float64", "fp32": "float32", "fp16": "float16"}


@dataclass(frozen=True)
class Stored:
    """One value as given and as stored in the format (the one in a window that moved most)."""

    given: float
    stored: float

    @property
    def changed(self) -> bool:
        return self.given != self.stored


@dataclass(frozen=True)
class ChannelRow:
    """One input channel's partial sum, exact and from the rounded values, and its error."""

    name: str
    value: Stored  # an input value the window reads
    weight: Stored  # a weight of the channel's kernel slice
    exact: float
    rounded: float
    error: float


@dataclass(frozen=True)
class PrecisionWindow:
    """Filter ``filt`` at output ``(row, col)``: float64 beside the emulated format, part by part.

    ``exact`` is the float64 pre-activation, ``accumulated`` the adder's sum (bias included),
    ``emulated`` that sum stored; ``difference = emulated − exact`` is the sum of every channel's
    ``error``, ``bias_error``, ``accumulation`` and ``output_rounding``. ``dominant`` names the
    largest part (``"channel R"``, ``"bias"``, ``"accumulation"``, ``"output rounding"``) or is None.
    """

    precision: str  # the format's title: "bfloat16"
    storage: str  # what the output is stored in: "bfloat16", "float32" for TF32
    adder: str  # "float32" or "float16"
    eps: float
    row: int
    col: int
    filt: int
    channels: tuple[ChannelRow, ...]
    bias: Stored
    bias_error: float
    accumulation: float
    output_rounding: float
    exact: float
    accumulated: float
    emulated: float
    dominant: str | None

    @property
    def difference(self) -> float:
        return self.emulated - self.exact


def _moved_most(given: np.ndarray, stored: np.ndarray) -> Stored:
    """The entry of ``given`` (any shape) that rounding moved most; the largest one if none moved."""
    g, s = given.astype(np.float64).ravel(), stored.astype(np.float64).ravel()
    moved = np.abs(s - g)
    with np.errstate(invalid="ignore"):
        i = int(np.nanargmax(moved)) if np.nanmax(moved, initial=0) > 0 else int(np.argmax(np.abs(g)))
    return Stored(float(g[i]), float(s[i]))


def precision_window(em: Emulation, filt: int, row: int, col: int,
                     names: Sequence[str] | None = None) -> PrecisionWindow:
    """The :class:`PrecisionWindow` of ``em``'s filter ``filt`` at output ``(row, col)``.

    ``names`` name the input channels (``"R", "G", "B"``); their indices by default.
    """
    parts = error_parts(em, filt, (row, row + 1), (col, col + 1))
    given = trace_position(em.source, row, col, filt)
    # rounding is value by value: the rounded layer's window is the window rounded
    with np.errstate(over="ignore"):
        stored_patch, stored_weights = em.format.round(given.patch), em.format.round(given.weights)
    label = (lambda c: str(names[c])) if names is not None else str
    rows = tuple(
        ChannelRow(
            name=label(int(ch)),
            value=_moved_most(given.patch[:, :, i], stored_patch[:, :, i]),
            weight=_moved_most(given.weights[:, :, i], stored_weights[:, :, i]),
            exact=float(parts.exact_partials[0, 0, i]),
            rounded=float(parts.rounded_partials[0, 0, i]),
            error=float(parts.channel_errors[0, 0, i]),
        )
        for i, ch in enumerate(parts.channels.tolist())
    )
    dominant = parts.dominant
    if dominant is not None and dominant.startswith("channel "):
        dominant = f"channel {label(int(dominant.split()[1]))}"
    fmt = em.format
    return PrecisionWindow(
        precision=fmt.title, storage=FORMATS[fmt.storage].title, adder=ADDERS[em.accumulate], eps=fmt.eps,
        row=row, col=col, filt=filt, channels=rows,
        bias=Stored(float(em.source_bias[filt]), float(em.bias[filt])), bias_error=parts.bias_error,
        accumulation=float(parts.accumulation[0, 0]), output_rounding=float(parts.output_rounding[0, 0]),
        exact=float(parts.exact[0, 0]), accumulated=float(em.accumulated[row, col, filt]),
        emulated=float(parts.emulated[0, 0]), dominant=dominant,
    )
