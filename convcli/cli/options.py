"""The options the commands share: their enums and Annotated types, and the layer options' checks.

Parsing one value (``"N"`` or ``"N,M"``) is :mod:`convcli.cli.parsing`; both raise
``typer.BadParameter``: a usage error, exit 2.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer

from convcli.cli.parsing import check_count, check_seed, parse_axes, parse_padding, parse_resize
from convcli.layer.kinds import PADDING_MODES
from convcli.layer.spec import KINDS

if TYPE_CHECKING:
    from convcli.pipeline.request import Request

# ------------------------------------------------------------------------------------------------
# The choices options take


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
# against the engine's by tests/cli/test_cli.py.
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


class View(StrEnum):
    auto = "auto"
    numbers = "numbers"
    heatmap = "heatmap"
    both = "both"
    dominant = "dominant"


#: The layer kinds of ``params``: the spec's own list (convcli.layer is numpy-free and cheap to import).
Kind = StrEnum("Kind", {k: k for k in KINDS})  # type: ignore[misc]


PaddingMode = StrEnum("PaddingMode", {m: m for m in PADDING_MODES})  # type: ignore[misc]


class Lang(StrEnum):
    en = "en"
    ru = "ru"
    ko = "ko"
    zh = "zh"


class ColorMode(StrEnum):
    grayscale = "grayscale"
    rgb = "rgb"
    rgba = "rgba"


class Semantics(StrEnum):
    keras = "keras"
    torch = "torch"


class Preprocess(StrEnum):
    """``--preprocess``: keras.applications' ``preprocess_input`` modes, plus none and unit
    (convcli.sources.preprocess.MODES; checked against it by tests)."""

    none = "none"
    unit = "unit"
    tf = "tf"
    torch = "torch"
    caffe = "caffe"


# ------------------------------------------------------------------------------------------------
# The options shared by several commands, and the help panels they are listed in

LAYER_PANEL = "Layer"
KERNEL_PANEL = "Kernel and bias"
INPUT_PANEL = "Input"
MODEL_PANEL = "Model file"
SHOW_PANEL = "What to show"
OUT_PANEL = "Output files"


ExportOpt = Annotated[Path | None, typer.Option(
    help="Also write what is printed to this .svg, .html or .txt (for slides and notebooks).",
    rich_help_panel=OUT_PANEL, show_default=False)]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace existing output files (never an input).",
                                        rich_help_panel=OUT_PANEL)]


# The options of every command that builds a layer on an input (run, verify), defined once; each
# command takes them through takes_layer_options. tests/verify/test_verify.py checks that both commands
# take all of them.
# readable=False: a file without read permission is bad data (exit 1, the loader's "cannot be read"),
# not a usage error, which Typer's default check would make it
InputArg = Annotated[Path, typer.Argument(readable=False, help="Image (PNG, JPEG, BMP, GIF, TIFF, WebP) or array (.npy, .npz, "
                                          ".txt/.csv).", show_default=False)]
FiltersOpt = Annotated[int, typer.Option("--filters", "-f", min=1, help="Number of filters F.", rich_help_panel=LAYER_PANEL)]
KernelSizeOpt = Annotated[str, typer.Option("--kernel-size", "-k", help="K or one per axis: KH,KW (3, 3,5 or 3x5).", rich_help_panel=LAYER_PANEL)]
StrideOpt = Annotated[str, typer.Option(help="S or one per axis (SH,SW).", rich_help_panel=LAYER_PANEL)]
PaddingOpt = Annotated[str, typer.Option(help="valid, same (Keras rule), causal (1-D), P or one per axis "
                                         "(PH,PW), PyTorch style.",
                                         rich_help_panel=LAYER_PANEL)]
DilationOpt = Annotated[str, typer.Option(help="D or one per axis (DH,DW).", rich_help_panel=LAYER_PANEL)]
GroupsOpt = Annotated[int, typer.Option(min=1, help="Channel groups; must divide C and F.", rich_help_panel=LAYER_PANEL)]
KindOpt = Annotated[str | None, typer.Option(
    help="conv, depthwise, transpose or separable, or a Keras or PyTorch class name (Conv1D, Conv3D, "
    "DepthwiseConv2D, ConvTranspose2d, ...; any case), which sets --ndim too. \\[default: conv]",
    rich_help_panel=LAYER_PANEL, show_default=False)]
NdimOpt = Annotated[int | None, typer.Option(
    "--ndim", min=1, max=3, help="Spatial axes: 1 (an (L, C) signal), 2 (an image) or 3 ((D, H, W, C)). "
    "\\[default: 2, or the class name's]", rich_help_panel=LAYER_PANEL, show_default=False)]
PaddingModeOpt = Annotated[PaddingMode, typer.Option(
    "--padding-mode", help="What the pads hold, as PyTorch's padding_mode: zeros, reflect, replicate or circular.",
    rich_help_panel=LAYER_PANEL)]
DepthMultiplierOpt = Annotated[int, typer.Option(
    "--depth-multiplier", "-m", min=1, help="M: outputs per input channel (depthwise).", rich_help_panel=LAYER_PANEL)]
OutputPaddingOpt = Annotated[str | None, typer.Option(
    "--output-padding", help="Transpose: extra output positions at the end, OP or one per axis; smaller than the "
    "stride (Keras' valid/same) or than the stride or dilation (PyTorch's --padding P). \\[default: the framework's]",
    rich_help_panel=LAYER_PANEL, show_default=False)]
ActivationOpt = Annotated[Activation, typer.Option(help="Keras activation name.", rich_help_panel=LAYER_PANEL)]
DTypeOpt = Annotated[DType, typer.Option(help="Compute precision.", rich_help_panel=LAYER_PANEL)]
SemanticsOpt = Annotated[Semantics, typer.Option(
    help="Conventions to think in: keras ((H, W, C), kernel (kh, kw, C/g, F), 'same' with any stride) or torch "
    "((C, H, W), kernel (F, C/g, kh, kw), 'same' only with stride 1).", rich_help_panel=LAYER_PANEL)]
InitOpt = Annotated[Init, typer.Option(help="Kernel preset; a 2-D preset is used for every channel of every filter.",
                                       rich_help_panel=KERNEL_PANEL)]
SeedOpt = Annotated[int, typer.Option(help="Seed of --init random.", rich_help_panel=KERNEL_PANEL)]
KernelOpt = Annotated[Path | None, typer.Option(readable=False, help="Kernel file (.npy, .npz, text); overrides --init, -k, -f.",
                                                rich_help_panel=KERNEL_PANEL, show_default=False)]
KernelLayoutOpt = Annotated[KernelLayout | None, typer.Option(
    help="keras (kh, kw, C/g, F) or torch (F, C/g, kh, kw). Default: as --semantics.", rich_help_panel=KERNEL_PANEL,
    show_default=False)]
KernelKeyOpt = Annotated[str | None, typer.Option(help="Array name inside a kernel .npz.", rich_help_panel=KERNEL_PANEL,
                                                  show_default=False)]
# no word longer than the 80-column help's description column (26): rich cuts such a word with "…"
BiasOpt = Annotated[str | None, typer.Option(help="NUMBER, N1,N2,... (one per filter) or FILE. Default 0, or the "
                                             "arr_1 of a --kernel .npz saved by np.savez(*weights) with "
                                             "weights = layer.get_weights().",
                                             rich_help_panel=KERNEL_PANEL, show_default=False)]
BiasKeyOpt = Annotated[str | None, typer.Option(help="Array name of the bias inside the --bias .npz (or, without "
                                                "--bias, inside the --kernel .npz).", rich_help_panel=KERNEL_PANEL,
                                                show_default=False)]
NoBiasOpt = Annotated[bool, typer.Option("--no-bias", help="A layer without bias (use_bias=False).",
                                         rich_help_panel=KERNEL_PANEL)]
FlipOpt = Annotated[bool, typer.Option("--flip", help="True convolution: flip the kernel in both spatial axes, as "
                                       "scipy.signal.convolve2d does. Conv2D layers do not flip.", rich_help_panel=KERNEL_PANEL)]
KeyOpt = Annotated[str | None, typer.Option(help="Array name inside an input .npz.", rich_help_panel=INPUT_PANEL,
                                            show_default=False)]
LayoutOpt = Annotated[Layout | None, typer.Option(help="Layout of a 3-D/4-D input array. Default: as --semantics "
                                                  "(keras channels-last, torch channels-first).",
                                                  rich_help_panel=INPUT_PANEL, show_default=False)]
ColorModeOpt = Annotated[ColorMode | None, typer.Option(
    help="Image channels, as Keras' load_img: grayscale (Pillow L), rgb or rgba. Default: as stored, alpha dropped.",
    rich_help_panel=INPUT_PANEL, show_default=False)]
KeepOrientationOpt = Annotated[bool, typer.Option("--keep-orientation", help="Use an image's pixels as stored: "
                                                  "do not apply its EXIF orientation.", rich_help_panel=INPUT_PANEL)]
NormalizeOpt = Annotated[bool, typer.Option("--normalize", help="Divide integer inputs by their dtype's max (255 for "
                                            "8-bit; a WAV file's samples to [-1, 1)); default: values as stored.",
                                            rich_help_panel=INPUT_PANEL)]
ModelOpt = Annotated[Path | None, typer.Option(
    readable=False, help="A model file (.keras, .h5, .onnx, .safetensors, .pt): explore its layer --layer with the "
    "learned kernel, bias and settings (options given override them). List its layers with convcli layers.",
    rich_help_panel=MODEL_PANEL, show_default=False)]
LayerOpt = Annotated[str | None, typer.Option(
    "--layer", help="The --model layer to explore: its name or its index in convcli layers.",
    rich_help_panel=MODEL_PANEL, show_default=False)]
ResizeOpt = Annotated[str | None, typer.Option(
    help="H,W: resize an image (bilinear) before anything else, as a model's input size.",
    rich_help_panel=INPUT_PANEL, show_default=False)]
PreprocessOpt = Annotated[Preprocess, typer.Option(
    help="Scale the input as a model expects (keras.applications' preprocess_input): none (as stored), unit (÷255), "
         "tf (to [-1, 1]), torch (÷255 then ImageNet mean/std), caffe (BGR minus the ImageNet means).",
    rich_help_panel=INPUT_PANEL)]
NoCacheOpt = Annotated[bool, typer.Option(
    "--no-cache", help="Compute a --model layer's input with the model's framework again, instead of reading it "
    "from the cache of inputs computed before (~/.cache/convcli; keyed by the model's and the image's contents).",
    rich_help_panel=MODEL_PANEL)]
MaxPixelsOpt = Annotated[int | None, typer.Option(min=1, help="Refuse images with more pixels (default: Pillow's bomb "
                                                  "limit).", rich_help_panel=INPUT_PANEL, show_default=False)]


@dataclass(frozen=True)
class LayerOptions:
    """The layer options of ``run`` and ``verify``, as given on the command line.

    The fields, with their Typer options and defaults, are also the first parameters of both commands:
    see :func:`takes_layer_options`.
    """

    input: InputArg
    filters: FiltersOpt = 1
    kernel_size: KernelSizeOpt = "3"
    stride: StrideOpt = "1"
    padding: PaddingOpt = "valid"
    dilation: DilationOpt = "1"
    groups: GroupsOpt = 1
    kind: KindOpt = None
    ndim: NdimOpt = None
    padding_mode: PaddingModeOpt = "zeros"  # type: ignore[assignment]
    depth_multiplier: DepthMultiplierOpt = 1
    output_padding: OutputPaddingOpt = None
    activation: ActivationOpt = "linear"  # type: ignore[assignment]
    dtype: DTypeOpt = DType.float32
    semantics: SemanticsOpt = Semantics.keras
    init: InitOpt = "random"  # type: ignore[assignment]
    seed: SeedOpt = 0
    kernel: KernelOpt = None
    kernel_layout: KernelLayoutOpt = None
    kernel_key: KernelKeyOpt = None
    bias: BiasOpt = None
    bias_key: BiasKeyOpt = None
    no_bias: NoBiasOpt = False
    flip: FlipOpt = False
    key: KeyOpt = None
    layout: LayoutOpt = None
    color_mode: ColorModeOpt = None
    keep_orientation: KeepOrientationOpt = False
    normalize: NormalizeOpt = False
    max_pixels: MaxPixelsOpt = None
    resize: ResizeOpt = None
    preprocess: PreprocessOpt = Preprocess.none
    model: ModelOpt = None
    layer: LayerOpt = None
    no_cache: NoCacheOpt = False
    #: the options the command line gave (not Typer parameters): a --model layer's own settings yield to these
    given: frozenset[str] = frozenset()


#: LayerOptions' fields that are not command-line options.
_NOT_OPTIONS = ("given",)


def takes_layer_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command(opts: LayerOptions, **own)`` as a Typer command whose parameters are the layer options, then its own.

    Typer reads a command's parameters from its signature: this one is the fields of LayerOptions
    (their Annotated options and defaults) followed by ``command``'s parameters after ``opts``.
    """
    hints = get_type_hints(LayerOptions, include_extras=True)
    layer = [inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=hints[f.name],
                               default=inspect.Parameter.empty if f.default is MISSING else f.default)
             for f in fields(LayerOptions) if f.name not in _NOT_OPTIONS]
    own = list(inspect.signature(command, eval_str=True).parameters.values())[1:]
    names = [p.name for p in layer]

    @functools.wraps(command)
    def typer_command(**values: Any) -> None:
        command(LayerOptions(**{name: values.pop(name) for name in names}, given=_given(names)), **values)

    typer_command.__signature__ = inspect.Signature([*layer, *own], return_annotation=None)  # type: ignore[attr-defined]
    typer_command.__annotations__ = {p.name: p.annotation for p in (*layer, *own)}
    return typer_command


