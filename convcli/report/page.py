"""The report as one HTML document: the header, the maps, the trace panel; its style and script inline.

Nothing on the page points outside it: pictures are data URIs, the style and the script are read
from this package (``report.css``, ``report.js``) and written into the page, and the numbers travel
as JSON in a ``<script type="application/json">`` block. Every text from a file (paths, channel
names) is escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from convcli.engine import LayerResult
from convcli.present.describe import InputInfo, fmt
from convcli.report.held import DATA_BUDGET, Held, held_numbers
from convcli.report.model import FilterMaps, Picture, ReportModel, report_model
from convcli.report.precision import Emulated, PrecisionSummary, SummaryRow, settings, summary

if TYPE_CHECKING:
    from convcli.layer.spec import ConvSpec


def asset(name: str) -> str:
    """A file of this package (``report.css``, ``report.js``), as text."""
    return resources.files("convcli.report").joinpath(name).read_text(encoding="utf-8")


def script_json(doc: Any) -> str:
    """``doc`` as JSON that cannot end its ``<script>`` block early (``<``, ``>`` and ``&`` escaped)."""
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: The widest a map's frame is drawn, as a multiple of its height.
BAND = 12


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def figure(p: Picture, *, channel: int | None = None, size: str = "", rf: bool = False, mark: bool = False,
           kind: str = "") -> str:
    """One map as a ``<figure>``: its picture in a frame (with the receptive-field box or the position
    mark the script moves), its title and range under it."""
    h, w = p.shape
    attrs = (f' data-channel="{channel}"' if channel is not None else "") + (f' data-kind="{kind}"' if kind else "")
    # the pre-activation (and output) without the channels switched off, painted by the script over the picture
    without = '<canvas class="without" hidden></canvas>' if kind in ("preactivation", "output") else ""
    cls = f' class="{size}"' if size else ""
    overlay = '<div class="rf" hidden></div>' if rf else ('<div class="mark"></div>' if mark else "")
    # a long thin map (a 1-D layer's one row) is drawn as a band at most BAND times as wide as tall, not a
    # hairline: the script places its marks in percents of the frame, so they stretch with it
    band = w > BAND * h
    frame = f'frame band" style="aspect-ratio: {BAND} / 1' if band else f'frame" style="aspect-ratio: {w} / {h}'
    return (f'<figure{cls}{attrs}><div class="{frame}">'
            f'<img src="{p.uri}" alt="{_e(p.title)}" width="{p.cells[1]}" height="{p.cells[0]}">{without}{overlay}</div>'
            f'<figcaption>{_e(p.title)}<span class="without-note"></span><span class="note">{_e(p.note)}</span>'
            '</figcaption></figure>')


def filter_section(fm: FilterMaps, size: str) -> str:
    """A filter's sum laid out: partial maps ⊕ … + bias = pre-activation → output, and its legends."""
    parts: list[str] = []
    for i, p in enumerate(fm.partials):
        if i:
            parts.append('<span class="op">+</span>')
        parts.append(figure(p, channel=p.channel, size=size, mark=True))
    if fm.bias is not None:
        parts.append('<span class="op">+</span>')
        parts.append(f'<figure><div class="bias-swatch" style="background: {fm.bias_colour}"></div>'
                     f'<figcaption>bias<span class="note">{_e(fmt(fm.bias))}</span></figcaption></figure>')
    parts.append('<span class="op">=</span>')
    parts.append(figure(fm.preactivation, size="big", mark=True, kind="preactivation"))
    if fm.output is not None:
        parts.append('<span class="op">→</span>')
        parts.append(figure(fm.output, size="big", mark=True, kind="output"))
    legends = "".join(
        f'<span class="legend">{_e(lg.label)}: {_e(lg.low)}<span class="bar" style="background: {lg.gradient}">'
        f'</span>{_e(lg.high)}{" (clipped at the 99th percentile of |value|)" if lg.clipped else ""}</span>'
        for lg in fm.legends)
    return (f'<section class="filter" data-filter="{fm.index}"><h2>filter {fm.index}: each channel\'s partial map, '
            f'their sum and the bias</h2><div class="panels">{"".join(parts)}</div>'
            f'<div class="legends">{legends}</div></section>')


