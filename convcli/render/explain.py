"""`convcli explain`: the questions people ask about multi-channel convolution, answered with numbers
the engine computes while the lesson is built (nothing on the screen is a typed-in result).

The words live in :mod:`convcli.render.explain_texts`; the layouts are the ones ``convcli run`` uses
(:mod:`convcli.render.numbers`, :mod:`convcli.render.run`).
"""


from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from convcli import engine
from convcli.engine.precision import FORMATS, Emulation, emulate, round_to
from convcli.engine.transpose import TransposeLayer, TransposeTrace, bind_transpose, trace_transposed
from convcli.errors import ConfigError
from convcli.present.describe import fmt, shape_text
from convcli.present.precision import precision_window
from convcli.present.window import Window, window_partials
from convcli.render.explain_texts import (
    LANGS,
    PANEL_LABELS,
    PARAM_WORDS,
    PRECISION_LABELS,
    SECTIONS,
    TEXTS,
    text,
)
from convcli.render.numbers import LABEL, OPERATOR, Flow, key_values, number_grid
from convcli.render.params import param_formula
from convcli.render.precision import PrecisionLabels, precision_panel
from convcli.render.run import PanelLabels, filter_panel

__all__ = ["LANGS", "SECTIONS", "TEXTS", "Example", "compute", "lesson", "text"]


# ------------------------------------------------------------------------------------------------
# The computed example


@dataclass(frozen=True)
class Example:
    """Everything the lesson shows, computed once by the engine."""

    x: np.ndarray  # (H, W, C) the textbook image
    names: tuple[str, ...]
    values: tuple[float, ...]  # what each channel holds
    activation: str
    result: engine.LayerResult  # the textbook Conv2D
    changed: engine.LayerResult  # the same with different weights per channel
    channel_weights: tuple[float, ...]
    depthwise: engine.LayerResult  # groups = C
    kd: int  # depth of the Conv3D kernel
    conv3d: np.ndarray  # (H', W', D') a Conv3D over the channels as depth
    window: Window  # what the number panels show: the whole 2×2 output of every result above
    bf16: Emulation  # the textbook Conv2D as a GPU computes it in bfloat16
    tf32: Emulation  # ... and in TF32
    transposed: TransposeLayer  # the textbook image through a transposed layer (kernel of ones, stride 2)
    scatter: TransposeTrace  # what lands on one of its outputs, channel by channel


