"""The command line: parse -> load -> compute -> render -> print.

This is the one place that maps errors to exit codes: 0 success, 1 bad data (a file or a shape
that does not fit), 2 bad usage (an option value). Every expected failure is one line on stderr;
``convcli --debug ...`` shows the traceback instead. numpy, Pillow and rich's heavier modules are
imported inside the commands so that ``convcli --help`` starts fast.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from convcli.errors import ConfigError, ConvcliError, ResourceError, ShapeError

if TYPE_CHECKING:  # numpy and the engine are imported inside the commands, for start-up time
    import numpy as np
    from rich.console import Console

    from convcli.engine import Layer
    from convcli.load import Loaded

_DEBUG = {"on": False}

#: The flag each library field is given by: an error that carries a field is worded with its flag.
FLAGS = {
    "kind": "--kind", "in_channels": "--in-channels", "filters": "--filters", "kernel": "--kernel-size",
    "kernel_size": "--kernel-size", "stride": "--stride", "dilation": "--dilation", "padding": "--padding",
    "groups": "--groups", "depth_multiplier": "--depth-multiplier", "input_size": "--input-size",
    "stack": "--stack", "activation": "--activation", "dtype": "--dtype", "semantics": "--semantics",
    "init": "--init", "seed": "--seed", "kernel_file": "--kernel", "kernel_layout": "--kernel-layout",
    "kernel_key": "--kernel-key", "bias": "--bias", "key": "--key", "layout": "--layout",
    "max_pixels": "--max-pixels", "at": "--at", "window": "--window", "trace": "--trace", "filter": "--filter",
    "save": "--save", "figure": "--figure", "save_maps": "--save-maps", "export": "--export", "view": "--view",
}
# Typer either re-exports click or vendors it; take its exception classes from its own MRO.
_ClickException: type[Any] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_UsageError: type[Any] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


_NAN_NOISE = "invalid value encountered|All-NaN slice|Mean of empty slice|overflow encountered"


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


# typer.rich_utils, which draws every --help, imports rich.markdown (markdown-it) and rich.traceback
# (pygments) at its top for markup_mode="markdown" and for pretty tracebacks: over half the import time
# of --help, for two classes convcli's help never renders (rich-click made the same import lazy,
# ewels/rich-click#260). It gets stand-ins that import the real class on first use instead.
_HEAVY_RICH = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


class _StandIn(type):
    """A class standing in for a rich class: calling it or reading an attribute imports the real one."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(cls.__module__), cls.__name__)(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        return getattr(getattr(import_module(cls.__module__), cls.__name__), name)


def _import_lean_rich_utils() -> None:
    """Import typer.rich_utils with stand-ins for the Markdown and Traceback it imports; see _HEAVY_RICH."""
    if "typer.rich_utils" in sys.modules or not _HEAVY_RICH.keys().isdisjoint(sys.modules):
        return
    from types import ModuleType

    for module, name in _HEAVY_RICH.items():
        sys.modules[module] = stub = ModuleType(module)
        setattr(stub, name, _StandIn(name, (), {"__module__": module}))
    try:
        import_module("typer.rich_utils")
    except Exception:  # a Typer whose rich_utils needs more of them: it imports the real modules itself later
        pass
    finally:
        for module in _HEAVY_RICH:
            del sys.modules[module]


def _no_hugepage_advice() -> None:
    """Ask numpy (imported later, by the commands) not to advise huge pages for its big arrays.

    Where the kernel honours that advice only by compacting memory first (``transparent_hugepage``
    ``defrag=madvise``), each fresh large array stalls: on the development VM a fresh 144 MB array
    took 0.37-0.45 s with the advice and 0.06-0.09 s without, and ``run`` on a 12 MP photo went from
    2.0 to 1.4 s (``benchmarks/README.md``). ``NUMPY_MADVISE_HUGEPAGE=1`` in the environment wins.
    """
    import os

    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


