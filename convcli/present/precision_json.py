"""``run --json --precision``: the emulated window and where its difference from float64 comes from.

Adds to :func:`convcli.present.schema.result_json`'s document, which stays as it is without
``--precision``: ``precision``, ``accumulate`` and an ``errors`` summary at the top, and per shown
filter ``window_emulated_output`` and ``window_errors``. Non-finite values are null.
"""

from __future__ import annotations

from typing import Any

from convcli.engine.precision import Emulation
from convcli.engine.precision_errors import ErrorSummary, PartStats, error_parts
from convcli.present.schema import finite_number, nested
from convcli.present.window import Window


def part_json(part: PartStats) -> dict[str, Any]:
    """One part's |error| over the layer: ``{name, max_abs, mean_abs, max_eps, mean_eps}``."""
    return {"name": part.name, "max_abs": finite_number(part.max_abs), "mean_abs": finite_number(part.mean_abs),
            "max_eps": finite_number(part.max_eps), "mean_eps": finite_number(part.mean_eps)}


def errors_json(summary: ErrorSummary) -> dict[str, Any]:
    """Every part (channels, bias, accumulation, output rounding), the total, the part that dominates, and
    the first and last output ``rows`` measured, as the screen spells them (null: the whole layer)."""
    return {"parts": [part_json(p) for p in summary.parts], "total": part_json(summary.total),
            "dominant": summary.dominant, "rows": None if summary.rows is None else [summary.rows[0], summary.rows[1] - 1]}


def window_json(em: Emulation, filt: int, window: Window) -> dict[str, Any]:
    """Filter ``filt`` over ``window`` (``h × w`` positions): the emulated output ``(h, w)`` and the
    errors: ``channels (Cg, h, w)``, ``bias``, ``accumulation (h, w)``, ``output_rounding (h, w)``."""
    c0, c1 = window.cols
    parts = error_parts(em, filt, window.rows, window.cols)
    return {
        "window_emulated_output": nested(em.activated(window.rows)[:, c0:c1, filt]),
        "window_errors": {
            "channels": nested(parts.channel_errors.transpose(2, 0, 1)),
            "bias": finite_number(parts.bias_error),
            "accumulation": nested(parts.accumulation),
            "output_rounding": nested(parts.output_rounding),
        },
    }


def add_precision(doc: dict[str, Any], em: Emulation, summary: ErrorSummary, window: Window) -> dict[str, Any]:
    """``doc`` (``run --json``'s, its ``filters`` those shown) with the emulation's keys added in place."""
    doc["precision"] = em.precision
    doc["accumulate"] = em.accumulate
    for entry in doc["filters"]:
        entry.update(window_json(em, entry["index"], window))
    doc["errors"] = errors_json(summary)
    return doc
