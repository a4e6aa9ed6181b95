"""``convcli report``: the layer on an input as one self-contained HTML page to point at.

A few lines over :func:`convcli.report.build_report`: parse, build the layer as ``run`` does, compute
once (with each partial map's range, so the maps come from block sums), write the page atomically.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from convcli.cli.app import app, usage_errors, warn
from convcli.cli.notes import view_layer
from convcli.cli.options import (
    OUT_PANEL,
    SHOW_PANEL,
    ForceOpt,
    LayerOptions,
    parse_layer,
    takes_layer_options,
)
from convcli.cli.parsing import parse_filter_list
from convcli.cli.run_options import AccumulateOpt, DepthAtOpt, PrecisionOpt

#: ``--data-budget``'s default, in MB: a 12 MP photo's page stays under 5 MB (base64 adds a third).
DATA_BUDGET_MB = 2.5


@app.command(no_args_is_help=True)
@takes_layer_options
def report(
    opts: LayerOptions,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The .html file to write (required).",
                                                rich_help_panel=OUT_PANEL, show_default=False)] = None,
    filter_: Annotated[str | None, typer.Option("--filter", help="Filters in the page's list: 0,3 or 2-5 "
                                                "(default: the first 4).", rich_help_panel=SHOW_PANEL,
                                                show_default=False)] = None,
    at: Annotated[str | None, typer.Option(help="ROW,COL (1-D: I; 3-D: D,ROW,COL): the output position the page "
                                           "opens at; a large input's exact numbers are held around it (default: "
                                           "centred).",
                                           rich_help_panel=SHOW_PANEL, show_default=False)] = None,
    data_budget: Annotated[float, typer.Option("--data-budget", metavar="MB", min=0.0,
                                               help="The most MB of exact numbers (input, kernels) the page holds; "
                                               "a larger input is held around --at only, and the page says so.",
                                               rich_help_panel=OUT_PANEL)] = DATA_BUDGET_MB,
    force: ForceOpt = False,
    precision: PrecisionOpt = None,
    accumulate: AccumulateOpt = None,
    depth_at: DepthAtOpt = None,
) -> None:
    """Write one self-contained HTML page (no network; opens offline) where clicking an output cell traces it."""
    from convcli.pipeline.checks import check_precision

    if output is None:  # an option, as --save and --figure are, but one the command cannot do without
        raise typer.BadParameter("give the page to write with -o FILE.html")
    with usage_errors():
        check_precision(precision, accumulate)
    write_report(opts, output, filter_, at, data_budget, force, precision, accumulate, depth_at)


def write_report(opts: LayerOptions, output: Path, filter_: str | None, at: str | None, data_budget: float,
                 force: bool, precision: str | None, accumulate: str | None, depth_at: int | None = None) -> None:
    """Build the layer, compute it (and its ``precision`` emulation), write the page atomically."""
    from convcli import engine, reads
    from convcli.files import atomic, targets
    from convcli.pipeline import memory
    from convcli.pipeline.run import run
    from convcli.present import describe
    from convcli.present.selection import DEFAULT_DETAIL_FILTERS
    from convcli.report import build_report
    from convcli.sources import kernels
    from convcli.text import shown

    parsed = parse_layer(opts)
    inputs = [Path(p) for p in (opts.input, opts.kernel, kernels.bias_file(opts.bias), opts.model) if p]
    reads.register(*inputs)
    target = targets.check_target(output, force=force, inputs=inputs, suffix=(".html", ".htm"))
    built, at_v = view_layer(opts, parsed, at, depth_at)  # every kind and rank, as run shows it
    layer = built.layer
    filters = (parse_filter_list(filter_, layer.filters, from_option=opts.kernel is None and opts.model is None)
               if filter_ else list(range(min(layer.filters, DEFAULT_DETAIL_FILTERS))))
    if at_v is not None:
        engine.trace_position(layer, *at_v, filters[0])  # a position outside the output is refused before the wait
    also = []
    if precision is not None:
        from convcli.pipeline.precision import emulation_bytes

        also.append((emulation_bytes(layer), "the --precision emulation"))
    memory.check_run_fits(layer, stream_partials=False, also=also)
    built.warn()
    # ranges=True: each partial map's range, measured in the pass, lets the maps come from block sums
    result = run(built, ranges=True)
    emulated = None
    if precision is not None:  # the layer as a GPU computes it in that format; the page emulates positions
        from convcli.pipeline.precision import emulate_built

        emulated = emulate_built(built, precision, accumulate)
        for line in emulated.warnings:
            warn(line)
    x = built.loaded.array
    info = describe.InputInfo(str(opts.input), built.loaded.description, x.shape, str(x.dtype),
                              built.loaded.channel_names, describe.value_range(x))
    notes = list(built.notes)  # the --flip note among them
    page = build_report(result, info, built.padding, built.kernel_source, filters, semantics=opts.semantics.value,
                        notes=notes, budget=int(data_budget * 1e6), at=at_v, emulated=emulated, spec=built.spec,
                        in_size=tuple(x.shape[:-1]), plane=built.plane)
    data = page.encode("utf-8")
    atomic.atomic_write(target, lambda fh: fh.write(data), force=force, inputs=inputs)
    sys.stderr.write(f"saved {shown(target)}: filters {', '.join(map(str, filters))}, {len(data) / 1e6:.1f} MB\n")
