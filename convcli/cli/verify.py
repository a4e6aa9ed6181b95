"""``convcli verify``: the same layer computed by every installed framework, compared with convcli's.

The work is :func:`convcli.pipeline.verify.verify_layer`'s; this module parses the options, builds
the layer, shows the bars and warnings while the pipeline works, renders its report and maps a
disagreement to exit 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convcli.cli.app import app
from convcli.cli.notes import WarnedLayer, build_layer, print_notes, warn_overflow
from convcli.cli.options import LayerOptions, parse_layer, takes_layer_options
from convcli.cli.output import Bars, ProgressBar

if TYPE_CHECKING:
    from convcli.engine import LayerResult
    from convcli.pipeline.verify import VerifyReport

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


class _Terminal:
    """The pipeline's hooks (:class:`convcli.pipeline.verify.VerifyHooks`) on a terminal: the build's
    warnings once the layer fits, a bar for each stage that takes over a second (on stderr, on a
    terminal only), the overflow warning after convcli's pass."""

    def __init__(self) -> None:
        self.layer: WarnedLayer | None = None  # set by the build, before any hook is called
        self.bar: Any = None

    def built(self) -> None:
        assert self.layer is not None
        self.layer.warn()
        self.bar = ProgressBar("importing the frameworks", enabled=True)

    def importing(self, fraction: float) -> None:
        self.bar(fraction)

    def imported(self) -> None:
        self.close()
        self.bar = ProgressBar("convcli", enabled=True)

    def computing(self, fraction: float) -> None:
        self.bar(fraction)

    def computed(self, result: LayerResult) -> None:
        self.close()
        assert self.layer is not None
        if not self.layer.warnings:
            warn_overflow(result)
        self.bar = Bars(enabled=True)

    def comparing(self, framework: str, fraction: float) -> None:
        self.bar(framework, fraction)

    def compared(self) -> None:
        self.close()

    def close(self) -> None:
        """Take down the bar shown, if any."""
        if self.bar is not None:
            self.bar.close()
        self.bar = None


def _render(opts: LayerOptions, built: WarnedLayer, report: VerifyReport) -> None:
    """The header, the notes, one row per framework, how each was called, and the verdict, on stdout."""
    from rich.console import Console

    from convcli.present import describe
    from convcli.render import verify as render_verify

    x, result = built.loaded.array, report.result
    info = describe.InputInfo(str(opts.input), built.loaded.description, x.shape, str(x.dtype),
                              built.loaded.channel_names, describe.value_range(x))
    console = Console(highlight=False)
    console.print(render_verify.header(info, result, built.padding, built.kernel_source, semantics=opts.semantics.value,
                                       n=report.terms, rtol=report.rtol))
    print_notes(console, built, opts.flip)
    console.print(render_verify.table(report.checked))
    console.print(render_verify.gpu_note(report.emulated, report.largest_difference, report.emulated_rows))
    console.print()
    console.print(render_verify.how(report.checked))
    console.print(render_verify.summary(report.checked, report.rtol, built.layer.x.dtype.name, report.installable))


@app.command(no_args_is_help=True, help=HELP)
@takes_layer_options
def verify(opts: LayerOptions) -> None:
    """``convcli verify`` (:data:`HELP`)."""
    from convcli.errors import DisagreementError
    from convcli.pipeline.verify import verify_layer

    parsed = parse_layer(opts, enforce_semantics=False)  # PyTorch's row shows its refusal instead
    if parsed.kind != "conv" or parsed.ndim != 2 or parsed.padding_mode != "zeros":
        _verify_kind(opts, build_layer(opts, parsed))
        return
    hooks = _Terminal()
    # a --model layer's rank and kind are the file's: one of another rank or kind is verified as --kind is
    prebuilt = build_layer(opts, parsed) if parsed.model is not None else None
    if prebuilt is not None and prebuilt.spec is not None:
        _verify_kind(opts, prebuilt)
        return

    def build() -> WarnedLayer:
        hooks.layer = prebuilt if prebuilt is not None else build_layer(opts, parsed)
        return hooks.layer

    try:
        built, report = verify_layer(build, semantics=opts.semantics.value, flip=opts.flip, hooks=hooks)
    finally:
        hooks.close()  # a bar still shown when verify stopped on an error
    _render(opts, built, report)
    disagreement = report.disagreement()
    if disagreement is not None:
        raise DisagreementError(disagreement)


def _verify_kind(opts: LayerOptions, built: WarnedLayer) -> None:
    """``verify`` of a layer of another kind, rank or padding mode: each framework's own N-d layer, in this process."""
    from rich.text import Text

    from convcli.errors import DisagreementError
    from convcli.pipeline.verify_kinds import header_pads, verify_kind
    from convcli.present import describe
    from convcli.render import verify as render_verify

    built.warn()
    report = verify_kind(built, semantics=opts.semantics.value)
    assert built.spec is not None
    from rich.console import Console

    console = Console(highlight=False)
    x = built.loaded.array
    pads = header_pads(built)
    console.print(Text(f"input  {opts.input} · {built.loaded.description} · "
                       f"{describe.input_shape_text(x.shape, opts.semantics.value)}"))
    console.print(Text(f"layer  {describe.kind_call(built.spec, pads, opts.semantics.value).text()}"))
    console.print(Text(f"output {describe.shape_text(report.result.preactivation.shape)} · "
                       f"{compare_text(report)}", style="dim"))
    print_notes(console, built, opts.flip)
    console.print(render_verify.table(report.checked))
    console.print(render_verify.how(report.checked))
    console.print(render_verify.summary(report.checked, report.rtol, built.layer.x.dtype.name, report.installable))
    disagreement = report.disagreement()
    if disagreement is not None:
        raise DisagreementError(disagreement)


def compare_text(report: VerifyReport) -> str:
    """The tolerance, in words."""
    from convcli.verify.compare import tolerance_text

    return tolerance_text(report.result.layer.x.dtype, report.terms)