class _OneLineErrors(TyperGroup):
    """Typer's group, but every expected failure ends as one ``Error: ...`` line and its code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        argv = sys.argv[1:] if args is None else list(args)
        _no_hugepage_advice()
        lone = self.commands.get(argv[0]) if len(argv) == 1 else None
        if not argv or "--help" in argv or (lone is not None and lone.no_args_is_help):  # help will follow
            _import_lean_rich_utils()
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            with warnings.catch_warnings():
                # numpy's multi-line RuntimeWarnings about NaN/Inf (and values that overflow the compute
                # dtype, which become Inf): build_layer has said it in one line.
                warnings.filterwarnings("ignore", _NAN_NOISE, RuntimeWarning)
                rv = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except _ClickException as exc:
            hint = ""
            if isinstance(exc, _UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            _fail(exc.format_message() + hint, exc.exit_code)
        except ConvcliError as exc:
            if _DEBUG["on"]:
                raise
            _fail(exc.worded(FLAGS), exc.exit_code)
        except typer.Abort:
            _fail("interrupted", 130)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # Typer turns Ctrl-C into a silent exit 130 (click into Abort after a blank line); the
            # writers have removed their temporary files by now (save.atomic_write)
            _fail("interrupted", 130)

    def get_help_option(self, ctx: Any) -> Any:
        # Typer coerces every non-bool parameter value through pydantic, and the group's --help is None
        # when not given, so `convcli run --help` imported pydantic (~70 ms) for nothing; False means the
        # same (no help) and is passed through as a bool.
        option = super().get_help_option(ctx)
        if option is not None and option.default is None:
            option.default = False
        return option


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
        from convcli import __version__  # importlib.metadata: only --version pays for it

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


def as_hw(value: int | tuple[int, int]) -> tuple[int, int]:
    """The ``(h, w)`` pair of a :func:`parse_pair` value (an int means both axes)."""
    return (value, value) if isinstance(value, int) else value


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


class View(StrEnum):
    auto = "auto"
    numbers = "numbers"
    heatmap = "heatmap"
    both = "both"


#: What --export can write, by extension: rich's recording of the screen.
EXPORT_SUFFIXES = (".svg", ".html", ".txt")

ExportOpt = Annotated[Path | None, typer.Option(
    help="Also write what is printed to this .svg, .html or .txt (for slides and notebooks).",
    rich_help_panel=_OUT, show_default=False)]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace existing output files (never an input).",
                                        rich_help_panel=_OUT)]


def _screen(export: Path | None) -> Console:
    """The console a command prints to; it records when the screen is to be exported."""
    from rich.console import Console

    return Console(highlight=False, record=export is not None)


def _export(console: Console, target: Path | None, title: str) -> None:
    """Write what ``console`` printed to ``target`` (checked earlier with :func:`saving.check_target`)."""
    if target is None:
        return
    from convcli import save as saving

    suffix = target.suffix.lower()
    if suffix == ".svg":
        text = console.export_svg(title=title, clear=False)
    elif suffix == ".html":
        text = console.export_html(inline_styles=True, clear=False)
    else:
        text = console.export_text(clear=False)
    saving.atomic_write(target, lambda fh: fh.write(text.encode("utf-8")))
    # on stderr, so that the exported file and stdout hold the same text
    type(console)(highlight=False, stderr=True).print(f"exported the screen to {target}", style="dim")


class _Progress:
    """A progress bar on stderr that appears only once work has taken about a second.

    Called with the fraction done (0 to 1). Nothing is drawn when stderr is not a terminal.
    """

    DELAY = 1.0

    def __init__(self, description: str, enabled: bool) -> None:
        import time

        self._clock = time.monotonic
        self._start = self._clock()
        self._description = description
        self._enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, fraction: float) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            if self._clock() - self._start < self.DELAY:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._task = self._bar.add_task(self._description, total=1.0)
            self._bar.start()
        self._bar.update(self._task, completed=fraction)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None



class Semantics(StrEnum):
    keras = "keras"
    torch = "torch"


# The options of every command that builds a layer on an input (run, verify), defined once; each
# command collects them with LayerOptions.collect(locals()). tests/test_verify.py checks that both
# commands take all of them.
InputArg = Annotated[Path, typer.Argument(help="Image (PNG, JPEG, BMP, GIF, TIFF, WebP) or array (.npy, .npz, "
                                          ".txt/.csv).", show_default=False)]
FiltersOpt = Annotated[int, typer.Option("--filters", "-f", min=1, help="Number of filters F.", rich_help_panel=_LAYER)]
KernelSizeOpt = Annotated[str, typer.Option("--kernel-size", "-k", help="K or KH,KW.", rich_help_panel=_LAYER)]
StrideOpt = Annotated[str, typer.Option(help="S or SH,SW.", rich_help_panel=_LAYER)]
PaddingOpt = Annotated[str, typer.Option(help="valid, same (Keras rule), P or PH,PW zeros (PyTorch style).",
                                         rich_help_panel=_LAYER)]
DilationOpt = Annotated[str, typer.Option(help="D or DH,DW.", rich_help_panel=_LAYER)]
GroupsOpt = Annotated[int, typer.Option(min=1, help="Channel groups; must divide C and F.", rich_help_panel=_LAYER)]
ActivationOpt = Annotated[Activation, typer.Option(help="Keras activation name.", rich_help_panel=_LAYER)]
DTypeOpt = Annotated[DType, typer.Option(help="Compute precision.", rich_help_panel=_LAYER)]
SemanticsOpt = Annotated[Semantics, typer.Option(
    help="Conventions to think in: keras ((H, W, C), kernel (kh, kw, C/g, F), 'same' with any stride) or torch "
    "((C, H, W), kernel (F, C/g, kh, kw), 'same' only with stride 1).", rich_help_panel=_LAYER)]
InitOpt = Annotated[Init, typer.Option(help="Kernel preset; a 2-D preset is used for every channel of every filter.",
                                       rich_help_panel=_KERNEL)]
SeedOpt = Annotated[int, typer.Option(help="Seed of --init random.", rich_help_panel=_KERNEL)]
KernelOpt = Annotated[Path | None, typer.Option(help="Kernel file (.npy, .npz, text); overrides --init, -k, -f.",
                                                rich_help_panel=_KERNEL, show_default=False)]
KernelLayoutOpt = Annotated[KernelLayout | None, typer.Option(
    help="keras (kh, kw, C/g, F) or torch (F, C/g, kh, kw). Default: as --semantics.", rich_help_panel=_KERNEL,
    show_default=False)]
KernelKeyOpt = Annotated[str | None, typer.Option(help="Array name inside a kernel .npz.", rich_help_panel=_KERNEL,
                                                  show_default=False)]
BiasOpt = Annotated[str | None, typer.Option(help="NUMBER, N1,N2,... (one per filter) or FILE. Default 0.",
                                             rich_help_panel=_KERNEL, show_default=False)]
NoBiasOpt = Annotated[bool, typer.Option("--no-bias", help="A layer without bias (use_bias=False).",
                                         rich_help_panel=_KERNEL)]
FlipOpt = Annotated[bool, typer.Option("--flip", help="True convolution: flip the kernel in both spatial axes, as "
                                       "scipy.signal.convolve2d does. Conv2D layers do not flip.", rich_help_panel=_KERNEL)]
KeyOpt = Annotated[str | None, typer.Option(help="Array name inside an input .npz.", rich_help_panel=_INPUT,
                                            show_default=False)]
LayoutOpt = Annotated[Layout, typer.Option(help="Layout of a 3-D/4-D input array.", rich_help_panel=_INPUT)]
NormalizeOpt = Annotated[bool, typer.Option("--normalize", help="Divide integer inputs by their dtype's max (255 for "
                                            "8-bit).", rich_help_panel=_INPUT)]
MaxPixelsOpt = Annotated[int | None, typer.Option(min=1, help="Refuse images with more pixels (default: Pillow's bomb "
                                                  "limit).", rich_help_panel=_INPUT, show_default=False)]


@dataclass(frozen=True)
class LayerOptions:
    """The layer options of ``run`` and ``verify``, as given on the command line."""

    input: Path
    filters: int
    kernel_size: str
    stride: str
    padding: str
    dilation: str
    groups: int
    activation: Activation
    dtype: DType
    semantics: Semantics
    init: Init
    seed: int
    kernel: Path | None
    kernel_layout: KernelLayout | None
    kernel_key: str | None
    bias: str | None
    no_bias: bool
    flip: bool
    key: str | None
    layout: Layout
    normalize: bool
    max_pixels: int | None

    @classmethod
    def collect(cls, values: dict[str, Any]) -> LayerOptions:
        """The layer options among a command's parameters (its ``locals()``)."""
        return cls(**{f.name: values[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class ParsedLayer:
    """Layer options as values: kernel size ``(kh, kw)``, stride and dilation, padding as the engine takes it."""

    kernel_hw: tuple[int, int]
    stride: int | tuple[int, int]
    dilation: int | tuple[int, int]
    padding: str | int | tuple[int, int]
    kernel_layout: str


def parse_layer(opts: LayerOptions, *, enforce_semantics: bool = True) -> ParsedLayer:
    """Check the layer options that need no data; every failure is a usage error (exit 2).

    With ``enforce_semantics``, ``--semantics torch`` refuses what PyTorch refuses: padding='same'
    with a stride > 1 (``verify`` shows that refusal in PyTorch's row instead).
    """
    kernel_hw = parse_pair(opts.kernel_size, "--kernel-size")
    stride = parse_pair(opts.stride, "--stride")
    dilation = parse_pair(opts.dilation, "--dilation")
    padding = parse_padding(opts.padding)
    if opts.kernel is None and opts.filters % opts.groups:
        raise typer.BadParameter(f"--groups {opts.groups} does not divide --filters {opts.filters}")
    if opts.bias is not None and opts.no_bias:
        raise typer.BadParameter("--bias and --no-bias contradict each other")
    if enforce_semantics and opts.semantics is Semantics.torch and padding == "same" and stride not in (1, (1, 1)):
        raise typer.BadParameter(
            f"--semantics torch: PyTorch refuses padding='same' with --stride {opts.stride} (\"padding='same' is "
            "not supported for strided convolutions\"); give the pads with --padding P or PH,PW, or use "
            "--semantics keras for TensorFlow's 'same' (out = ceil(n / s), the odd pad at the bottom/right)"
        )
    return ParsedLayer(
        as_hw(kernel_hw), stride, dilation, padding,
        (opts.kernel_layout or KernelLayout(opts.semantics.value)).value,
    )


@dataclass(frozen=True)
class BuiltLayer:
    """The input as loaded, the checked layer on it (kernel flipped for ``--flip``) and the bias given."""

    loaded: Loaded
    layer: Layer
    bias: np.ndarray | None
    kernel_source: str
    warnings: tuple[str, ...] = ()  # NaN/±Inf in the input, kernel or bias: see warn()

    def warn(self) -> None:
        """Write the warnings, one line each; called once every check that can fail before computing has passed."""
        for line in self.warnings:
            sys.stderr.write(f"Warning: {line}\n")


#: Printed under the header with --flip.
FLIP_NOTE = ("--flip: the kernel is flipped in both spatial axes, so this is true convolution, as "
             "scipy.signal.convolve2d computes it. Conv2D layers (Keras, TensorFlow, PyTorch) never flip: "
             "they cross-correlate.")


def build_layer(opts: LayerOptions, parsed: ParsedLayer) -> BuiltLayer:
    """Load the input, make or load the kernel and bind them: data errors exit 1."""
    from convcli import engine, kernels, load

    loaded = load.load_input(opts.input, key=opts.key, layout=opts.layout.value, normalize=opts.normalize,
                             **({"max_pixels": opts.max_pixels} if opts.max_pixels else {}))
    x = loaded.array
    c, groups = x.shape[2], opts.groups
    warned: list[str | None] = []  # written by BuiltLayer.warn(), once the caller's own checks have passed
    if c % groups:
        raise ShapeError(f"--groups {groups} does not divide the {c} input channels of {opts.input}")
    if opts.kernel is not None:
        k = kernels.load_kernel(opts.kernel, parsed.kernel_layout, c // groups, key=opts.kernel_key)
        if k.shape[2] * groups != c:
            have = "".join(loaded.channel_names) if c <= 4 else f"{c} channels"
            raise ShapeError(
                f"{opts.kernel}: the kernel {k.shape} (as kh, kw, C/g, F) expects {k.shape[2] * groups} input channels "
                f"but {opts.input} has {c} ({have})"
            )
        kernel_source = f"{opts.kernel} ({parsed.kernel_layout} layout)"
        # before --flip, so the position is the file's tap (in Keras layout)
        warned.append(_nonfinite(f"the kernel from {opts.kernel}", k, k.astype(opts.dtype.value),
                                 ("row", "col", "channel", "filter")))
    else:
        k = kernels.make_kernel(opts.init.value, parsed.kernel_hw, c // groups, opts.filters, seed=opts.seed)
        kernel_source = f"--init {opts.init.value}" + (f" (seed {opts.seed})" if opts.init.value == "random" else "")
    if opts.flip:
        k = k[::-1, ::-1].copy()
        kernel_source += ", flipped (--flip)"
    layer = engine.prepare(x, k, stride=parsed.stride, padding=parsed.padding, dilation=parsed.dilation,
                           groups=groups, dtype=opts.dtype.value)
    warned.insert(0, _nonfinite(str(opts.input), x, layer.x, ("row", "col", "channel")))
    bias = kernels.parse_bias(opts.bias)
    if bias is not None:
        engine.check_bias(bias, layer.filters, layer.x.dtype)  # its length, before any warning is written
        warned.append(_nonfinite(f"--bias {opts.bias}", bias, bias.astype(layer.x.dtype), ("filter",)))
    return BuiltLayer(loaded, layer, bias, kernel_source, tuple(w for w in warned if w))


def _nonfinite(what: str, given: np.ndarray, used: np.ndarray, axes: tuple[str, ...]) -> str | None:
    """The warning for NaN/±Inf in ``used`` (``given`` cast to the compute dtype; axes named by ``axes``), or None.

    Carried through, not refused (issue 7): a NaN only spoils the outputs it reaches. A value beyond
    the compute dtype's range (1e39 in float32) becomes ±Inf in the cast, and the warning says so.
    """
    from convcli.load import nonfinite

    n_nan, n_inf, first = nonfinite(used)
    if first is None:
        return None
    cast = "" if nonfinite(given)[:2] == (n_nan, n_inf) else f" once cast to {used.dtype}"
    where = ("first at " + ", ".join(f"{axis} {i}" for axis, i in zip(axes, first, strict=True))) if first \
        else "used for every filter"
    return f"{what} holds {n_nan} NaN and {n_inf} ±Inf values{cast} ({where}); they propagate to the outputs they touch"


def _warn_overflow(result: Any) -> None:
    """One warning line when finite inputs gave ±Inf or NaN results: the compute dtype overflowed."""
    import numpy as np

    from convcli import engine

    ok = engine.finite_maps(result.preactivation)
    if result.output is not result.preactivation:
        ok &= engine.finite_maps(result.output)
    bad = [int(f) for f in np.flatnonzero(~ok)]
    if bad:
        dtype = result.layer.x.dtype
        advice = "; --dtype float64 reaches about 1.8e308" if dtype == np.float32 else ""
        shown = ", ".join(map(str, bad[:8])) + (", …" if len(bad) > 8 else "")
        sys.stderr.write(f"Warning: the results overflow {dtype} (±Inf or NaN in filter{'s' * (len(bad) > 1)} "
                         f"{shown}) although the input, kernel and bias are finite{advice}\n")


@app.command(no_args_is_help=True)
def run(
    input: InputArg,
    filters: FiltersOpt = 1,
    kernel_size: KernelSizeOpt = "3",
    stride: StrideOpt = "1",
    padding: PaddingOpt = "valid",
    dilation: DilationOpt = "1",
    groups: GroupsOpt = 1,
    activation: ActivationOpt = "linear",  # type: ignore[assignment]
    dtype: DTypeOpt = DType.float32,
    semantics: SemanticsOpt = Semantics.keras,
    init: InitOpt = "random",  # type: ignore[assignment]
    seed: SeedOpt = 0,
    kernel: KernelOpt = None,
    kernel_layout: KernelLayoutOpt = None,
    kernel_key: KernelKeyOpt = None,
    bias: BiasOpt = None,
    no_bias: NoBiasOpt = False,
    flip: FlipOpt = False,
    key: KeyOpt = None,
    layout: LayoutOpt = Layout.channels_last,
    normalize: NormalizeOpt = False,
    max_pixels: MaxPixelsOpt = None,
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
    view: Annotated[View, typer.Option(help="numbers: the window's values; heatmap: whole maps as coloured cells; "
                                       "both; auto: both when the maps are larger than the window.",
                                       rich_help_panel=_SHOW)] = View.auto,
    figure: Annotated[Path | None, typer.Option(help="Draw each shown filter's channels, partial maps, "
                                                "pre-activation and output to this .png, .jpg or .webp.",
                                                rich_help_panel=_OUT, show_default=False)] = None,
    save_maps: Annotated[Path | None, typer.Option(help="Write each filter's output map as a 16-bit PNG into "
                                                   "this folder, with maps.json giving the scaling.",
                                                   rich_help_panel=_OUT, show_default=False)] = None,
    export: ExportOpt = None,
    force: ForceOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.", rich_help_panel=_SHOW)] = False,
) -> None:
    """Apply a multi-channel Conv2D to an image or array and show each channel's partial sums adding up."""
    import json

    from convcli import engine, render
    from convcli import save as saving

    opts = LayerOptions.collect(locals())
    parsed = parse_layer(opts)
    at_v = parse_position(at, "--at") if at else None
    trace_v = parse_position(trace, "--trace") if trace else None
    if window is not None and window < 1:
        raise typer.BadParameter(f"--window must be ≥ 1; got {window}")
    if json_ and export is not None:
        raise typer.BadParameter("--export records the tables; it cannot be combined with --json")
    inputs = [p for p in (input, kernel) if p]
    target = saving.check_target(save, force=force, inputs=inputs) if save else None
    figure_target = saving.check_target(figure, force=force, inputs=inputs, suffix=list(saving.IMAGE_FORMATS)) \
        if figure else None
    export_target = saving.check_target(export, force=force, inputs=inputs, suffix=EXPORT_SUFFIXES) if export else None

    built = build_layer(opts, parsed)
    loaded, layer, padding_v, kernel_source = built.loaded, built.layer, parsed.padding, built.kernel_source
    x = loaded.array
    detail = (parse_filter_list(filter_, layer.filters) if filter_
              else list(range(min(layer.filters, render.DEFAULT_DETAIL_FILTERS))))
    if save_maps is not None:
        from convcli import maps as feature_maps

        feature_maps.check_maps_dir(save_maps, range(layer.filters), force=force, inputs=inputs)
    rows, cols = engine.choose_window(layer.geometry.out_hw, at_v, window)
    # before computing: a --trace outside the output is refused without the wait
    traces = {f: engine.trace_position(layer, *trace_v, f) for f in detail} if trace_v else None
    keep = target is not None and not no_partials
    ho, wo = layer.geometry.out_hw
    what = f"{ho}×{wo}×{layer.filters} output" + (f" and {ho}×{wo}×{layer.cg}×{layer.filters} partials for --save"
                                                  if keep else "")
    _ensure_fits(engine.run_bytes(layer, keep_partials=keep), what,
                 "pass --no-partials, --dtype float32, fewer --filters or a smaller image" if keep
                 else "use --dtype float32, fewer --filters or a smaller image")
    built.warn()  # after the last check, so that a refused run prints its one Error line alone
    shown_view = view
    if view is View.auto:
        shown_view = View.both if (rows[1] - rows[0], cols[1] - cols[0]) != (ho, wo) else View.numbers
    heatmaps = shown_view in (View.heatmap, View.both) and not json_
    progress = _Progress("convolving", enabled=not quiet and not json_)
    try:
        # heatmaps caption each partial map with its range: measured in the same pass
        result = engine.run_layer(layer, built.bias, activation.value, rows, cols, use_bias=not no_bias,
                                  keep_partials=keep, ranges=heatmaps, progress=progress)
    finally:
        progress.close()
    if not built.warnings:
        _warn_overflow(result)
    info = render.InputInfo(str(input), loaded.description, x.shape, str(x.dtype), loaded.channel_names,
                            render.value_range(x))
    names = loaded.channel_names
    # each shown filter's (H', W', Cg) partial maps: kept for all filters only when a figure needs them
    partial_maps = {f: engine.filter_partials(layer, f) for f in detail} if figure_target is not None else {}

    if target is not None:
        arrays = {
            "input": layer.x,
            "kernel": layer.kernel,
            "bias": result.bias,
            "preactivation": result.preactivation,
            "output": result.output,
        }
        if keep:
            arrays["partials"] = result.full_partials()
        saving.save_npz(target, arrays)
    if figure_target is not None:
        from convcli import figure as figures

        picture = figures.figure_image(result, detail, names, maps=partial_maps, title=Path(input).name)
        saving.save_image(picture, figure_target)
    map_files = (feature_maps.save_maps(result, save_maps, force=force, source=str(input), padding=padding_v,
                                        inputs=inputs) if save_maps is not None else [])

    if json_:
        doc = render.result_json(info, result, padding_v, detail, traces, trace_v)
        doc["layer"].update(semantics=semantics.value, flip=flip)
        if target is not None:
            doc["saved"] = str(target)
        if figure_target is not None:
            doc["figure"] = str(figure_target)
        if save_maps is not None:
            doc["maps"] = [str(p) for p in map_files]
        sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        return

    console = _screen(export_target)
    console.print(render.header(info, result, padding_v, kernel_source, semantics=semantics.value))
    if flip:
        console.print(FLIP_NOTE, style="dim")
    if heatmaps:
        from convcli import heatmap

        sources = heatmap.ResultMaps(result)  # block sums shared by every filter's heatmaps
    for f in detail:
        if shown_view in (View.numbers, View.both):
            console.print(render.filter_panel(result, f, names))
        if heatmaps:
            console.print(heatmap.filter_heatmaps(result, f, names, width=console.width, maps=partial_maps.get(f),
                                                  sources=sources))
        if traces is not None and trace_v is not None:
            console.print(render.trace_panel(result, traces[f], *trace_v, f, names))
    if layer.filters > 1:
        console.print(render.summary_table(result, names))
    if len(detail) < layer.filters:
        console.print(f"[dim]{len(detail)} of {layer.filters} filters shown in detail; choose others with --filter, "
                      "e.g. --filter 4-7.[/dim]")
    if target is not None:
        saved = ", ".join(sorted(k for k in ("input", "kernel", "bias", "preactivation", "output", "partials")
                                 if k != "partials" or keep))
        console.print(f"saved {target}: {saved}")
    if figure_target is not None:
        console.print(f"saved {figure_target}: filters {', '.join(map(str, detail))}")
    if save_maps is not None:
        console.print(f"saved {len(map_files) - 1} output maps and maps.json in {save_maps}")
    _export(console, export_target, f"convcli run {Path(input).name}")


class Kind(StrEnum):
    conv = "conv"
    depthwise = "depthwise"
    separable = "separable"
    transpose = "transpose"


def parse_input_size(text: str) -> tuple[int, ...]:
    """``"224,224"`` or ``"224,224,3"``: H, W ≥ 1 and C ≥ 1."""
    try:
        values = tuple(int(p) for p in text.replace(" ", "").split(","))
    except ValueError:
        raise typer.BadParameter(f"--input-size takes H,W or H,W,C (whole numbers); got {text!r}") from None
    if len(values) not in (2, 3):
        raise typer.BadParameter(f"--input-size takes H,W or H,W,C; got {text!r}")
    if min(values) < 1:
        what = "channels C" if min(values[:2]) >= 1 else "H and W"
        raise typer.BadParameter(f"--input-size needs {what} ≥ 1; got {text!r}")
    return values


@app.command(no_args_is_help=True)
def params(
    kind: Annotated[Kind | None, typer.Option(help="Layer kind: conv (Conv2D), depthwise, separable, transpose. "
                                              "\\[default: conv]", show_default=False)] = None,
    in_channels: Annotated[int | None, typer.Option("--in-channels", "-c", min=1, help="Input channels C "
                                                    "(or the C of --input-size H,W,C).", show_default=False)] = None,
    filters: Annotated[int | None, typer.Option("--filters", "-f", min=1, help="Filters F (not for depthwise). "
                                                "\\[default: 1]", show_default=False)] = None,
    kernel_size: Annotated[str | None, typer.Option("--kernel-size", "-k", help="K or KH,KW. \\[default: 3]",
                                                    show_default=False)] = None,
    groups: Annotated[int | None, typer.Option(min=1, help="Channel groups (conv; transpose as in PyTorch); "
                                               "must divide C and F. \\[default: 1]", show_default=False)] = None,
    depth_multiplier: Annotated[int | None, typer.Option("--depth-multiplier", "-m", min=1, help="M: outputs per "
                                                         "input channel (depthwise, separable). \\[default: 1]",
                                                         show_default=False)] = None,
    no_bias: Annotated[bool, typer.Option("--no-bias", help="A layer without bias (use_bias=False).")] = False,
    input_size: Annotated[str | None, typer.Option(help="H,W or H,W,C: adds output shape, pads, MACs, FLOPs.",
                                                   show_default=False)] = None,
    stride: Annotated[str | None, typer.Option(help="S or SH,SW. \\[default: 1]", show_default=False)] = None,
    padding: Annotated[str | None, typer.Option(help="valid, same (Keras rule), P or PH,PW zeros. \\[default: valid]",
                                                show_default=False)] = None,
    dilation: Annotated[str | None, typer.Option(help="D or DH,DW. \\[default: 1]", show_default=False)] = None,
    stack: Annotated[str | None, typer.Option(help="Layers on --input-size H,W,C, e.g. 'conv 32 k3 s2, dw k3 same, "
                                              "conv 64 k1' (see README).", show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    export: ExportOpt = None,
    force: ForceOpt = False,
) -> None:
    """Count the parameters of a 2-D conv layer (as Keras' count_params()), its MACs, FLOPs and receptive field."""
    import json

    from convcli import counts, render
    from convcli import save as saving

    if json_ and export is not None:
        raise typer.BadParameter("--export records the tables; it cannot be combined with --json")
    export_target = saving.check_target(export, force=force, suffix=EXPORT_SUFFIXES) if export else None
    size = parse_input_size(input_size) if input_size else None
    if stack is not None:
        given = [name for name, v in (("--kind", kind), ("--in-channels", in_channels), ("--filters", filters),
                                      ("--kernel-size", kernel_size), ("--groups", groups),
                                      ("--depth-multiplier", depth_multiplier), ("--stride", stride),
                                      ("--padding", padding), ("--dilation", dilation),
                                      ("--no-bias", no_bias or None)) if v is not None]
        if given:
            raise typer.BadParameter(f"--stack describes every layer itself; drop {', '.join(given)}")
        if size is None or len(size) != 3:
            raise typer.BadParameter("--stack needs --input-size H,W,C (e.g. 224,224,3)")
        report = counts.build_stack(counts.parse_stack(stack), size)
        if json_:
            sys.stdout.write(json.dumps(render.stack_json(report), indent=2) + "\n")
            return
        console = _screen(export_target)
        console.print(render.StackTable(report))
        console.print(render.stack_totals(report))
        _export(console, export_target, "convcli params --stack")
        return

    if size is not None and len(size) == 3:
        if in_channels is not None and in_channels != size[2]:
            raise typer.BadParameter(f"--in-channels {in_channels} contradicts --input-size {input_size} (C = {size[2]})")
        in_channels = size[2]
    if in_channels is None:
        raise typer.BadParameter("give the input channels: --in-channels/-c C, or --input-size H,W,C")
    layer_kind = (kind or Kind.conv).value
    kernel_v = parse_pair(kernel_size or "3", "--kernel-size")
    stride_v = parse_pair(stride or "1", "--stride")
    dilation_v = parse_pair(dilation or "1", "--dilation")
    padding_v = parse_padding(padding or "valid")

    spec = counts.ConvSpec(
        kind=layer_kind,
        in_channels=in_channels,
        filters=filters if layer_kind == "depthwise" else (filters or 1),
        kernel=as_hw(kernel_v),
        stride=as_hw(stride_v),
        dilation=as_hw(dilation_v),
        padding=padding_v if isinstance(padding_v, str) else as_hw(padding_v),
        groups=groups or 1,
        depth_multiplier=depth_multiplier or 1,
        use_bias=not no_bias,
    )
    hw = size[:2] if size is not None else None
    try:
        rep = counts.report(spec, hw)
    except counts.LayerConfigError as exc:
        raise ConfigError(exc.worded(FLAGS)) from None
    twin = counts.equivalent(spec)
    other = counts.report(twin, hw) if twin is not None else None
    if json_:
        doc = render.params_json(rep, other)
        if rep.shape is not None:
            doc["flop_convention"] = counts.FLOP_CONVENTION
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    console = _screen(export_target)
    console.print(render.params_panel(rep, other))
    _export(console, export_target, "convcli params")


class Lang(StrEnum):
    en = "en"
    ru = "ru"
    ko = "ko"


@app.command()
def explain(
    lang: Annotated[Lang, typer.Option(help="Language of the texts: en, ru, ko (the numbers are the same).")] = Lang.en,
    step: Annotated[int | None, typer.Option(min=1, max=5, help="Show only section N (1-5).",
                                             show_default=False)] = None,
    export: ExportOpt = None,
    force: ForceOpt = False,
) -> None:
    """Walk through multi-channel convolution with numbers computed live: why Conv2D sums the channels."""
    from convcli import explain as lesson
    from convcli import save as saving

    export_target = saving.check_target(export, force=force, suffix=EXPORT_SUFFIXES) if export else None
    console = _screen(export_target)
    for renderable in lesson.lesson(lang.value, step):
        console.print(renderable)
    _export(console, export_target, "convcli explain")


@app.command(no_args_is_help=True)
def verify(
    input: InputArg,
    filters: FiltersOpt = 1,
    kernel_size: KernelSizeOpt = "3",
    stride: StrideOpt = "1",
    padding: PaddingOpt = "valid",
    dilation: DilationOpt = "1",
    groups: GroupsOpt = 1,
    activation: ActivationOpt = "linear",  # type: ignore[assignment]
    dtype: DTypeOpt = DType.float32,
    semantics: SemanticsOpt = Semantics.keras,
    init: InitOpt = "random",  # type: ignore[assignment]
    seed: SeedOpt = 0,
    kernel: KernelOpt = None,
    kernel_layout: KernelLayoutOpt = None,
    kernel_key: KernelKeyOpt = None,
    bias: BiasOpt = None,
    no_bias: NoBiasOpt = False,
    flip: FlipOpt = False,
    key: KeyOpt = None,
    layout: LayoutOpt = Layout.channels_last,
    normalize: NormalizeOpt = False,
    max_pixels: MaxPixelsOpt = None,
) -> None:
    """Compute the same layer with every installed framework (PyTorch, Keras, TensorFlow, JAX, SciPy) and compare.

    Exit 1 when a framework's result differs from convcli's beyond float rounding.
    """
    from rich.console import Console

    from convcli import compare, engine, frameworks, render, render_verify
    from convcli.errors import DisagreementError

    opts = LayerOptions.collect(locals())
    parsed = parse_layer(opts, enforce_semantics=False)  # PyTorch's row shows its refusal instead
    built = build_layer(opts, parsed)
    layer = built.layer
    rows, cols = engine.choose_window(layer.geometry.out_hw, None, None)
    built.warn()
    result = engine.run_layer(layer, built.bias, activation.value, rows, cols, use_bias=not no_bias)
    if not built.warnings:
        _warn_overflow(result)
    problem = frameworks.Problem(layer, result.bias, parsed.padding, semantics.value, flip)
    checked = frameworks.verify(problem, result.preactivation)
    n = compare.terms(layer)
    rtol = compare.rtol_for(layer.x.dtype, n)

    x = built.loaded.array
    info = render.InputInfo(str(input), built.loaded.description, x.shape, str(x.dtype), built.loaded.channel_names,
                            render.value_range(x))
    console = Console(highlight=False)
    console.print(render_verify.header(info, result, parsed.padding, built.kernel_source, semantics=semantics.value,
                                       n=n, rtol=rtol))
    if flip:
        console.print(FLIP_NOTE, style="dim")
    console.print(render_verify.table(checked))
    console.print(render_verify.how(checked))
    console.print(render_verify.summary(checked, rtol, layer.x.dtype.name, frameworks.installable(checked)))
    differ = [c for c in checked if c.comparison is not None and not c.comparison.ok]
    if differ:
        first = differ[0]
        raise DisagreementError(
            f"{first.outcome.framework} differs from convcli {first.comparison.problem}"  # type: ignore[union-attr]
            + (f" (and {len(differ) - 1} more framework{'s' * (len(differ) > 2)})" if len(differ) > 1 else "")
        )


if __name__ == "__main__":  # pragma: no cover
    app()
