"""``convcli verify``: the same layer computed by every installed framework, compared with convcli's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convcli.cli.app import app
from convcli.cli.notes import build_layer, print_notes
from convcli.cli.notes import warn_overflow as _warn_overflow
from convcli.cli.options import LayerOptions, parse_layer, takes_layer_options
from convcli.cli.output import Bars as _Bars
from convcli.cli.output import Progress as _Progress

if TYPE_CHECKING:
    from convcli.engine import Layer


def _check_fits(layer: Layer) -> None:
    """Refuse, before computing, a layer whose results and padded input do not fit in memory.

    convcli's own pass (:func:`convcli.engine.run_bytes`), then what a framework makes besides: the
    whole padded input and its output, both in the compute dtype.
    """
    from convcli import engine
    from convcli.pipeline import memory

    g = layer.geometry
    (h, w), (top, bottom, left, right) = g.in_hw, g.pads
    (ho, wo), c, item = g.out_hw, layer.x.shape[2], layer.x.itemsize
    hp, wp = h + top + bottom, w + left + right
    nbytes = engine.run_bytes(layer) + (hp * wp * c + ho * wo * layer.filters) * item
    memory.ensure_fits(nbytes, f"{ho}×{wo}×{layer.filters} output and the {hp}×{wp}×{c} padded input a framework makes",
                       "use " + memory.listed(memory.advice(dtype=layer.x.dtype.name)))


def _wait(importing: Any) -> None:
    """Until the frameworks are imported, with a bar on a terminal once that takes a second."""
    bar = _Progress("importing the frameworks", enabled=True)
    try:
        while not importing.join(timeout=0.1):
            bar(importing.fraction())
    finally:
        bar.close()


#: ``verify --help``: each paragraph one string, so that the help wraps it to the terminal's width.
HELP = (
    "Compute the same layer with every installed framework (PyTorch, Keras, TensorFlow, JAX, SciPy) and compare."
    "\n\n"
    "Exit 1 when a framework's result differs from convcli's beyond float rounding. "
    "Costs: importing the frameworks (a few seconds, in a process of their own while convcli computes), then "
    "each framework's convolution and SciPy's per-channel loops, in bands of rows (memory stays a few hundred MB "
    "beyond the frameworks'); a 12 MP photo takes about 6 s on 2 cores. SciPy compares a layer of more than "
    "4 bands on 4 of them (its note says which rows); the others compare every value."
)


@app.command(no_args_is_help=True, help=HELP)
@takes_layer_options
def verify(opts: LayerOptions) -> None:
    """``convcli verify`` (:data:`HELP`)."""
    import numpy as np
    from rich.console import Console

    from convcli import engine
    from convcli.errors import DisagreementError
    from convcli.present import describe
    from convcli.render import verify as render_verify
    from convcli.verify import adapters, compare, environment, tiles
    from convcli.verify.problem import Problem

    parsed = parse_layer(opts, enforce_semantics=False)  # PyTorch's row shows its refusal instead
    # the frameworks import in a process of their own, while this one reads the input and computes
    # convcli's result (where that cannot be, on a thread of this one, joined before computing)
    worker = adapters.start_worker()
    importing = adapters.preload(skip=() if worker is None else worker.modules)
    try:
        built = build_layer(opts, parsed)
        layer = built.layer
        _check_fits(layer)
        built.warn()
        if worker is not None and (built.use_bias or built.bias is None):
            from convcli.errors import ConvcliError

            try:  # the worker starts on the frameworks' bands as soon as each is imported
                worker.compute(Problem(layer, engine.check_bias(built.bias, layer.filters, layer.x.dtype),
                                       built.padding, opts.semantics.value, opts.flip))
            except ConvcliError:
                pass  # a bias that does not fit: run_layer says so, in its words
        banded = len(tiles.bands(Problem(layer, np.zeros(layer.filters, layer.x.dtype), built.padding))) > 1
        if environment.installed("scipy"):
            importing.also("scipy", adapters.scipy_module(banded))
        _wait(importing)
        progress = _Progress("convcli", enabled=True)
        try:
            result = engine.run_layer(layer, built.bias, built.activation, use_bias=built.use_bias,
                                      progress=progress)
        finally:
            progress.close()
        if not built.warnings:
            _warn_overflow(result)
        problem = Problem(layer, result.bias, built.padding, opts.semantics.value, opts.flip)
        bars = _Bars(enabled=True)
        try:
            checked = adapters.verify(problem, result.preactivation, progress=bars, worker=worker)
        finally:
            bars.close()
    except BaseException:
        importing.abandon()  # an error is said at once, not after the imports (a daemon thread)
        raise
    finally:
        if worker is not None:
            worker.close()
    n = compare.terms(layer)
    rtol = compare.rtol_for(layer.x.dtype, n)

    x = built.loaded.array
    info = describe.InputInfo(str(opts.input), built.loaded.description, x.shape, str(x.dtype),
                              built.loaded.channel_names, describe.value_range(x))
    console = Console(highlight=False)
    console.print(render_verify.header(info, result, built.padding, built.kernel_source, semantics=opts.semantics.value,
                                       n=n, rtol=rtol))
    print_notes(console, built, opts.flip)
    console.print(render_verify.table(checked))
    console.print(render_verify.how(checked))
    console.print(render_verify.summary(checked, rtol, layer.x.dtype.name, adapters.installable(checked)))
    differ = [c for c in checked if c.comparison is not None and not c.comparison.ok]
    if differ:
        first = differ[0]
        raise DisagreementError(
            f"{first.outcome.framework} differs from convcli {first.comparison.problem}"  # type: ignore[union-attr]
            + (f" (and {len(differ) - 1} more framework{'s' * (len(differ) > 2)})" if len(differ) > 1 else "")
        )
