"""``convcli run``: apply the layer to an input and show each channel's partial sums adding up."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from convcli.cli import output
from convcli.cli.app import app
from convcli.cli.layer import BuiltLayer, _warn_overflow, build_layer, print_notes
from convcli.cli.options import (
    OUT_PANEL,
    SHOW_PANEL,
    ExportOpt,
    ForceOpt,
    LayerOptions,
    View,
    parse_layer,
    takes_layer_options,
)
from convcli.cli.output import _export, _note, _Progress, _screen
from convcli.cli.parsing import parse_filter_list, parse_position

if TYPE_CHECKING:
    from convcli.engine import Layer


@dataclass(frozen=True)
class _Targets:
    """The files a run writes, each checked before any work: --save, --figure, --save-maps and --export."""

    save: Path | None
    figure: Path | None
    maps: Path | None
    export: Path | None
    inputs: list[Path]  # never overwritten
    force: bool
    compress: bool = False  # --save deflated
    figure_width: int | None = None  # --figure-width: the most pixels the --figure may be wide


@dataclass(frozen=True)
class _Shown:
    """One computed run and what of it is shown: the filters in detail, their traces, the view."""

    opts: LayerOptions
    padding: str | int | tuple[int, int]  # as parsed
    built: BuiltLayer
    result: Any  # engine.LayerResult
    info: Any  # render.InputInfo
    detail: list[int]
    traces: dict[int, Any] | None  # filter -> engine.Trace at trace_at
    trace_at: tuple[int, int] | None
    partial_maps: dict[int, Any]  # filter -> (H', W', Cg) partial maps, if computed (none: block sums serve)
    window: Any  # present.window.Window: the output positions the numbers show
    keep: bool  # the partials go into --save
    view: View  # never auto
    stat: str = "mean"  # what a heatmap cell shows of its block


#: ``--figure-width``'s default: a full-HD screen or slide (a row of RGB → relu panels 200 px each).
FIGURE_WIDTH = 1920


class HeatmapStat(StrEnum):
    """``--heatmap-stat``: what one heatmap cell shows of the block of output positions it stands for."""

    auto = "auto"
    mean = "mean"
    mean_abs = "mean-abs"
    max_abs = "max-abs"


HeatmapStatOpt = Annotated[HeatmapStat, typer.Option(
    "--heatmap-stat",
    help="What a heatmap cell shows when it stands for a block of positions: auto (max-abs for edge "
         "detectors, whose weights sum to 0 and whose means cancel; else mean), mean (signed; fine "
         "detail averages out), mean-abs (mean |value|: where a map is strong, either sign) or "
         "max-abs (the value of largest |value|, sign kept: thin edges stay visible). Other than "
         "mean, each shown filter's partial maps are computed in full, one filter at a time.",
    rich_help_panel=SHOW_PANEL)]


def _check_targets(opts: LayerOptions, save: Path | None, figure: Path | None, save_maps: Path | None,
                   export: Path | None, force: bool) -> _Targets:
    from convcli import reads
    from convcli.files import targets
    from convcli.sources import kernels

    # every file this run reads, declared before any target is checked: no writer may replace one
    inputs = [Path(p) for p in (opts.input, opts.kernel, kernels.bias_file(opts.bias), opts.model) if p]
    reads.register(*inputs)
    target = targets.check_target(save, force=force, inputs=inputs) if save else None
    figure_target = targets.check_target(figure, force=force, inputs=inputs, suffix=list(targets.IMAGE_FORMATS)) \
        if figure else None
    export_target = output.export_target(export, force=force, inputs=inputs)
    return _Targets(target, figure_target, save_maps, export_target, inputs, force)


def _check_fits(layer: Layer, keep: bool, figure_filters: int = 0, activation: str = "linear",
                figure_width: int | None = None) -> None:
    """Refuse, before computing, a result larger than the free memory or the process's own limit.

    ``figure_filters``: the rows of a --figure (``memory.figure_bytes``), ``figure_width`` pixels wide at most.
    """
    from convcli import engine
    from convcli.cli import memory

    ho, wo = layer.geometry.out_hw
    what = f"{ho}×{wo}×{layer.filters} output"  # --save's partials go to the file as they are made: a few blocks
    nbytes = engine.run_bytes(layer, stream_partials=keep)
    rows, cols, c, padded = engine.padded_region(layer)
    if padded > ho * wo * layer.filters * layer.x.itemsize:  # a huge padding or dilation: say what is large
        what += f" and {rows}×{cols}×{c} padded input rows per block"
    if figure_filters:
        nbytes += memory.figure_bytes(layer, activation, figure_filters, figure_width)
        what += f" and the {figure_filters} row{'s' if figure_filters != 1 else ''} of --figure"
    memory.ensure_fits(nbytes, what, "use " + memory.listed(memory.advice(dtype=layer.x.dtype.name)))


def _compute(built: BuiltLayer, targets: _Targets, keep: bool, ranges: bool, progress: _Progress) -> Any:
    """The run's ``engine.LayerResult``, and its --save archive written on the way: the partials
    (``keep``) go to the archive block by block as the pass makes them, never held whole."""
    from convcli import engine

    layer = built.layer

    def compute(sink: Any = None) -> Any:
        return engine.run_layer(layer, built.bias, built.activation, use_bias=built.use_bias, partials_sink=sink,
                                ranges=ranges, progress=progress)

    if targets.save is None:
        return compute()
    from convcli.files import writers

    with writers.npz_archive(targets.save, force=targets.force, inputs=targets.inputs,
                             compress=targets.compress) as archive:
        if keep:
            ho, wo = layer.geometry.out_hw
            with archive.rows("partials", (ho, wo, layer.cg, layer.filters), layer.x.dtype) as partials:
                result = compute(lambda rows, block: partials.write(block))
        else:
            result = compute()
        for name, value in (("input", layer.x), ("kernel", layer.kernel), ("bias", result.bias),
                            ("preactivation", result.preactivation), ("output", result.output)):
            archive.add(name, value)
    return result


def _shown_view(view: View, rows: tuple[int, int], cols: tuple[int, int], out_hw: tuple[int, int]) -> View:
    """``--view auto``: both when the window shows less than the whole maps, else the numbers."""
    if view is not View.auto:
        return view
    return View.both if (rows[1] - rows[0], cols[1] - cols[0]) != out_hw else View.numbers


def _write_files(run: _Shown, targets: _Targets) -> list[Path]:
    """Write --figure and --save-maps (--save is written by :func:`_compute`); the files --save-maps
    wrote (maps.json last)."""
    from convcli.files import writers

    result, source = run.result, run.opts.input
    if targets.figure is not None:
        from convcli.cli.memory import FIGURE_MAX_PANEL
        from convcli.figure import draw as figures

        # each panel from block sums at the size it is drawn, never a photo's partial maps whole
        picture = figures.figure_image(result, run.detail, run.built.loaded.channel_names, title=_figure_title(run),
                                       max_panel=FIGURE_MAX_PANEL, width=targets.figure_width)
        writers.save_image(picture, targets.figure, force=targets.force, inputs=targets.inputs, png_level=3)
    if targets.maps is None:
        return []
    from convcli.figure import maps as feature_maps

    return feature_maps.save_maps(result, targets.maps, force=targets.force, source=str(source), padding=run.padding,
                                  inputs=targets.inputs)


def _figure_title(run: _Shown) -> str:
    """The picture's title: the input file's name, and a --model layer's file and name."""
    title = Path(run.opts.input).name
    if run.built.model is not None:
        title += f" · {Path(str(run.built.model['file'])).name} '{run.built.model['layer']}'"
    return title


