"""``convcli run``: apply the layer to an input and show each channel's partial sums adding up.

A client of the pipeline: parse the options, build the layer and run it (:mod:`convcli.pipeline`),
then write and show what :mod:`convcli.cli.run_output` lays out.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import typer

from convcli.cli.app import app, usage_errors, warn
from convcli.cli.notes import build_layer, shown_layer, warn_overflow
from convcli.cli.options import ExportOpt, ForceOpt, LayerOptions, View, parse_layer, takes_layer_options
from convcli.cli.parsing import parse_filter_list, parse_position_nd
from convcli.cli.picture_options import NO_PICTURES, Pictures, takes_picture_options
from convcli.cli.run_options import (
    FIGURE_WIDTH,
    AccumulateOpt,
    AtOpt,
    CompressOpt,
    DepthAtOpt,
    FigureOpt,
    FigureWidthOpt,
    FilterOpt,
    HeatmapStat,
    HeatmapStatOpt,
    JsonOpt,
    NoPartialsOpt,
    PrecisionOpt,
    QuietOpt,
    SaveMapsOpt,
    SaveOpt,
    TraceOpt,
    ViewOpt,
    WindowOpt,
)

Pos = tuple[int, int] | None

#: The end of ``run --help``: real commands on the shipped samples (a test runs each one).
EXAMPLES = (
    ("convcli run samples/textbook.npy -k 2 --init ones --activation relu", "the textbook example: 40404"),
    ("convcli run samples/textbook.npy -k 2 --init ones --trace 1,0", "every product of one output"),
    ("convcli run samples/grace_hopper.png -f 4 --init sobel-x", "a photo through an edge detector"),
    ("convcli run samples/grace_hopper.png --model samples/edges.keras --layer edges", "a model's own layer"),
    ("convcli run samples/grace_hopper.png -f 8 --json > run.json", "the numbers, for a program"),
)


@app.command(no_args_is_help=True,
             epilog="Examples\n\n" + "\n".join(f"# {what}\n{command}" for command, what in EXAMPLES))
@takes_layer_options
@takes_picture_options
def run(opts: LayerOptions, at: AtOpt = None, window: WindowOpt = None, trace: TraceOpt = None,
        filter_: FilterOpt = None, json_: JsonOpt = False, save: SaveOpt = None, no_partials: NoPartialsOpt = False,
        compress: CompressOpt = False, view: ViewOpt = View.auto, figure: FigureOpt = None,
        figure_width: FigureWidthOpt = FIGURE_WIDTH, save_maps: SaveMapsOpt = None,
        heatmap_stat: HeatmapStatOpt = HeatmapStat.auto, export: ExportOpt = None, force: ForceOpt = False,
        quiet: QuietOpt = False, precision: PrecisionOpt = None, accumulate: AccumulateOpt = None,
        depth_at: DepthAtOpt = None, pictures: Pictures = NO_PICTURES) -> None:
    """Apply a multi-channel Conv2D to an image or array and show each channel's partial sums adding up."""
    from convcli import engine
    from convcli.cli import run_output as out
    from convcli.pipeline.checks import check_precision
    from convcli.present import describe
    from convcli.present.selection import DEFAULT_DETAIL_FILTERS
    from convcli.present.window import Window

    request = replace(parse_layer(opts), precision=precision, accumulate=accumulate)
    with usage_errors():
        check_precision(precision, accumulate)
    later = request.model is not None  # a --model layer's axes are the file's: its positions are read once built
    at_v, trace_v, depth = _positions(*((None, None) if later else (at, trace)), window, json_=json_, export=export,
                                      compress=compress, save=save, ndim=request.ndim, depth_at=None if later else depth_at)
    targets = out.check_targets(opts, save, figure, save_maps, export, force, compress=compress,
                                figure_width=figure_width, pictures=pictures)
    whole = build_layer(opts, request)
    if later:
        at_v, trace_v, depth = _positions(at, trace, window, json_=json_, export=export, compress=compress, save=save,
                                          ndim=whole.ndim, depth_at=depth_at)
    built = shown_layer(whole, depth)
    layer, out_hw = built.layer, built.layer.geometry.out_hw
    detail = (parse_filter_list(filter_, layer.filters, from_option=opts.kernel is None and opts.model is None)
              if filter_ else list(range(min(layer.filters, DEFAULT_DETAIL_FILTERS))))
    if save_maps is not None:
        from convcli.figure import maps as feature_maps

        feature_maps.check_maps_dir(save_maps, range(layer.filters), force=force, inputs=targets.inputs)
    # a --trace position outside the default window moves the window to it, so that its numbers show
    shown_window = Window.choose(out_hw, at_v, window, showing=trace_v)
    # before computing: a --trace outside the output is refused without the wait
    traces = {f: engine.trace_position(layer, *trace_v, f) for f in detail} if trace_v else None
    keep = targets.save is not None and not no_partials
    out.check_fits(built, targets, keep, len(detail), emulated=precision is not None)
    built.warn()  # after the last check, so that a refused run prints its one Error line alone
    shown_view = out.shown_view(view, shown_window.rows, shown_window.cols, out_hw)
    # heatmaps and a figure caption each partial map with its range: measured in the same pass
    ranges = ((shown_view in (View.heatmap, View.both) and not json_) or shown_view is View.dominant
              or targets.figure is not None)
    result, emulated = out.computed(built, targets, keep, ranges, bar=not quiet and not json_, request=request)
    if not built.warnings:
        warn_overflow(result, with_stats=True)  # the summary's statistics, from the same pass
    for line in emulated.warnings if emulated is not None else ():
        warn(line)
    x = built.loaded.array
    info = describe.InputInfo(str(opts.input), built.loaded.description, x.shape, str(x.dtype),
                              built.loaded.channel_names, describe.value_range(x))
    # no partial maps are kept: a figure's panels and the heatmaps come from block sums
    shown = out.Shown(opts, built.padding, built, result, info, detail, traces, trace_v, shown_window, keep,
                      shown_view, _stat(heatmap_stat, layer.kernel, detail), emulated, bar=not quiet and not json_)
    map_files = out.write_files(shown, targets)
    (out.print_json if json_ else out.print_screen)(shown, targets, map_files)


