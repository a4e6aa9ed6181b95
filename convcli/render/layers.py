"""`convcli layers MODEL`: a model file's layers as a table like Keras' ``summary()``, plus the
geometry, in → out channels and (with an input size) output shape, MACs and receptive field.

Names come from the file: they are escaped (:func:`convcli.text.shown`) and put in ``Text`` cells,
never parsed as markup. At narrow widths the least needed columns go first (framework class,
activation, bias, dilation, groups, concrete pads), then long names are cut with an ellipsis.
Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from convcli.layer.model import Analysis, LayerNumbers
from convcli.layer.stack import SHORT_KINDS
from convcli.present.describe import shape_text, square_text
from convcli.render.numbers import LABEL, key_values
from convcli.text import shown

DASH = "–"
#: Kinds as the narrowest table names them.
#: Short names of the kinds that are not conv layers; the conv kinds are written as in --stack.
OTHER_SHORT_KINDS = {"batchnorm": "bn", "maxpool": "max",
               "avgpool": "avg", "globalavgpool": "gap", "globalmaxpool": "gmp", "flatten": "flat",
               "zeropad": "zpad", "concatenate": "concat", "rescaling": "resc", "normalization": "norm"}
#: The levels of detail, widest first; the last ones also cut long names.
LEVELS = 7


def _sq(v: Sequence[Any] | None) -> str:
    return DASH if v is None else square_text(v)


#: How the title names an input size of each rank.
_AXES_NAMES = {2: "(L, C)", 3: "(H, W, C)", 4: "(D, H, W, C)"}
WINDOWED = ("conv", "depthwise", "separable", "transpose", "maxpool", "avgpool")


def _geo(n: LayerNumbers, v: Sequence[Any] | None) -> str:
    """A window's geometry; blank for a layer that has none."""
    return _sq(v) if n.layer.kind in WINDOWED else ""


def _pad(n: LayerNumbers, concrete: bool) -> str:
    layer = n.layer
    if layer.kind not in (*WINDOWED, "zeropad"):
        return ""
    spelt = layer.padding if isinstance(layer.padding, str) else None
    pads = n.pads
    if spelt is None and pads is None:
        return DASH
    if pads is None or not concrete and spelt is not None:
        return spelt or DASH
    text = " ".join(str(p) for p in pads)
    if spelt is None or (spelt == "valid" and not any(pads)):
        return spelt if spelt == "valid" else text
    return f"{spelt} {text}"


def _kernel_cg(n: LayerNumbers) -> int | None:
    """C/g read off the kernel of a conv whose file gives no C (a state dict's ``weight``
    ``(F, C/g, *k)``); None where the file gives C, or no such kernel."""
    layer = n.layer
    weight = layer.weights.get("weight", ())
    if layer.kind != "conv" or layer.in_channels is not None or n.in_shape or not 3 <= len(weight) <= 5:
        return None
    return weight[1]


def _channels(n: LayerNumbers) -> str:
    layer = n.layer
    c = layer.in_channels if layer.in_channels is not None else (n.in_shape[-1] if n.in_shape else _kernel_cg(n))
    out: int | None
    if layer.kind == "depthwise":
        out = c * (layer.depth_multiplier or 1) if c is not None else None
    elif layer.kind == "dense":
        out = layer.units
    else:
        out = layer.filters
    if layer.kind not in ("conv", "depthwise", "separable", "transpose", "dense"):
        return ""
    return f"{DASH if c is None else c}→{DASH if out is None else out}"


def _num(v: int | None) -> str:
    return DASH if v is None else f"{v:,}"


#: (header, cell, footer) for each column, in order; droppable ones name their level.
Column = tuple[str, Callable[[LayerNumbers], str | Text], str]


def _columns(a: Analysis, level: int) -> list[tuple[str, Callable[[LayerNumbers], str | Text], str, str]]:
    """Columns kept at ``level`` (0 = all); each: header, cell, footer, justify."""
    sized = a.input_size is not None
    cols: list[tuple[str, Callable[[LayerNumbers], str | Text], str, str]] = [
        ("#", lambda n: "", "", "right"),  # filled by the caller
        ("name", lambda n: Text(shown(n.layer.name)), "total", "left"),
    ]
    if level < 1:
        cols.append(("class", lambda n: Text(shown(n.layer.class_name)), "", "left"))
    if level < 5:
        cols.append(("kind", lambda n: n.layer.kind, "", "left"))
    else:
        cols.append(("kind", lambda n: {**SHORT_KINDS, **OTHER_SHORT_KINDS}.get(n.layer.kind, n.layer.kind), "", "left"))
    cols += [("k", lambda n: _geo(n, n.layer.kernel), "", "right"),
             ("s", lambda n: _geo(n, n.layer.strides), "", "right"),
             ("pad", lambda n: _pad(n, concrete=level < 4), "", "left")]
    if level < 3:
        cols.append(("d", lambda n: _geo(n, n.layer.dilation), "", "right"))
        cols.append(("g", lambda n: "" if n.layer.kind not in ("conv", "transpose") else
                     DASH if n.layer.groups is None else str(n.layer.groups), "", "right"))
    if level < 6 or not sized:
        cols.append(("in→out", _channels, "", "right"))
    if level < 2:
        cols.append(("bias", lambda n: "" if n.layer.use_bias is None else ("yes" if n.layer.use_bias else "no"),
                     "", "left"))
    if level < 1:
        cols.append(("act", lambda n: Text(shown(n.layer.activation or "")), "", "left"))
    cols.append(("params", lambda n: _num(n.params), _num(a.params), "right"))
    if sized:
        cols += [
            ("output", lambda n: shape_text(n.out_shape) if n.out_shape is not None else DASH,
             shape_text(a.out_shape) if a.out_shape is not None else "", "right"),
            ("MACs", lambda n: _num(n.macs), _num(a.macs), "right"),
            ("RF", lambda n: _sq(n.receptive_field), "", "right"),
            ("jump", lambda n: _sq(n.effective_stride), "", "right"),
        ]
    return cols


