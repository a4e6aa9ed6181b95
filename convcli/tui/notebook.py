"""How an exploration shows itself: the run screen in a terminal (:func:`screen`, rich), the same screen
as HTML with the heatmaps as one PNG for Jupyter (:func:`html`), a short :func:`summary` for ``repr``,
and the interactive HTML report (:func:`write_report`).

:class:`convcli.pipeline.explore.Exploration` delegates to these (``__rich__``, ``_repr_html_``,
``__repr__``, ``.report``); they lay out its view models (:class:`~convcli.present.runview.Header`,
:class:`~convcli.present.filtersum.FilterSum`) and compute nothing. rich, Pillow and the report are
imported when a function is called, so that ``import convcli`` stays light. The exploration is typed
by what these read (:class:`Explored`): importing its class here would tie the two modules in a circle.
"""

from __future__ import annotations

import base64
import html as html_text
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from convcli.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Group

    from convcli.engine import LayerResult
    from convcli.present.describe import InputInfo

#: Columns of the screen a notebook shows (a notebook cell has no terminal width to ask).
NOTEBOOK_COLUMNS = 110
#: The widest heatmap figure a notebook shows, in pixels.
FIGURE_WIDTH = 960


class Explored(Protocol):
    """What the views read of an exploration: its request (``input_name``, ``semantics``, ``flip``), its built
    layer (``loaded``, ``padding``, ``kernel_source``, ``notes``, ``model``) and its result."""

    @property
    def request(self) -> Any: ...

    @property
    def built(self) -> Any: ...

    @property
    def result(self) -> LayerResult: ...


@dataclass(frozen=True)
class _Slice:
    """A 3-D exploration as its views show it: the middle output plane, computed as ``run`` shows it."""

    request: Any
    built: Any
    result: LayerResult


def shown(ex: Explored, plane: int | None = None) -> Explored:
    """``ex`` as the views draw it: a 3-D layer's depth slice ``plane`` (default: the middle;
    :func:`convcli.pipeline.depth.depth_slice`, computed here: one plane), every other layer as it is."""
    if ex.built.ndim != 3:
        return ex
    from convcli.pipeline.depth import depth_slice
    from convcli.pipeline.run import run

    built = depth_slice(ex.built, plane)
    return _Slice(ex.request, built, run(built))


def _kind(ex: Explored) -> dict[str, Any]:
    """The header's ``spec`` and ``in_size`` for a layer of another kind or rank (none for a classic Conv2D)."""
    if ex.built.spec is None:
        return {}
    return {"spec": ex.built.spec, "in_size": tuple(ex.built.loaded.array.shape[:-1])}


def input_info(ex: Explored) -> InputInfo:
    """The header's facts about the input (as ``run``'s)."""
    from convcli.present import describe

    x, loaded = ex.built.loaded.array, ex.built.loaded
    return describe.InputInfo(ex.request.input_name, loaded.description, x.shape, str(x.dtype),
                              loaded.channel_names, describe.value_range(x))


def shown_filters(ex: Explored, filters: Sequence[int] | None = None) -> list[int]:
    """``filters``, or the first ones ``run`` details by default."""
    from convcli.present.selection import DEFAULT_DETAIL_FILTERS

    return list(range(min(ex.result.layer.filters, DEFAULT_DETAIL_FILTERS))) if filters is None else list(filters)


def summary(ex: Explored) -> str:
    """One line for ``repr``: the input, the layer's shapes; never the arrays."""
    spec = ex.built.spec
    if spec is not None:  # in its own axes: k and (L', F); kd×kh×kw and (D', H', W', F)
        x = ex.built.loaded.array
        kernel = f"kernel {spec.kernel[0]}" if spec.ndim == 1 else "×".join(map(str, spec.kernel))
        out = "×".join(map(str, (*_kind_out(ex), spec.out_channels)))
        return (f"<Exploration {ex.request.input_name}: {spec.keras_name} {kernel}, {x.shape[-1]} channels → "
                f"{spec.out_channels} filters, output {out} {ex.result.output.dtype.name}, {ex.result.activation}>")
    layer = ex.result.layer
    ho, wo = layer.geometry.out_hw
    kh, kw, cg, f = layer.kernel.shape
    return (f"<Exploration {ex.request.input_name}: {kh}×{kw} conv, {layer.x.shape[2]} channels → {f} filters, "
            f"output {ho}×{wo}×{f} {layer.x.dtype.name}, {ex.result.activation}>")


def _kind_out(ex: Explored) -> tuple[int, ...]:
    spec = ex.built.spec
    in_size = ex.built.loaded.array.shape[:-1]
    return tuple(spec.kind_obj.out_size(spec, in_size) if spec.kind_obj.transposed else spec.geometry(in_size).out_size)


