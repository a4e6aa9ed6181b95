"""A model file's layer (``model``, ``layer``) built for exploring: its settings merged with the options.

The layer's learned kernel and bias (:mod:`convcli.sources.models.weights`), its stride, padding,
dilation, groups and activation as the file says, each overridden by an option given explicitly
(and a note says so). Its input is :mod:`convcli.pipeline.model_input`'s.

A 2-D conv or depthwise layer is bound as the classic Conv2D path binds its layer; a layer of another
rank (Conv1D, Conv3D, DepthwiseConv1D) or kind (Conv2DTranspose, SeparableConv2D) as ``run --kind``
binds it (:func:`convcli.pipeline.kinds.bind_kind`, the transposed and separable engines), its spec
set on the built layer: a 1-D layer shown as one row, a 3-D layer one depth slice at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcli.errors import ConfigError, ShapeError
from convcli.pipeline.built import FLIP_NOTE, BuiltLayer, nonfinite_warnings
from convcli.pipeline.model_input import channel_names, channels_first_hint, layer_input
from convcli.pipeline.request import Request, as_axes, as_pair, spelt, written

if TYPE_CHECKING:
    import numpy as np

    from convcli.layer.model import Listing, ModelLayer
    from convcli.sources.inputs import Loaded
    from convcli.sources.models.weights import LayerWeights

#: The engine computes these kinds of a model's layers.
EXPLORED = ("conv", "depthwise", "transpose", "separable")
#: ``load_input(request, ndim)``: the input as a layer of ``ndim`` axes reads it, and how it was read (warnings).
InputLoader = Callable[[Request, int], "tuple[Loaded, tuple[str, ...]]"]

#: ONNX activation nodes by op type: the engine's name for each.
ONNX_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Elu": "elu", "Selu": "selu",
                    "Softplus": "softplus", "Softsign": "softsign", "HardSigmoid": "hard_sigmoid"}


@dataclass
class _Merged:
    """The settings merged so far: the notes to show and the overrides for --json, in the order made."""

    request: Request
    listing: Listing
    notes: list[str] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)

    def setting(self, option: str, theirs: Any, ours: Any, show: Any = None) -> Any:
        """The file's setting, or the option's when given (noted when they differ)."""
        if not self.listing.graph:  # the file holds weights only: every setting is the option's
            return ours
        if option in self.request.given:
            if ours != theirs:
                self.overrides[option] = {"model": theirs if show is None else show, "given": ours}
                self.notes.append(f"--{option.replace('_', '-')} {spelt(ours)} overrides the model's "
                                  f"{show if show is not None else spelt(theirs)}")
            return ours
        return theirs


def build_model_layer(request: Request, load_input: InputLoader) -> BuiltLayer:
    """The ``layer`` of ``model`` bound to its input, read by ``load_input`` as the layer's rank reads it
    (:func:`convcli.pipeline.build.load_model_input`): data errors name the file."""
    from convcli.sources.models import read_model
    from convcli.sources.models.weights import find_layer, layer_weights

    model = str(request.model)
    listing = read_model(model)
    index, ml = find_layer(listing, str(request.layer))
    ndim = len(ml.kernel) if ml.kernel else 2
    loaded, read_as = load_input(request, ndim)
    weights = layer_weights(model, listing, ml)
    if ndim != 2 or ml.kind in ("transpose", "separable"):
        built = _build_kind_layer(request, loaded, listing, index, ml, weights)
    else:
        built = _build_2d_layer(request, loaded, listing, index, ml, weights)
    return replace(built, warnings=(*read_as, *built.warnings))


def _build_2d_layer(request: Request, loaded: Loaded, listing: Listing, index: int, ml: ModelLayer,
                    weights: LayerWeights) -> BuiltLayer:
    """A Conv2D or DepthwiseConv2D layer (kernel ``(kh, kw, C/g, F)`` / ``(kh, kw, C, M)``), bound as the classic path."""
    import numpy as np

    from convcli.pipeline.binding import bound_layer, layer_spec
    from convcli.text import shown

    model = str(request.model)
    kernel = np.asarray(weights.kernel)
    merged = _Merged(request, listing)
    x, input_note, input_by = layer_input(request, loaded, listing, index, ml, kernel)
    if input_note:
        merged.notes.append(input_note)
    stride, dilation, padding, x = _geometry(merged, ml, x, kernel)
    groups, filters, multiplier = _grouping(merged, ml, int(x.shape[2]), kernel)
    activation = _merged_activation(merged, ml, model)
    bias, use_bias = _merged_bias(merged, weights)
    _check_channels(request, loaded, listing, ml, int(x.shape[2]), int(kernel.shape[2]), groups, input_by)
    spec = layer_spec(ml.kind, int(x.shape[2]), filters, (int(kernel.shape[0]), int(kernel.shape[1])), stride=stride,
                      dilation=dilation, padding=padding, groups=groups, depth_multiplier=multiplier,
                      use_bias=use_bias)
    names = channel_names(loaded, x, input_by, listing.layers[:index])
    layer = bound_layer(spec, x, kernel[::-1, ::-1].copy() if request.flip else kernel, dtype=request.dtype,
                        input_name=request.input_name, kernel_name=model, channel_names=names)
    _check_bias_and_dtype(request, bias, layer, weights.dtype, merged.notes)
    name = shown(ml.name)
    loaded_x = replace(loaded, array=x, channel_names=names,
                       description=loaded.description if not input_by else input_by)
    warned = _scaling_warning(request, listing, index, input_by) + nonfinite_warnings(
        request.input_name if not input_by else f"the input of {name!r}", x, layer,
        (f"the kernel of {name!r} in {model}", kernel), (f"the bias of {name!r}", bias))
    return BuiltLayer(loaded_x, layer, bias, _source(request, ml, index), warned,
                      padding=padding, activation=activation, use_bias=use_bias,
                      notes=((FLIP_NOTE,) if request.flip else ()) + tuple(merged.notes),
                      model=_doc(request, listing, index, ml, input_by, merged))


def _source(request: Request, ml: ModelLayer, index: int) -> str:
    from convcli.text import shown

    return (f"learned: {shown(Path(str(request.model)).name)} {shown(ml.name)!r} #{index} {shown(ml.class_name)}"
            + (", flipped (--flip)" if request.flip else ""))


def _doc(request: Request, listing: Listing, index: int, ml: ModelLayer, input_by: str,
         merged: _Merged) -> dict[str, object]:
    return {"file": str(request.model), "format": listing.format, "layer": ml.name, "index": index,
            "class_name": ml.class_name, "kind": ml.kind, "input": "image" if not input_by else input_by,
            "overrides": merged.overrides}


def _build_kind_layer(request: Request, loaded: Loaded, listing: Listing, index: int, ml: ModelLayer,
                      weights: LayerWeights) -> BuiltLayer:
    """A layer of another rank or kind (:mod:`convcli.pipeline.model_kinds`): Conv1D/3D and DepthwiseConv1D bound
    as ``run --kind`` binds them, a transposed or separable layer by their engines; ``weights`` in the kind's
    Keras layout."""
    import numpy as np

    from convcli import engine
    from convcli.pipeline import model_kinds
    from convcli.text import shown

    model, name = str(request.model), shown(ml.name)
    kernel = np.asarray(weights.kernel)
    n = kernel.ndim - 2
    merged = _Merged(request, listing)
    x, input_note, input_by = layer_input(request, loaded, listing, index, ml, kernel)
    if input_note:
        merged.notes.append(input_note)
    stride = merged.setting("stride", model_kinds.axes(ml.strides, n), as_axes(request.stride, n))
    dilation = merged.setting("dilation", model_kinds.axes(ml.dilation, n), as_axes(request.dilation, n))
    theirs, padded, pad_note = model_kinds.kind_padding(ml, x)
    padding: str | tuple[int, ...] = theirs
    if "padding" in request.given and request.padding != theirs:
        padding = request.padding if isinstance(request.padding, str) else as_axes(request.padding, n)
        what = pad_note.split(" (before")[0].removeprefix("the model pads ") if pad_note else spelt(theirs)
        merged.notes.append(f"--padding {written(request.padding)} overrides the model's {what}")
        merged.overrides["padding"] = {"model": what, "given": written(request.padding)}
    else:
        x = padded
        merged.notes.extend([pad_note] if pad_note else [])
    groups = merged.setting("groups", ml.groups or 1, request.groups) if ml.kind in ("conv", "transpose") else 1
    activation = _merged_activation(merged, ml, model)
    bias, use_bias = _merged_bias(merged, weights)
    cg = int(kernel.shape[-1]) // groups if ml.kind == "transpose" else int(kernel.shape[-2])
    _check_channels(request, loaded, listing, ml, int(x.shape[-1]), cg, groups, input_by)
    spec = model_kinds.kind_spec(ml, kernel, weights.pointwise, int(x.shape[-1]), stride, dilation, padding, groups,
                                 use_bias)
    layer, own, kept, notes = model_kinds.bind_model_kind(spec, x, kernel, weights.pointwise, flip=request.flip,
                                                          dtype=request.dtype)
    _check_bias_and_dtype(request, bias, layer, weights.dtype, merged.notes)
    names = channel_names(loaded, x, input_by, listing.layers[:index])
    loaded_x = replace(loaded, array=x, channel_names=names,
                       description=loaded.description if not input_by else input_by)
    warned = _scaling_warning(request, listing, index, input_by) + nonfinite_warnings(
        request.input_name if not input_by else f"the input of {name!r}", x, layer,
        (f"the kernel of {name!r} in {model}", kernel), (f"the bias of {name!r}", bias))
    return BuiltLayer(loaded_x, engine.one_row(layer) if n == 1 else layer, bias, _source(request, ml, index),
                      warned, padding="valid", activation=activation, use_bias=use_bias,
                      notes=((FLIP_NOTE,) if request.flip else ()) + tuple(merged.notes) + notes,
                      model=_doc(request, listing, index, ml, input_by, merged), spec=spec, weights=kept, own=own)


def _geometry(merged: _Merged, ml: ModelLayer, x: np.ndarray, kernel: np.ndarray
              ) -> tuple[tuple[int, int], tuple[int, int], str | tuple[int, int], np.ndarray]:
    """``(stride, dilation, padding, x)``: the file's, or the options' given; ``x`` with the zeros of an
    asymmetric padding added, when the file's padding holds."""
    from convcli.text import shown

    request, listing = merged.request, merged.listing
    stride = merged.setting("stride", _pair(ml.strides), as_pair(request.stride))
    dilation = merged.setting("dilation", _pair(ml.dilation), as_pair(request.dilation))
    theirs, padded, pad_note = _padding(ml, x, kernel, stride, dilation)
    padding: Any
    if not listing.graph:
        padding = request.padding
        merged.notes.append(f"{shown(Path(str(request.model)).name)} holds weights only: the stride, padding, "
                            "dilation, groups and activation are the options' (their defaults unless given)")
    elif "padding" in request.given and request.padding != theirs:
        padding = request.padding  # the model's own pads are not added to the input either
        merged.notes.append(f"--padding {written(request.padding)} overrides the model's "
                            f"{_padding_text(theirs, pad_note)}")
        merged.overrides["padding"] = {"model": _padding_text(theirs, pad_note), "given": written(request.padding)}
    else:
        padding, x = theirs, padded
        if pad_note:
            merged.notes.append(pad_note)
    return stride, dilation, padding, x


