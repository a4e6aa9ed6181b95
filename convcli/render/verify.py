"""``convcli verify`` results -> rich renderables: the layer, one row per framework, how each was called.

The tolerance is :mod:`convcli.verify.compare`'s; this module only words it. Nothing here prints.
"""


from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from convcli.engine import LayerResult
from convcli.present.describe import (
    InputInfo,
    kernel_shape_text,
    output_shape_text,
    semantics_call,
)
from convcli.render.numbers import LABEL, Call, key_values
from convcli.render.run import input_text
from convcli.verify import compare
from convcli.verify.problem import COMPUTED, MISSING, REFUSED, Checked

AGREES = "green"
DIFFERS = "bold red"
REFUSES = "yellow"


def diff_text(v: float) -> str:
    """A difference: ``0`` when exact, else two significant digits in scientific notation."""
    if v == 0:
        return "0"
    if v == float("inf"):
        return "∞"
    return f"{v:.1e}"


def header(
    info: InputInfo,
    result: LayerResult,
    padding: object,
    kernel_source: str,
    *,
    semantics: str,
    n: int,
    rtol: float,
) -> Panel:
    """The input and layer as ``run`` shows them, then what is compared and within what tolerance."""
    layer = result.layer
    g = layer.geometry
    dtype = layer.x.dtype
    compared = Text(
        f"pre-activation z = Σ x·w + bias, {output_shape_text((*g.out_hw, layer.filters), semantics)} "
        f"{dtype.name}, from each framework against convcli's conv2d"
    )
    if result.activation != "linear":
        compared.append(f" (the {result.activation} after it is not part of the comparison)", style="dim")
    tolerance = Text.assemble((f"rel ≤ {rtol:.1e}", "bold"), ", i.e. " + compare.tolerance_text(dtype, n))
    rows: list[tuple[str, RenderableType]] = [
        ("input", input_text(info, semantics)),
        ("layer", Call.of(semantics_call(result, padding, semantics))),
        ("kernel", Text(f"{kernel_source} · {kernel_shape_text(layer.kernel.shape, semantics)}")),
        ("compared", compared),
        ("tolerance", tolerance),
    ]
    if semantics == "torch" and padding == "same" and g.stride != (1, 1):
        rows.append(("note", Text("--semantics torch: PyTorch refuses this layer (padding='same' with stride > 1); "
                                  "the others compute TensorFlow's 'same'", style=REFUSES)))
    return Panel(key_values(rows), title="convcli verify", title_align="left", box=box.ROUNDED)


def _verdict(c: Checked) -> Text:
    o = c.outcome
    if o.status == MISSING:
        return Text("not installed" if o.note.startswith("not installed") else "unavailable", style="dim")
    if o.status == REFUSED:
        return Text("refused", style=REFUSES)
    assert c.comparison is not None  # a computed outcome is always compared
    return Text("✓ agrees", style=AGREES) if c.comparison.ok else Text("✗ DIFFERS", style=DIFFERS)


def table(checked: Sequence[Checked]) -> Table:
    """One row per framework: version, max |Δ|, max rel (of Σ|x·w|), verdict."""
    t = Table(box=box.SIMPLE_HEAD, title="each framework against convcli", title_justify="left",
              title_style=LABEL)
    t.add_column("framework", no_wrap=True)
    t.add_column("version")
    t.add_column("max |Δ|", justify="right", no_wrap=True)
    t.add_column("max rel", justify="right", no_wrap=True)
    t.add_column("verdict", no_wrap=True)
    for c in checked:
        o, cmp = c.outcome, c.comparison
        t.add_row(
            Text(o.framework, style=LABEL if o.status == COMPUTED else "dim"),
            o.version or "—",
            diff_text(cmp.max_abs) if cmp else "—",
            diff_text(cmp.max_rel) if cmp else "—",
            _verdict(c),
        )
    return t


