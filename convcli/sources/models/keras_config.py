"""A Keras model config (``config.json`` of a ``.keras``, ``model_config`` of an ``.h5``) as layers.

Keras 3 and Keras 2 configs both: a ``Functional`` model's layers name their inputs in
``inbound_nodes`` (Keras 3: tensors whose ``keras_history`` is ``[layer, node, tensor]``; Keras 2:
``[[layer, node, tensor, kwargs], ...]``), a ``Sequential`` model's layers follow each other.
``weights`` gives the shapes of each layer's arrays (by layer name, in the order Keras creates
them): they supply the input channels a config lacks, and a config that disagrees with them is
refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convcli.errors import LoadError
from convcli.layer import model as lm
from convcli.layer.spec import LayerConfigError
from convcli.sources.models import bounds
from convcli.text import shown

CONV_CLASSES = {
    "Conv2D": "conv", "Convolution2D": "conv", "DepthwiseConv2D": "depthwise", "SeparableConv2D": "separable",
    "SeparableConvolution2D": "separable", "Conv2DTranspose": "transpose", "Convolution2DTranspose": "transpose",
}
OTHER_CLASSES = {
    "Dense": "dense", "BatchNormalization": "batchnorm", "MaxPooling2D": "maxpool", "MaxPool2D": "maxpool",
    "AveragePooling2D": "avgpool", "AvgPool2D": "avgpool", "GlobalAveragePooling2D": "globalavgpool",
    "GlobalAvgPool2D": "globalavgpool", "GlobalMaxPooling2D": "globalmaxpool", "GlobalMaxPool2D": "globalmaxpool",
    "Flatten": "flatten", "ZeroPadding2D": "zeropad", "Add": "add", "Concatenate": "concatenate",
    "InputLayer": "input", "Rescaling": "rescaling", "Normalization": "normalization",
}
MODEL_CLASSES = ("Functional", "Sequential", "Model")
#: The most layers a listing holds (nested models' layers included): a listing is linear in its
#: layers, but a file that claims more than any real model has is refused before it is walked.
MAX_LAYERS = 50_000

#: Weights = {layer name: [(array name or "", shape), ...]}
Weights = Mapping[str, Sequence[tuple[str, tuple[int, ...]]]]


def _pair(v: Any, what: str, layer: str) -> tuple[int, int]:
    if isinstance(v, int) and not isinstance(v, bool):
        return v, v
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return int(v[0]), int(v[1])
    raise LoadError(f"layer {shown(layer)!r}: {what} is not one or two whole numbers: {shown(repr(v))[:80]}")


def _count(cfg: dict[str, Any], key: str, layer: str, default: int | None) -> int:
    """A whole-number setting (``groups``, ``filters``): ``default`` when absent or null (``None``:
    required), else checked to be a whole number (a string, list or Infinity is refused)."""
    v = cfg.get(key)
    if v is None and default is not None:
        return default
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool):
        raise LoadError(f"layer {shown(layer)!r}: its {key} is {shown(repr(v))[:60]}; it must be a whole number")
    return v


def _activation(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        inner = v.get("config")
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return inner["name"]
        if isinstance(v.get("class_name"), str):
            return v["class_name"]
    return "custom"


def _history(node: Any, out: list[str]) -> None:
    """The names of the layers a Keras 3 or Keras 2 inbound node reads, in order."""
    if isinstance(node, dict):
        cfg = node.get("config")
        if node.get("class_name") == "__keras_tensor__" and isinstance(cfg, dict):
            hist = cfg.get("keras_history")
            if isinstance(hist, list) and hist and isinstance(hist[0], str):
                out.append(hist[0])
            return
        for key in ("args", "kwargs"):
            if key in node:
                _history(node[key], out)
        return
    if isinstance(node, list):
        if len(node) >= 3 and isinstance(node[0], str) and isinstance(node[1], int):  # Keras 2
            out.append(node[0])
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
    if kind in ("conv",) and len(s) == 4:
        return s[2] * groups
    if kind in ("depthwise", "separable") and len(s) == 4:
        return s[2]
    if kind == "transpose" and len(s) == 4:
        return s[3]
    if kind == "dense" and len(s) == 2:
        return s[0]
    if kind == "batchnorm" and len(s) == 1:
        return s[0]
    return None


def _number(v: Any) -> float | tuple[float, ...] | None:
    """A Rescaling's scale or offset: a number, or a list of them (per channel); None if neither."""
    def real(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and abs(x) != float("inf")

    if real(v):
        return float(v)
    if isinstance(v, list) and v and all(real(x) for x in v):
        return tuple(float(x) for x in v)
    return None


def _zeropad(v: Any, layer: str) -> tuple[int, int, int, int]:
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (list, tuple)) for x in v):
        (t, b), (le, r) = _pair(v[0], "padding", layer), _pair(v[1], "padding", layer)
        return t, b, le, r
    ph, pw = _pair(v, "padding", layer)
    return ph, ph, pw, pw


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
        groups = _count(cfg, "groups", name, 1) or 1
        c = _in_channels(entry) or _from_weights(kind, groups, arrays)
        padding = cfg.get("padding", "valid")
        if padding not in ("valid", "same"):
            raise LoadError(f"layer {shown(name)!r}: padding {shown(repr(padding))[:40]} is not valid or same")
        multiplier = _count(cfg, "depth_multiplier", name, 1) if kind in ("depthwise", "separable") else None
        filters = None if kind == "depthwise" else _count(cfg, "filters", name, None)
        return lm.ModelLayer(
            kind=kind, kernel=_pair(cfg.get("kernel_size"), "kernel_size", name),
            strides=_pair(cfg.get("strides", 1), "strides", name), padding=padding,
            dilation=_pair(cfg.get("dilation_rate", 1), "dilation_rate", name),
            groups=groups if kind in ("conv", "transpose") else None, depth_multiplier=multiplier,
            in_channels=c, filters=filters,
            use_bias=bool(cfg.get("use_bias", True)), activation=_activation(cfg.get("activation")), **common,
        )
    kind = OTHER_CLASSES.get(cls, "other")
    if cls in MODEL_CLASSES:
        return lm.ModelLayer(kind="other", activation=None, **common)
    extra: dict[str, Any] = {}
    if kind == "input":
        shape = cfg.get("batch_shape", cfg.get("batch_input_shape"))
        if isinstance(shape, list) and len(shape) >= 2:
            extra["input_shape"] = tuple(v if isinstance(v, int) and not isinstance(v, bool) else None
                                         for v in shape[1:])
    elif kind == "dense":
        extra |= {"units": _count(cfg, "units", name, None), "use_bias": bool(cfg.get("use_bias", True)),
                  "activation": _activation(cfg.get("activation")),
                  "in_channels": _in_channels(entry) or _from_weights(kind, 1, arrays)}
    elif kind == "batchnorm":
        extra["in_channels"] = _in_channels(entry) or _from_weights(kind, 1, arrays)
    elif kind in ("maxpool", "avgpool"):
        k = _pair(cfg.get("pool_size", 2), "pool_size", name)
        strides = cfg.get("strides")
        padding = cfg.get("padding", "valid")
        if padding not in ("valid", "same"):
            raise LoadError(f"layer {shown(name)!r}: padding {shown(repr(padding))[:40]} is not valid or same")
        extra |= {"kernel": k, "strides": k if strides is None else _pair(strides, "strides", name),
                  "padding": padding, "dilation": (1, 1)}
    elif kind in ("globalavgpool", "globalmaxpool"):
        extra["keepdims"] = bool(cfg.get("keepdims", False))
    elif kind == "zeropad":
        extra["pads"] = _zeropad(cfg.get("padding", 1), name)
    elif kind == "rescaling":
        extra |= {"scale": _number(cfg.get("scale")), "offset": _number(cfg.get("offset", 0.0))}
    elif kind == "concatenate":
        axis = cfg.get("axis", -1)
        extra["axis"] = axis if isinstance(axis, int) else -1
    elif kind == "other" and isinstance(cfg.get("activation"), (str, dict)):
        extra["activation"] = _activation(cfg.get("activation"))
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
                        "concatenate", "input"):
        expected = []
    if expected is None:
        return
    if [tuple(s) for s in expected] != arrays:
        raise LoadError(f"layer {shown(layer.name)!r}: the config and the weights disagree: the config makes "
                        f"{_shapes(expected)}, the {fmt} weights hold {_shapes(arrays)}")