def _grouping(merged: _Merged, ml: ModelLayer, c: int, kernel: np.ndarray) -> tuple[int, int | None, int]:
    """``(groups, filters, depth_multiplier)`` of the layer on ``c`` input channels; ``kernel (kh, kw, C/g, F)``."""
    request, cg = merged.request, int(kernel.shape[2])
    if ml.kind == "depthwise":
        return 1, None, int(kernel.shape[3])
    if merged.listing.graph:
        groups = merged.setting("groups", ml.groups or 1, request.groups)
    else:  # the kernel's C/g and the input's C give the groups, unless --groups says
        groups = request.groups if "groups" in request.given else (c // cg if cg and c % cg == 0 else 1)
        if groups > 1 and "groups" not in request.given:
            merged.notes.append(f"groups {groups}: the kernel reads {cg} channel{'s' * (cg > 1)} per group and the "
                                f"input has {c} (--groups chooses)")
    return groups, int(kernel.shape[3]), 1


def _merged_activation(merged: _Merged, ml: ModelLayer, model: str) -> str:
    theirs, note = _activation(ml, model, merged.listing)
    activation: str = merged.setting("activation", theirs, merged.request.activation)
    if note and "activation" not in merged.request.given:
        merged.notes.append(note)
    return activation


def _merged_bias(merged: _Merged, weights: LayerWeights) -> tuple[np.ndarray | None, bool]:
    """``(bias (F,), use_bias)``: the learned bias, none (``no_bias``) or the option's."""
    import numpy as np

    from convcli.pipeline.binding import bias_values

    request = merged.request
    bias = None if weights.bias is None else np.asarray(weights.bias)
    use_bias = bias is not None
    if "no_bias" in request.given and request.no_bias:
        if use_bias:
            merged.notes.append("--no-bias leaves out the model's bias")
            merged.overrides["use_bias"] = {"model": True, "given": False}
        return None, False
    if "bias" in request.given:
        merged.notes.append(f"--bias {request.bias} replaces the model's {'bias' if use_bias else 'missing bias'}")
        merged.overrides["bias"] = {"model": "learned" if use_bias else None, "given": request.bias}
        return bias_values(request.bias, request.bias_key), True
    return bias, use_bias


def _check_channels(request: Request, loaded: Loaded, listing: Listing, ml: ModelLayer, c: int, cg: int, groups: int,
                    input_by: str) -> None:
    """The layer reads as many channels as its input has (``cg`` per group), or a data error names both (and
    ``--layout channels-first`` when the array file reads as PyTorch's ``(C, H, W)``)."""
    from convcli.text import shown

    model, name = shown(str(request.model)), shown(ml.name)
    expected = cg if ml.kind == "depthwise" else cg * groups
    if not listing.graph and c % cg:
        raise ShapeError(f"{model}: layer {name!r} reads {cg} channels per group, which does not divide the "
                         f"{c} of {shown(request.input_name)}"
                         + (channels_first_hint(request, loaded, {cg}) or
                            "; pass the layer's input as an array file (H, W, C)"))
    if c != expected:
        what = "its input" if input_by else shown(request.input_name)
        how = f" (--groups {groups} × {cg} per group)" if "groups" in request.given and ml.kind != "depthwise" else ""
        hint = channels_first_hint(request, loaded, {expected})
        raise ShapeError(f"{model}: layer {name!r} ({ml.class_name}) reads {expected} channels{how}, but {what} "
                         f"has {c}" + (hint if hint or input_by or listing.graph else
                                       "; pass the layer's input as an array file (H, W, C)"))


def _scaling_warning(request: Request, listing: Listing, index: int, input_by: str) -> tuple[str, ...]:
    """A warning when ``preprocess`` scales an image that the model scales itself (Rescaling, ONNX's Mul of
    a constant): only layers on the layer's path that read the image as it comes in count, never a
    residual Add (:func:`convcli.sources.models.paths.image_scalings`)."""
    from convcli.sources.models.paths import image_scalings
    from convcli.text import shown

    scaling = image_scalings(listing, index)
    if input_by and scaling and request.preprocess != "none":
        return (f"--preprocess {request.preprocess} and the model's own {scaling[0].class_name} "
                f"{shown(scaling[0].name)!r} both scale the image; the model expects it as stored",)
    return ()


def _pair(value: tuple[int, ...] | None) -> tuple[int, int]:
    if value is None:
        return (1, 1)
    return (int(value[0]), int(value[-1])) if len(value) >= 2 else (int(value[0]), int(value[0]))


def _activation(ml: ModelLayer, model: str, listing: Listing) -> tuple[str, str]:
    """The layer's activation, and a note when it is a node of its own (ONNX keeps Relu apart from Conv)."""
    from convcli.engine import ACTIVATIONS
    from convcli.text import shown

    act = ml.activation
    if act is None and listing.format == "onnx":
        readers = [m for m in listing.layers if m.inbound is not None and ml.name in m.inbound]
        if len(readers) == 1 and readers[0].class_name in ONNX_ACTIVATIONS:
            node = readers[0]
            return ONNX_ACTIVATIONS[node.class_name], (
                f"the {shown(node.class_name)} node {shown(node.name)!r} that alone reads this Conv is applied as "
                f"its activation (--activation linear shows the Conv alone)")
    if act is None:
        return "linear", ""  # a weights-only file: the note says the activation is the option's
    act = {"swish": "silu"}.get(act, act) if act not in ACTIVATIONS else act
    if act not in ACTIVATIONS:
        raise ConfigError(f"{shown(model)}: layer {shown(ml.name)!r} has the activation {shown(act)!r}, which convcli "
                          "does not compute; give --activation linear to see its pre-activation", field="activation")
    return act, ""


def _padding(ml: ModelLayer, x: np.ndarray, kernel: np.ndarray, stride: tuple[int, int],
             dilation: tuple[int, int]) -> tuple[str | tuple[int, int], np.ndarray, str]:
    """The layer's padding as the engine takes it, the input (zeros added for asymmetric pads) and a note."""
    import numpy as np

    from convcli.layer.geometry import same_pads_1d

    if isinstance(ml.padding, str) and ml.padding in ("valid", "same"):
        return ml.padding, x, ""
    pads = ml.pads
    if pads is None and ml.padding == "same_lower":
        (b, t), (r, le) = (same_pads_1d(int(x.shape[a]), int(kernel.shape[a]), stride[a], dilation[a]) for a in (0, 1))
        pads = (t, b, le, r)
    if pads is None:
        return "valid", x, ""
    top, bottom, left, right = pads
    if top == bottom and left == right:
        return ((top, left) if (top, left) != (0, 0) else "valid"), x, ""
    padded = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    return "valid", padded, (f"the model pads ({top}, {bottom}, {left}, {right}) (top, bottom, left, right): the "
                             "input is shown with those zeros added, and the layer pads no more")


def _padding_text(padding: object, pad_note: str = "") -> str:
    if pad_note:
        return pad_note.split(" (top")[0].removeprefix("the model pads ")
    return spelt(padding)


def _check_bias_and_dtype(request: Request, bias: Any, layer: Any, dtype: str, notes: list[str]) -> None:
    """A ``--bias`` checked against the layer's filters, and a note when the file's weights are in another
    float type than the one computed in."""
    from convcli import engine

    if bias is not None:
        try:
            engine.check_bias(bias, layer.filters, layer.x.dtype)
        except ShapeError as exc:
            raise ShapeError(f"--bias {request.bias}: {exc.message}") from None
    if dtype not in ("float32", request.dtype):
        notes.append(f"the model stores its weights as {dtype}; computed in {request.dtype}")
