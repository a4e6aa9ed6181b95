"""`convcli run --trace`: one output position, tap by tap. Nothing here prints."""


from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from convcli.engine import Geometry, LayerResult, Trace
from convcli.engine.transpose import TransposeTrace
from convcli.present.describe import fmt, nonzero_format, signed_sum
from convcli.present.selection import largest_channels
from convcli.render.numbers import LABEL, Flow, joined, number_grid


def trace_panel(result: LayerResult, trace: Trace, row: int, col: int, f: int, names: Sequence[str]) -> Panel:
    """Each channel's receptive field ⊙ its kernel slice = products, Σ; then the total.

    Past :data:`~convcli.present.selection.MAX_CHANNELS_SHOWN` channels, as every other view: the
    few largest here (by ``|Σ|`` at this position) one by one, the rest as one ``Σ N others``.
    Weights, products and sums never show a non-zero value as a zero
    (:func:`~convcli.present.describe.nonzero_format`).
    """
    g: Geometry = result.layer.geometry
    h, w = g.in_hw
    outside = ~((trace.in_rows[:, None] >= 0) & (trace.in_rows[:, None] < h)
                & (trace.in_cols[None, :] >= 0) & (trace.in_cols[None, :] < w))
    rows_text = ", ".join(str(r) for r in trace.in_rows.tolist())
    cols_text = ", ".join(str(c) for c in trace.in_cols.tolist())
    parts: list[RenderableType] = [
        Text(f"output ({row}, {col}) reads input rows {rows_text} × cols {cols_text}"
             + (" (grey: zero padding)" if outside.any() else ""), style=LABEL)
    ]
    shown, others = largest_channels(trace.sums)
    channels = trace.channels.tolist()
    for c in shown:
        parts.append(
            Flow(
                [
                    number_grid(trace.patch[:, :, c], f"input {names[channels[c]]}", dim=outside),
                    joined("⊙", number_grid(trace.weights[:, :, c], "weights", formats=nonzero_format)),
                    joined("=", number_grid(trace.products[:, :, c], "products", formats=nonzero_format)),
                    joined("Σ →", Text(fmt(float(trace.sums[c])), style="bold")),
                ]
            )
        )
    terms = [(names[channels[c]], float(trace.sums[c])) for c in shown]
    if others:
        rest = float(trace.sums[others].sum())
        terms.append((f"Σ {len(others)} others", rest))
        parts.append(Text.assemble((f"Σ {len(others)} others", LABEL), " (the channels of smaller |Σ| here) → ",
                                   (fmt(rest), "bold")))
    pre = float(result.preactivation[row, col, f])
    out = float(result.output[row, col, f])
    bias = float(result.bias[f])
    # one format for every number of the line, and a minus instead of "+ -x"
    line = nonzero_format(np.array([v for _, v in terms] + [bias, pre]))
    total = Text.assemble(("Σ channels ", LABEL), signed_sum([line(v) for _, v in terms]),
                          f" + bias {'0' if bias == 0 else line(bias)} = ", (line(pre), "bold"))
    if result.activation != "linear":
        total.append(f"  {result.activation} → ")
        total.append(fmt(out), style="bold")
    parts.append(total)
    return Panel(Group(*parts), title=f"trace · output ({row}, {col}) · filter {f}", title_align="left")




def scatter_panel(result: LayerResult, trace: TransposeTrace, shown_at: tuple[int, int], names: Sequence[str]
                  ) -> Panel:
    """A transposed layer's output position, as the scatter it is: which input positions and kernel
    taps land there (``input·s + tap·d = position + cut``), each channel's ``x · w`` products and
    their sum, then the channels' total, the bias and the pre-activation (``shown_at``: the position
    in the computed layer's ``(row, col)``)."""
    from rich import box
    from rich.table import Table

    pos = ", ".join(map(str, trace.position))
    full = ", ".join(map(str, trace.full_position))
    parts: list[RenderableType] = [Text(
        f"output ({pos}) is position ({full}) of the uncut output; {len(trace.landings)} kernel "
        f"cop{'y lands' if len(trace.landings) == 1 else 'ies land'} there (input position · stride + tap · "
        "dilation = it), each input value times its tap's weight, channel by channel", style=LABEL)]
    shown, others = largest_channels(trace.sums)
    channels = trace.channels.tolist()
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    table.add_column("input at")
    table.add_column("tap")
    products = nonzero_format(trace.products[:, shown]) if trace.landings else fmt
    for c in shown:
        table.add_column(f"{names[channels[c]]}: x · w", justify="right")
    for row, (i, t) in enumerate(trace.landings):
        cells = [f"{fmt(float(trace.values[row, c]))} · {fmt(float(trace.weights[row, c]))} = "
                 f"{products(float(trace.products[row, c]))}" for c in shown]
        table.add_row(f"({', '.join(map(str, i))})", f"({', '.join(map(str, t))})", *cells)
    table.add_row("Σ", "", *(Text(fmt(float(trace.sums[c])), style="bold") for c in shown), end_section=True)
    parts.append(table if trace.landings else Text("no copy lands here: every channel adds 0", style="dim"))
    terms = [(names[channels[c]], float(trace.sums[c])) for c in shown]
    if others:
        terms.append((f"Σ {len(others)} others", float(trace.sums[others].sum())))
    row, col = shown_at
    f = trace.filter
    pre, bias = float(result.preactivation[row, col, f]), float(result.bias[f])
    line = nonzero_format(np.array([v for _, v in terms] + [bias, pre]))
    parts.append(Text.assemble(("Σ channels ", LABEL), signed_sum([line(v) for _, v in terms]),
                               f" + bias {'0' if bias == 0 else line(bias)} = ", (line(pre), "bold")))
    return Panel(Group(*parts), title=f"scatter · output ({pos}) · filter {f}", title_align="left")
