"""The bounds every layer read from a model file keeps, checked once by each reader.

A value in a file is the file's: a stride of 0, a kernel of -3 or 10^12, a group of 0, a weight
dimension of 2^62 is bad data (one :class:`~convcli.errors.LoadError`, exit 1) that names the file,
the layer and the attribute as the format spells it (``kernel_size``, ``kernel_shape``), never a
command-line flag the user did not type. Checked here, before any spec, count or shape is made of it:
sizes (kernel, stride, dilation) are whole numbers from 1 to :data:`SIZE_LIMIT`, pads from 0;
counts (channels, filters, groups, depth multiplier, units) from 1 to :data:`COUNT_LIMIT`; every
array dimension up to :data:`COUNT_LIMIT`, and from 1 for a conv's, pool's, dense or batch norm's
(a zero-element array is no such layer's weight).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convcli.errors import LoadError
from convcli.layer.model import ModelLayer
from convcli.layer.spec import KINDS as CONV_KINDS
from convcli.layer.spec import LayerConfigError, check_spec
from convcli.text import shown

#: The largest kernel, stride, dilation or pad (a 7×7 stem, a 32-pixel patch, a 224 global pool fit).
SIZE_LIMIT = 2**16
#: The most channels, filters, groups, units, or values along one weight dimension.
COUNT_LIMIT = 2**31
#: The kinds whose kernel, strides, dilation and pads are geometry.
WINDOWED = ("conv", "depthwise", "separable", "transpose", "maxpool", "avgpool")

#: Each format's name for a layer attribute, where it is not the field's own.
SPELLING: Mapping[str, Mapping[str, str]] = {
    "keras": {"kernel": "kernel_size", "strides": "strides", "dilation": "dilation_rate", "pads": "padding",
              "in_channels": "input channels", "pool": "pool_size"},
    "onnx": {"kernel": "kernel_shape", "strides": "strides", "dilation": "dilations", "pads": "pads",
             "groups": "group", "in_channels": "input channels", "filters": "output channels", "pool": "kernel_shape"},
    "state_dict": {"kernel": "weight's kernel size", "filters": "weight's output channels",
                   "in_channels": "input channels"},
}


def whole(v: Any) -> bool:
    """Whether ``v`` is an int (not a bool): a JSON float, string or list is not."""
    return isinstance(v, int) and not isinstance(v, bool)


def bad(model: str, layer: str, attr: str, value: Any, rule: str) -> LoadError:
    """The one error for a layer attribute out of bounds: file, layer, attribute, value and rule."""
    text = shown(repr(value))
    return LoadError(f"{model}: layer {shown(layer)!r}: its {attr} is {text[:60]}{'…' * (len(text) > 60)}; {rule}")


def check_layer(model: str, layer: ModelLayer, spelling: str) -> None:
    """Refuse ``layer`` (read from the file ``model``) when a geometry value or a weight dimension is
    out of bounds; ``spelling`` is a key of :data:`SPELLING` (``"keras"``, ``"onnx"``, ``"state_dict"``)."""
    names = SPELLING.get(spelling, {})

    def named(field: str) -> str:
        if field == "kernel" and layer.kind in ("maxpool", "avgpool"):
            return names.get("pool", "kernel")
        return names.get(field, field)

    low = 1 if layer.kind in (*WINDOWED, "dense", "batchnorm") else 0  # an exporter's empty roi is no weight
    for key, shape in layer.weights.items():
        if not all(whole(v) and low <= v <= COUNT_LIMIT for v in shape):
            raise bad(model, layer.name, f"array {shown(key)!r}", tuple(shape),
                      f"each dimension must be from {low} to {COUNT_LIMIT:,}" + (" (no empty weights)" if low else ""))
    if layer.kind in WINDOWED:
        for field, low in (("kernel", 1), ("strides", 1), ("dilation", 1), ("pads", 0)):
            values = getattr(layer, field)
            if values is not None and not all(whole(v) and low <= v <= SIZE_LIMIT for v in values):
                raise bad(model, layer.name, named(field), tuple(values),
                          f"each must be a whole number from {low} to {SIZE_LIMIT:,}")
    for field in ("groups", "depth_multiplier", "in_channels", "filters", "units"):
        value = getattr(layer, field)
        if value is not None and not (whole(value) and 1 <= value <= COUNT_LIMIT):
            raise bad(model, layer.name, named(field), value, f"it must be a whole number from 1 to {COUNT_LIMIT:,}")
    if layer.kind in CONV_KINDS and layer.kernel is not None and layer.in_channels is not None:
        try:  # settings that do not fit each other (groups that do not divide the channels)
            check_spec(layer.spec())
        except LayerConfigError as exc:
            raise LoadError(f"{model}: layer {shown(layer.name)!r}: {exc.worded()}") from None
