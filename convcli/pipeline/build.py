"""A request's layer: the input loaded, the kernel made (a preset) or read (a file or a model's layer), bound.

Data errors here are :class:`~convcli.errors.ShapeError`, ``ResourceError`` and the loaders' errors;
NaN/±Inf in the data become the built layer's warnings (:mod:`convcli.pipeline.built`).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from convcli.errors import ConfigError
from convcli.pipeline.built import FLIP_NOTE, BuiltLayer, nonfinite_warnings
from convcli.pipeline.request import Request, RequestError

if TYPE_CHECKING:  # numpy and the engine are imported inside the functions, for start-up time
    import numpy as np

    from convcli.sources.inputs import Loaded


def build_layer(request: Request) -> BuiltLayer:
    """Load the input, make or load the kernel and bind them (``request`` checked by :func:`~convcli.pipeline.checks.check_request`)."""
    if request.ndim != 2 or request.kind != "conv" or request.padding_mode != "zeros":
        from convcli.pipeline.kinds import build_kind_layer

        loaded = load(request) if request.ndim == 2 else load_of_rank(request)
        return build_kind_layer(request, loaded, bias_of(request))
    if request.model is not None:
        from convcli.pipeline.model_layer import build_model_layer

        return build_model_layer(request, load_model_input)
    loaded = load(request)
    read_as = layout_warning(request, loaded)
    from convcli.pipeline.binding import bound_layer, layer_spec

    x = loaded.array
    c, groups = x.shape[2], request.groups
    cg = c // groups if c % groups == 0 else 1  # a groups that does not divide C is refused by bound_layer
    k, kernel_source = _kernel(request, x, cg)
    spec = layer_spec("conv", c, int(k.shape[3]), (int(k.shape[0]), int(k.shape[1])), stride=request.stride,
                      dilation=request.dilation, padding=request.padding, groups=groups,
                      use_bias=not request.no_bias)
    layer = bound_layer(spec, x, k[::-1, ::-1].copy() if request.flip else k, dtype=request.dtype,
                        input_name=request.input_name,
                        kernel_name=None if request.kernel is None else str(request.kernel),
                        channel_names=loaded.channel_names, kernel_layout=request.used_kernel_layout)
    if request.flip:
        kernel_source += ", flipped (--flip)"
    bias, bias_what, bias_source = bias_of(request)
    kernel_source += bias_source
    if bias is not None:
        from convcli import engine

        engine.check_bias(bias, layer.filters, layer.x.dtype)  # its length, before any warning is made
    warned = nonfinite_warnings(request.input_name, x, layer,
                                # before --flip, so the position is the file's tap (in Keras layout)
                                (f"the kernel from {request.kernel}", k) if request.kernel is not None else None,
                                (bias_what, bias))
    return BuiltLayer(loaded, layer, bias, kernel_source, (*read_as, *warned), padding=request.padding,
                      activation=str(request.activation), use_bias=not request.no_bias,
                      notes=(FLIP_NOTE,) if request.flip else ())


def load_model_input(request: Request, ndim: int) -> tuple[Loaded, tuple[str, ...]]:
    """The input of a ``--model`` layer of ``ndim`` axes, as that rank reads it, and how it was read: an
    image or array ``(H, W, C)`` (with :func:`layout_warning`'s warning) for a 2-D layer, an array
    ``(L, C)`` / ``(D, H, W, C)`` for a 1-D / 3-D one."""
    if ndim != 2:
        from convcli.pipeline.kinds import load_signal

        return load_signal(replace(request, ndim=ndim)), ()
    loaded = load(request)
    return loaded, layout_warning(request, loaded)


def layout_warning(request: Request, loaded: Loaded) -> tuple[str, ...]:
    """How an array file that reads either way (:func:`~convcli.sources.inputs.either_layout`: a
    ``3×3×3``) was read, when ``--semantics torch`` (not ``--layout``) chose channels-first: one warning,
    or none. Channels-last is every input's documented reading otherwise, so the textbook sample
    (3×3×3) says nothing under the default semantics; under torch semantics the same file silently
    summed the wrong axis."""
    from convcli.sources.inputs import either_layout

    shape = loaded.stored_shape
    used = request.input_layout
    if request.layout is not None or shape is None or not either_layout(shape) or used != "channels-first":
        return ()
    form = "(C, H, W)"
    why = f"as --semantics {request.semantics}"
    return (f"{loaded.path}: a {'×'.join(str(n) for n in shape)} array could be (H, W, C) or (C, H, W); read as "
            f"{form}, {why}; --layout channels-last or channels-first chooses",)


def _kernel(request: Request, x: np.ndarray, cg: int) -> tuple[np.ndarray, str]:
    """The kernel ``(kh, kw, cg, F)`` (a file's or a preset's) and how the header names where it came from."""
    from convcli.sources import kernels

    layout = request.used_kernel_layout
    if request.kernel is not None:
        k = kernels.load_kernel(request.kernel, layout, cg, key=request.kernel_key)
        kernel_source = f"{request.kernel} ({layout} layout)"
        if request.kernel_key is None and kernels.saved_weights(request.kernel):
            kernel_source = f"{request.kernel} arr_0 ({layout} layout)"
        return k, kernel_source
    _check_kernel_fits(x.shape[:2], request, cg)
    k = kernels.make_kernel(request.init, request.kernel_hw, cg, request.filters, seed=request.seed)
    return k, f"--init {request.init}" + (f" (seed {request.seed})" if request.init == "random" else "")


def bias_of(request: Request) -> tuple[np.ndarray | None, str, str]:
    """``(bias, what names it in a warning, what the kernel's source adds)``: the option's, the one beside a
    ``np.savez(*layer.get_weights())`` kernel, or None."""
    from convcli.sources import kernels

    if request.bias is not None:
        from convcli.pipeline.binding import bias_values

        return bias_values(request.bias, request.bias_key), f"--bias {request.bias}", ""
    if request.kernel is not None and not request.no_bias and (request.bias_key is not None or (
            request.kernel_key is None and kernels.saved_weights(request.kernel))):
        # a layer's np.savez(*layer.get_weights()): its bias is beside its kernel
        bias_key = request.bias_key or kernels.GET_WEIGHTS[1]
        bias = kernels.parse_bias(str(request.kernel), key=bias_key)
        return bias, f"the bias {bias_key} of {request.kernel}", f", bias {bias_key}"
    return None, "", ""


def load(request: Request) -> Loaded:
    """The input as the request reads it: resized (``resize``), then scaled (``preprocess``)."""
    from convcli.sources import inputs

    if request.normalize and request.preprocess != "none":
        raise RequestError(f"--normalize and --preprocess {request.preprocess} both scale the input; give one",
                           field="preprocess")
    if isinstance(request.input, (str, os.PathLike)):
        _refuse_signal_file(request.input, request.ndim)
        loaded = inputs.load_input(request.input, key=request.key, layout=request.input_layout,
                                   normalize=request.normalize, color_mode=request.color_mode,
                                   keep_orientation=request.keep_orientation, resize=request.resize,
                                   **({"max_pixels": request.max_pixels} if request.max_pixels else {}))
    else:
        loaded = _from_array(request)
    if request.preprocess == "none":
        return loaded
    from convcli.sources import preprocess

    x = preprocess.preprocess(loaded.array, request.preprocess)
    return replace(loaded, array=x, description=f"{loaded.description}, --preprocess {request.preprocess}")


#: What a 1-D or 3-D layer reads besides arrays, for the messages that refuse another file.
SIGNAL_FILES = {1: "a WAV file, text columns (CSV, TSV, ...) or an array (L, C)",
                3: "a multi-frame TIFF or GIF or an array (D, H, W, C)"}


def _signal_kind(head: bytes) -> str | None:
    """``"wav"``, ``"frames"`` (TIFF, GIF) or another image format's name by a file's first bytes; None else."""
    from convcli.sources import sniff

    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    fmt = sniff.magic_format(head)
    return "frames" if fmt in ("TIFF", "GIF") else fmt


def _refuse_signal_file(path: str | os.PathLike[str], ndim: int) -> None:
    """A WAV file given to a 2-D layer: one line saying how to read it (images keep their 2-D reading)."""
    from convcli.errors import LoadError
    from convcli.sources import sniff

    name = sniff.name_of(path)
    if _signal_kind(sniff.head(name)) == "wav":
        raise LoadError(f"{name}: is WAV audio, a 1-D signal; a {ndim}-D layer reads images and arrays: give "
                        "--ndim 1 (or a 1-D --kind such as Conv1D)")


def load_of_rank(request: Request) -> Loaded:
    """A 1-D or 3-D layer's input ``(*S, C)``: with ``--ndim 1`` a WAV file (one channel per audio channel,
    values as stored unless ``normalize``) or text columns (:func:`convcli.sources.signals.read_signal`), with
    ``--ndim 3`` a multi-frame TIFF or GIF (the frames as the depth); an array file or array as
    :func:`convcli.pipeline.kinds.load_signal` reads it. The description says how the file was read."""
    from convcli.errors import LoadError
    from convcli.pipeline.kinds import load_signal
    from convcli.sources import signals, sniff

    if not isinstance(request.input, (str, os.PathLike)):
        return load_signal(request)
    name, n = sniff.name_of(request.input), request.ndim
    head = sniff.head(name)
    if sniff.is_numpy(head):
        return load_signal(request)
    kind = _signal_kind(head)
    if kind == "wav" and n != 1:
        raise LoadError(f"{name}: is WAV audio, a 1-D signal; a {n}-D layer reads {SIGNAL_FILES[n]}: give --ndim 1")
    if kind == "frames" and n != 3:
        raise LoadError(f"{name}: is a TIFF/GIF image; a 1-D layer reads {SIGNAL_FILES[1]} (its frames are a "
                        "3-D input with --ndim 3, its first frame a 2-D one without --ndim)")
    if kind not in (None, "wav", "frames"):
        raise LoadError(f"{name}: is a {kind} image; a {n}-D layer reads {SIGNAL_FILES[n]} (an image is a 2-D "
                        "input: leave out --ndim)")
    if kind is None and n == 3:
        return load_signal(request)  # text: an array of the layer's rank or refused, in load_signal's words
    given = [f for f in ("color_mode", "resize", "keep_orientation", "key", "layout") if getattr(request, f)]
    if given:
        raise ConfigError(f"{{field}} does not apply to {name}, read as a {n}-D signal", field=given[0])
    if request.max_pixels and kind != "frames":
        raise ConfigError(f"{{field}} bounds an image's pixels; {name} is read as a {n}-D signal", field="max_pixels")
    if kind == "frames":
        signal = signals.read_frames(name, **({"max_pixels": request.max_pixels} if request.max_pixels else {}))
    else:
        signal = signals.read_signal(name, normalize=request.normalize)  # WAV, else text columns
    x, description = signal.array, signal.description
    if request.normalize and kind != "wav":
        from convcli.sources.inputs import normalized

        description += ", normalized" if x.dtype.kind in "ui" else ", float values kept (normalize scales integers)"
        x = normalized(x)
    from convcli.sources.inputs import Loaded

    return Loaded(x, signal.channel_names, name, description, tuple(x.shape))


#: The options that say how to read a file: an array in memory takes none of them.
FILE_OPTIONS = ("key", "layout", "color_mode", "keep_orientation", "normalize", "max_pixels", "resize")


def _from_array(request: Request) -> Loaded:
    """An array input: ``(H, W, C)`` channels-last, or ``(H, W)`` one channel; channels named c0, c1, ..."""
    import numpy as np

    from convcli.sources.inputs import Loaded

    given = [name for name in FILE_OPTIONS if getattr(request, name)]
    if given:
        raise ConfigError("{field} reads a file; the input is an array (H, W, C) as it is", field=given[0])
    arr = np.asarray(request.input)
    if arr.ndim not in (2, 3) or arr.dtype.kind not in "uif" or arr.size == 0:
        raise ConfigError(f"{{field}} must be a real, non-empty (H, W, C) or (H, W) array; got shape "
                          f"{arr.shape} of {arr.dtype}", field="input")
    hwc = arr[:, :, None] if arr.ndim == 2 else arr
    form = "(H, W) -> 1 channel" if arr.ndim == 2 else "(H, W, C)"
    return Loaded(np.ascontiguousarray(hwc), tuple(f"c{i}" for i in range(hwc.shape[2])), "array",
                  f"array, {arr.dtype}, {form}")


def _check_kernel_fits(in_hw: tuple[int, ...], request: Request, cg: int) -> None:
    """Before the kernel is made: it fits the input (the geometry's ShapeError, as bind would say it)
    and its ``kh·kw·Cg·F`` float64 weights fit in memory. Python ints: no product can overflow."""
    from convcli.layer.geometry import conv_geometry
    from convcli.pipeline import memory

    conv_geometry(in_hw, request.kernel_hw, stride=request.stride, padding=request.padding,
                  dilation=request.dilation)
    kh, kw = request.kernel_hw
    filters = request.filters
    memory.ensure_fits(kh * kw * cg * filters * 8, f"{kh}×{kw}×{cg}×{filters} kernel",
                       "use fewer --filters or a smaller --kernel-size")