def _cell_text(index: int, n: LayerNumbers, head: str, cell: Callable[[LayerNumbers], str | Text]) -> str:
    if head == "#":
        return str(index)
    value = cell(n)
    return value.plain if isinstance(value, Text) else value


def widest_rows(a: Analysis, level: int) -> list[int]:
    """The rows that hold each column's widest cell and longest word at ``level``: the table of those
    rows alone measures as the whole table does (a column is as wide as its widest cell, and can
    shrink to its longest word), so choosing a level costs a few rows' measuring, not every row's."""
    best: dict[tuple[int, int], tuple[int, int]] = {}  # (column, metric) -> (width, row)
    cols = _columns(a, level)
    for index, n in enumerate(a.layers):
        for col, (head, cell, _, _) in enumerate(cols):
            text = _cell_text(index, n, head, cell)
            width = max((cell_len(line) for line in text.splitlines()), default=0)
            word = max((cell_len(w) for w in text.split()), default=width)
            for metric, value in ((0, width), (1, word)):
                if value > best.get((col, metric), (-1, 0))[0]:
                    best[(col, metric)] = (value, index)
    return sorted({row for _, row in best.values()})


def layers_table(a: Analysis, level: int = 0, name_width: int | None = None,
                 rows: Sequence[int] | None = None) -> Table:
    """The table at ``level``; ``rows``: only those layers (to measure it, see :func:`widest_rows`)."""
    cols = _columns(a, level)
    t = Table(
        title=Text.assemble(Text(shown(a.listing.model)), f" ({a.listing.format})"
                            + (f" on {shape_text(a.input_size)} {_AXES_NAMES.get(len(a.input_size), '')}"
                               if a.input_size else "")),
        title_justify="left",
        title_style=LABEL,
        caption=("k kernel · s stride · RF receptive field (input pixels) · jump effective stride · "
                 f"{DASH} not in the file" if a.input_size else
                 f"k kernel · s stride · d dilation · g groups · {DASH} not in the file")
        # a state dict holds no C: its in→out reads C/g off the kernel, which is C only without groups
        + (" · in: C/g" if any(_kernel_cg(n) is not None for n in a.layers) else ""),
        caption_justify="left",
        caption_style="dim",
        box=box.SIMPLE_HEAD,
        show_footer=True,
        padding=(0, 1) if level < 5 else (0, 0),
        pad_edge=False,
    )
    for head, _, foot, justify in cols:
        name_col = head == "name"
        t.add_column(head, footer=foot, justify=justify,  # type: ignore[arg-type]
                     footer_style=LABEL if foot else "", no_wrap=True,
                     max_width=name_width if name_col else None, overflow="ellipsis" if name_col else "fold")
    for index in range(len(a.layers)) if rows is None else rows:
        n = a.layers[index]
        row: list[RenderableType] = []
        for head, cell, _, _ in cols:
            row.append(str(index) if head == "#" else cell(n))
        t.add_row(*row, style="dim" if n.layer.kind == "input" else None)
    return t


class LayersTable:
    """The table at the widest level of detail that fits the console, and a line under it naming
    the columns a narrower level left out (and the width that shows them)."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = options.update_width(10_000)
        a = self.analysis

        def width(level: int, name_width: int | None = None) -> int:  # measured on the widest rows only
            return Measurement.get(console, wide, layers_table(a, level, name_width, widest_rows(a, level))).maximum

        full = width(0)
        chosen: tuple[int, int | None] = (LEVELS - 1, 10)
        for level in range(LEVELS):
            if width(level) <= options.max_width:
                chosen = (level, None)
                break
        else:
            for name_width in (24, 16, 10):
                if width(LEVELS - 1, name_width) <= options.max_width:
                    chosen = (LEVELS - 1, name_width)
                    break
        level = chosen[0]
        yield layers_table(a, *chosen)
        left_out = dropped_columns(self.analysis, level)
        if left_out:
            yield Text(f"left out at {options.max_width} columns: {', '.join(left_out)} "
                       f"(COLUMNS={full} shows them)", style="dim")


def dropped_columns(a: Analysis, level: int) -> list[str]:
    """The headers of the columns that ``level`` leaves out of the full table (level 0), in its order."""
    kept = {head for head, *_ in _columns(a, level)}
    return [head for head, *_ in _columns(a, 0) if head not in kept]


def layers_totals(a: Analysis) -> Table:
    """Totals under the table, and what the file does not say."""
    rows: list[tuple[str, RenderableType]] = []
    if a.params is not None:
        trainable = a.trainable if a.trainable is not None else a.params
        rows.append(("parameters", Text.assemble((f"{a.params:,}", "bold"),
                                                 f" ({trainable:,} trainable, {a.params - trainable:,} not)")))
    else:
        known = sum(n.params or 0 for n in a.layers)
        rows.append(("parameters", Text(f"at least {known:,} (some layers cannot be counted from the file)")))
    if a.macs is not None:
        rows.append(("MACs", Text.assemble((f"{a.macs:,}", "bold"), "   FLOPs = 2·MACs = ",
                                           (f"{2 * a.macs:,}", "bold"))))
    for note in a.listing.notes:
        rows.append(("note", Text(shown(note), style="dim")))
    return key_values(rows)
