"""A Keras model config (``config.json`` of a ``.keras``, ``model_config`` of an ``.h5``) as layers.

Keras 3 and Keras 2 configs both: a ``Functional`` model's layers name their inputs in
``inbound_nodes`` (Keras 3: tensors whose ``keras_history`` is ``[layer, node, tensor]``; Keras 2:
``[[layer, node, tensor, kwargs], ...]``), a ``Sequential`` model's layers follow each other.
``weights`` gives the shapes of each layer's arrays (by layer name, in the order Keras creates
them): they supply the input channels a config lacks; a config that disagrees with them is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from convcli.errors import LoadError
from convcli.layer import model as lm
from convcli.layer.others import ELEMENTWISE, ELEMENTWISE_CLASSES
from convcli.layer.spec import LayerConfigError
from convcli.sources.models import bounds, keras_nested
from convcli.sources.models import keras_values as values
from convcli.text import shown

CONV_CLASSES = {
    "Conv2D": "conv", "Convolution2D": "conv", "DepthwiseConv2D": "depthwise", "SeparableConv2D": "separable",
    "SeparableConvolution2D": "separable", "Conv2DTranspose": "transpose", "Convolution2DTranspose": "transpose",
    "Conv1D": "conv", "Convolution1D": "conv", "Conv3D": "conv", "Convolution3D": "conv",
    "DepthwiseConv1D": "depthwise", "SeparableConv1D": "separable", "SeparableConvolution1D": "separable",
    "Conv1DTranspose": "transpose", "Conv3DTranspose": "transpose", "Convolution3DTranspose": "transpose",
}
#: The spatial axes of each conv class (the rest are 2-D).
CONV_AXES = {"Conv1D": 1, "Convolution1D": 1, "DepthwiseConv1D": 1, "SeparableConv1D": 1, "SeparableConvolution1D": 1,
             "Conv1DTranspose": 1, "Conv3D": 3, "Convolution3D": 3, "Conv3DTranspose": 3, "Convolution3DTranspose": 3}
OTHER_CLASSES = {
    "Dense": "dense", "BatchNormalization": "batchnorm", "MaxPooling2D": "maxpool", "MaxPool2D": "maxpool",
    "AveragePooling2D": "avgpool", "AvgPool2D": "avgpool", "GlobalAveragePooling2D": "globalavgpool",
    "GlobalAvgPool2D": "globalavgpool", "GlobalMaxPooling2D": "globalmaxpool", "GlobalMaxPool2D": "globalmaxpool",
    "Flatten": "flatten", "ZeroPadding2D": "zeropad", "Add": "add", "Reshape": "reshape",
    "Concatenate": "concatenate", "InputLayer": "input", "Rescaling": "rescaling", "Normalization": "normalization",
}
#: The 1-D and 3-D pooling classes, by their stems (``MaxPooling`` + ``1D``): a kind of OTHER_CLASSES each.
_POOL_STEMS = {"MaxPooling": "maxpool", "MaxPool": "maxpool", "AveragePooling": "avgpool", "AvgPool": "avgpool",
               "GlobalAveragePooling": "globalavgpool", "GlobalAvgPool": "globalavgpool",
               "GlobalMaxPooling": "globalmaxpool", "GlobalMaxPool": "globalmaxpool"}
OTHER_CLASSES |= {f"{stem}{n}D": kind for stem, kind in _POOL_STEMS.items() for n in (1, 3)} | {
    "ZeroPadding1D": "zeropad", "ZeroPadding3D": "zeropad", "Cropping1D": "crop", "Cropping3D": "crop",
    "UpSampling1D": "upsample", "UpSampling2D": "upsample", "UpSampling3D": "upsample", "Resizing": "resize"} | {
    name: name.lower() for name in ELEMENTWISE_CLASSES}
#: The spatial axes of each pooling class (the rest are 2-D).
POOL_AXES = {f"{stem}{n}D": n for stem in _POOL_STEMS for n in (1, 3)}
MODEL_CLASSES = ("Functional", "Sequential", "Model")
#: The most layers a listing holds (nested models' layers included): a listing is linear in its
#: layers, but a file that claims more than any real model has is refused before it is walked.
MAX_LAYERS = 50_000

#: Weights = {layer name: [(array name or "", shape), ...]}
Weights = Mapping[str, Sequence[tuple[str, tuple[int, ...]]]]


def _axes(v: Any, n: int, what: str, layer: str) -> tuple[int, ...]:
    """A per-axis setting of an ``n``-axis layer: one whole number for every axis, or ``n`` of them."""
    if n == 2:
        return values.pair(v, what, layer)
    if isinstance(v, (list, tuple)) and len(v) == 1:
        v = v[0]
    if isinstance(v, int) and not isinstance(v, bool):
        return (v,) * n
    if isinstance(v, (list, tuple)) and len(v) == n and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return tuple(int(x) for x in v)
    raise LoadError(f"layer {shown(layer)!r}: {what} is not one or {n} whole numbers: {shown(repr(v))[:80]}")


def _history(node: Any, out: list[str]) -> None:
    """The names of the layers a Keras 3 or Keras 2 inbound node reads, in order."""
    if isinstance(node, dict):
        cfg = node.get("config")
        if node.get("class_name") == "__keras_tensor__" and isinstance(cfg, dict):
            hist = cfg.get("keras_history")
            if isinstance(hist, list) and hist and isinstance(hist[0], str):
                out.append(keras_nested.output_name(hist[0], hist[2] if len(hist) > 2 else 0))
            return
        for key in ("args", "kwargs"):
            if key in node:
                _history(node[key], out)
        return
    if isinstance(node, list):
        if len(node) >= 3 and isinstance(node[0], str) and isinstance(node[1], int):  # Keras 2
            out.append(keras_nested.output_name(node[0], node[2]))
            return
        for item in node:
            _history(item, out)


def _in_channels(entry: dict[str, Any]) -> int | None:
    build = entry.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if isinstance(shape, list) and shape and isinstance(shape[-1], int) and not isinstance(shape[-1], bool):
        return int(shape[-1])
    return None


def _from_weights(kind: str, groups: int, shapes: Sequence[tuple[int, ...]]) -> int | None:
    """The input channels the first array shows (Keras layouts), when the config does not say."""
    if not shapes:
        return None
    s = shapes[0]
    if kind in ("conv",) and 3 <= len(s) <= 5:
        return s[-2] * groups
    if kind in ("depthwise", "separable") and 3 <= len(s) <= 5:
        return s[-2]
    if kind == "transpose" and 3 <= len(s) <= 5:
        return s[-1]
    if kind == "dense" and len(s) == 2:
        return s[0]
    if kind == "batchnorm" and len(s) == 1:
        return s[0]
    return None


def _layer(entry: dict[str, Any], shapes: Sequence[tuple[str, tuple[int, ...]]], chain: bool) -> lm.ModelLayer:
    cls = entry.get("class_name")
    cfg = entry.get("config")
    if not isinstance(cls, str) or not isinstance(cfg, dict):
        raise LoadError("a layer of the config has no class_name or config")
    name = cfg.get("name", entry.get("name"))
    if not isinstance(name, str):
        raise LoadError(f"a {shown(cls)} layer of the config has no name")
    inbound: tuple[str, ...] | None = None
    if not chain:
        nodes = entry.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise LoadError(f"layer {shown(name)!r}: its inbound_nodes are not a list")
        names: list[str] = []
        if nodes:
            _history(nodes[0], names)
        inbound = tuple(names)
    if cfg.get("data_format") == "channels_first":
        raise LoadError(f"layer {shown(name)!r} is channels_first; convcli reads channels_last models")
    weights = {wname or str(i): s for i, (wname, s) in enumerate(shapes)}
    arrays = [s for _, s in shapes]
    common: dict[str, Any] = {"name": name, "class_name": cls, "inbound": inbound, "weights": weights}
    if cls in CONV_CLASSES:
        kind = CONV_CLASSES[cls]
        groups = values.count(cfg, "groups", name, 1) or 1
        c = _in_channels(entry) or _from_weights(kind, groups, arrays)
        padding = cfg.get("padding", "valid")
        n = CONV_AXES.get(cls, 2)
        if padding not in ("valid", "same") and not (padding == "causal" and n == 1 and kind != "transpose"):
            raise LoadError(f"layer {shown(name)!r}: padding {shown(repr(padding))[:40]} is not valid or same")
        multiplier = values.count(cfg, "depth_multiplier", name, 1) if kind in ("depthwise", "separable") else None
        filters = None if kind == "depthwise" else values.count(cfg, "filters", name, None)
        return lm.ModelLayer(
            kind=kind, kernel=_axes(cfg.get("kernel_size"), n, "kernel_size", name),
            strides=_axes(cfg.get("strides", 1), n, "strides", name), padding=padding,
            dilation=_axes(cfg.get("dilation_rate", 1), n, "dilation_rate", name),
            groups=groups if kind in ("conv", "transpose") else None, depth_multiplier=multiplier,
            in_channels=c, filters=filters,
            use_bias=bool(cfg.get("use_bias", True)), activation=values.activation(cfg.get("activation")),
            output_padding=None if kind != "transpose" or cfg.get("output_padding") is None else
            _axes(cfg.get("output_padding"), n, "output_padding", name), **common,
        )
    kind = "other" if values.crops_first(cls, cfg) else OTHER_CLASSES.get(cls, "other")
    if cls in MODEL_CLASSES:
        return lm.ModelLayer(kind="other", activation=None, **common)
    extra: dict[str, Any] = {}
    if kind == "input":
        shape = cfg.get("batch_shape", cfg.get("batch_input_shape"))
        if isinstance(shape, list) and len(shape) >= 2:
            extra["input_shape"] = tuple(v if isinstance(v, int) and not isinstance(v, bool) else None
                                         for v in shape[1:])
    elif kind == "dense":
        extra |= {"units": values.count(cfg, "units", name, None), "use_bias": bool(cfg.get("use_bias", True)),
                  "activation": values.activation(cfg.get("activation")),
                  "in_channels": _in_channels(entry) or _from_weights(kind, 1, arrays)}
    elif kind == "batchnorm":
        extra["in_channels"] = _in_channels(entry) or _from_weights(kind, 1, arrays)
    elif kind in ("maxpool", "avgpool"):
        n = POOL_AXES.get(cls, 2)
        k = _axes(cfg.get("pool_size", 2), n, "pool_size", name)
        strides = cfg.get("strides")
        padding = cfg.get("padding", "valid")
        if padding not in ("valid", "same"):
            raise LoadError(f"layer {shown(name)!r}: padding {shown(repr(padding))[:40]} is not valid or same")
        extra |= {"kernel": k, "strides": k if strides is None else _axes(strides, n, "strides", name),
                  "padding": padding, "dilation": (1,) * n}
    elif kind in ("globalavgpool", "globalmaxpool"):
        extra["keepdims"] = bool(cfg.get("keepdims", False))
    elif kind == "zeropad":
        n = {"ZeroPadding1D": 1, "ZeroPadding3D": 3}.get(cls, 2)
        padding_cfg = cfg.get("padding", 1)
        extra["pads"] = values.zeropad(padding_cfg, name) if n == 2 else values.zeropad_nd(padding_cfg, n, name)
    elif kind == "crop":
        n = 1 if cls.endswith("1D") else 3
        extra["pads"] = values.zeropad_nd(cfg.get("cropping", 1), n, name, "cropping")
    elif kind == "upsample":
        n = {"UpSampling1D": 1, "UpSampling3D": 3}.get(cls, 2)
        size = _axes(cfg.get("size", 2), n, "size", name)
        extra |= {"kernel": size, "strides": size, "interpolation": values.interpolation(cfg)}
    elif kind == "resize":
        hw = _axes([cfg.get("height"), cfg.get("width")], 2, "its height and width", name)
        extra |= {"kernel": hw, "interpolation": values.interpolation(cfg)}
    elif kind == "rescaling":
        extra |= {"scale": values.number(cfg.get("scale")), "offset": values.number(cfg.get("offset", 0.0))}
    elif kind == "reshape":
        extra["target_shape"] = values.target_shape(cfg, name)
    elif kind == "concatenate":
        extra["axis"] = values.concat_axis(cfg, name)
    elif kind == "other" and isinstance(cfg.get("activation"), (str, dict)):
        extra["activation"] = values.activation(cfg.get("activation"))
    return lm.ModelLayer(kind=kind, **common, **extra)


def _check(layer: lm.ModelLayer, fmt: str) -> None:
    """Refuse a layer whose config and arrays disagree (the arrays are what count_params() counts)."""
    arrays = list(layer.weights.values())
    expected: list[tuple[int, ...]] | None = None
    if layer.kind in CONV_CLASSES.values() and layer.in_channels is not None:
        try:
            expected = list(layer.spec().kernel_shapes().values())
        except (LayerConfigError, AssertionError) as exc:
            raise LoadError(f"layer {shown(layer.name)!r}: {exc}") from None
    elif layer.kind == "dense" and layer.in_channels is not None and layer.units is not None:
        expected = [(layer.in_channels, layer.units)] + ([(layer.units,)] if layer.use_bias else [])
    elif layer.kind == "batchnorm" and layer.in_channels is not None:
        if any(s != (layer.in_channels,) for s in arrays) or not 2 <= len(arrays) <= 4:
            raise LoadError(f"layer {shown(layer.name)!r}: the config and the weights disagree: "
                            f"{layer.in_channels} channels, arrays {_shapes(arrays)}")
        return
    elif layer.kind in ("maxpool", "avgpool", "globalavgpool", "globalmaxpool", "flatten", "zeropad", "add",
                        "reshape", "concatenate", "input", "crop", "upsample", "resize", *ELEMENTWISE):
        expected = []
    if expected is None:
        return
    if [tuple(s) for s in expected] != arrays:
        raise LoadError(f"layer {shown(layer.name)!r}: the config and the weights disagree: the config makes "
                        f"{_shapes(expected)}, the {fmt} weights hold {_shapes(arrays)}")


def _shapes(shapes: Sequence[tuple[int, ...]]) -> str:
    return ", ".join("(" + ", ".join(str(v) for v in s) + ")" for s in shapes) or "none"


def _names_in(v: Any) -> list[str]:
    """A nested model's ``input_layers``/``output_layers``: ``[["name", 0, 0], ...]`` or one ``["name", 0, 0]``."""
    if isinstance(v, list) and len(v) >= 1 and isinstance(v[0], str):
        return [v[0]]
    if isinstance(v, list):
        return [item[0] for item in v if isinstance(item, list) and item and isinstance(item[0], str)]
    return []