def _print_json(run: _Shown, targets: _Targets, map_files: list[Path]) -> None:

    from convcli.present import schema

    doc = schema.result_json(run.info, run.result, run.padding, run.detail, run.traces, run.trace_at, window=run.window,
                             semantics=run.opts.semantics.value, flip=run.opts.flip)
    if run.built.model is not None:
        doc["model"] = run.built.model
    if targets.save is not None:
        doc["saved"] = str(targets.save)
    if targets.figure is not None:
        doc["figure"] = str(targets.figure)
    if targets.maps is not None:
        doc["maps"] = [str(p) for p in map_files]
    sys.stdout.write(schema.dumps(doc))


def _print_screen(run: _Shown, targets: _Targets, map_files: list[Path]) -> None:
    from convcli.render import run as render
    from convcli.render.trace import trace_panel

    layer, result, names, detail = run.built.layer, run.result, run.built.loaded.channel_names, run.detail
    console = _screen(targets.export)
    console.print(render.header(run.info, result, run.padding, run.built.kernel_source,
                                semantics=run.opts.semantics.value))
    print_notes(console, run.built, run.opts.flip)
    heatmaps = run.view in (View.heatmap, View.both)
    if heatmaps:
        from convcli.present import maps as map_sources
        from convcli.render import heatmap

        sources = map_sources.ResultMaps(result, run.stat)  # block sums shared by every filter's heatmaps
    for f in detail:
        if run.view in (View.numbers, View.both):
            console.print(render.filter_panel(result, f, names, window=run.window))
        if heatmaps:
            console.print(heatmap.filter_heatmaps(result, f, names, maps=run.partial_maps.get(f),
                                                  sources=sources, stat=run.stat))
        if run.traces is not None and run.trace_at is not None:
            console.print(trace_panel(result, run.traces[f], *run.trace_at, f, names))
    if layer.filters > 1:
        console.print(render.summary_table(result, names))
    if len(detail) < layer.filters:
        first = next((f for f in range(max(detail) + 1, layer.filters) if f not in detail), 0)
        last = min(first + 3, layer.filters - 1)
        example = f"{first}-{last}" if last > first else str(first)
        console.print(f"[dim]{len(detail)} of {layer.filters} filters shown in detail; choose others with --filter, "
                      f"e.g. --filter {example}.[/dim]")

    from convcli.text import shown

    # on stderr, as "exported ...": stdout holds the screen only (and an --export records just that)
    if targets.save is not None:
        saved = ", ".join(sorted(k for k in ("input", "kernel", "bias", "preactivation", "output", "partials")
                                 if k != "partials" or run.keep))
        _note(f"saved {shown(targets.save)}: {saved}")
    if targets.figure is not None:
        _note(f"saved {shown(targets.figure)}: filters {', '.join(map(str, detail))}")
    if targets.maps is not None:
        _note(f"saved {len(map_files) - 1} output maps and maps.json in {shown(targets.maps)}")
    _export(console, targets.export, f"convcli run {Path(run.opts.input).name}", force=targets.force,
            inputs=targets.inputs)