def how(checked: Sequence[Checked]) -> Panel:
    """How each framework was called: layouts and padding, or why it was not."""
    t = Table.grid(padding=(0, 2))
    t.add_column(style=LABEL, no_wrap=True)
    t.add_column(style="dim", no_wrap=True)
    t.add_column()
    for c in checked:
        o = c.outcome
        lines: list[tuple[str, Text]] = []
        if o.status == COMPUTED:
            lines += [("layouts", Text(o.layout)), ("padding", Text(o.padding))]
            if c.comparison is not None and not c.comparison.ok:
                lines.append(("differs", Text(c.comparison.problem, style=DIFFERS)))
            if o.note:
                lines.append(("note", Text(o.note)))
        else:
            label = "refused" if o.status == REFUSED else ""
            lines.append((label, Text(o.note, style=REFUSES if o.status == REFUSED else "dim")))
        for i, (label, text) in enumerate(lines):
            t.add_row(o.framework if i == 0 else "", label, text)
    return Panel(t, title="how each one was called", title_align="left", box=box.ROUNDED)


def summary(checked: Sequence[Checked], rtol: float, dtype: str, hints: Sequence[str]) -> Text:
    """One sentence: who agrees, who differs, who refused, and what could be installed."""
    computed = [c for c in checked if c.comparison is not None]
    agree = [c.outcome.framework for c in computed if c.comparison is not None and c.comparison.ok]
    differ = [c.outcome.framework for c in computed if c.comparison is not None and not c.comparison.ok]
    refused = [c.outcome.framework for c in checked if c.outcome.status == REFUSED]
    frameworks = [c for c in computed if c.outcome.framework != "numpy einsum"]
    text = Text()
    if differ:
        text.append(f"{', '.join(differ)} differ{'s' if len(differ) == 1 else ''} from convcli beyond {dtype} "
                    f"rounding. ", style=DIFFERS)
    if agree:
        text.append(f"{', '.join(agree)} agree{'s' if len(agree) == 1 else ''} with convcli within {dtype} rounding "
                    f"(rel ≤ {rtol:.1e}). ", style=AGREES)
    if refused:
        text.append(f"{', '.join(refused)} refused this layer (its own rule, above). ", style=REFUSES)
    if not frameworks:
        text.append("No deep-learning framework or SciPy is installed, so only convcli's second implementation "
                    "(numpy einsum) was compared. ")
    if hints:
        text.append("To compare with more: " + " · ".join(hints), style="dim")
    return text


#: What the frameworks compute a float32 convolution in on a GPU by default, with their switches (their docs).
GPU_DEFAULTS = ("On a GPU, by default PyTorch (torch.backends.cudnn.allow_tf32) and TensorFlow "
                "(enable_tensor_float_32_execution) convolve float32 in TF32, JAX may use bf16/TF32 passes "
                "(jax.default_matmul_precision), and Keras' mixed_float16/mixed_bfloat16 policies compute in 16 bits.")


def gpu_note(emulated: dict[str, float], largest: float | None, rows: tuple[int, int] | None = None) -> RenderableType:
    """Under the table: what each framework does by default on a GPU, and the emulated TF32 and bfloat16
    max |error| of this layer (``emulated``: precision -> max |error| against float64; on output ``rows``
    ``[r0, r1)`` when given) beside ``largest``, the largest difference measured here."""
    note = Text(GPU_DEFAULTS, style="dim")
    if not emulated:
        return note
    from convcli.engine.precision import FORMATS

    bounds = ", ".join(f"{FORMATS[p].title} {diff_text(v)}" for p, v in emulated.items())
    where = "this layer" if rows is None else f"output rows {rows[0]}–{rows[1] - 1} of this layer"
    line = Text(f"Emulated on {where}, max |error| against float64: {bounds}")
    tf32 = emulated.get("tf32")
    if largest is not None and tf32 is not None:
        within = largest <= tf32
        line.append(f"; the largest difference above, {diff_text(largest)}, is ")
        line.append("within what TF32 explains." if within else "more than TF32 explains.",
                    style=AGREES if within else REFUSES)
    return Group(note, line)
