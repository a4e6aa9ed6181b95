"""`convcli run --trace`: one output position, tap by tap. Nothing here prints."""


from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from convcli.engine import Geometry, LayerResult, Trace
from convcli.present.describe import fmt
from convcli.render.numbers import LABEL, Flow, joined, number_grid


def trace_panel(result: LayerResult, trace: Trace, row: int, col: int, f: int, names: Sequence[str]) -> Panel:
    """Each channel's receptive field ⊙ its kernel slice = products, Σ; then the total."""
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
    for c, ch in enumerate(trace.channels.tolist()):
        parts.append(
            Flow(
                [
                    number_grid(trace.patch[:, :, c], f"input {names[ch]}", dim=outside),
                    joined("⊙", number_grid(trace.weights[:, :, c], "weights")),
                    joined("=", number_grid(trace.products[:, :, c], "products")),
                    joined("Σ →", Text(fmt(float(trace.sums[c])), style="bold")),
                ]
            )
        )
    pre = float(result.preactivation[row, col, f])
    out = float(result.output[row, col, f])
    total = Text.assemble(
        ("Σ channels ", LABEL),
        " + ".join(fmt(float(s)) for s in trace.sums.tolist()),
        f" + bias {fmt(float(result.bias[f]))} = ",
        (fmt(pre), "bold"),
    )
    if result.activation != "linear":
        total.append(f"  {result.activation} → ")
        total.append(fmt(out), style="bold")
    parts.append(total)
    return Panel(Group(*parts), title=f"trace · output ({row}, {col}) · filter {f}", title_align="left")