def screen(ex: Explored, *, filters: Sequence[int] | None = None, heatmaps: bool = True) -> Group:
    """The run screen: the header, the notes, each shown filter's sum (its window's numbers, then its
    heatmaps when ``heatmaps``), the summary of every filter."""
    ex = shown(ex)
    from rich.console import Group, RenderableType
    from rich.text import Text

    from convcli.present.window import Window
    from convcli.render import heatmap
    from convcli.render import run as render

    result, names = ex.result, ex.built.loaded.channel_names
    parts: list[RenderableType] = [render.header(input_info(ex), result, ex.built.padding, ex.built.kernel_source,
                                                 semantics=ex.request.semantics, **_kind(ex))]
    parts += [Text(note, style="dim") for note in ex.built.notes]
    window = Window.choose(result.layer.geometry.out_hw)
    for f in shown_filters(ex, filters):
        parts.append(render.filter_panel(result, f, names, window=window))
        if heatmaps:
            parts.append(heatmap.filter_heatmaps(result, f, names))
    if result.layer.filters > 1:
        parts.append(render.summary_table(result, names))
    return Group(*parts)


def figure_png(ex: Explored, filters: Sequence[int] | None = None, width: int = FIGURE_WIDTH) -> bytes:
    """The shown filters' heatmaps as one PNG (``run --figure``'s picture, from block sums)."""
    from convcli.figure import draw
    from convcli.figure.budget import FIGURE_MAX_PANEL

    ex = shown(ex)
    title = Path(str(ex.request.input_name)).name
    picture = draw.figure_image(ex.result, shown_filters(ex, filters), ex.built.loaded.channel_names, title=title,
                                max_panel=FIGURE_MAX_PANEL, width=width)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False, compress_level=3)
    return buffer.getvalue()


def html(ex: Explored, *, filters: Sequence[int] | None = None) -> str:
    """The run screen as HTML with inline styles (rich's export) and its heatmaps as one inline PNG:
    nothing is fetched over the network."""
    from rich.console import Console

    console = Console(record=True, file=io.StringIO(), width=NOTEBOOK_COLUMNS, color_system="truecolor",
                      force_terminal=True, force_jupyter=False)
    console.print(screen(ex, filters=filters, heatmaps=False))
    # the <pre> alone: the export's page head (fonts, body colours) is the notebook's business
    text = console.export_html(inline_styles=True, code_format="<pre style=\"font-family: Menlo, 'DejaVu Sans Mono', "
                               "consolas, 'Courier New', monospace; line-height: 1.2\">{code}</pre>")
    png = base64.b64encode(figure_png(ex, filters)).decode("ascii")
    alt = html_text.escape(f"heatmaps of {Path(str(ex.request.input_name)).name}", quote=True)
    return (f"<div class=\"convcli-exploration\">{text}"
            f"<img alt=\"{alt}\" style=\"max-width: 100%\" src=\"data:image/png;base64,{png}\"></div>")


def write_report(ex: Explored, path: str | os.PathLike[str], *, filters: Sequence[int] | None = None,
                 at: tuple[int, ...] | None = None, budget: int | None = None, force: bool = True) -> Path:
    """Write the interactive HTML report of ``filters`` to ``path`` (atomically, as ``convcli report``) and
    return the path. ``at``: the position it opens at, in the layer's own axes (``I``; ``ROW, COL``;
    ``D, ROW, COL``, whose ``D`` is the plane shown); ``budget``: bytes of exact numbers the page may hold
    (default: the report's)."""
    from convcli.files import atomic
    from convcli.report import DATA_BUDGET, build_report

    emulated = getattr(ex, "emulated", None)  # explore(precision=...): the page shows it too
    ndim = ex.built.ndim
    if at is not None and len(at) != (2 if ndim == 2 else ndim) and not (ndim == 1 and len(at) == 2):
        raise ConfigError(f"{{field}} takes {('I', 'ROW, COL', 'D, ROW, COL')[ndim - 1]} for a {ndim}-D layer; "
                          f"got {len(at)} value(s)", field="at")
    rowcol = None if at is None else (0, at[0]) if len(at) == 1 else (at[-2], at[-1])
    ex = shown(ex, at[0] if at is not None and ndim == 3 else None)
    page = build_report(ex.result, input_info(ex), ex.built.padding, ex.built.kernel_source, shown_filters(ex, filters),
                        semantics=ex.request.semantics, notes=list(ex.built.notes), at=rowcol,
                        budget=DATA_BUDGET if budget is None else budget,
                        emulated=emulated, plane=getattr(ex.built, "plane", None), **_kind(ex))
    target = Path(path)
    data = page.encode("utf-8")
    atomic.atomic_write(target, lambda fh: fh.write(data), force=force, inputs=[])
    return target
