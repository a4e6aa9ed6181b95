"""The input of a model's layer: the image itself, the model run up to the layer, or an array given as that input.

When the layer reads the model's input, the image is its input; otherwise the model is run up to
the layer (:mod:`convcli.sources.models.upstream`: Keras or ONNX Runtime), or an array file whose
channels are the layer's is taken as that input.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from convcli.errors import ShapeError
from convcli.pipeline.request import Request

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from convcli.layer.model import Listing, ModelLayer
    from convcli.sources.inputs import Loaded

#: Layers that keep each channel what it was (a scale and a shift per channel): the image's channel names stay.
PER_CHANNEL = ("input", "Rescaling", "Normalization", "Mul", "Add", "Sub", "Div")


def is_image(loaded: Loaded) -> bool:
    """An image's channels are named by their colour (R, G, B, L, A); an array's c0, c1, ..."""
    return not loaded.channel_names[0].startswith("c")


def channel_names(loaded: Loaded, x: np.ndarray, input_by: str, before: tuple[ModelLayer, ...] = ()) -> tuple[str, ...]:
    """The channel names of the layer's input ``x (*S, C)``: the image's, when only per-channel scaling came before."""
    same = len(loaded.channel_names) == x.shape[-1]
    if same and (not input_by or all(m.kind == "input" or m.class_name in PER_CHANNEL for m in before)):
        return loaded.channel_names
    return tuple(f"c{i}" for i in range(x.shape[-1]))


def layer_input(request: Request, loaded: Loaded, listing: Listing, index: int, ml: ModelLayer,
                kernel: np.ndarray) -> tuple[np.ndarray, str, str]:
    """``(x, note, by)``: the layer's input ``(*S, C)`` (``(H, W, C)`` for a 2-D layer), the header's note about
    it, and what computed it ("" for the file). ``kernel``: the layer's in Keras layout, ``(*k, C/g, F)`` (a
    transposed layer's ``(*k, F/g, C)``)."""
    from convcli.text import shown

    x = loaded.array
    if not listing.graph:
        return x, "", ""  # no graph: the input given is the layer's
    from convcli.sources.models import upstream

    if not upstream.needs_upstream(listing, index):
        return x, "", ""
    reads = int(ml.in_channels) if ml.in_channels is not None else \
        int(kernel.shape[-2]) * (ml.groups or 1) if ml.kind != "depthwise" else int(kernel.shape[-2])
    if not is_image(loaded) and x.shape[-1] == reads:
        return x, (f"{shown(request.input_name)} is taken as the input of {shown(ml.name)!r} (it has the layer's "
                   f"{reads} channels): nothing before the layer runs"), ""
    inputs = [m.input_shape for m in listing.layers if m.kind == "input" and m.input_shape]
    takes = inputs[0][-1] if len(inputs) == 1 else None
    if not is_image(loaded) and takes is not None and x.shape[-1] != takes:
        raise ShapeError(f"{shown(request.input_name)} has {x.shape[-1]} channels: layer {shown(ml.name)!r} reads "
                         f"{reads} (give its input as an array of that many) and the model's input takes {takes}"
                         + channels_first_hint(request, loaded, {reads, takes}))
    name = shown(str(request.model))
    fits = _fits(name, ml.name)
    from convcli.pipeline import cache

    # the sizes are checked when the framework is to compute: a cached input costs no activations (and
    # its second run no shape inference)
    found = cache.layer_input(str(request.model), listing, index, x, use=request.cache, fits=fits,
                              check=lambda: _check_upstream_fits(listing, index, x, fits))
    return found.array, found.note, f"{loaded.description} → the input of {shown(ml.name)!r}, by {found.by}"


#: Activations a framework holds at once, about: the layer's input, its output and a workspace.
HELD = 3


def _fits(model: str, target: str) -> Callable[[int, str], None]:
    """``fits(nbytes, what)``: refuse (``ResourceError``) an activation of ``nbytes`` on the way to layer
    ``target`` when the framework's work around it (:data:`HELD` of them) passes 80 % of the memory
    available (:func:`convcli.pipeline.memory.available_bytes`)."""
    from convcli.errors import ResourceError
    from convcli.pipeline import memory
    from convcli.text import shown

    def fits(nbytes: int, what: str) -> None:
        avail = memory.available_bytes()
        if avail is None:
            return
        limit, bound = avail
        if HELD * nbytes > 0.8 * limit:
            raise ResourceError(f"{model}: {what} ({nbytes / 2**30:.1f} GiB) before {shown(target)!r}; the model "
                                f"would need about {HELD * nbytes / 2**30:.1f} GiB to compute it but only "
                                f"{limit / 2**30:.1f} GiB is {bound}; use a smaller image: --resize H,W")

    return fits


def _check_upstream_fits(listing: Listing, index: int, x: np.ndarray, fits: Callable[[int, str], None]) -> None:
    """Before the model runs up to the layer: its largest activation (from the listing's shapes, float32)
    fits in memory. A listing whose shapes cannot be followed is left to the framework's own shape
    inference (:func:`convcli.sources.models.upstream.layer_input`)."""
    from math import prod

    from convcli.errors import ConvcliError
    from convcli.layer.model import analyse
    from convcli.text import shown

    try:
        numbers = analyse(replace(listing, layers=listing.layers[: index + 1]), tuple(int(v) for v in x.shape))
    except ConvcliError:
        return
    sized = [(prod(n.out_shape), i) for i, n in enumerate(numbers.layers[:index]) if n.out_shape]
    if sized:
        values, i = max(sized)
        lay = listing.layers[i]
        dims = "×".join(str(d) for d in numbers.layers[i].out_shape or ())
        fits(4 * values, f"layer {shown(lay.name)!r} ({shown(lay.class_name)}) would make a {dims} activation")


def channels_first_hint(request: Request, loaded: Loaded, channels: set[int]) -> str:
    """``"; ... --layout channels-first"`` when an array file read channels-last (no ``--layout`` given) would
    have ``channels`` read channels-first, as PyTorch stores activations ``(C, H, W)`` or ``(1, C, H, W)``;
    else ``""``."""
    shape = loaded.stored_shape
    if request.layout is not None or shape is None:
        return ""
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) != 3 or shape[0] not in channels or shape[-1] in channels:
        return ""
    dims = "×".join(str(n) for n in loaded.stored_shape or shape)
    return f"; the {dims} array reads as PyTorch's (C, H, W): give --layout channels-first"
