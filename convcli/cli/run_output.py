"""What ``convcli run`` writes: its files (checked before any work), then its JSON or its screen."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcli.cli import output
from convcli.cli.notes import print_notes
from convcli.cli.options import LayerOptions, View
from convcli.cli.output import ProgressBar, export_screen, note, screen_console
from convcli.cli.picture_options import NO_PICTURES, Pictures
from convcli.cli.picture_output import dominant_json, dominant_panel

if TYPE_CHECKING:
    from collections.abc import Callable

    from convcli.engine import LayerResult
    from convcli.pipeline.built import BuiltLayer
    from convcli.pipeline.precision import Emulated
    from convcli.pipeline.request import Request


@dataclass(frozen=True)
class Targets:
    """The files a run writes, each checked before any work: --save, --figure, --save-maps and --export."""

    save: Path | None
    figure: Path | None
    maps: Path | None
    export: Path | None
    inputs: list[Path]  # never overwritten
    force: bool
    compress: bool = False  # --save deflated
    figure_width: int | None = None  # --figure-width: the most pixels the --figure may be wide
    pictures: Pictures = NO_PICTURES  # --theme, --width, --animate, --frames, --fps


@dataclass(frozen=True)
class Shown:
    """One computed run and what of it is shown: the filters in detail, their traces, the view."""

    opts: LayerOptions
    padding: str | int | tuple[int, ...]  # as parsed
    built: BuiltLayer
    result: Any  # engine.LayerResult
    info: Any  # render.InputInfo
    detail: list[int]
    traces: dict[int, Any] | None  # filter -> engine.Trace at trace_at
    trace_at: tuple[int, int] | None
    window: Any  # present.window.Window: the output positions the numbers show
    keep: bool  # the partials go into --save
    view: View  # never auto
    stat: str = "mean"  # what a heatmap cell shows of its block
    emulated: Any = None  # pipeline.precision.Emulated: the layer in --precision, or None
    bar: bool = False  # progress bars on stderr for the work after the pass (max-abs heatmaps, --save-maps)

    @property
    def precision_at(self) -> tuple[int, int]:
        """The output position whose precision panel is shown: --trace's, else the window's first."""
        return self.trace_at if self.trace_at is not None else (self.window.rows[0], self.window.cols[0])


def check_targets(opts: LayerOptions, save: Path | None, figure: Path | None, save_maps: Path | None,
                  export: Path | None, force: bool, *, compress: bool, figure_width: int,
                  pictures: Pictures = NO_PICTURES) -> Targets:
    from convcli import reads
    from convcli.files import targets
    from convcli.sources import kernels

    # every file this run reads, declared before any target is checked: no writer may replace one
    inputs = [Path(p) for p in (opts.input, opts.kernel, kernels.bias_file(opts.bias), opts.model) if p]
    reads.register(*inputs)
    target = targets.check_target(save, force=force, inputs=inputs) if save else None
    figure_target = None
    if figure:  # the figure's package only when a figure is asked for: --json paths import no picture code
        from convcli.figure.export import FIGURE_SUFFIXES

        figure_target = targets.check_target(figure, force=force, inputs=inputs, suffix=list(FIGURE_SUFFIXES))
    export_target = output.export_target(export, force=force, inputs=inputs)
    if pictures.animate is not None:
        from convcli.cli.picture_output import check_animation

        pictures = check_animation(pictures, force=force, inputs=inputs, others=(target, figure_target, export_target))
    return Targets(target, figure_target, save_maps, export_target, inputs, force, compress, figure_width, pictures)


def check_fits(built: BuiltLayer, targets: Targets, keep: bool, shown: int, *, emulated: bool = False) -> None:
    """Refuse, before computing, a run (and its --figure of ``shown`` rows, its ``emulated`` --precision
    arrays) larger than the memory left."""
    from convcli.pipeline import memory

    also = []
    if built.whole is not None and targets.save is not None:  # the archive holds the whole 3-D run
        whole = built.whole
        out_values = prod(whole.geometry.out_size) * whole.filters
        also.append((out_values * whole.x.itemsize * (3 + (whole.cg if keep else 0)), "the whole 3-D run for --save"))
    if emulated:
        from convcli.pipeline.precision import emulation_bytes

        also.append((emulation_bytes(built.layer), "the --precision emulation"))
    if targets.figure is not None:
        from convcli.figure.budget import figure_bytes

        also.append((figure_bytes(built.layer, built.activation, shown, targets.figure_width),
                     f"the {shown} row{'s' if shown != 1 else ''} of --figure"))
    if targets.pictures.animate is not None:
        from convcli.figure.animate import animation_bytes

        also.append((animation_bytes(built.layer, targets.pictures.animate.suffix, targets.pictures.frames),
                     "the --animate frames"))
    memory.check_run_fits(built.layer, stream_partials=keep, also=also)


def computed(built: BuiltLayer, targets: Targets, keep: bool, ranges: bool, bar: bool,
             request: Request) -> tuple[LayerResult, Emulated | None]:
    """The pipeline's run, with its --save archive and a progress bar on stderr (``bar``), and the layer in
    ``request.precision`` after it (None without)."""
    from convcli.pipeline.precision import run_emulated
    from convcli.pipeline.run import Archive, run

    archive = None if targets.save is None else Archive(targets.save, targets.force, targets.inputs,
                                                        targets.compress, partials=keep)
    progress = ProgressBar("convolving", enabled=bar)
    try:
        if request.precision is None:
            return run(built, archive=archive, ranges=ranges, progress=progress), None
        return run_emulated(built, request.precision, request.accumulate, archive=archive, ranges=ranges,
                            progress=progress)
    finally:
        progress.close()


def shown_view(view: View, rows: tuple[int, int], cols: tuple[int, int], out_hw: tuple[int, int]) -> View:
    """``--view auto``: both when the window shows less than the whole maps, else the numbers."""
    if view is not View.auto:
        return view
    return View.both if (rows[1] - rows[0], cols[1] - cols[0]) != out_hw else View.numbers


def write_files(run: Shown, targets: Targets) -> list[Path]:
    """Write --figure, --animate and --save-maps (--save is written in the pass); the files --save-maps
    wrote (maps.json last)."""
    from convcli.cli.picture_output import receptive_field, write_animation, write_figure

    result, source = run.result, run.opts.input
    names, force, inputs = run.built.loaded.channel_names, targets.force, targets.inputs
    if targets.figure is not None:
        write_figure(result, run.detail, names, _figure_title(run), targets.figure, targets.figure_width,
                     targets.pictures, force=force, inputs=inputs, trace_at=run.trace_at, field=receptive_field(run),
                     spec=run.built.spec, built=run.built)
    if targets.pictures.animate is not None:
        write_animation(result, run.detail[0], names, _figure_title(run), targets.pictures, force=force, inputs=inputs,
                        built=run.built)
    if targets.maps is None:
        return []
    from convcli.figure import maps as feature_maps

    progress = ProgressBar("saving maps", enabled=run.bar)
    try:
        return feature_maps.save_maps(result, targets.maps, force=targets.force, source=str(source),
                                      padding=run.padding, inputs=targets.inputs, progress=progress)
    finally:
        progress.close()


def _figure_title(run: Shown) -> str:
    """The picture's title: the input file's name, and a --model layer's file and name."""
    title = Path(run.opts.input).name
    if run.built.model is not None:
        title += f" · {Path(str(run.built.model['file'])).name} '{run.built.model['layer']}'"
    return title


