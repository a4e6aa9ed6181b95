"""The command line: parse -> load -> compute -> render -> print.

This is the one place that maps errors to exit codes: 0 success, 1 bad data (a file or a shape
that does not fit), 2 bad usage (an option value). Every expected failure is one line on stderr;
``convcli --debug ...`` shows the traceback instead. numpy, Pillow and rich's heavier modules are
imported inside the commands so that ``convcli --help`` starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from convcli import __version__
from convcli.errors import ConvcliError, ResourceError, ShapeError

_DEBUG = {"on": False}
# Typer either re-exports click or vendors it; take its exception classes from its own MRO.
_ClickException: type[Any] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_UsageError: type[Any] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def _fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(f"Error: {message}\n")
    sys.exit(code)


def _ensure_fits(nbytes: int, what: str, hint: str) -> None:
    """Refuse an allocation larger than most of the memory that is free now, before making it."""
    import os

    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not every platform can tell
        return
    if nbytes > 0.8 * free:
        raise ResourceError(
            f"the {what} would need {nbytes / 2**30:.1f} GiB but only {free / 2**30:.1f} GiB is free; {hint}"
        )


class _OneLineErrors(TyperGroup):
    """Typer's group, but every expected failure ends as one ``Error: ...`` line and its code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except _ClickException as exc:
            hint = ""
            if isinstance(exc, _UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            _fail(exc.format_message() + hint, exc.exit_code)
        except ConvcliError as exc:
            if _DEBUG["on"]:
                raise
            _fail(str(exc), exc.exit_code)
        except typer.Abort:
            _fail("interrupted", 130)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    name="convcli",
    help="See what a convolution layer does to the channels of an image: per-channel partial sums, "
    "their sum, the bias and the activation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"convcli {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")] = False,
) -> None:
    """See what a convolution layer does to the channels of an image."""
    _DEBUG["on"] = debug


# ------------------------------------------------------------------------------------------------
# Option parsing: values that are "N" or "N,M"


def _ints(text: str, option: str, count: tuple[int, ...] = (1, 2)) -> tuple[int, ...]:
    try:
        values = tuple(int(p) for p in text.replace(" ", "").split(","))
    except ValueError:
        raise typer.BadParameter(f"{option} takes whole numbers like 3 or 3,5; got {text!r}") from None
    if len(values) not in count:
        want = " or ".join({1: "N", 2: "N,M"}[c] for c in count)
        raise typer.BadParameter(f"{option} takes {want}; got {text!r}")
    return values


def parse_pair(text: str, option: str, *, minimum: int = 1) -> int | tuple[int, int]:
    """``"3"`` -> 3, ``"3,5"`` -> (3, 5); every value ≥ ``minimum``."""
    values = _ints(text, option)
    if min(values) < minimum:
        raise typer.BadParameter(f"{option} must be ≥ {minimum}; got {text!r}")
    return values[0] if len(values) == 1 else (values[0], values[1])


def parse_padding(text: str) -> str | int | tuple[int, int]:
    """``valid``, ``same``, ``P`` or ``PH,PW`` (symmetric zeros, PyTorch style)."""
    if text.strip().lower() in ("valid", "same"):
        return text.strip().lower()
    try:
        return parse_pair(text, "--padding", minimum=0)
    except typer.BadParameter:
        raise typer.BadParameter(
            f"--padding takes valid, same, P or PH,PW with P ≥ 0; got {text!r}"
        ) from None


def parse_position(text: str, option: str) -> tuple[int, int]:
    values = _ints(text, option, count=(2,))
    if min(values) < 0:
        raise typer.BadParameter(f"{option} takes ROW,COL with ROW, COL ≥ 0; got {text!r}")
    return values[0], values[1]


def parse_filter_list(text: str, filters: int) -> list[int]:
    """``--filter 0,3`` or ``--filter 2-5``: filter indices to show in detail."""
    chosen: list[int] = []
    for part in text.replace(" ", "").split(","):
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                chosen.extend(range(int(lo), int(hi) + 1))
            else:
                chosen.append(int(part))
        except ValueError:
            raise typer.BadParameter(f"--filter takes indices like 0,3 or 2-5; got {text!r}") from None
    bad = [f for f in chosen if not 0 <= f < filters]
    if bad:
        raise typer.BadParameter(f"--filter {bad[0]} does not exist: the layer has {filters} filters (0..{filters - 1})")
    return sorted(set(chosen))


class Layout(StrEnum):
    channels_last = "channels-last"
    channels_first = "channels-first"


class KernelLayout(StrEnum):
    keras = "keras"
    torch = "torch"


class DType(StrEnum):
    float32 = "float32"
    float64 = "float64"


# Enums built from the engine's tables would import numpy at start-up; these lists are checked
# against the engine's by tests/test_cli.py.
Activation = StrEnum(  # type: ignore[misc]
    "Activation",
    {n: n for n in ["linear", "relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid", "hard_sigmoid",
                    "tanh", "softplus", "softsign", "silu", "swish", "exponential"]},
)
Init = StrEnum(  # type: ignore[misc]
    "Init",
    {n: n for n in ["random", "ones", "identity", "box", "gaussian", "sobel-x", "sobel-y", "laplacian",
                    "sharpen", "emboss"]},
)

_LAYER = "Layer"
_KERNEL = "Kernel and bias"
_INPUT = "Input"
_SHOW = "What to show"
_OUT = "Output files"


@app.command(no_args_is_help=True)
def run(
    input: Annotated[Path, typer.Argument(help="Image (PNG, JPEG, BMP, GIF, TIFF, WebP) or array (.npy, .npz, .txt/.csv).",
                                          show_default=False)],
    filters: Annotated[int, typer.Option("--filters", "-f", min=1, help="Number of filters F.", rich_help_panel=_LAYER)] = 1,
    kernel_size: Annotated[str, typer.Option("--kernel-size", "-k", help="K or KH,KW.", rich_help_panel=_LAYER)] = "3",
    stride: Annotated[str, typer.Option(help="S or SH,SW.", rich_help_panel=_LAYER)] = "1",
    padding: Annotated[str, typer.Option(help="valid, same (Keras rule), P or PH,PW zeros (PyTorch style).",
                                         rich_help_panel=_LAYER)] = "valid",
    dilation: Annotated[str, typer.Option(help="D or DH,DW.", rich_help_panel=_LAYER)] = "1",
    groups: Annotated[int, typer.Option(min=1, help="Channel groups; must divide C and F.", rich_help_panel=_LAYER)] = 1,
    activation: Annotated[Activation, typer.Option(help="Keras activation name.", rich_help_panel=_LAYER)] = "linear",  # type: ignore[assignment]
    dtype: Annotated[DType, typer.Option(help="Compute precision.", rich_help_panel=_LAYER)] = DType.float32,
    init: Annotated[Init, typer.Option(help="Kernel preset; a 2-D preset is used for every channel of every filter.",
                                       rich_help_panel=_KERNEL)] = "random",  # type: ignore[assignment]
    seed: Annotated[int, typer.Option(help="Seed of --init random.", rich_help_panel=_KERNEL)] = 0,
    kernel: Annotated[Path | None, typer.Option(help="Kernel file (.npy, .npz, text); overrides --init, -k, -f.",
                                                rich_help_panel=_KERNEL, show_default=False)] = None,
    kernel_layout: Annotated[KernelLayout, typer.Option(help="keras (kh, kw, C/g, F) or torch (F, C/g, kh, kw).",
                                                        rich_help_panel=_KERNEL)] = KernelLayout.keras,
    kernel_key: Annotated[str | None, typer.Option(help="Array name inside a kernel .npz.", rich_help_panel=_KERNEL,
                                                   show_default=False)] = None,
    bias: Annotated[str | None, typer.Option(help="NUMBER, N1,N2,... (one per filter) or FILE. Default 0.",
                                             rich_help_panel=_KERNEL, show_default=False)] = None,
    no_bias: Annotated[bool, typer.Option("--no-bias", help="A layer without bias (use_bias=False).",
                                          rich_help_panel=_KERNEL)] = False,
    key: Annotated[str | None, typer.Option(help="Array name inside an input .npz.", rich_help_panel=_INPUT,
                                            show_default=False)] = None,
    layout: Annotated[Layout, typer.Option(help="Layout of a 3-D/4-D input array.", rich_help_panel=_INPUT)] = Layout.channels_last,
    normalize: Annotated[bool, typer.Option("--normalize", help="Divide integer inputs by their dtype's max (255 for 8-bit).",
                                            rich_help_panel=_INPUT)] = False,
    max_pixels: Annotated[int | None, typer.Option(min=1, help="Refuse images with more pixels (default: Pillow's bomb limit).",
                                                   rich_help_panel=_INPUT, show_default=False)] = None,
    at: Annotated[str | None, typer.Option(help="ROW,COL: top-left output position of the window shown "
                                           "(default: centred).", rich_help_panel=_SHOW, show_default=False)] = None,
    window: Annotated[int | None, typer.Option(help="Window size N (N×N output positions; default 3).",
                                               rich_help_panel=_SHOW, show_default=False)] = None,
    trace: Annotated[str | None, typer.Option(help="ROW,COL: every product that makes this output position.",
                                              rich_help_panel=_SHOW, show_default=False)] = None,
    filter_: Annotated[str | None, typer.Option("--filter", help="Filters to show in detail: 0,3 or 2-5 "
                                                "(default: the first 4).", rich_help_panel=_SHOW, show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.",
                                        rich_help_panel=_SHOW)] = False,
    save: Annotated[Path | None, typer.Option(help="Write input, kernel, bias, partials, preactivation, output to "
                                              "this .npz.", rich_help_panel=_OUT, show_default=False)] = None,
    no_partials: Annotated[bool, typer.Option("--no-partials", help="Leave the (large) partials out of --save.",
                                              rich_help_panel=_OUT)] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --save file.", rich_help_panel=_OUT)] = False,
) -> None:
    """Apply a multi-channel Conv2D to an image or array and show each channel's partial sums adding up."""
    import json

    from rich.console import Console

    from convcli import engine, kernels, load, render
    from convcli import save as saving

    kernel_hw = parse_pair(kernel_size, "--kernel-size")
    stride_v = parse_pair(stride, "--stride")
    dilation_v = parse_pair(dilation, "--dilation")
    padding_v = parse_padding(padding)
    at_v = parse_position(at, "--at") if at else None
    trace_v = parse_position(trace, "--trace") if trace else None
    if window is not None and window < 1:
        raise typer.BadParameter(f"--window must be ≥ 1; got {window}")
    if kernel is None and filters % groups:
        raise typer.BadParameter(f"--groups {groups} does not divide --filters {filters}")
    if bias is not None and no_bias:
        raise typer.BadParameter("--bias and --no-bias contradict each other")
    target = saving.check_target(save, force=force, inputs=[p for p in (input, kernel) if p]) if save else None

    loaded = load.load_input(input, key=key, layout=layout.value, normalize=normalize,
                             **({"max_pixels": max_pixels} if max_pixels else {}))
    x = loaded.array
    c = x.shape[2]
    if c % groups:
        raise ShapeError(f"--groups {groups} does not divide the {c} input channels of {input}")
    kh_kw = kernel_hw if isinstance(kernel_hw, tuple) else (kernel_hw, kernel_hw)
    if kernel is not None:
        k = kernels.load_kernel(kernel, kernel_layout.value, c // groups, key=kernel_key)
        if k.shape[2] * groups != c:
            have = "".join(loaded.channel_names) if c <= 4 else f"{c} channels"
            raise ShapeError(
                f"{kernel}: the kernel {k.shape} (as kh, kw, C/g, F) expects {k.shape[2] * groups} input channels "
                f"but {input} has {c} ({have})"
            )
        kernel_source = f"{kernel} ({kernel_layout.value} layout)"
    else:
        k = kernels.make_kernel(init.value, kh_kw, c // groups, filters, seed=seed)
        kernel_source = f"--init {init.value}" + (f" (seed {seed})" if init.value == "random" else "")
    layer = engine.prepare(x, k, stride=stride_v, padding=padding_v, dilation=dilation_v, groups=groups,
                           dtype=dtype.value)
    detail = (parse_filter_list(filter_, layer.filters) if filter_
              else list(range(min(layer.filters, render.DEFAULT_DETAIL_FILTERS))))
    rows, cols = engine.choose_window(layer.geometry.out_hw, at_v, window)
    result = engine.run_layer(layer, kernels.parse_bias(bias), activation.value, rows, cols, use_bias=not no_bias)
    traces = {f: engine.trace_position(layer, *trace_v, f) for f in detail} if trace_v else None
    info = render.InputInfo(str(input), loaded.description, x.shape, str(x.dtype), loaded.channel_names,
                            render.value_range(x))

    if target is not None:
        arrays = {
            "input": layer.x,
            "kernel": layer.kernel,
            "bias": result.bias,
            "preactivation": result.preactivation,
            "output": result.output,
        }
        if not no_partials:
            ho, wo = layer.geometry.out_hw
            _ensure_fits(ho * wo * layer.cg * layer.filters * layer.x.itemsize, f"{ho}×{wo}×{layer.cg}×{layer.filters} "
                         "partials for --save", "pass --no-partials, or --dtype float32")
            arrays["partials"] = result.full_partials()
        saving.save_npz(target, arrays)

    if json_:
        doc = render.result_json(info, result, padding_v, detail, traces, trace_v)
        if target is not None:
            doc["saved"] = str(target)
        sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        return

    console = Console(highlight=False)
    console.print(render.header(info, result, padding_v, kernel_source))
    names = loaded.channel_names
    for f in detail:
        console.print(render.filter_panel(result, f, names))
        if traces is not None and trace_v is not None:
            console.print(render.trace_panel(result, traces[f], *trace_v, f, names))
    if layer.filters > 1:
        console.print(render.summary_table(result, names))
    if len(detail) < layer.filters:
        console.print(f"[dim]{len(detail)} of {layer.filters} filters shown in detail; choose others with --filter, "
                      "e.g. --filter 4-7.[/dim]")
    if target is not None:
        saved = ", ".join(sorted(k for k in ("input", "kernel", "bias", "preactivation", "output", "partials")
                                 if k != "partials" or not no_partials))
        console.print(f"saved {target}: {saved}")


if __name__ == "__main__":  # pragma: no cover
    app()