def _given(names: list[str]) -> frozenset[str]:
    """The parameters among ``names`` that the command line set (not defaults, not the environment)."""
    # Typer vendors click as typer._click; tests/cli/test_cli_startup.py fails if that moves
    from typer._click.core import ParameterSource
    from typer._click.globals import get_current_context

    context = get_current_context(silent=True)
    if context is None:  # called outside Typer (a test calling the function): nothing was given
        return frozenset()
    return frozenset(n for n in names if context.get_parameter_source(n) is ParameterSource.COMMANDLINE)


def parse_layer(opts: LayerOptions, *, enforce_semantics: bool = True) -> Request:
    """The options as the pipeline's request, checked as far as they can be without data: usage errors (exit 2).

    How the settings fit the data (groups dividing the input's channels) is the spec's check, made
    when the layer is bound. ``enforce_semantics``: see :func:`convcli.pipeline.request.check_request`.
    Every command with the layer options shows every kind and rank (``--kind``, ``--ndim`` ...).
    """
    from convcli.cli.app import usage_errors
    from convcli.pipeline.checks import check_request
    from convcli.pipeline.request import Request

    check_count(opts.filters, "--filters")
    check_count(opts.groups, "--groups")
    check_count(opts.depth_multiplier, "--depth-multiplier")
    check_seed(opts.seed)
    kind, ndim = parse_kind(opts.kind, opts.ndim)
    kernel_hw = parse_axes(opts.kernel_size, "--kernel-size", ndim)
    stride = parse_axes(opts.stride, "--stride", ndim)
    dilation = parse_axes(opts.dilation, "--dilation", ndim)
    padding = parse_padding(opts.padding, ndim)
    output_padding = (parse_axes(opts.output_padding, "--output-padding", ndim, minimum=0)
                      if opts.output_padding is not None else None)
    resize = parse_resize(opts.resize) if opts.resize is not None else None
    request = Request(
        opts.input, filters=opts.filters, kernel_size=kernel_hw, stride=stride, padding=padding, dilation=dilation,
        groups=opts.groups, kind=kind, ndim=ndim, padding_mode=str(opts.padding_mode),
        depth_multiplier=opts.depth_multiplier, output_padding=output_padding, activation=str(opts.activation),
        dtype=str(opts.dtype), semantics=str(opts.semantics),
        init=str(opts.init), seed=opts.seed, kernel=opts.kernel, kernel_layout=_value(opts.kernel_layout),
        kernel_key=opts.kernel_key, bias=opts.bias, bias_key=opts.bias_key, no_bias=opts.no_bias, flip=opts.flip,
        key=opts.key, layout=_value(opts.layout), color_mode=_value(opts.color_mode),
        keep_orientation=opts.keep_orientation, normalize=opts.normalize, max_pixels=opts.max_pixels, resize=resize,
        preprocess=str(opts.preprocess), model=opts.model, layer=opts.layer, cache=not opts.no_cache,
        given=opts.given)
    with usage_errors():
        check_request(request, enforce_semantics=enforce_semantics)
    return request


def parse_kind(kind: str | None, ndim: int | None) -> tuple[str, int]:
    """``--kind`` and ``--ndim`` as ``(kind, ndim)``: a class name sets both, and ``--ndim`` may only agree
    with it (usage errors)."""
    from convcli.layer.kinds import LayerConfigError
    from convcli.layer.kinds import parse_kind as kind_and_ndim

    try:
        name, said = kind_and_ndim(kind) if kind is not None else ("conv", None)
    except LayerConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    if said is not None and ndim is not None and said != ndim:
        raise typer.BadParameter(f"--kind {kind} is {said}-D but --ndim is {ndim}; give one of them")
    return name, said or ndim or 2


def _value(choice: StrEnum | None) -> str | None:
    return None if choice is None else str(choice)
