"""One layer's learned kernel and bias, read from its model file (``convcli run --model M --layer NAME``).

:func:`find_layer` picks the layer of a :class:`~convcli.layer.model.Listing` the user names (its
name, or its index as ``convcli layers`` shows it); :func:`layer_weights` reads that layer's arrays
and nothing else, through the format's own module:

=================  ===================================================  ====================
format             arrays                                               read through
=================  ===================================================  ====================
``.keras``         ``layers/<path>/vars/0``, ``1`` of model.weights.h5  h5py
``.h5``            ``model_weights/<layer>/<weight_names>``             h5py
``.onnx``          the Conv node's ``W`` and ``B`` initializers         onnx (numpy_helper)
``.safetensors``   ``<module>.weight``, ``<module>.bias``               the file's bytes
``.pt/.pth``       ``<module>.weight``, ``<module>.bias``               torch (weights_only)
=================  ===================================================  ====================

Kernels come back in Keras layout, for 1, 2 or 3 axes ``*k``: a conv's ``(*k, C/g, F)``, a depthwise
conv's ``(*k, C, M)``, a transposed conv's ``(*k, F/g, C)``, a separable conv's depthwise kernel
``(*k, C, M)`` with its ``pointwise`` kernel ``(1, …, C·M, F)``; ONNX's and PyTorch's ``(F, C/g, *k)``
(a ConvTranspose's ``(C, F/g, *k)``) are transposed (a depthwise ONNX or PyTorch conv stays a grouped
conv, ``(*k, 1, F)``). Every array is checked against the listing
(the kernel's shape, the bias's length) and its dtype before it is read; float16, float32 and
float64 come back as stored, bfloat16 as the float32 it is exactly. Non-finite values are returned
as they are.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from difflib import get_close_matches
from typing import TYPE_CHECKING

from convcli.errors import ConfigError, LoadError
from convcli.layer.model import Listing, ModelLayer
from convcli.layer.spec import LayerConfigError
from convcli.sources import sniff
from convcli.sources.models import folders
from convcli.sources.models.tensors import Want
from convcli.text import shown

if TYPE_CHECKING:
    import numpy as np

#: The kinds the engine computes.
EXPLORED = ("conv", "depthwise", "transpose", "separable")
#: The module that reads each listing format's arrays (its ``layer_arrays``).
READERS = {"keras": "keras_v3", "h5": "keras_h5", "onnx": "onnx_graph", "safetensors": "safetensors_header",
           "torch": "torch_state"}
#: Up to this many conv layers are listed when a name matches nothing close.
FEW = 8


@dataclass(frozen=True)
class LayerWeights:
    """A conv layer's learned arrays in Keras layout (``*k``: the kernel's 1, 2 or 3 axes).

    ``kernel`` is ``(*k, C/g, F)`` for a conv, ``(*k, C, M)`` for a depthwise conv, ``(*k, F/g, C)``
    for a transposed one, the depthwise ``(*k, C, M)`` of a separable one, whose ``pointwise`` is
    ``(1, …, C·M, F)`` (``None`` for the others); ``bias`` ``(F,)`` or ``(C*M,)``, ``None`` when the
    layer has none. ``where`` is the kernel's place in the
    file (``layers/conv2d/vars/0``, ``conv1.weight``; the bias sits beside it), ``dtype`` the stored
    dtype (``"bfloat16"`` for a kernel returned as float32)."""

    kernel: np.ndarray
    bias: np.ndarray | None
    where: str
    dtype: str
    pointwise: np.ndarray | None = None


def _names(layers: list[ModelLayer], limit: int = 5) -> str:
    names = [repr(shown(layer.name)) for layer in layers[:limit]]
    more = f", … and {len(layers) - limit} more" if len(layers) > limit else ""
    return ", ".join(names) + more


def _explorable(listing: Listing) -> list[ModelLayer]:
    return [layer for layer in listing.layers if layer.kind in EXPLORED]


def _what_to_explore(listing: Listing) -> str:
    convs = _explorable(listing)
    if not convs:
        return f"the engine explores conv layers (conv, depthwise, transpose, separable), and {listing.model} has none"
    return f"the engine explores its conv layers: {_names(convs)}"


def _unknown(listing: Listing, which: str) -> ConfigError:
    names = [layer.name for layer in listing.layers]
    # a nested model's layer is named by its path: 'conv1' is 'backbone/conv1'
    near = [n for n in names if n.endswith("/" + which)][:3] or get_close_matches(which, names, n=3, cutoff=0.6)
    if not near:
        near = get_close_matches(which.lower(), [n.lower() for n in names], n=3, cutoff=0.6)
        near = [next(n for n in names if n.lower() == low) for low in near]
    message = f"{{field}} {shown(which)!r}: {listing.model} has no layer of that name"
    if near:
        message += "; did you mean " + " or ".join(repr(shown(n)) for n in near) + "?"
    elif len(_explorable(listing)) <= FEW:
        message += f"; {_what_to_explore(listing)}"
    else:
        message += f" ({len(listing.layers)} layers: `convcli layers {listing.model}` lists them)"
    return ConfigError(message, field="layer")


def _lookup(listing: Listing, which: str) -> int:
    layers = listing.layers
    exact = [i for i, layer in enumerate(layers) if layer.name == which]
    if exact:
        return exact[0]
    text = which.strip()
    if text.isascii() and text.isdigit():
        index = int(text)
        if index >= len(layers):
            raise ConfigError(f"{{field}} {index}: {listing.model} has {len(layers)} layers, numbered 0 to "
                              f"{len(layers) - 1}", field="layer")
        return index
    folded = [i for i, layer in enumerate(layers) if layer.name.casefold() == which.casefold()]
    if len(folded) == 1:
        return folded[0]
    if folded:
        raise ConfigError(f"{{field}} {shown(which)!r}: {listing.model} has {len(folded)} layers of that name but "
                          f"for case ({_names([layers[i] for i in folded])}): give the exact name", field="layer")
    raise _unknown(listing, which)


def check_explorable(listing: Listing, index: int | None, layer: ModelLayer) -> None:
    """Refuse a layer that is not a kind the engine computes, saying which layers are."""
    if layer.kind in EXPLORED:
        return
    at = "" if index is None else f" (#{index})"
    cls = shown(layer.class_name)
    what = f"{{field}} {shown(layer.name)!r}{at} of {listing.model} is {'an' if cls[:1] in 'AEIOU' else 'a'} {cls}"
    raise ConfigError(f"{what} ({layer.kind}), not a convolution: {_what_to_explore(listing)}", field="layer")


def find_layer(listing: Listing, which: str) -> tuple[int, ModelLayer]:
    """The layer ``which`` names, and its index in ``listing.layers`` (the ``#`` of ``convcli layers``).

    ``which`` is a layer's exact name, else an index (``0``, ``12``), else a name that matches one
    layer when case is ignored. A name that matches none is one :class:`ConfigError` (``field="layer"``)
    naming the model file and the close names; a layer the engine does not compute (``pool``, ``sep``)
    one that says what it is and which layers can be explored."""
    index = _lookup(listing, which)
    layer = listing.layers[index]
    check_explorable(listing, index, layer)
    return index, layer


def _want(name: str, layer: ModelLayer) -> Want:
    """The kernel (Keras layout) and bias the listing makes for ``layer``."""
    if layer.in_channels is not None:
        try:
            shapes = layer.spec().kernel_shapes()
        except LayerConfigError as exc:
            raise LoadError(f"{name}: layer {shown(layer.name)!r}: {exc}") from None
        if "pointwise_kernel" in shapes:
            return Want(name, layer, shapes["depthwise_kernel"], shapes.get("bias"), shapes["pointwise_kernel"])
        return Want(name, layer, shapes["kernel"], shapes.get("bias"))
    weight = layer.weights.get("weight")  # a state dict: PyTorch's (F, C/g, *k)
    if weight is not None and 3 <= len(weight) <= 5:
        f, cg, *k = weight
        return Want(name, layer, (*k, cg, f), (f,) if layer.use_bias else None)
    raise LoadError(f"{name}: layer {shown(layer.name)!r}: the file does not say its input channels, so its "
                    "weights cannot be checked")


def layer_weights(path: str | os.PathLike[str], listing: Listing, layer: ModelLayer) -> LayerWeights:
    """The learned kernel and bias of ``layer`` (a conv or depthwise layer of ``listing``, the
    listing of the file at ``path``): only that layer's arrays are read, each checked against the
    listing and for a float dtype first. A file that cannot give them is one :class:`LoadError`
    naming the file; a layer of a kind the engine does not compute, :func:`find_layer`'s ConfigError."""
    import numpy as np

    name = folders.model_file(sniff.name_of(path))[0]
    check_explorable(listing, next((i for i, x in enumerate(listing.layers) if x == layer), None), layer)
    want = _want(name, layer)
    module = READERS.get(listing.format)
    if module is None:
        raise LoadError(f"{name}: convcli does not read weights from {shown(listing.format)} listings")
    reader = importlib.import_module(f"convcli.sources.models.{module}")
    kernel, bias, where, dtype = reader.layer_arrays(name, want)
    # what came back is what was checked (a reader's slip is a refusal, not a wrong layer)
    got_bias = None if bias is None else tuple(bias.shape)
    if tuple(kernel.shape) != want.kernel or got_bias != want.bias:
        raise want.error(f"read a kernel of {tuple(kernel.shape)} and a bias of {got_bias}, not the "
                         f"{want.kernel} and {want.bias} the listing makes")
    pointwise = want.extra.get("pointwise_kernel")
    if want.pointwise is not None and (pointwise is None or tuple(pointwise.shape) != want.pointwise):
        raise want.error(f"read no pointwise kernel of {want.pointwise}, which the listing makes")
    if any(a is not None and a.dtype.kind != "f" for a in (kernel, bias, pointwise)):
        raise want.error("read values that are not floats")
    return LayerWeights(np.asarray(kernel), None if bias is None else np.asarray(bias), where, dtype,
                        None if pointwise is None else np.asarray(pointwise))