def _positions(at: str | None, trace: str | None, window: int | None, *, json_: bool, export: object,
               compress: bool, save: object, ndim: int = 2, depth_at: int | None = None) -> tuple[Pos, Pos, int | None]:
    """``--at`` and ``--trace`` parsed as ``(row, col)`` (a 1-D position ``I`` is ``(0, I)`` of its one row; a
    3-D ``D,ROW,COL`` gives the plane shown), the plane shown, and the options that cannot go together refused."""
    if depth_at is not None and ndim != 3:
        raise typer.BadParameter(f"--depth-at chooses a plane of a 3-D layer; this layer is {ndim}-D")
    given = [(o, parse_position_nd(t, o, ndim)) for o, t in (("--trace", trace), ("--at", at)) if t]
    depths = {o: v[0] for o, v in given if ndim == 3}
    if depth_at is not None:
        depths["--depth-at"] = depth_at
    if len(set(depths.values())) > 1:
        raise typer.BadParameter(f"{' and '.join(depths)} choose different planes ({', '.join(map(str, depths.values()))})")
    rowcol = {o: ((0, *v) if ndim == 1 else v[-2:]) for o, v in given}
    at_v, trace_v = rowcol.get("--at"), rowcol.get("--trace")
    if window is not None and window < 1:
        raise typer.BadParameter(f"--window must be ≥ 1; got {window}")
    if json_ and export is not None:
        raise typer.BadParameter("--export records the tables; it cannot be combined with --json")
    if compress and save is None:
        raise typer.BadParameter("--compress applies to --save; give --save FILE.npz")
    return at_v, trace_v, next(iter(depths.values()), None)  # type: ignore[return-value]


def _stat(heatmap_stat: HeatmapStat, kernel: Any, detail: list[int]) -> str:
    """``--heatmap-stat`` as the heatmaps take it: ``auto`` decided by the kernel of the filters shown."""
    if heatmap_stat.value != "auto":
        return heatmap_stat.value
    from convcli.present.maps import auto_stat

    return auto_stat(kernel, detail)
