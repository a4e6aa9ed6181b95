"""`convcli params` for one layer: the Keras call, weight shapes, each count with its formula filled in.

Nothing here prints.
"""


from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import RenderableType
from rich.panel import Panel
from rich.text import Text

from convcli.engine import param_count
from convcli.layer import counts
from convcli.present.describe import shape_text, spec_call, square_text
from convcli.present.kinds import terms_formula
from convcli.render.numbers import Call, key_values


def param_formula(kernel_shape: Sequence[int], groups: int, use_bias: bool = True,
                  words: tuple[str, str, str] = ("weights", "biases", "no bias")) -> Text:
    """``kh·kw·C/g·F + F = total`` for a ``(kh, kw, C/g, F)`` kernel, numbers filled in, symbols beside it.

    ``words``: "weights", "biases" and "no bias" in the reader's language (``explain --lang``).
    """
    kh, kw, cg, f = (int(v) for v in kernel_shape)
    weights, biases = param_count(kernel_shape, use_bias)
    cg_text = f"({cg * groups}/{groups})" if groups > 1 else str(cg)
    text = Text(f"{kh}·{kw}·{cg_text}·{f}")
    if use_bias:
        text.append(f" + {f}")
    text.append(f" = {weights + biases:,}", style="bold")
    symbols = f"kh·kw·C/g·F {words[0]}" + (f" + F {words[1]}" if use_bias else f", {words[2]}")
    text.append(f"   ({symbols})", style="dim")
    return text


def count_line(terms: Sequence[counts.Term], total: int) -> Text:
    """``kh·kw·C·F = 3·3·64·128 = 73,728``; a single factor is just ``F = 128``."""
    text = Text(terms_formula(terms, numbers=False), style="dim")
    numbers = terms_formula(terms)
    if numbers != str(total):
        text.append(f" = {numbers}")
    text.append(" = ")
    text.append(f"{total:,}", style="bold")
    return text


def _times(this: int, other: int) -> str:
    if other == this:
        return "the same"
    if other < this:
        return f"{this / other:.1f}× fewer" if other else "none"
    return f"{other / this:.1f}× more" if this else "more"


def compare_rows(this: counts.LayerReport, other: counts.LayerReport) -> list[tuple[str, RenderableType]]:
    """The same job done by ``other`` (e.g. a 3×3 conv against its separable twin): what, then how much."""
    spec = other.spec
    what = {
        "separable": f"as {spec.keras_name}: {shape_text(spec.kernel)} depthwise, then "
                     f"{'×'.join(['1'] * spec.ndim)} to {spec.out_channels}",
        "conv": f"as a full {spec.keras_name}: {spec.in_channels} → {spec.out_channels}, groups=1",
    }[spec.kind]
    numbers = Text.assemble((f"{other.params.total:,}", "bold"),
                            f" parameters ({_times(this.params.total, other.params.total)})")
    if this.shape is not None and other.shape is not None:
        numbers.append(" · MACs ")
        numbers.append(f"{other.shape.macs:,}", style="bold")
        numbers.append(f" ({_times(this.shape.macs, other.shape.macs)})")
    return [("compare", Text(what)), ("", numbers)]


def params_panel(rep: counts.LayerReport, other: counts.LayerReport | None = None) -> Panel:
    """One layer: the Keras call, weight shapes, each count with its formula filled in."""
    spec, p = rep.spec, rep.params
    shapes = spec.kernel_shapes()
    rows: list[tuple[str, RenderableType]] = [
        ("layer", Call.of(spec_call(spec))),
        ("variables", Text(" · ".join(f"{name} {shape_text(s)}" for name, s in shapes.items())
                           + "   (Keras layouts)")),
        ("weights", count_line(p.weight_terms, p.weights)),
        ("biases", count_line(p.bias_terms, p.biases) if p.bias_terms else Text("none (use_bias=False)")),
        ("total", Text.assemble((f"{p.total:,}", "bold"), " parameters")),
    ]
    if rep.shape is not None:
        sh = rep.shape
        pads = f" · pads {sh.pads}" if sh.pads is not None else ""
        axes = {1: "L", 2: "H, W", 3: "D, H, W"}.get(spec.ndim, "H, W")
        rows += [
            ("shape", Text(f"{shape_text(sh.in_shape)} ({axes}, C) → {shape_text(sh.out_shape)} "
                           f"({', '.join(a + chr(39) for a in axes.split(', '))}, F){pads}")),
            ("MACs", count_line(sh.mac_terms, sh.macs)),
            ("FLOPs", Text.assemble("2·MACs = ", (f"{sh.flops:,}", "bold"),
                                    ("   (a multiply and an add per MAC; bias adds not counted)", "dim"))),
            ("", Text("fvcore, thop and ptflops report MACs under the name \"FLOPs\"", style="dim")),
        ]
    unit = "pixel" if spec.ndim == 2 else "position"
    rows.append(("receptive field", Text(f"{shape_text(rep.receptive_field)} input {unit}s per output {unit}"
                                         + (f" · effective stride {square_text(rep.effective_stride)}"
                                            if rep.effective_stride != (1, 1) else ""))))
    if other is not None:
        rows += compare_rows(rep, other)
    return Panel(key_values(rows), title=f"convcli params · {spec.keras_name}", title_align="left",
                 box=box.ROUNDED)