def print_json(run: Shown, targets: Targets, map_files: list[Path]) -> None:
    from convcli.present import schema

    doc = schema.result_json(run.info, run.result, run.padding, run.detail, run.traces, run.trace_at, window=run.window,
                             semantics=run.opts.semantics.value, flip=run.opts.flip)
    if run.emulated is not None:
        from convcli.present.precision_json import add_precision

        add_precision(doc, run.emulated.emulation, run.emulated.errors, run.window)
    if run.built.model is not None:
        doc["model"] = run.built.model
    if run.view is View.dominant:
        doc["dominant"] = dominant_json(run)
    if run.built.own is not None:
        doc["kind"] = _own_kind_json(run)
    elif run.built.spec is not None:
        from convcli.present.kinds import kind_json

        doc["kind"] = kind_json(run.built.spec, run.built.loaded.array.shape[:-1])
        if run.built.whole is not None:
            doc["kind"]["depth_at"] = _depth_at(run.built)
    if targets.save is not None:
        doc["saved"] = str(targets.save)
    if targets.figure is not None:
        doc["figure"] = str(targets.figure)
    if targets.pictures.animate is not None:
        doc["animation"] = str(targets.pictures.animate)
    if targets.maps is not None:
        doc["maps"] = [str(p) for p in map_files]
    sys.stdout.write(schema.dumps(doc))


def _depth_at(built: BuiltLayer) -> int:
    """The output plane a depth slice shows (its note says it; the slice's geometry does not)."""
    from convcli.pipeline.depth import shown_plane

    return shown_plane(built)


