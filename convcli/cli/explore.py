"""``convcli explore``: the layer on an input in a terminal explorer (Textual) to point at.

A few lines over :class:`convcli.tui.app.ExploreApp`: parse, build the layer as ``run`` does, compute
every map once, then hand the result to the app, whose keys compute one position's trace each.
Textual is the ``convcli[explore]`` extra: without it the command says so in one line (exit 1, as a
model reader without its package does: the install lacks a part, the command line is right).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from convcli.cli.app import app, usage_errors, warn
from convcli.cli.notes import view_label, view_layer
from convcli.cli.options import SHOW_PANEL, LayerOptions, parse_layer, takes_layer_options
from convcli.cli.run_options import AccumulateOpt, DepthAtOpt, PrecisionOpt
from convcli.errors import ConvcliError

#: How the error for a missing Textual says to install it.
INSTALL = "pip install 'convcli[explore]'"


def require_textual() -> None:
    """Refuse, in one line naming the extra, when Textual is not installed."""
    try:
        import textual  # noqa: F401
    except ImportError:
        raise ConvcliError(f"convcli explore needs the textual package: {INSTALL}") from None


@app.command(no_args_is_help=True)
@takes_layer_options
def explore(
    opts: LayerOptions,
    filter_: Annotated[int, typer.Option("--filter", min=0, help="The filter the explorer opens at ([ and ] "
                                         "switch).", rich_help_panel=SHOW_PANEL)] = 0,
    at: Annotated[str | None, typer.Option(help="ROW,COL (1-D: I; 3-D: D,ROW,COL): the output position it opens "
                                           "at (default: centred).",
                                           rich_help_panel=SHOW_PANEL, show_default=False)] = None,
    precision: PrecisionOpt = None,
    accumulate: AccumulateOpt = None,
    depth_at: DepthAtOpt = None,
) -> None:
    """Point at the layer's output in the terminal: the arrow keys or the mouse move the traced position."""
    from convcli import engine, reads
    from convcli.cli.output import ProgressBar
    from convcli.pipeline import memory
    from convcli.pipeline.checks import check_precision
    from convcli.pipeline.run import run
    from convcli.sources import kernels

    require_textual()  # before the wait: a missing extra is said at once
    request = parse_layer(opts)
    with usage_errors():
        check_precision(precision, accumulate)
    reads.register(*[Path(p) for p in (opts.input, opts.kernel, kernels.bias_file(opts.bias), opts.model) if p])
    built, at_v = view_layer(opts, request, at, depth_at)  # every kind and rank, as run shows it
    layer = built.layer
    if filter_ >= layer.filters:
        raise typer.BadParameter(f"--filter {filter_} does not exist: the layer has {layer.filters} "
                                 f"(0..{layer.filters - 1})")
    if at_v is not None:
        engine.trace_position(layer, *at_v, filter_)  # a position outside the output is refused before the wait
    memory.check_run_fits(layer, stream_partials=False)
    built.warn()
    progress = ProgressBar("convolving", enabled=True)
    try:
        result = run(built, progress=progress)
    finally:
        progress.close()
    emulated = None
    if precision is not None:  # the same layer as a GPU in that format computes it, beside the trace
        from convcli.pipeline.precision import emulate_built

        emulated = emulate_built(built, precision, accumulate)
        for line in emulated.warnings:
            warn(line)
    from convcli.tui.app import ExploreApp

    ExploreApp(result, built.loaded.channel_names, view_label(Path(opts.input).name, built), filter=filter_, at=at_v,
               emulated=emulated).run()
