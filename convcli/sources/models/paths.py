"""The paths through a listing's graph: what a layer reads, every layer it depends on, and which of
those rescale the image on its way in (the layers a ``--preprocess`` of the user's would repeat).

A layer's sources are its ``inbound`` layers (a graph), or the layer before it (a chain: ``inbound``
is ``None``). Layer indices are those of :attr:`convcli.layer.model.Listing.layers` (the ``#`` of
``convcli layers``).
"""

from __future__ import annotations

from convcli.errors import LoadError
from convcli.layer.model import Listing, ModelLayer
from convcli.text import shown

#: Layers that scale their input by numbers of their own (Keras).
SCALING_KINDS = ("rescaling", "normalization")
#: ONNX arithmetic that scales the image when one operand is a constant (an initializer or a Constant).
SCALING_OPS = ("Mul", "Add", "Sub", "Div")
#: ONNX ops that pass the image on as it is, but for its element type or layout (Keras' own export
#: casts it and transposes it to NCHW around its Rescaling).
PASSING_OPS = ("Cast", "Identity", "Transpose")


def sources_of(listing: Listing, index: int) -> list[int]:
    """The indices of the layers ``index`` reads (``[]``: the model's input, as a chain's first layer).
    A name that no earlier layer has is one :class:`LoadError`."""
    layer = listing.layers[index]
    if layer.inbound is None:
        return [index - 1] if index > 0 else []
    where = {lay.name: i for i, lay in enumerate(listing.layers[:index])}
    out = []
    for name in layer.inbound:
        if name not in where:
            raise LoadError(f"{listing.model}: layer {shown(layer.name)!r} reads {shown(name)!r}, which no earlier "
                            "layer is")
        out.append(where[name])
    return out


def ancestors(listing: Listing, index: int) -> list[int]:
    """Every layer ``index`` depends on, in file order."""
    seen: set[int] = set()
    todo = sources_of(listing, index)
    while todo:
        i = todo.pop()
        if i not in seen:
            seen.add(i)
            todo.extend(sources_of(listing, i))
    return sorted(seen)


def _scales(layer: ModelLayer, fmt: str) -> bool:
    """Whether ``layer`` itself is a scaling: a Rescaling or Normalization, or ONNX arithmetic between
    one tensor and a constant (a residual Add of two tensors is not)."""
    if layer.kind in SCALING_KINDS:
        return True
    return (fmt == "onnx" and layer.class_name in SCALING_OPS and layer.inbound is not None
            and len(layer.inbound) == 1 and bool(layer.weights))


def image_scalings(listing: Listing, index: int) -> list[ModelLayer]:
    """The layers on layer ``index``'s path that rescale the image itself, input first: each a scaling
    (:func:`_scales`) that reads the model's input or another such scaling (through ONNX casts and
    transposes, :data:`PASSING_OPS`), and nothing else. A
    residual ``Add``, a bias added after a conv, a ``Mul`` of a squeeze-excite block do not count:
    they do not read the image as it comes in."""
    fmt = listing.format
    found: list[int] = []
    on_input: set[int] = set()
    for i in ancestors(listing, index):
        layer = listing.layers[i]
        if layer.kind == "input":
            on_input.add(i)
            continue
        srcs = sources_of(listing, i)
        if len(srcs) != 1 or srcs[0] not in on_input:
            continue
        if _scales(layer, fmt):
            on_input.add(i)
            found.append(i)
        elif fmt == "onnx" and layer.class_name in PASSING_OPS and not layer.weights:
            on_input.add(i)
    return [listing.layers[i] for i in found]
