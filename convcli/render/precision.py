"""The precision view: one filter at one output position in float64 beside the emulated format, with
where the difference comes from (each channel's rounding, the adder, the output store). Layout only:
the numbers are :class:`~convcli.present.precision.PrecisionWindow`'s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convcli.engine.precision import FORMATS
from convcli.engine.precision_errors import ErrorSummary
from convcli.present.describe import fmt
from convcli.present.precision import PrecisionWindow, Stored
from convcli.render.numbers import LABEL


@dataclass(frozen=True)
class PrecisionLabels:
    """The words of :func:`precision_panel`, English by default; ``explain --lang`` passes its own
    (:data:`convcli.render.explain_texts.PRECISION_LABELS`). Placeholders in braces are filled in."""

    heading: str = "{precision} at output ({row}, {col}) · filter {f} · products added in {adder}"
    channel: str = "channel {name}"
    input: str = "input"
    weight: str = "weight"
    bias: str = "bias"
    sum_in: str = "sum in {adder}"
    stored_in: str = "stored in {storage}"
    output: str = "output"
    error: str = "error"
    exact: str = "{precision} gives the float64 result here."
    verdict: str = "difference {diff} ({eps} eps of the result); the largest part: {part}"


def _signed(v: float) -> str:
    return "0" if v == 0 else ("+" if v > 0 else "") + fmt(v)


def _stored(s: Stored) -> Text:
    if not s.changed:
        return Text(fmt(s.given))
    return Text.assemble(fmt(s.given), " → ", (fmt(s.stored), "bold"))


def _error(v: float, dominant: bool) -> Text:
    return Text(_signed(v), style="bold yellow" if dominant else ("" if v else "dim"))


def _part(view: PrecisionWindow, labels: PrecisionLabels) -> str:
    """The dominant part in ``labels``' words: the row label it has in the table."""
    d = view.dominant or ""
    if d.startswith("channel "):
        return labels.channel.format(name=d.removeprefix("channel "))
    return {"bias": labels.bias, "accumulation": labels.sum_in.format(adder=view.adder),
            "output rounding": labels.stored_in.format(storage=view.storage)}.get(d, d)


def precision_table(view: PrecisionWindow, labels: PrecisionLabels = PrecisionLabels()) -> RenderableType:  # noqa: B008 - frozen
    """The window's table: a row per channel, then the bias, the adder, the store and the total."""
    w = labels
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False)
    for heading, numeric in (("", False), (w.input, False), (w.weight, False), ("float64", True),
                             (view.precision, True), (w.error, True)):
        # the numbers never wrap; a narrow screen wraps the labels and the "given → stored" pairs
        table.add_column(heading, justify="right" if heading else "left", no_wrap=numeric)
    for ch in view.channels:
        table.add_row(w.channel.format(name=ch.name), _stored(ch.value), _stored(ch.weight), fmt(ch.exact),
                      fmt(ch.rounded), _error(ch.error, view.dominant == f"channel {ch.name}"))
    table.add_row(w.bias, "", _stored(view.bias), fmt(view.bias.given), fmt(view.bias.stored),
                  _error(view.bias_error, view.dominant == "bias"))
    table.add_row(w.sum_in.format(adder=view.adder), "", "", "", fmt(view.accumulated),
                  _error(view.accumulation, view.dominant == "accumulation"))
    table.add_row(w.stored_in.format(storage=view.storage), "", "", "", fmt(view.emulated),
                  _error(view.output_rounding, view.dominant == "output rounding"), end_section=True)
    table.add_row(Text(w.output, style="bold"), "", "", Text(fmt(view.exact), style="bold"),
                  Text(fmt(view.emulated), style="bold"), Text(_signed(view.difference), style="bold"))
    return table


def precision_panel(view: PrecisionWindow, labels: PrecisionLabels = PrecisionLabels()) -> RenderableType:  # noqa: B008
    """A heading, :func:`precision_table` and which part dominates."""
    w = labels
    heading = Text(w.heading.format(precision=view.precision, row=view.row, col=view.col, f=view.filt,
                                    adder=view.adder), style=LABEL)
    if view.dominant is None:
        verdict = Text(w.exact.format(precision=view.precision))
    else:
        scale = abs(view.exact) or 1.0
        diff, part = _signed(view.difference), _part(view, w)
        verdict = Text(w.verdict.format(diff=diff, eps=fmt(abs(view.difference) / scale / view.eps), part=part))
        verdict.highlight_words([diff], "bold")
        verdict.highlight_words([part], "bold yellow")
    return Group(heading, precision_table(view, w), verdict)


def _part_name(name: str, names: Sequence[str] | None) -> str:
    """``channel 2`` as ``channel B`` when the channels have ``names``."""
    if names is not None and name.startswith("channel "):
        return f"channel {names[int(name.removeprefix('channel '))]}"
    return name


def _measured(summary: ErrorSummary) -> str:
    """What the summary measured: the whole layer, or a centred band of output rows."""
    if summary.rows is None:
        return "whole layer"
    r0, r1 = summary.rows
    return f"output rows {r0}–{r1 - 1} (a centred band)"


def error_table(summary: ErrorSummary, names: Sequence[str] | None = None) -> RenderableType:
    """The whole layer's error, part by part: max and mean |error|, absolute and in eps of each result's
    scale (Σ|partial| + |bias|), the total last, then which part dominates. ``names`` name the channels."""
    fmt_ = FORMATS[summary.precision]
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False,
                  title=f"{fmt_.title} − float64, {_measured(summary)} (eps = 2^-{fmt_.mantissa_bits})",
                  title_justify="left", title_style=LABEL)
    table.add_column("part")
    for heading in ("max |error|", "mean |error|", "max eps", "mean eps"):
        table.add_column(heading, justify="right", no_wrap=True)
    dominant = summary.dominant
    for p in summary.parts:
        style = "bold yellow" if p.name == dominant else ("" if p.max_abs else "dim")
        table.add_row(_part_name(p.name, names), fmt(p.max_abs), fmt(p.mean_abs), fmt(p.max_eps), fmt(p.mean_eps),
                      style=style, end_section=p is summary.parts[-1])
    t = summary.total
    table.add_row(Text("total", style="bold"), fmt(t.max_abs), fmt(t.mean_abs), fmt(t.max_eps), fmt(t.mean_eps))
    verdict = (Text(f"{fmt_.title} gives the float64 result everywhere.") if dominant is None else
               Text.assemble("the largest part on average: ", (_part_name(dominant, names), "bold yellow")))
    return Group(table, verdict)
