"""`convcli params --stack`: the stack as a table like Keras' ``model.summary()``, and its totals.

Nothing here prints.
"""


from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from convcli.layer import counts
from convcli.layer.stack import OTHER_WORDS, SHORT_KINDS
from convcli.present.describe import shape_text, square_text
from convcli.render.numbers import LABEL, key_values


class StackTable:
    """A stack like Keras' ``model.summary()``, plus kernel, stride, padding, MACs and receptive field.

    Numbers are never shortened. Layers are named as Keras names them (``SeparableConv2D 128``) when
    that fits the width, else as the stack syntax does (``sep 128``, wrapped if need be); narrower
    still, the columns are set one space apart, and last the ``trainable`` column goes (the totals
    still split the parameters).
    """

    #: (short_names, compact, trainable column when there are non-trainable parameters), widest first.
    LEVELS = ((False, False, True), (True, False, True), (True, True, True), (True, True, False))

    def __init__(self, stack: counts.Analysis) -> None:
        self.stack = stack

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for level, (short_names, compact, trainable) in enumerate(self.LEVELS):
            table = stack_table(self.stack, short_names=short_names, compact=compact, trainable=trainable)
            # measured without a limit: Measurement.get clamps the answer to the width it is given
            size = Measurement.get(console, options.update_width(10_000), table)
            # Keras' names unwrapped; the narrower levels with the layer column wrapped if need be
            if (size.maximum if level == 0 else size.minimum) <= options.max_width:
                break
        yield table


DASH = "–"


def _pads_text(pads: tuple[int, ...]) -> str:
    """A ZeroPadding2D's pads as the stack syntax writes them: ``1``, ``1x2`` or ``1,2,3,4``."""
    t, b, le, r = pads
    if t == b and le == r:
        return str(t) if t == le else f"{t}x{le}"
    return f"{t},{b},{le},{r}"


def _conv_row(rep: counts.LayerNumbers, short_names: bool) -> list[str]:
    spec = rep.spec
    assert spec is not None and rep.out_shape is not None  # a conv layer of a stack, which has an input size
    name = [SHORT_KINDS[spec.kind] if short_names else spec.keras_name]
    name += [] if spec.kind == "depthwise" else [str(spec.filters)]
    name += [f"g{spec.groups}"] if spec.groups > 1 else []
    name += [f"m{spec.depth_multiplier}"] if spec.depth_multiplier > 1 else []
    name += [f"d{square_text(spec.dilation, 'x')}"] if spec.dilation != (1, 1) else []
    name += ["nobias"] if not spec.use_bias else []
    return [
        " ".join(name),
        square_text(spec.kernel),
        square_text(spec.stride),
        spec.padding if isinstance(spec.padding, str) else f"p{square_text(spec.padding, 'x')}",
        shape_text(rep.out_shape),
    ]


def _other_row(rep: counts.LayerNumbers, short_names: bool) -> list[str]:
    layer = rep.layer
    name = [OTHER_WORDS[layer.kind] if short_names else layer.class_name]
    if layer.kind == "dense":
        name += [str(layer.units)] + ([] if layer.use_bias else ["nobias"])
    pool = layer.kind in ("maxpool", "avgpool")
    if pool:
        pad = str(layer.padding)
    else:
        pad = _pads_text(layer.pads) if layer.kind == "zeropad" and layer.pads is not None else ""
    return [
        " ".join(name),
        square_text(layer.kernel) if pool and layer.kernel else "",
        square_text(layer.strides) if pool and layer.strides else "",
        pad,
        shape_text(rep.out_shape or ()),
    ]


def _jump(j: Sequence[Fraction] | None) -> str:
    return DASH if j is None else square_text(j)