@app.command(no_args_is_help=True)
@takes_layer_options
def run(
    opts: LayerOptions,
    at: Annotated[str | None, typer.Option(help="ROW,COL: top-left output position of the window shown "
                                           "(default: centred).", rich_help_panel=SHOW_PANEL, show_default=False)] = None,
    window: Annotated[int | None, typer.Option(help="Window size N (N×N output positions; default 3).",
                                               rich_help_panel=SHOW_PANEL, show_default=False)] = None,
    trace: Annotated[str | None, typer.Option(help="ROW,COL: every product that makes this output position.",
                                              rich_help_panel=SHOW_PANEL, show_default=False)] = None,
    filter_: Annotated[str | None, typer.Option("--filter", help="Filters to show in detail: 0,3 or 2-5 "
                                                "(default: the first 4).", rich_help_panel=SHOW_PANEL,
                                                show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.",
                                        rich_help_panel=SHOW_PANEL)] = False,
    save: Annotated[Path | None, typer.Option(help="Write input, kernel, bias, partials, preactivation, output to "
                                              "this .npz.", rich_help_panel=OUT_PANEL, show_default=False)] = None,
    no_partials: Annotated[bool, typer.Option("--no-partials", help="Leave the (large) partials out of --save.",
                                              rich_help_panel=OUT_PANEL)] = False,
    compress: Annotated[bool, typer.Option("--compress", help="Deflate the --save archive (np.savez_compressed): "
                                           "smaller, but many times slower to write.",
                                           rich_help_panel=OUT_PANEL)] = False,
    view: Annotated[View, typer.Option(help="numbers: the window's values; heatmap: whole maps as coloured cells; "
                                       "both; auto: both when the maps are larger than the window.",
                                       rich_help_panel=SHOW_PANEL)] = View.auto,
    figure: Annotated[Path | None, typer.Option(help="Draw each shown filter's channels, partial maps, "
                                                "pre-activation and output to this .png, .jpg or .webp.",
                                                rich_help_panel=OUT_PANEL, show_default=False)] = None,
    figure_width: Annotated[int, typer.Option("--figure-width", metavar="PIXELS", min=1,
                                              help="Width of the --figure at most: its panels are sized to fit, "
                                              "a map larger than its panel drawn as block means (one pixel a "
                                              "block). Never narrower than its labels need (200 px a panel).",
                                              rich_help_panel=OUT_PANEL)] = FIGURE_WIDTH,
    save_maps: Annotated[Path | None, typer.Option(help="Write each filter's output map as a 16-bit PNG into "
                                                   "this folder, with maps.json giving the scaling (greyscale "
                                                   "data to read back, not a picture).",
                                                   rich_help_panel=OUT_PANEL, show_default=False)] = None,
    heatmap_stat: HeatmapStatOpt = HeatmapStat.auto,
    export: ExportOpt = None,
    force: ForceOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.", rich_help_panel=SHOW_PANEL)] = False,
) -> None:
    """Apply a multi-channel Conv2D to an image or array and show each channel's partial sums adding up."""
    from convcli import engine
    from convcli.present import describe
    from convcli.present.selection import DEFAULT_DETAIL_FILTERS
    from convcli.present.window import Window

    parsed = parse_layer(opts)
    at_v = parse_position(at, "--at") if at else None
    trace_v = parse_position(trace, "--trace") if trace else None
    if window is not None and window < 1:
        raise typer.BadParameter(f"--window must be ≥ 1; got {window}")
    if json_ and export is not None:
        raise typer.BadParameter("--export records the tables; it cannot be combined with --json")
    if compress and save is None:
        raise typer.BadParameter("--compress applies to --save; give --save FILE.npz")
    targets = _check_targets(opts, save, figure, save_maps, export, force)
    if compress or figure is not None:
        from dataclasses import replace

        targets = replace(targets, compress=compress, figure_width=figure_width)

    built = build_layer(opts, parsed)
    layer = built.layer
    detail = (parse_filter_list(filter_, layer.filters,
                                        from_option=opts.kernel is None and opts.model is None) if filter_
              else list(range(min(layer.filters, DEFAULT_DETAIL_FILTERS))))
    if save_maps is not None:
        from convcli.figure import maps as feature_maps

        feature_maps.check_maps_dir(save_maps, range(layer.filters), force=force, inputs=targets.inputs)
    shown_window = Window.choose(layer.geometry.out_hw, at_v, window)
    # before computing: a --trace outside the output is refused without the wait
    traces = {f: engine.trace_position(layer, *trace_v, f) for f in detail} if trace_v else None
    keep = targets.save is not None and not no_partials
    _check_fits(layer, keep, len(detail) if targets.figure is not None else 0, built.activation, figure_width)
    built.warn()  # after the last check, so that a refused run prints its one Error line alone
    shown_view = _shown_view(view, shown_window.rows, shown_window.cols, layer.geometry.out_hw)
    progress = _Progress("convolving", enabled=not quiet and not json_)
    try:
        # heatmaps and a figure caption each partial map with its range: measured in the same pass
        result = _compute(built, targets, keep, (shown_view in (View.heatmap, View.both) and not json_)
                          or targets.figure is not None, progress)
    finally:
        progress.close()
    if not built.warnings:
        _warn_overflow(result, with_stats=True)  # the summary's statistics, from the same pass
    x = built.loaded.array
    info = describe.InputInfo(str(opts.input), built.loaded.description, x.shape, str(x.dtype),
                              built.loaded.channel_names, describe.value_range(x))
    partial_maps: dict[int, Any] = {}  # a figure's panels come from block sums (figure/panels.py), not these
    stat = heatmap_stat.value
    if stat == "auto":
        from convcli.present.maps import auto_stat

        stat = auto_stat(layer.kernel, detail)
    shown = _Shown(opts, built.padding, built, result, info, detail, traces, trace_v, partial_maps, shown_window, keep,
                   shown_view, stat)
    map_files = _write_files(shown, targets)
    if json_:
        _print_json(shown, targets, map_files)
    else:
        _print_screen(shown, targets, map_files)
