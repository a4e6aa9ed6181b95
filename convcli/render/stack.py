"""`convcli params --stack`: the stack as a table like Keras' ``model.summary()``, and its totals.

Nothing here prints.
"""


from __future__ import annotations

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from convcli.layer import counts
from convcli.layer.stack import SHORT_KINDS
from convcli.present.describe import shape_text, square_text
from convcli.render.numbers import LABEL, key_values


class StackTable:
    """A stack like Keras' ``model.summary()``, plus kernel, stride, padding, MACs and receptive field.

    Numbers are never shortened. Layers are named as Keras names them (``SeparableConv2D 128``) when
    that fits the width, else as the stack syntax does (``sep 128``).
    """

    def __init__(self, stack: counts.StackReport) -> None:
        self.stack = stack

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = stack_table(self.stack)
        # measured without a limit: Measurement.get clamps the answer to the width it is given
        if Measurement.get(console, options.update_width(10_000), table).maximum > options.max_width:
            table = stack_table(self.stack, short_names=True)
        yield table


def stack_table(stack: counts.StackReport, *, short_names: bool = False) -> Table:
    """The table of :class:`StackTable`, with Keras' class names or the stack syntax's short ones."""
    last = stack.layers[-1]
    rows = [["0", "input", "", "", "", shape_text(stack.in_shape), "", "", "1", "1"]]
    for n, rep in enumerate(stack.layers, start=1):
        spec = rep.spec
        assert rep.shape is not None  # a stack always has an input size
        name = [SHORT_KINDS[spec.kind] if short_names else spec.keras_name]
        name += [] if spec.kind == "depthwise" else [str(spec.filters)]
        name += [f"g{spec.groups}"] if spec.groups > 1 else []
        name += [f"m{spec.depth_multiplier}"] if spec.depth_multiplier > 1 else []
        name += [f"d{square_text(spec.dilation, 'x')}"] if spec.dilation != (1, 1) else []
        name += ["nobias"] if not spec.use_bias else []
        rows.append([
            str(n),
            " ".join(name),
            square_text(spec.kernel),
            square_text(spec.stride),
            spec.padding if isinstance(spec.padding, str) else f"p{square_text(spec.padding, 'x')}",
            shape_text(rep.shape.out_shape),
            f"{rep.params.total:,}",
            f"{rep.shape.macs:,}",
            square_text(rep.receptive_field),
            square_text(rep.effective_stride),
        ])
    footer = ["", "total", "", "", "", shape_text(stack.out_shape), f"{stack.total:,}", f"{stack.macs:,}",
              square_text(last.receptive_field), square_text(last.effective_stride)]
    t = Table(
        title=f"stack on {shape_text(stack.in_shape)} (H, W, C)",
        title_justify="left",
        title_style=LABEL,
        caption="k kernel · s stride · RF receptive field (input pixels) · jump effective stride",
        caption_justify="left",
        caption_style="dim",
        box=box.SIMPLE_HEAD,
        show_footer=True,
        padding=(0, 1),
        pad_edge=False,
    )
    headers = ["#", "layer", "k", "s", "pad", "output", "params", "MACs", "RF", "jump"]
    for col, head in enumerate(headers):
        width = max(len(head), len(footer[col]), *(len(r[col]) for r in rows))
        fixed = head != "layer"
        t.add_column(head, footer=footer[col], justify="left" if col in (1, 4) else "right",
                     footer_style=LABEL if col in (1, 6, 7) else "", no_wrap=fixed,
                     min_width=width if fixed else None)
    for n, row in enumerate(rows):
        t.add_row(*row, style="dim" if n == 0 else None)
    return t


def stack_totals(stack: counts.StackReport) -> Table:
    """The totals under a stack table, with the FLOP convention."""
    return key_values(
        [
            ("parameters", Text.assemble((f"{stack.total:,}", "bold"),
                                         f" = {stack.weights:,} weights + {stack.biases:,} biases")),
            ("MACs", Text.assemble((f"{stack.macs:,}", "bold"), "   FLOPs = 2·MACs = ", (f"{stack.flops:,}", "bold"))),
            ("receptive field", Text(
                f"{shape_text(stack.layers[-1].receptive_field)} input pixels per output pixel, "
                f"effective stride {square_text(stack.layers[-1].effective_stride)}")),
            ("", Text("FLOPs: a multiply and an add per MAC, bias adds not counted; fvcore, thop and ptflops "
                      "report MACs under the name \"FLOPs\"", style="dim")),
        ]
    )