def precision_section(ps: PrecisionSummary) -> str:
    """``--precision``'s whole-layer error table, what is emulated and its overflow warnings."""
    head = "".join(f"<th>{_e(h)}</th>" for h in ("part", "max |error|", "mean |error|", "max eps", "mean eps"))

    def row(r: SummaryRow, cls: str = "") -> str:
        mark = " dominant" if r.dominant else ""
        return (f'<tr class="{cls}{mark}"><th>{_e(r.part)}</th>'
                + "".join(f"<td>{_e(c)}</td>" for c in r.cells) + "</tr>")
    warnings = "".join(f'<li class="warning">{_e(w)}</li>' for w in ps.warnings)
    return (f'<section class="precision"><h2>{_e(ps.title)}</h2><p class="how">{_e(ps.how)}.</p>'
            + (f"<ul>{warnings}</ul>" if warnings else "")
            + f'<table class="errors"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(row(r) for r in ps.rows) + row(ps.total, "total")
            + f'</tbody></table><p class="verdict">{_e(ps.verdict)}</p></section>')


def render_page(model: ReportModel, held: Held, emulated: Emulated | None = None) -> str:
    """The whole page for ``model`` and the numbers ``held``; ``emulated``: the layer in ``--precision``."""
    header = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in model.header)
    notes = "".join(f"<li>{_e(n)}</li>" for n in model.notes)
    held_note = f'<p class="held-note">{_e(held.note)}</p>' if held.note else ""
    # many channels: smaller panels, so that a filter's sum stays a few rows long
    count = max(len(model.inputs), *(len(fm.partials) for fm in model.filters))
    size = "" if count <= 4 else "small" if count <= 12 else "tiny"
    inputs = "".join(figure(p, channel=c, size=size, rf=True) for c, p in enumerate(model.inputs))
    options = "".join(f'<option value="{fm.index}">filter {fm.index}</option>' for fm in model.filters)
    sections = "".join(filter_section(fm, size) for fm in model.filters)
    doc: dict[str, Any] = {"geometry": model.geometry, "held": held.data,
                           "paint": {str(fm.index): fm.paint for fm in model.filters}}
    precision = ""
    if emulated is not None:
        doc["precision"] = settings(emulated.emulation)
        # the summary's "channel c" is the c-th of each filter's group: named only when that is the input's
        names = model.geometry["names"] if model.geometry["groups"] == 1 else ()
        precision = precision_section(summary(emulated.errors, names, emulated.how(), emulated.warnings))
    data = script_json(doc)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="convcli report">
<title>{_e(model.title)}</title>
<style>
{asset("report.css")}</style>
</head>
<body>
<header>
<h1>convcli report</h1>
<dl class="header">{header}</dl>
{f'<ul class="notes">{notes}</ul>' if notes else ""}
{held_note}
</header>
<nav class="controls">
<label>filter <select id="filter">{options}</select></label>
<span id="position"></span>
<span class="hint">Click or hover a map of the filter to trace that output position; arrow keys move it (Shift: 10 at a time).
The page's address keeps the filter and position: share it as a link.</span>
</nav>
<main>
<section class="inputs"><h2>input channels (the box: the window the position reads)</h2><div class="panels">{inputs}</div></section>
{sections}
{precision}
<section class="trace"><h2>trace: each channel's window ⊙ its kernel slice = products, their sum</h2><div id="trace"></div></section>
</main>
<footer>Made by convcli report; self-contained: it makes no request and opens offline.
Maps larger than their panel are drawn as block means; the trace's numbers are exact.</footer>
<script type="application/json" id="convcli-data">{data}</script>
<script>
{asset("report.js")}</script>
</body>
</html>
"""


def build_report(result: LayerResult, info: InputInfo, padding: object, kernel_source: str, filters: Sequence[int],
                 *, semantics: str = "keras", notes: Sequence[str] = (), budget: int = DATA_BUDGET,
                 at: tuple[int, int] | None = None, emulated: Emulated | None = None, spec: ConvSpec | None = None,
                 in_size: tuple[int, ...] = (), plane: int | None = None) -> str:
    """The report of ``filters`` of ``result`` (``run_layer(..., ranges=True)``) as one HTML document.

    ``budget``: the bytes of exact numbers the page may hold (:mod:`convcli.report.held`); ``at``: the
    output position the held input is centred on when the whole input does not fit; ``emulated``: the
    same layer in ``--precision`` (:mod:`convcli.report.precision`), shown beside float64; ``spec`` with
    ``in_size``: a layer of another kind or rank (``result`` is the 2-D layer that computes it: one row, one
    depth slice, the spread input of a transposed layer), named in the header as it is; ``plane``: the output
    plane of a 3-D layer the page shows (its positions, in the address, are ``D,ROW,COL`` as ``run --trace``'s).
    """
    model = report_model(result, info, padding, kernel_source, filters, semantics=semantics, notes=notes,
                         spec=spec, in_size=in_size, plane=plane)
    held = held_numbers(result.layer, np.asarray(result.bias), filters, budget=budget, at=at)
    return render_page(model, held, emulated)
