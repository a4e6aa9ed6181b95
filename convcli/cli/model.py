"""``--model FILE --layer NAME``: the layer of a model file that ``run`` and ``verify`` explore.

The layer's learned kernel and bias (:mod:`convcli.sources.models.weights`), its stride, padding,
dilation, groups and activation as the file says, each overridden by an option the command line
gave (and the header says so). Its input is the image itself when the layer reads the model's input;
otherwise the model is run up to the layer (:mod:`convcli.sources.models.upstream`: Keras or ONNX
Runtime), or an array file whose channels are the layer's is taken as that input.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcli.errors import ConfigError, ShapeError

if TYPE_CHECKING:
    import numpy as np

    from convcli.cli.layer import BuiltLayer
    from convcli.cli.options import LayerOptions, ParsedLayer
    from convcli.layer.model import Listing, ModelLayer
    from convcli.sources.inputs import Loaded

#: The engine computes these kinds of a model's layers.
EXPLORED = ("conv", "depthwise")


def _pair(value: tuple[int, ...] | None) -> tuple[int, int]:
    if value is None:
        return (1, 1)
    return (int(value[0]), int(value[-1])) if len(value) >= 2 else (int(value[0]), int(value[0]))


def _spelt(value: object) -> str:
    """A setting as an option spells it: ``(2, 2)`` -> ``2``, ``(1, 2)`` -> ``1,2``."""
    if isinstance(value, tuple) and len(value) == 2:
        return str(value[0]) if value[0] == value[1] else f"{value[0]},{value[1]}"
    return str(value)


def _is_image(loaded: Loaded) -> bool:
    """An image's channels are named by their colour (R, G, B, L, A); an array's c0, c1, ..."""
    return not loaded.channel_names[0].startswith("c")


def build_model_layer(opts: LayerOptions, parsed: ParsedLayer, loaded: Loaded) -> BuiltLayer:
    """The ``--layer`` of ``--model`` bound to its input: data errors exit 1 and name the file."""
    import numpy as np

    from convcli.cli.layer import BuiltLayer, nonfinite_warnings
    from convcli.cli.spec import bound_layer, layer_spec
    from convcli.sources import kernels
    from convcli.sources.models import read_model
    from convcli.sources.models.weights import find_layer, layer_weights
    from convcli.text import shown

    assert opts.model is not None and opts.layer is not None
    model = str(opts.model)
    listing = read_model(model)
    index, ml = find_layer(listing, opts.layer)
    weights = layer_weights(model, listing, ml)
    kernel = np.asarray(weights.kernel)
    name = shown(ml.name)
    notes: list[str] = []
    given = opts.given

    x, input_note, input_by = _layer_input(opts, loaded, listing, index, ml, kernel)
    if input_note:
        notes.append(input_note)
    c = int(x.shape[2])

    # the settings: the file's, each overridden by an option given
    overrides: dict[str, Any] = {}

    def setting(option: str, theirs: Any, ours: Any, show: Any = None) -> Any:
        if not listing.graph:  # the file holds weights only: every setting is the option's
            return ours
        if option in given:
            if ours != theirs:
                overrides[option] = {"model": theirs if show is None else show, "given": ours}
                notes.append(f"--{option.replace('_', '-')} {_spelt(ours)} overrides the model's "
                             f"{show if show is not None else _spelt(theirs)}")
            return ours
        return theirs

    kind = ml.kind
    stride = setting("stride", _pair(ml.strides), _as_pair(parsed.stride))
    dilation = setting("dilation", _pair(ml.dilation), _as_pair(parsed.dilation))
    theirs, padded, pad_note = _padding(ml, x, kernel, stride, dilation)
    if not listing.graph:
        padding = parsed.padding
        notes.append(f"{shown(Path(model).name)} holds weights only: the stride, padding, dilation, groups and "
                     "activation are the options' (their defaults unless given)")
    elif "padding" in given and parsed.padding != theirs:
        padding = parsed.padding  # the model's own pads are not added to the input either
        notes.append(f"--padding {opts.padding} overrides the model's {_padding_text(theirs, pad_note)}")
        overrides["padding"] = {"model": _padding_text(theirs, pad_note), "given": opts.padding}
    else:
        padding, x = theirs, padded
        if pad_note:
            notes.append(pad_note)
    cg = int(kernel.shape[2])
    if kind == "depthwise":
        groups, filters, multiplier = 1, None, int(kernel.shape[3])
    else:
        if listing.graph:
            groups = setting("groups", ml.groups or 1, opts.groups)
        else:  # the kernel's C/g and the input's C give the groups, unless --groups says
            groups = opts.groups if "groups" in given else (c // cg if cg and c % cg == 0 else 1)
            if groups > 1 and "groups" not in given:
                notes.append(f"groups {groups}: the kernel reads {cg} channel{'s' * (cg > 1)} per group and the input "
                             f"has {c} (--groups chooses)")
        filters, multiplier = int(kernel.shape[3]), 1
    theirs_act, act_note = _activation(ml, model, listing)
    activation = setting("activation", theirs_act, str(opts.activation))
    if act_note and "activation" not in given:
        notes.append(act_note)

    bias = None if weights.bias is None else np.asarray(weights.bias)
    use_bias = bias is not None
    if "no_bias" in given and opts.no_bias:
        if use_bias:
            notes.append("--no-bias leaves out the model's bias")
            overrides["use_bias"] = {"model": True, "given": False}
        bias, use_bias = None, False
    elif "bias" in given:
        bias = kernels.parse_bias(opts.bias, key=opts.bias_key)
        notes.append(f"--bias {opts.bias} replaces the model's {'bias' if use_bias else 'missing bias'}")
        overrides["bias"] = {"model": "learned" if use_bias else None, "given": opts.bias}
        use_bias = True

    expected = cg if kind == "depthwise" else cg * groups
    if not listing.graph and c % cg:
        raise ShapeError(f"{shown(model)}: layer {name!r} reads {cg} channels per group, which does not divide the "
                         f"{c} of {shown(str(opts.input))}; pass the layer's input as an array file (H, W, C)")
    if c != expected:
        what = "its input" if input_by else shown(str(opts.input))
        how = f" (--groups {groups} × {cg} per group)" if "groups" in given and kind != "depthwise" else ""
        raise ShapeError(f"{shown(model)}: layer {name!r} ({ml.class_name}) reads {expected} channels{how}, but {what} "
                         f"has {c}" + ("" if input_by or listing.graph else
                                       "; pass the layer's input as an array file (H, W, C)"))
    spec = layer_spec(kind, c, filters, (int(kernel.shape[0]), int(kernel.shape[1])), stride=stride,
                      dilation=dilation, padding=padding, groups=groups, depth_multiplier=multiplier,
                      use_bias=use_bias)
    k = kernel[::-1, ::-1].copy() if opts.flip else kernel
    names = _names(loaded, x, input_by, listing.layers[:index])
    layer = bound_layer(spec, x, k, dtype=opts.dtype.value, input_name=str(opts.input), kernel_name=model,
                        channel_names=names)
    if bias is not None:
        from convcli import engine

        try:
            engine.check_bias(bias, layer.filters, layer.x.dtype)
        except ShapeError as exc:
            raise ShapeError(f"--bias {opts.bias}: {exc.message}") from None
    if weights.dtype not in ("float32", opts.dtype.value):
        notes.append(f"the model stores its weights as {weights.dtype}; computed in {opts.dtype.value}")
    source = f"learned: {shown(Path(model).name)} {name!r} #{index} {shown(ml.class_name)}"
    if opts.flip:
        source += ", flipped (--flip)"
    loaded_x = replace(loaded, array=x, channel_names=names,
                       description=loaded.description if not input_by else input_by)
    scaling = [m for m in listing.layers[:index] if m.class_name in PER_CHANNEL[1:]]  # Rescaling, or ONNX's Mul
    warned_scaling: tuple[str, ...] = ()
    if input_by and scaling and str(opts.preprocess) != "none":
        warned_scaling = (f"--preprocess {opts.preprocess} and the model's own {scaling[0].class_name} "
                          f"{shown(scaling[0].name)!r} both scale the image; the model expects it as stored",)
    warned = warned_scaling + nonfinite_warnings(str(opts.input) if not input_by else f"the input of {name!r}", x, layer,
                                (f"the kernel of {name!r} in {model}", kernel), (f"the bias of {name!r}", bias))
    doc = {"file": model, "format": listing.format, "layer": ml.name, "index": index, "class_name": ml.class_name,
           "kind": kind, "input": "image" if not input_by else input_by, "overrides": overrides}
    return BuiltLayer(loaded_x, layer, bias, source, warned, padding=padding, activation=activation,
                      use_bias=use_bias, notes=tuple(notes), model=doc)


def _as_pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else value


#: Layers that keep each channel what it was (a scale and a shift per channel): the image's channel names stay.
PER_CHANNEL = ("input", "Rescaling", "Normalization", "Mul", "Add", "Sub", "Div")


def _names(loaded: Loaded, x: np.ndarray, input_by: str, before: tuple[ModelLayer, ...] = ()) -> tuple[str, ...]:
    """The channel names of the layer's input: the image's, when only per-channel scaling came before."""
    same = len(loaded.channel_names) == x.shape[2]
    if same and (not input_by or all(m.kind == "input" or m.class_name in PER_CHANNEL for m in before)):
        return loaded.channel_names
    return tuple(f"c{i}" for i in range(x.shape[2]))


def _layer_input(opts: LayerOptions, loaded: Loaded, listing: Listing, index: int, ml: ModelLayer,
                 kernel: np.ndarray) -> tuple[np.ndarray, str, str]:
    """``(x, note, by)``: the layer's input, the header's note about it, and what computed it ("" for the file)."""
    from convcli.text import shown

    x = loaded.array
    if not listing.graph:
        return x, "", ""  # no graph: the input given is the layer's
    from convcli.sources.models import upstream

    if not upstream.needs_upstream(listing, index):
        return x, "", ""
    reads = int(kernel.shape[2]) * (ml.groups or 1) if ml.kind != "depthwise" else int(kernel.shape[2])
    if not _is_image(loaded) and x.shape[2] == reads:
        return x, (f"{shown(str(opts.input))} is taken as the input of {shown(ml.name)!r} (it has the layer's {reads} "
                   "channels): nothing before the layer runs"), ""
    inputs = [m.input_shape for m in listing.layers if m.kind == "input" and m.input_shape]
    takes = inputs[0][-1] if len(inputs) == 1 else None
    if not _is_image(loaded) and takes is not None and x.shape[2] != takes:
        raise ShapeError(f"{shown(str(opts.input))} has {x.shape[2]} channels: layer {shown(ml.name)!r} reads {reads} "
                         f"(give its input as an array of that many) and the model's input takes {takes}")
    _check_upstream_fits(listing, index, x)
    found = upstream.layer_input(str(opts.model), listing, index, x)
    return found.array, found.note, f"{loaded.description} → the input of {shown(ml.name)!r}, by {found.by}"


#: ONNX activation nodes by op type: the engine's name for each.
ONNX_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Elu": "elu", "Selu": "selu",
                    "Softplus": "softplus", "Softsign": "softsign", "HardSigmoid": "hard_sigmoid"}


def _check_upstream_fits(listing: Listing, index: int, x: np.ndarray) -> None:
    """Before the model runs up to the layer: its largest activations (from the listing's shapes, float32, a
    framework holding about three at once) fit in memory. A listing whose shapes cannot be followed is left
    to the framework."""
    from math import prod

    from convcli.cli import memory
    from convcli.errors import ConvcliError
    from convcli.layer.model import analyse

    try:
        numbers = analyse(replace(listing, layers=listing.layers[: index + 1]), tuple(int(v) for v in x.shape))
    except ConvcliError:
        return
    largest = max((prod(n.out_shape) for n in numbers.layers if n.out_shape), default=0)
    memory.ensure_fits(3 * 4 * largest + x.size * 8, f"model's activations up to the layer ({largest:,} values at "
                       "the most)", "use a smaller image: --resize H,W")


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
    return _spelt(padding)