def _shapes(shapes: Sequence[tuple[int, ...]]) -> str:
    return ", ".join("(" + ", ".join(str(v) for v in s) + ")" for s in shapes) or "none"


def listing(model: str, fmt: str, config: Any, weights: Weights | None, weights_name: str) -> lm.Listing:
    """The layers of a Keras model config; ``weights`` None: not read (no check, no channels from it)."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise LoadError(f"{model}: the model config is not a Keras model config")
    cls = config.get("class_name")
    layers = config["config"].get("layers")
    if not isinstance(layers, list):
        raise LoadError(f"{model}: the {shown(str(cls))} config holds no layer list (a subclassed model "
                        "keeps its graph in code; export it to ONNX)")
    if len(layers) > MAX_LAYERS:
        raise LoadError(f"{model}: the config lists {len(layers):,} layers; convcli lists at most {MAX_LAYERS:,}")
    chain = cls == "Sequential"
    out: list[lm.ModelLayer] = []
    seen: set[str] = set()
    notes: list[str] = []
    for entry in layers:
        if not isinstance(entry, dict):
            raise LoadError(f"{model}: a layer of the config is not an object")
        name = (entry.get("config") or {}).get("name") if isinstance(entry.get("config"), dict) else None
        shapes = list(weights.get(name, ())) if weights is not None and isinstance(name, str) else []
        try:
            layer = _layer(entry, shapes, chain)
        except LoadError as exc:
            raise LoadError(f"{model}: {exc.message}") from None
        except RecursionError:  # inbound nodes nested past Python's stack
            raise LoadError(f"{model}: layer {shown(str(name))!r}: its config is nested too deeply") from None
        bounds.check_layer(model, layer, "keras")
        if layer.name in seen:
            raise LoadError(f"{model}: two layers are named {shown(layer.name)!r}")
        seen.add(layer.name)
        if weights is not None:
            try:
                _check(layer, weights_name)
            except LoadError as exc:
                raise LoadError(f"{model}: {exc.message}") from None
        if entry.get("class_name") in MODEL_CLASSES:
            notes.append(f"{shown(layer.name)} is a nested model, listed as one layer")
        out.append(layer)
    if weights is not None:
        extra = set(weights) - seen
        if extra:
            raise LoadError(f"{model}: the weights hold arrays for {shown(sorted(extra)[0])!r}, which the config "
                            "does not have")
    return lm.Listing(model, fmt, tuple(out), tuple(notes))