def is_nested_model(entry: Any) -> bool:
    """Whether a config entry is a model inside the model (a functional or Sequential one, whose
    layers are listed in place, named by their path: ``backbone/conv1``)."""
    return (isinstance(entry, dict) and entry.get("class_name") in MODEL_CLASSES
            and isinstance(entry.get("config"), dict) and isinstance(entry["config"].get("layers"), list))


#: The deepest nesting of models inside models that is expanded.
MAX_NESTING = 16


class _Lister:
    """Walks a config's layers, a nested model's in place (its input layers read what feeds the nested
    model, the layers reading the nested model read its output)."""

    def __init__(self, model: str, weights: Weights | None, weights_name: str) -> None:
        self.model, self.weights, self.weights_name = model, weights, weights_name
        self.out: list[lm.ModelLayer] = []
        self.seen: set[str] = set()
        self.notes: list[str] = []
        self.alias: dict[str, str] = {}  # a nested model or its input layer -> the layer that stands for it
        self.count = 0

    def layers(self, entries: list[Any], chain: bool, prefix: str, feeds: tuple[str, ...] | None,
               input_names: list[str], depth: int) -> str | None:
        """List ``entries`` (a model's layers) with names under ``prefix``; ``feeds`` (None at the top)
        are what a nested model's inputs read. Returns the name of the last layer listed."""
        model = self.model
        self.count += len(entries)
        if self.count > MAX_LAYERS:
            raise LoadError(f"{model}: the config lists {self.count:,} layers; convcli lists at most {MAX_LAYERS:,}")
        last: str | None = None
        inputs_seen = 0
        after_nested: str | None = None  # in a chain, the output of the nested model just listed
        for entry in entries:
            if not isinstance(entry, dict):
                raise LoadError(f"{model}: a layer of the config is not an object")
            name = (entry.get("config") or {}).get("name") if isinstance(entry.get("config"), dict) else None
            if feeds is not None and entry.get("class_name") == "InputLayer" and isinstance(name, str):
                # a nested model's input: what feeds the nested model (by its input_layers' order)
                at = input_names.index(name) if name in input_names else inputs_seen
                inputs_seen += 1
                if at < len(feeds):
                    self.alias[prefix + name] = feeds[at]
                continue
            if is_nested_model(entry) and isinstance(name, str):
                last = after_nested = self.nested(entry, chain, prefix, prefix + name, last, depth)
                continue
            full = prefix + name if isinstance(name, str) else name
            shapes = list(self.weights.get(full, ())) if self.weights is not None and isinstance(full, str) else []
            try:
                layer = _layer(entry, shapes, chain)
            except LoadError as exc:
                raise LoadError(f"{model}: {exc.message}") from None
            except RecursionError:  # inbound nodes nested past Python's stack
                raise LoadError(f"{model}: layer {shown(str(full))!r}: its config is nested too deeply") from None
            if prefix or after_nested is not None:
                if chain:  # a Sequential's layer reads the one before it (the first, what feeds the model)
                    reads = (last,) if last is not None else (feeds or ())[:1]
                else:
                    reads = tuple(prefix + n for n in layer.inbound or ())
                layer = replace(layer, name=prefix + layer.name, inbound=reads)
            after_nested = None
            self.add(layer)
            last = layer.name
        return last

    def nested(self, entry: dict[str, Any], chain: bool, prefix: str, full: str, last: str | None,
               depth: int) -> str:
        """A model inside the model: its layers listed under ``full/``; returns the name of its output."""
        if depth >= MAX_NESTING:
            raise LoadError(f"{self.model}: model {shown(full)!r} is nested more than {MAX_NESTING} models deep")
        cfg = entry["config"]
        if chain:
            feeds: tuple[str, ...] = (last,) if last is not None else ()
        else:
            names: list[str] = []
            nodes = entry.get("inbound_nodes") or []
            if not isinstance(nodes, list):
                raise LoadError(f"{self.model}: layer {shown(full)!r}: its inbound_nodes are not a list")
            try:
                if nodes:
                    _history(nodes[0], names)
            except RecursionError:
                raise LoadError(f"{self.model}: layer {shown(full)!r}: its config is nested too deeply") from None
            feeds = tuple(prefix + n for n in names)
        inner_chain = entry.get("class_name") == "Sequential"
        before = len(self.out)
        end = self.layers(cfg["layers"], inner_chain, full + "/", feeds, _names_in(cfg.get("input_layers")),
                          depth + 1)
        outputs = _names_in(cfg.get("output_layers"))
        output = full + "/" + outputs[0] if outputs and not inner_chain else end
        if output is None:
            raise LoadError(f"{self.model}: the nested model {shown(full)!r} has no layers")
        self.alias |= {full: output, **keras_nested.output_aliases(full, outputs if not inner_chain else [])}
        self.notes.append(f"{shown(full)} is a nested {shown(str(entry.get('class_name')))} model: its "
                          f"{len(self.out) - before} layers are listed as {shown(full)}/..."
                          + keras_nested.calls_note(entry.get("inbound_nodes"), outputs))
        return output

    def add(self, layer: lm.ModelLayer) -> None:
        bounds.check_layer(self.model, layer, "keras")
        if layer.name in self.seen:
            raise LoadError(f"{self.model}: two layers are named {shown(layer.name)!r}")
        self.seen.add(layer.name)
        if self.weights is not None:
            try:
                _check(layer, self.weights_name)
            except LoadError as exc:
                raise LoadError(f"{self.model}: {exc.message}") from None
        self.out.append(layer)

    def resolved(self) -> list[lm.ModelLayer]:
        """The layers, each reading the layer that stands for a nested model, its input or its output."""
        def resolve(name: str) -> str:
            return keras_nested.resolve(name, self.alias, MAX_NESTING + 2)

        return [layer if layer.inbound is None or all(resolve(n) == n for n in layer.inbound)
                else replace(layer, inbound=tuple(resolve(n) for n in layer.inbound)) for layer in self.out]


