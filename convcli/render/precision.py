"""The precision view: one filter at one output position in float64 beside the emulated format, with
where the difference comes from (each channel's rounding, the adder, the output store). Layout only:
the numbers are :class:`~convcli.present.precision.PrecisionWindow`'s."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convcli.present.describe import fmt
from convcli.present.precision import PrecisionWindow, Stored
from convcli.render.numbers import LABEL


def _signed(v: float) -> str:
    return "0" if v == 0 else ("+" if v > 0 else "") + fmt(v)


def _stored(s: Stored) -> Text:
    if not s.changed:
        return Text(fmt(s.given))
    return Text.assemble(fmt(s.given), " → ", (fmt(s.stored), "bold"))


def _error(v: float, dominant: bool) -> Text:
    return Text(_signed(v), style="bold yellow" if dominant else ("" if v else "dim"))


def precision_table(view: PrecisionWindow) -> RenderableType:
    """The window's table: a row per channel, then the bias, the adder, the store and the total."""
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    for heading, justify in (("", "left"), ("input", "right"), ("weight", "right"), ("float64", "right"),
                             (view.precision, "right"), ("error", "right")):
        # the numbers never wrap; a narrow screen wraps the labels and the "given → stored" pairs
        table.add_column(heading, justify=justify, no_wrap=heading not in ("", "input", "weight"))  # type: ignore[arg-type]
    for ch in view.channels:
        table.add_row(f"channel {ch.name}", _stored(ch.value), _stored(ch.weight), fmt(ch.exact), fmt(ch.rounded),
                      _error(ch.error, view.dominant == f"channel {ch.name}"))
    table.add_row("bias", "", _stored(view.bias), fmt(view.bias.given), fmt(view.bias.stored),
                  _error(view.bias_error, view.dominant == "bias"))
    table.add_row(f"sum in {view.adder}", "", "", "", fmt(view.accumulated),
                  _error(view.accumulation, view.dominant == "accumulation"))
    table.add_row(f"stored in {view.storage}", "", "", "", fmt(view.emulated),
                  _error(view.output_rounding, view.dominant == "output rounding"), end_section=True)
    table.add_row(Text("output", style="bold"), "", "", Text(fmt(view.exact), style="bold"),
                  Text(fmt(view.emulated), style="bold"), Text(_signed(view.difference), style="bold"))
    return table


def precision_panel(view: PrecisionWindow) -> RenderableType:
    """A heading, :func:`precision_table` and which part dominates."""
    heading = Text(f"{view.precision} at output ({view.row}, {view.col}) · filter {view.filt} · "
                   f"products added in {view.adder} · eps {fmt(view.eps)}", style=LABEL)
    if view.dominant is None:
        verdict = Text(f"{view.precision} gives the float64 result here.")
    else:
        scale = abs(view.exact) or 1.0
        verdict = Text.assemble(
            "difference ", (_signed(view.difference), "bold"),
            f" ({fmt(abs(view.difference) / scale / view.eps)} eps of the result); the largest part: ",
            (view.dominant, "bold yellow"),
        )
    return Group(heading, precision_table(view), verdict)