def compute(values: tuple[float, float, float] = (1.0, 100.0, 10000.0)) -> Example:
    """The textbook example (channels holding ``values``) and its variations, through the engine."""
    names = ("R", "G", "B")
    h = w = 3
    kh = kw = 2
    activation = "relu"
    x = np.stack([np.full((h, w), v, dtype=np.float32) for v in values], axis=-1)
    c = x.shape[2]

    def run(kernel: np.ndarray, groups: int = 1, act: str = activation) -> engine.LayerResult:
        return engine.run_layer(engine.prepare(x, kernel, groups=groups), 0.0, act)

    ones = np.ones((kh, kw, c, 1))
    channel_weights = (1.0, 1.0, 0.0)
    changed = ones * np.array(channel_weights).reshape(1, 1, c, 1)
    kd = 2
    depth_out = engine.output_shape((c, 1), (kd, 1))[0]
    conv3d = np.stack(
        [engine.conv2d(x[:, :, z : z + kd], np.ones((kh, kw, kd, 1)))[:, :, 0] for z in range(depth_out)], axis=-1
    )
    result = run(ones)
    tk, ts = 3, 2
    transposed = bind_transpose(x, np.ones((tk, tk, 1, c)), stride=ts)
    centre = tuple(v // 2 - 1 for v in transposed.geometry.out_size)  # (2, 2): four copies overlap there
    return Example(
        x=x,
        names=names,
        values=values,
        activation=activation,
        result=result,
        changed=run(changed),
        channel_weights=channel_weights,
        depthwise=run(np.ones((kh, kw, 1, c)), groups=c, act="linear"),
        kd=kd,
        conv3d=conv3d,
        window=Window.choose(result.layer.geometry.out_hw),
        bf16=emulate(x, ones, 0.0, activation, "bf16"),
        tf32=emulate(x, ones, 0.0, activation, "tf32"),
        transposed=transposed,
        scatter=trace_transposed(transposed, centre, 0),
    )


# ------------------------------------------------------------------------------------------------
# The sections

FORMULA = "out[i, j, f] = b[f] + Σ_c Σ_u Σ_v x[i·s + u·d, j·s + v·d, c] · w[u, v, c, f]"


def _heading(n: int, key: str, lang: str) -> Rule:
    return Rule(Text(f"{n} · {text(key, lang)}", style="bold"), align="left", style="cyan")


def _para(s: str) -> Text:
    return Text(s)


def _act(ex: Example) -> str:
    return {"relu": "ReLU"}.get(ex.activation, ex.activation)


def _fmt(v: float) -> str:
    return fmt(float(v))


def section_aggregation(ex: Example, lang: str) -> list[RenderableType]:
    r = ex.result
    g = r.layer.geometry
    (h, w), (kh, kw), c = g.in_hw, g.kernel_hw, r.layer.cg
    partials = window_partials(r, ex.window)[0, 0, :, 0]
    grids = [number_grid(ex.x[:, :, i], ex.names[i]) for i in range(c)]
    values = dict(h=h, w=w, kh=kh, kw=kw, c=c, s=g.stride[0], act=_act(ex), b=_fmt(r.bias[0]),
                  one=_fmt(r.layer.kernel.max()),
                  v0=_fmt(ex.values[0]), v1=_fmt(ex.values[1]), v2=_fmt(ex.values[2]),
                  p0=_fmt(partials[0]), p1=_fmt(partials[1]), p2=_fmt(partials[2]),
                  out=_fmt(r.preactivation[0, 0, 0]), y=_fmt(r.output[0, 0, 0]))
    return [
        _heading(1, "q1", lang),
        _para(text("setup", lang, **values)),
        Text(text("input", lang, **values), style=LABEL),
        Flow(grids, gap=2),
        filter_panel(r, 0, ex.names, window=ex.window, labels=_labels(lang)),
        _para(text("sum", lang, **values)),
        Text(text("formula", lang), style="dim"),
        Text("  " + FORMULA, style="bold"),
    ]


def _labels(lang: str) -> PanelLabels:
    """The run panels' words in ``lang`` (English: PanelLabels' defaults)."""
    return PanelLabels(**PANEL_LABELS[lang]) if lang in PANEL_LABELS else PanelLabels()


def section_separate_slices(ex: Example, lang: str) -> list[RenderableType]:
    r = ex.result
    kh, kw, c, f = r.layer.kernel.shape
    shared_w, shared_b = engine.param_count((kh, kw, 1, f))
    shared = Text(f"{kh}·{kw}·{f} + {f} = ")
    shared.append(f"{shared_w + shared_b:,}", style="bold")
    shared.append("   (kh·kw·F + F)", style="dim")
    counts = key_values(
        [
            (text("params_real", lang), param_formula(r.layer.kernel.shape, r.layer.groups, r.use_bias,
                                                       **({"words": PARAM_WORDS[lang]} if lang in PARAM_WORDS else {}))),
            (text("params_shared", lang), shared),
        ]
    )
    values = dict(kh=kh, kw=kw, c=c, wr=_fmt(ex.channel_weights[0]), wg=_fmt(ex.channel_weights[1]),
                  wb=_fmt(ex.channel_weights[2]), out=_fmt(r.output[0, 0, 0]),
                  out2=_fmt(ex.changed.output[0, 0, 0]))
    return [
        _heading(2, "q2", lang),
        _para(text("no_shared", lang, **values)),
        counts,
        _para(text("demo", lang, **values)),
        filter_panel(ex.changed, 0, ex.names, window=ex.window, labels=_labels(lang)),
    ]


def section_control(ex: Example, lang: str) -> list[RenderableType]:
    dw = ex.depthwise
    c = dw.layer.filters
    weights, biases = engine.param_count(dw.layer.kernel.shape, dw.use_bias)
    per_channel = [number_grid(dw.output[:, :, i], text("alone", lang, name=ex.names[i])) for i in range(c)]
    # what Conv2D would have to compute instead: reductions of the kept-apart channels
    stacked = dw.output.astype(np.float64)
    aggregations = [
        ("agg_sum", stacked.sum(axis=-1), "green"),
        ("agg_mean", stacked.mean(axis=-1), "red"),
        ("agg_max", stacked.max(axis=-1), "red"),
    ]
    agg_items: list[RenderableType] = [
        Group(Text(text(key, lang), style=style), number_grid(values)) for key, values, style in aggregations
    ]
    return [
        _heading(3, "q3", lang),
        _para(text("always_sums", lang, c=c, dw_params=weights + biases)),
        Flow(per_channel, gap=2),
        Text(text("other", lang, c=c), style=LABEL),
        Flow(agg_items, gap=3),
        _para(text("howto", lang)),
    ]


def section_why_2d(ex: Example, lang: str) -> list[RenderableType]:
    r = ex.result
    (h, w), (kh, kw) = r.layer.geometry.in_hw, r.layer.geometry.kernel_hw
    c, f = r.layer.x.shape[2], r.layer.filters
    ho, wo = r.layer.geometry.out_hw
    depth_out = ex.conv3d.shape[2]
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    for key in ("col_layer", "col_input", "col_kernel", "col_slides", "col_output"):
        table.add_column(text(key, lang), no_wrap=key != "col_slides")
    table.add_row("Conv2D", shape_text((h, w, c)), shape_text((kh, kw, c)), text("axes2", lang),
                  shape_text((ho, wo, f)))
    table.add_row("Conv3D", shape_text((h, w, c, 1)), shape_text((kh, kw, ex.kd)),
                  text("axes3", lang), shape_text((*ex.conv3d.shape[:2], depth_out, 1)))
    grids = [number_grid(ex.conv3d[:, :, z], text("depth", lang, z=z)) for z in range(depth_out)]
    conv2d_grid = number_grid(r.preactivation[:, :, 0], "Conv2D")
    return [
        _heading(4, "q4", lang),
        _para(text("two_axes", lang, kh=kh, kw=kw, c=c, kd=ex.kd)),
        table,
        Flow([conv2d_grid, *grids], gap=3),
    ]


def section_prove(ex: Example, lang: str) -> list[RenderableType]:
    r = ex.result
    kh = r.layer.geometry.kernel_hw[0]
    weights, biases = engine.param_count(r.layer.kernel.shape, r.use_bias)
    c, f = r.layer.x.shape[2], r.layer.filters
    commands = [
        (f"convcli run samples/textbook.npy -k {kh} --init ones --activation {ex.activation}",
         text("cmd_run", lang, n=1)),
        (f"convcli verify samples/textbook.npy -k {kh} --init ones --activation {ex.activation}",
         text("cmd_verify", lang)),
        ("convcli run photo.png --trace 40,60", text("cmd_trace", lang)),
        ("convcli run photo.png -f 4 --save out.npz", text("cmd_save", lang)),
        (f"convcli params -c {c} -f {f} -k {kh}", text("cmd_params", lang, total=weights + biases, n=2)),
        ("pytest tests/engine/test_golden.py tests/layer/test_params.py", text("cmd_tests", lang)),
    ]
    lines: list[RenderableType] = [_heading(5, "q5", lang), _para(text("prove", lang))]
    for cmd, what in commands:
        lines.append(Text.assemble("  $ ", (cmd, OPERATOR)))
        lines.append(Padding(Text(what, style="dim"), (0, 0, 0, 6), expand=False))  # a wrapped line keeps the indent
    return lines


def _tf32_probe(v: float) -> tuple[float, float]:
    """A value near ``v`` with more digits than TF32 keeps (3/8 of a TF32 place above ``v``), and
    what TF32 makes of it."""
    place = 2.0 ** (np.floor(np.log2(abs(v) or 1.0)) - FORMATS["tf32"].mantissa_bits)
    probe = float(np.float32(v + 0.375 * place))
    return probe, float(round_to(np.array([probe]), "tf32")[0])


def section_gpu(ex: Example, lang: str) -> list[RenderableType]:
    r = ex.result
    names = {f"{k}": FORMATS[k].title for k in ("fp64", "fp32", "tf32", "bf16", "fp16")}
    bits = {f"{k}_bits": FORMATS[k].mantissa_bits for k in ("tf32", "bf16", "fp16")}
    parts: list[RenderableType] = [_heading(6, "q6", lang), _para(text("gpu_intro", lang, **names, **bits))]
    out = _fmt(r.preactivation[0, 0, 0])
    labels = PrecisionLabels(**PRECISION_LABELS[lang]) if lang in PRECISION_LABELS else PrecisionLabels()
    view = precision_window(ex.bf16, 0, 0, 0, ex.names)
    p = view.channels
    parts.append(_para(text("gpu_bf16", lang, **names, v2=_fmt(p[2].value.given), v2r=_fmt(p[2].value.stored),
                            p0=_fmt(p[0].rounded), p1=_fmt(p[1].rounded), p2=_fmt(p[2].exact), p2r=_fmt(p[2].rounded),
                            b=_fmt(view.bias.stored), acc=_fmt(view.accumulated), y=_fmt(view.emulated), out=out)))
    parts.append(precision_panel(view, labels))
    probe, prober = _tf32_probe(ex.values[2])
    parts.append(_para(text("gpu_tf32", lang, **names, v2=_fmt(ex.values[2]), v2t=_fmt(ex.tf32.rounded.x[0, 0, 2]),
                            yt=_fmt(ex.tf32.preactivation[0, 0, 0]), out=out, probe=_fmt(probe),
                            prober=_fmt(prober))))
    parts.append(Text(text("gpu_switches", lang, **names), style="dim"))
    return parts


def section_transpose(ex: Example, lang: str) -> list[RenderableType]:
    tl, tr = ex.transposed, ex.scatter
    g = tl.geometry
    (kh, kw), (ho, wo) = g.kernel, g.out_size
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    table.add_column(text("tc_at", lang))
    table.add_column(text("tc_tap", lang))
    for c in range(len(tr.channels)):
        table.add_column(f"{ex.names[c]}: x · w", justify="right")
    for row, (i, t) in enumerate(tr.landings):
        table.add_row(f"({i[0]}, {i[1]})", f"({t[0]}, {t[1]})",
                      *(f"{_fmt(tr.values[row, c])} · {_fmt(tr.weights[row, c])} = {_fmt(tr.products[row, c])}"
                        for c in range(len(tr.channels))))
    table.add_row("Σ", "", *(Text(_fmt(v), style="bold") for v in tr.sums))
    values = dict(kh=kh, kw=kw, s=g.strides[0], one=_fmt(tl.kernel.max()), ho=ho, wo=wo, i=tr.position[0],
                  j=tr.position[1], n=len(tr.landings), p0=_fmt(tr.sums[0]), p1=_fmt(tr.sums[1]),
                  p2=_fmt(tr.sums[2]), b=_fmt(0.0), out=_fmt(tr.total))
    command = "convcli run photo.png --kind transpose -k 4 --stride 2 --trace 40,60"
    return [
        _heading(7, "q7", lang),
        _para(text("tconv_intro", lang, **values)),
        table,
        _para(text("tconv_sum", lang, **values)),
        Text(text("tconv_try", lang), style="dim"),
        Text.assemble("  $ ", (command, OPERATOR)),
    ]


SECTION_BUILDERS: tuple[Callable[[Example, str], list[RenderableType]], ...] = (
    section_aggregation,
    section_separate_slices,
    section_control,
    section_why_2d,
    section_prove,
    section_gpu,
    section_transpose,
)


def lesson(lang: str = "en", step: int | None = None, example: Example | None = None) -> list[RenderableType]:
    """The renderables of the lesson in ``lang``: all the sections, or only section ``step`` (1-based).

    ``example`` defaults to :func:`compute`'s textbook example.
    """
    if lang not in LANGS:
        raise ConfigError(f"unknown language {lang!r}; choose from {', '.join(LANGS)}")
    if step is not None and not 1 <= step <= len(SECTION_BUILDERS):
        raise ConfigError(f"{{field}} must be 1 to {len(SECTION_BUILDERS)}, got {step}", field="step")
    ex = example if example is not None else compute()
    if step is not None:
        return SECTION_BUILDERS[step - 1](ex, lang)
    parts: list[RenderableType] = [Text(text("title", lang), style="bold")]
    for build in SECTION_BUILDERS:
        parts.extend(build(ex, lang))
    return parts