def stack_table(stack: counts.Analysis, *, short_names: bool = False, compact: bool = False,
                trainable: bool = True) -> Table:
    """The table of :class:`StackTable`, with Keras' class names or the stack syntax's short ones,
    columns one space apart when ``compact``. With ``trainable``, a ``trainable`` column appears
    when some parameters are not (batch norm's moving statistics)."""
    last = stack.layers[-1]
    trainable = trainable and stack.non_trainable > 0
    rows = [["0", "input", "", "", "", shape_text(stack.in_shape), "", *([""] if trainable else []), "", "1", "1"]]
    for n, rep in enumerate(stack.layers, start=1):
        cells = _conv_row(rep, short_names) if rep.spec is not None else _other_row(rep, short_names)
        rows.append([
            str(n),
            *cells,
            f"{counts.layer_total(rep):,}",
            *([f"{counts.layer_trainable(rep):,}"] if trainable else []),
            f"{counts.layer_macs(rep):,}",
            square_text(rep.receptive_field or ()),
            _jump(rep.effective_stride),
        ])
    footer = ["", "total", "", "", "", shape_text(stack.out_shape or ()), f"{stack.total:,}",
              *([f"{stack.trainable:,}"] if trainable else []), f"{stack.macs:,}",
              square_text(last.receptive_field or ()), _jump(last.effective_stride)]
    whole = last.effective_stride is None
    t = Table(
        title=f"stack on {shape_text(stack.in_shape)} (H, W, C)",
        title_justify="left",
        title_style=LABEL,
        caption="k kernel · s stride · RF receptive field (input pixels) · jump effective stride"
        + (f"\n{DASH}: every output sees the whole input" if whole else ""),
        caption_justify="left",
        caption_style="dim",
        box=box.SIMPLE_HEAD,
        show_footer=True,
        padding=(0, 0) if compact else (0, 1),
        pad_edge=False,
    )
    headers = ["#", "layer", "k", "s", "pad", "output", "params", *(["trainable"] if trainable else []),
               "MACs", "RF", "jump"]
    labelled = {1, headers.index("params"), headers.index("MACs")} | ({7} if trainable else set())
    for col, head in enumerate(headers):
        width = max(len(head), len(footer[col]), *(len(r[col]) for r in rows))
        fixed = head != "layer"
        t.add_column(head, footer=footer[col], justify="left" if col in (1, 4) else "right",
                     footer_style=LABEL if col in labelled else "", no_wrap=fixed,
                     min_width=width if fixed else None)
    for n, row in enumerate(rows):
        t.add_row(*row, style="dim" if n == 0 else None)
    return t


#: The layers that count no MACs (no multiply by a weight), as the totals name them.
_NO_MACS = (("pooling", ("maxpool", "avgpool", "globalavgpool", "globalmaxpool")), ("padding", ("zeropad",)),
            ("flatten", ("flatten",)), ("batch norm", ("batchnorm",)))


def _joined(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def stack_totals(stack: counts.Analysis) -> Table:
    """The totals under a stack table, with the FLOP convention."""
    bn = stack.total - stack.weights - stack.biases
    parameters = Text.assemble((f"{stack.total:,}", "bold"), f" = {stack.weights:,} weights + {stack.biases:,} biases")
    if bn:
        parameters.append(f" + {bn:,} batch norm (γ, β, moving mean, variance)")
    rows: list[tuple[str, RenderableType]] = [("parameters", parameters)]
    if stack.non_trainable:
        rows.append(("trainable", Text.assemble((f"{stack.trainable:,}", "bold"), f" ({stack.non_trainable:,} not: "
                                                "batch norm's moving mean and variance)")))
    last = stack.layers[-1]
    if last.effective_stride is None:
        field = Text(f"{shape_text(last.receptive_field or ())}, the whole input: every output depends on all of it")
    else:
        field = Text(f"{shape_text(last.receptive_field or ())} input pixels per output pixel, "
                     f"effective stride {square_text(last.effective_stride)}")
    rows += [
        ("MACs", Text.assemble((f"{stack.macs:,}", "bold"), "   FLOPs = 2·MACs = ", (f"{stack.flops:,}", "bold"))),
        ("receptive field", field),
        ("notes", Text("FLOPs: a multiply and an add per MAC, bias adds not counted; fvcore, thop and ptflops "
                  "report MACs under the name \"FLOPs\"", style="dim")),
    ]
    kinds = {r.layer.kind for r in stack.layers if r.spec is None}
    named = [name for name, of in _NO_MACS if kinds & set(of)]
    if named:
        weightless = [name for name in named if name != "batch norm"]
        if not weightless:
            text = "0 MACs for batch norm (it folds into the conv before it)"
        else:
            text = f"0 MACs for {_joined(weightless)} (no weights)"
            text += "; batch norm folds into the conv before it" if "batch norm" in named else ""
        rows.append(("", Text(text, style="dim")))
    return key_values(rows)
