"""What the report adds for ``--precision``: the format's settings for the page's script, and the
whole layer's error table.

The page computes the pointed position's emulation itself, from the input and kernels it already
holds (``report.js``: rounding to the format as :mod:`convcli.engine.precision` does, bit for bit;
float64 and rounded partial sums; the adder tap by tap, channel by channel within a tap). With
``--accumulate fp16`` that is the engine's own order, so every number is ``run --precision``'s; with
the float32 adder the engine adds in BLAS's blocked order, so the page's "sum in float32" may differ
from run's in float32's last place (within the bound :func:`convcli.engine.precision.emulate` states),
and the stored result almost never. No per-position array is stored: the page stays within its budget.
The summary table is computed once in Python (:func:`convcli.engine.precision_errors.error_summary`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from convcli.engine.precision import FORMATS, KEEPS_FORMAT, Emulation
from convcli.engine.precision_errors import ErrorSummary
from convcli.present.describe import fmt
from convcli.present.precision import ADDERS


class Emulated(Protocol):
    """What the report reads of :class:`convcli.pipeline.precision.Emulated` (the layer in a format)."""

    @property
    def emulation(self) -> Emulation: ...
    @property
    def errors(self) -> ErrorSummary: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...
    def how(self) -> str: ...


@dataclass(frozen=True)
class SummaryRow:
    """One part of the whole layer's error: its label and four numbers as shown, ``dominant`` marked."""

    part: str
    cells: tuple[str, str, str, str]  # max |error|, mean |error|, max eps, mean eps
    dominant: bool


@dataclass(frozen=True)
class PrecisionSummary:
    """The error table: its ``title``, a row per part, the ``total`` and a one-line ``verdict``."""

    title: str
    how: str
    rows: tuple[SummaryRow, ...]
    total: SummaryRow
    verdict: str
    warnings: tuple[str, ...]


def part_name(name: str, names: Sequence[str]) -> str:
    """``channel 2`` as ``channel B`` when the channels have ``names``."""
    if name.startswith("channel "):
        c = int(name.removeprefix("channel "))
        return f"channel {names[c]}" if c < len(names) else name
    return name


def summary(errors: ErrorSummary, names: Sequence[str], how: str, warnings: Sequence[str] = ()) -> PrecisionSummary:
    """:class:`PrecisionSummary` of ``errors``, its channels named by ``names`` (within a group)."""
    form = FORMATS[errors.precision]
    measured = ("whole layer" if errors.rows is None else
                f"output rows {errors.rows[0]}–{errors.rows[1] - 1} (a centred band)")
    dominant = errors.dominant

    def row(p: Any, label: str) -> SummaryRow:
        return SummaryRow(label, (fmt(p.max_abs), fmt(p.mean_abs), fmt(p.max_eps), fmt(p.mean_eps)), p.name == dominant)

    verdict = (f"{form.title} gives the float64 result everywhere." if dominant is None else
               f"the largest part on average: {part_name(dominant, names)}")
    return PrecisionSummary(f"{form.title} − float64, {measured} (eps = 2^-{form.mantissa_bits})", how,
                            tuple(row(p, part_name(p.name, names)) for p in errors.parts),
                            row(errors.total, "total"), verdict, tuple(warnings))


def settings(em: Emulation) -> dict[str, Any]:
    """What the page's script needs to emulate a position: the format, the storage, the adder, eps,
    whether the activation keeps its result in the format (no second rounding) and the bias ``(F,)``."""
    form = em.format
    store = FORMATS[form.storage]
    return {"precision": form.name, "title": form.title, "bits": form.mantissa_bits, "eps": form.eps,
            "storage": store.name, "storage_title": store.title, "adder": em.accumulate,
            "adder_title": ADDERS[em.accumulate], "keeps": em.activation in KEEPS_FORMAT,
            # the bias as given (float64), which the emulation rounds: the layer's own is float32 already
            "bias": [float(b) if math.isfinite(b) else None for b in em.source_bias.tolist()]}