def listing(model: str, fmt: str, config: Any, weights: Weights | None, weights_name: str) -> lm.Listing:
    """The layers of a Keras model config; ``weights`` None: not read (no check, no channels from it).

    A model nested in the model (a functional or Sequential one: a ``keras.applications`` backbone)
    is listed in place, its layers named by their path (``backbone/block_1_depthwise``); ``weights``
    are by those names."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise LoadError(f"{model}: the model config is not a Keras model config")
    cls = config.get("class_name")
    layers = config["config"].get("layers")
    if not isinstance(layers, list):
        raise LoadError(f"{model}: the {shown(str(cls))} config holds no layer list (a subclassed model "
                        "keeps its graph in code; export it to ONNX)")
    if len(layers) > MAX_LAYERS:
        raise LoadError(f"{model}: the config lists {len(layers):,} layers; convcli lists at most {MAX_LAYERS:,}")
    lister = _Lister(model, weights, weights_name)
    lister.layers(layers, cls == "Sequential", "", None, [], 0)
    if weights is not None:
        extra = set(weights) - lister.seen
        if extra:
            raise LoadError(f"{model}: the weights hold arrays for {shown(sorted(extra)[0])!r}, which the config "
                            "does not have")
    return lm.Listing(model, fmt, tuple(lister.resolved()), tuple(lister.notes))
