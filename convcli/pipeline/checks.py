"""The checks of a request that need no data, in the order the CLI has always made them.

Each failure is a :class:`~convcli.pipeline.request.RequestError` naming its field; how the
settings fit the input's channels is the spec's check, made when the layer is bound.
"""

from __future__ import annotations

import os

from convcli.errors import ConfigError
from convcli.pipeline.binding import check_settings, layer_spec
from convcli.pipeline.request import Request, RequestError, as_axes, written

#: The options that make a kernel: a --model layer has its own.
MODEL_GIVES = ("kernel", "init", "seed", "kernel_size", "filters", "kernel_layout", "kernel_key")


def check_request(request: Request, *, enforce_semantics: bool = True) -> None:
    """The checks that need no data, in the order the CLI has always made them (:class:`RequestError`).

    With ``enforce_semantics``, ``semantics="torch"`` refuses what PyTorch refuses: padding 'same'
    with a stride > 1 (``verify`` shows that refusal in PyTorch's row instead). How the settings fit
    the input's channels is the spec's check, made when the layer is bound.
    """
    _check_model(request)
    _check_kind(request)
    _check_output_padding(request)
    if request.model is None:  # the filters are --filters (or a kernel file's): their fit with --groups
        depthwise = request.kind == "depthwise"
        check_settings(layer_spec(request.kind, request.groups, None if depthwise else request.filters,
                                  request.kernel_size, stride=request.stride, dilation=request.dilation,
                                  padding=request.padding, groups=request.groups,
                                  depth_multiplier=request.depth_multiplier, ndim=request.ndim,
                                  padding_mode=request.padding_mode, output_padding=request.output_padding),
                       filters_given=request.kernel is None)
    _check_bias(request)
    check_precision(request.precision, request.accumulate)
    stride = as_axes(request.stride, request.ndim)
    if enforce_semantics and request.semantics == "torch" and request.padding == "same" and set(stride) != {1}:
        raise RequestError(
            f"--semantics torch: PyTorch refuses padding='same' with --stride {written(request.stride)} "
            "(\"padding='same' is not supported for strided convolutions\"); give the pads with --padding P or PH,PW, or use "
            "--semantics keras for TensorFlow's 'same' (out = ceil(n / s), the odd pad at the bottom/right)",
            field="padding")


def _check_kind(request: Request) -> None:
    """A kind the engine computes (its kind object says), on the axes a model file's layer has."""
    from convcli.layer.kinds import kind_of

    kind = kind_of(request.kind)
    if not kind.computes:
        raise RequestError(f"--kind {request.kind}: convcli counts {kind.keras_name(request.ndim)} layers (convcli "
                           f"params) but cannot run or verify them yet; it computes conv and depthwise layers",
                           field="kind")
    if request.model is not None and (request.kind != "conv" or request.ndim != 2 or request.padding_mode != "zeros"):
        raise RequestError("--model gives the layer's kind, axes and padding; --kind, --ndim and --padding-mode "
                           "cannot be combined with it", field="model")
    if "depth_multiplier" in request.given and request.kind not in ("depthwise", "separable"):
        raise RequestError(f"--depth-multiplier is for depthwise and separable layers, not {request.kind}; give "
                           "--kind depthwise or separable",
                           field="depth_multiplier")
    if request.kind == "depthwise" and "filters" in request.given:
        raise RequestError("a depthwise layer has no --filters: it outputs C·M channels (set M with "
                           "--depth-multiplier)", field="filters")


def _check_output_padding(request: Request) -> None:
    """``--output-padding``: a transposed layer's, smaller than the stride (Keras' valid/same) or than the stride
    or the dilation (PyTorch's --padding P), as each framework refuses it."""
    if request.output_padding is None:
        return
    if request.kind != "transpose":
        raise RequestError(f"--output-padding is for transpose layers, not {request.kind}; give --kind transpose",
                           field="output_padding")
    from convcli.layer.geometry import check_output_padding

    n = request.ndim
    ops, strides, dilations = (as_axes(v, n) for v in (request.output_padding, request.stride, request.dilation))
    paddings = (request.padding,) * n if isinstance(request.padding, str) else as_axes(request.padding, n)
    for a in range(n):
        try:
            check_output_padding(ops[a], strides[a], dilations[a], paddings[a])
        except ConfigError as exc:
            axis = f" (axis {a})" if n > 1 and len(set(ops)) > 1 else ""
            raise RequestError(f"--output-padding{axis}: {exc.message}", field="output_padding") from None


def _check_model(request: Request) -> None:
    if (request.model is None) != (request.layer is None):
        raise RequestError("--model and --layer go together: --model FILE --layer NAME (convcli layers FILE "
                           "lists the names)" if request.model is not None else
                           "--layer names a layer of --model FILE; give the model file too",
                           field="model" if request.model is None else "layer")
    if request.model is not None:
        clash = [f"--{n.replace('_', '-')}" for n in MODEL_GIVES if n in request.given]
        if clash:
            raise RequestError(f"--model gives the layer's kernel; {', '.join(clash)} cannot be combined with it",
                               field="model")


def _check_bias(request: Request) -> None:
    if request.bias is not None and request.no_bias:
        raise RequestError("--bias and --no-bias contradict each other", field="bias")
    if request.bias_key is None:
        return
    from convcli.sources.kernels import bias_numbers

    numbers = not isinstance(request.bias, (str, os.PathLike)) or bias_numbers(str(request.bias)) is not None
    if request.bias is not None and numbers:
        raise RequestError(f"--bias-key names an array inside a .npz; --bias {request.bias} is numbers",
                           field="bias_key")
    if request.no_bias or (request.bias is None and request.kernel is None):
        raise RequestError("--bias-key names the bias array inside a .npz: give --bias FILE.npz or --kernel "
                           "FILE.npz" if not request.no_bias else "--bias-key and --no-bias contradict each other",
                           field="bias_key")


def check_precision(precision: str | None, accumulate: str | None) -> None:
    """``--precision`` and ``--accumulate``: known names, and an adder the format is computed with
    (float16 adds only fp16 or bf16 products; float64 adds in float64)."""
    if precision is None and accumulate is None:
        return
    from convcli.engine.precision import ACCUMULATIONS, FORMATS, PRECISIONS

    if precision is None:
        raise RequestError(f"--accumulate {accumulate} sets the emulation's adder; give --precision bf16 or fp16 "
                           "too", field="accumulate")
    if precision not in PRECISIONS:
        raise RequestError(f"--precision must be one of {', '.join(PRECISIONS)}; got {precision!r}", field="precision")
    if accumulate is None:
        return
    if accumulate not in ACCUMULATIONS:
        raise RequestError(f"--accumulate must be one of {', '.join(ACCUMULATIONS)}; got {accumulate!r}",
                           field="accumulate")
    if precision == "fp64":
        raise RequestError(f"--accumulate {accumulate} with --precision fp64: float64 adds in float64; leave "
                           "--accumulate out", field="accumulate", also="precision")
    if accumulate == "fp16" and precision not in ("fp16", "bf16"):
        title = FORMATS[precision].title
        raise RequestError(f"--accumulate fp16 with --precision {precision}: no kernel adds {title} products in "
                           "float16; use --precision fp16 or bf16, or --accumulate fp32", field="accumulate",
                           also="precision")