def print_screen(run: Shown, targets: Targets, map_files: list[Path]) -> None:
    from convcli.render import run as render
    from convcli.render.trace import trace_panel

    layer, result, names, detail = run.built.layer, run.result, run.built.loaded.channel_names, run.detail
    console = screen_console(targets.export, width=targets.pictures.width)
    console.print(render.header(run.info, result, run.padding, run.built.kernel_source,
                                semantics=run.opts.semantics.value,
                                precision=run.emulated.how() if run.emulated is not None else None,
                                spec=run.built.spec, in_size=tuple(run.built.loaded.array.shape[:-1])))
    print_notes(console, run.built)
    heatmaps = run.view in (View.heatmap, View.both)
    if heatmaps:
        from convcli.present import maps as map_sources
        from convcli.render import heatmap

        # block sums (or max-abs block extremes, one pass for the filters shown) shared by their heatmaps
        sources = map_sources.ResultMaps(result, run.stat, filters=detail,
                                         progress=_closing(ProgressBar("heatmaps", enabled=run.bar)))
    for f in detail:
        if run.view is View.dominant:
            console.print(dominant_panel(run, f))
        if run.view in (View.numbers, View.both):
            console.print(render.filter_panel(result, f, names, window=run.window))
        if heatmaps:
            console.print(heatmap.filter_heatmaps(result, f, names, sources=sources, stat=run.stat))
        if run.traces is not None and run.trace_at is not None:
            console.print(trace_panel(result, run.traces[f], *run.trace_at, f, names))
            _print_scatter(console, run, f)
        if run.emulated is not None:
            _print_precision(console, run, f)
    if layer.filters > 1:
        console.print(render.summary_table(result, names))
    if run.emulated is not None:
        from convcli.render.precision import error_table

        console.print()
        console.print(error_table(run.emulated.errors, names if layer.groups == 1 else None))
    if len(detail) < layer.filters:
        first = next((f for f in range(max(detail) + 1, layer.filters) if f not in detail), 0)
        last = min(first + 3, layer.filters - 1)
        example = f"{first}-{last}" if last > first else str(first)
        console.print(f"[dim]{len(detail)} of {layer.filters} filters shown in detail; choose others with --filter, "
                      f"e.g. --filter {example}.[/dim]")
    _saved_lines(run, targets, map_files)
    export_screen(console, targets.export, f"convcli run {Path(run.opts.input).name}", force=targets.force,
            inputs=targets.inputs, theme=targets.pictures.theme)


def _own_kind_json(run: Shown) -> dict[str, Any]:
    """A transposed or separable layer's ``"kind"`` document, its scatter traces included."""
    from convcli.pipeline.own_engine import input_channel_names, scatter_trace
    from convcli.present.own_kinds import own_kind_json, scatter_json

    built, names = run.built, input_channel_names(run.built)
    assert built.spec is not None and built.weights is not None
    traces = [scatter_trace(built, run.trace_at, f) for f in run.detail] if run.trace_at is not None else []
    return own_kind_json(built.spec, built.weights, built.notes, [scatter_json(t, names) for t in traces if t])


def _print_scatter(console: Any, run: Shown, f: int) -> None:
    """A transposed layer's scatter view of filter ``f`` at the traced position (1-D and 2-D)."""
    from convcli.pipeline.own_engine import input_channel_names, scatter_trace

    assert run.trace_at is not None
    trace = scatter_trace(run.built, run.trace_at, f)
    if trace is not None:
        from convcli.render.trace import scatter_panel

        console.print(scatter_panel(run.result, trace, run.trace_at, input_channel_names(run.built)))


def _print_precision(console: Any, run: Shown, f: int) -> None:
    """Filter ``f``'s precision panel at :attr:`Shown.precision_at`."""
    from convcli.present.precision import precision_window
    from convcli.render.precision import precision_panel

    names = run.built.loaded.channel_names
    at = run.precision_at
    console.print(precision_panel(precision_window(run.emulated.emulation, f, *at,
                                                   names if run.built.layer.groups == 1 else None)))


def _closing(bar: ProgressBar) -> Callable[[float], None]:
    """``bar``, closed once its work is done: the screen is printed right after, and a live bar
    on stderr would redraw over it."""
    def update(fraction: float) -> None:
        bar(fraction)
        if fraction >= 1.0:
            bar.close()
    return update


def _saved_lines(run: Shown, targets: Targets, map_files: list[Path]) -> None:
    """On stderr, as "exported ...": stdout holds the screen only (and an --export records just that)."""
    from convcli.text import shown

    if targets.save is not None:
        from convcli.pipeline.precision import SAVED

        emulated = SAVED if run.emulated is not None else ()
        weights = tuple(run.built.weights) if run.built.weights is not None else ("kernel",)
        saved = ", ".join(sorted(k for k in ("input", *weights, "bias", "preactivation", "output", "partials",
                                             *emulated) if k != "partials" or run.keep))
        note(f"saved {shown(targets.save)}: {saved}")
    if targets.figure is not None:
        note(f"saved {shown(targets.figure)}: filters {', '.join(map(str, run.detail))}")
    if targets.pictures.animate is not None:
        spec = run.built.spec
        how = "each input position's kernel copy landing" if spec and spec.kind == "transpose" else "the window sliding"
        note(f"saved {shown(targets.pictures.animate)}: filter {run.detail[0]}, {how}")
    if targets.maps is not None:
        note(f"saved {len(map_files) - 1} output maps and maps.json in {shown(targets.maps)}")
