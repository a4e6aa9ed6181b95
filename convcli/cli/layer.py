"""Load the input and make or load the kernel for ``run`` and ``verify``: the layer they compute.

Data errors here exit 1 (ShapeError, ResourceError, the loaders' errors); the warnings about NaN/±Inf
are one line each on stderr.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy and the engine are imported inside the functions, for start-up time
    import numpy as np

    from convcli.cli.options import LayerOptions, ParsedLayer
    from convcli.engine import Layer
    from convcli.sources.inputs import Loaded


@dataclass(frozen=True)
class BuiltLayer:
    """The input as loaded, the checked layer on it (kernel flipped for ``--flip``) and the bias given."""

    loaded: Loaded  # the layer's input: for a --model layer deep in the model, what ran before it made
    layer: Layer
    bias: np.ndarray | None
    kernel_source: str
    warnings: tuple[str, ...] = ()  # NaN/±Inf in the input, kernel or bias: see warn()
    padding: str | int | tuple[int, int] = "valid"  # as the engine takes it: the option's, or a --model layer's
    activation: str = "linear"
    use_bias: bool = True
    notes: tuple[str, ...] = ()  # printed under the header: what a --model layer's options override, its input
    model: dict[str, object] | None = None  # the --model layer, for --json

    def warn(self) -> None:
        """Write the warnings, one line each; called once every check that can fail before computing has passed."""
        from convcli.cli.app import warn

        for line in self.warnings:
            warn(line)


#: Printed under the header with --flip.
FLIP_NOTE = ("--flip: the kernel is flipped in both spatial axes, so this is true convolution, as "
             "scipy.signal.convolve2d computes it. Conv2D layers (Keras, TensorFlow, PyTorch) never flip: "
             "they cross-correlate.")


def print_notes(console: Any, built: BuiltLayer, flip: bool) -> None:
    """Under the header, dim: the --flip note, then a --model layer's notes (its input, what options override)."""
    from rich.text import Text

    if flip:
        console.print(FLIP_NOTE, style="dim")
    for note in built.notes:
        console.print(Text(note, style="dim"))  # names from the file: never markup


def build_layer(opts: LayerOptions, parsed: ParsedLayer) -> BuiltLayer:
    """Load the input, make or load the kernel and bind them: data errors exit 1."""
    from convcli import engine
    from convcli.cli import memory
    from convcli.cli.spec import bound_layer, layer_spec
    from convcli.sources import kernels

    memory.note_dtype(opts.dtype.value)  # the out-of-memory advice suggests float32 only when it is not
    loaded = load(opts)
    if opts.model is not None:
        from convcli.cli.model import build_model_layer

        return build_model_layer(opts, parsed, loaded)
    x = loaded.array
    c, groups = x.shape[2], opts.groups
    cg = c // groups if c % groups == 0 else 1  # a groups that does not divide C is refused by bound_layer
    if opts.kernel is not None:
        k = kernels.load_kernel(opts.kernel, parsed.kernel_layout, cg, key=opts.kernel_key)
        kernel_source = f"{opts.kernel} ({parsed.kernel_layout} layout)"
        if opts.kernel_key is None and kernels.saved_weights(opts.kernel):
            kernel_source = f"{opts.kernel} arr_0 ({parsed.kernel_layout} layout)"
    else:
        _check_kernel_fits(x.shape[:2], parsed, cg, opts.filters)
        k = kernels.make_kernel(opts.init.value, parsed.kernel_hw, cg, opts.filters, seed=opts.seed)
        kernel_source = f"--init {opts.init.value}" + (f" (seed {opts.seed})" if opts.init.value == "random" else "")
    spec = layer_spec("conv", c, int(k.shape[3]), (int(k.shape[0]), int(k.shape[1])), stride=parsed.stride,
                      dilation=parsed.dilation, padding=parsed.padding, groups=groups, use_bias=not opts.no_bias)
    layer = bound_layer(spec, x, k[::-1, ::-1].copy() if opts.flip else k, dtype=opts.dtype.value,
                        input_name=str(opts.input), kernel_name=None if opts.kernel is None else str(opts.kernel),
                        channel_names=loaded.channel_names)
    if opts.flip:
        kernel_source += ", flipped (--flip)"
    bias_what = f"--bias {opts.bias}"
    if opts.bias is not None:
        bias = kernels.parse_bias(opts.bias, key=opts.bias_key)
    elif opts.kernel is not None and not opts.no_bias and (opts.bias_key is not None or (
            opts.kernel_key is None and kernels.saved_weights(opts.kernel))):
        # a layer's np.savez(*layer.get_weights()): its bias is beside its kernel
        bias_key = opts.bias_key or kernels.GET_WEIGHTS[1]
        bias = kernels.parse_bias(str(opts.kernel), key=bias_key)
        kernel_source += f", bias {bias_key}"
        bias_what = f"the bias {bias_key} of {opts.kernel}"
    else:
        bias = None
    if bias is not None:
        engine.check_bias(bias, layer.filters, layer.x.dtype)  # its length, before any warning is written
    warned = nonfinite_warnings(str(opts.input), x, layer,
                                # before --flip, so the position is the file's tap (in Keras layout)
                                (f"the kernel from {opts.kernel}", k) if opts.kernel is not None else None,
                                (bias_what, bias))
    return BuiltLayer(loaded, layer, bias, kernel_source, warned, padding=parsed.padding,
                      activation=str(opts.activation), use_bias=not opts.no_bias)


def load(opts: LayerOptions) -> Loaded:
    """The input as the options read it: resized (``--resize``), then scaled (``--preprocess``)."""
    from dataclasses import replace

    from convcli.cli.options import input_layout
    from convcli.cli.parsing import parse_resize
    from convcli.sources import inputs

    if opts.normalize and str(opts.preprocess) != "none":
        import typer

        raise typer.BadParameter(f"--normalize and --preprocess {str(opts.preprocess)} both scale the input; "
                                 "give one")
    loaded = inputs.load_input(opts.input, key=opts.key, layout=input_layout(opts), normalize=opts.normalize,
                               color_mode=None if opts.color_mode is None else opts.color_mode.value,
                               keep_orientation=opts.keep_orientation,
                               resize=parse_resize(opts.resize) if opts.resize else None,
                               **({"max_pixels": opts.max_pixels} if opts.max_pixels else {}))
    if str(opts.preprocess) == "none":
        return loaded
    from convcli.sources import preprocess

    x = preprocess.preprocess(loaded.array, str(opts.preprocess))
    return replace(loaded, array=x, description=f"{loaded.description}, --preprocess {str(opts.preprocess)}")


def nonfinite_warnings(input_what: str, x: np.ndarray, layer: Layer, kernel: tuple[str, np.ndarray] | None,
                       bias: tuple[str, np.ndarray | None]) -> tuple[str, ...]:
    """The NaN/±Inf warnings of the input ``x``, a kernel from a file (``(what, array)``) and a bias, as cast."""
    warned = [_nonfinite(input_what, x, layer.x, ("row", "col", "channel"))]
    if kernel is not None:
        what, k = kernel
        warned.append(_nonfinite(what, k, k.astype(layer.x.dtype), ("row", "col", "channel", "filter")))
    what, b = bias
    if b is not None:
        warned.append(_nonfinite(what, b, b.astype(layer.x.dtype), ("filter",)))
    return tuple(w for w in warned if w)


def _check_kernel_fits(in_hw: tuple[int, ...], parsed: ParsedLayer, cg: int, filters: int) -> None:
    """Before the kernel is made: it fits the input (the geometry's ShapeError, as bind would say it)
    and its ``kh·kw·Cg·F`` float64 weights fit in memory. Python ints: no product can overflow."""
    from convcli.cli import memory
    from convcli.layer.geometry import conv_geometry

    conv_geometry(in_hw, parsed.kernel_hw, stride=parsed.stride, padding=parsed.padding, dilation=parsed.dilation)
    kh, kw = parsed.kernel_hw
    memory.ensure_fits(kh * kw * cg * filters * 8, f"{kh}×{kw}×{cg}×{filters} kernel",
                       "use fewer --filters or a smaller --kernel-size")


def _nonfinite(what: str, given: np.ndarray, used: np.ndarray, axes: tuple[str, ...]) -> str | None:
    """The warning for NaN/±Inf in ``used`` (``given`` cast to the compute dtype; axes named by ``axes``), or None.

    Carried through, not refused (issue 7): a NaN only spoils the outputs it reaches. A value beyond
    the compute dtype's range (1e39 in float32) becomes ±Inf in the cast, and the warning says so.
    """
    from convcli.sources.inputs import nonfinite

    n_nan, n_inf, first = nonfinite(used)
    if first is None:
        return None
    cast = "" if nonfinite(given)[:2] == (n_nan, n_inf) else f" once cast to {used.dtype}"
    where = ("first at " + ", ".join(f"{axis} {i}" for axis, i in zip(axes, first, strict=True))) if first \
        else "used for every filter"
    return f"{what} holds {n_nan} NaN and {n_inf} ±Inf values{cast} ({where}); they propagate to the outputs they touch"


def _warn_overflow(result: Any, *, with_stats: bool = False) -> None:
    """One warning line when finite inputs gave ±Inf or NaN results: the compute dtype overflowed.

    ``with_stats``: the caller shows the output's statistics anyway; they are made in the same pass.
    """
    import numpy as np

    from convcli import engine

    if with_stats:
        ok = result.output_finite.copy()
        if result.output is not result.preactivation:
            ok &= engine.finite_maps(result.preactivation)
    else:
        ok = engine.finite_maps(result.preactivation)
        if result.output is not result.preactivation:
            ok &= engine.finite_maps(result.output)
    bad = [int(f) for f in np.flatnonzero(~ok)]
    if bad:
        dtype = result.layer.x.dtype
        advice = "; --dtype float64 reaches about 1.8e308" if dtype == np.float32 else ""
        from convcli.cli.app import warn

        listed = ", ".join(map(str, bad[:8])) + (", …" if len(bad) > 8 else "")
        warn(f"the results overflow {dtype} (±Inf or NaN in filter{'s' * (len(bad) > 1)} "
             f"{listed}) although the input, kernel and bias are finite{advice}")
