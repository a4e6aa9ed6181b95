"""A model file's layers as one neutral listing (numpy-free).

Every reader in :mod:`convcli.sources.models` turns its format into a :class:`Listing`: the layers
in file order, each a :class:`ModelLayer` holding only what the file says (a value the file does not
hold is ``None``, never a guess). :mod:`convcli.layer.model` follows them along the graph; the
counts (:mod:`convcli.layer.counts`, :mod:`convcli.layer.others`) read them without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from convcli.layer.kinds import KIND_OBJECTS, is_conv_kind
from convcli.layer.spec import ConvSpec


@dataclass(frozen=True)
class ModelLayer:
    """One layer as the file holds it.

    ``padding`` is as spelt (``"valid"``, ``"same"``, ``"same_lower"`` for ONNX's SAME_LOWER, a
    ``--stack``'s symmetric zeros per axis ``(ph, pw)``, or ``None`` when the file gives only pads); ``pads`` are the concrete zeros
    ``(top, bottom, left, right)`` when the file holds them. ``filters`` is a conv's output channels
    (``None`` for depthwise), ``units`` a dense layer's. ``weights`` are the shapes of the arrays
    the file holds for the layer, by name, in its own layout; ``params`` is set by readers whose
    format has no geometry to count from (safetensors, state dicts), else counted by :func:`analyse`.
    """

    name: str
    kind: str
    class_name: str
    kernel: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    padding: str | tuple[int, ...] | None = None
    pads: tuple[int, int, int, int] | None = None
    dilation: tuple[int, ...] | None = None
    groups: int | None = None
    depth_multiplier: int | None = None
    in_channels: int | None = None
    filters: int | None = None
    units: int | None = None
    use_bias: bool | None = None
    activation: str | None = None
    inbound: tuple[str, ...] | None = None  # None: the previous layer (a chain)
    weights: dict[str, tuple[int, ...]] = field(default_factory=dict)
    params: int | None = None
    trainable: int | None = None
    input_shape: tuple[int | None, ...] | None = None  # an input layer's (H, W, C), None where free
    axis: int | None = None  # concatenate
    keepdims: bool | None = None  # global pooling
    ceil_mode: bool = False  # ONNX pooling
    transpose_b: bool = False  # ONNX Gemm
    scale: float | tuple[float, ...] | None = None  # a Rescaling's x * scale + offset (one, or one per channel)
    offset: float | tuple[float, ...] | None = None

    def spec(self) -> ConvSpec:
        """The conv spec of a conv kind (the pads, when explicit, are applied by :func:`analyse`)."""
        assert is_conv_kind(self.kind) and self.kernel is not None and self.in_channels is not None
        padding: str | tuple[int, ...]
        if isinstance(self.padding, str) and self.padding in ("valid", "same") or isinstance(self.padding, tuple):
            padding = self.padding  # a tuple: symmetric zeros per axis, as a --stack's pPHxPW
        else:
            padding = "valid"
        ndim = len(self.kernel)
        return ConvSpec(
            kind=self.kind, in_channels=self.in_channels,
            filters=self.filters if KIND_OBJECTS[self.kind].has_filters else None,
            kernel=self.kernel, stride=self.strides or (1,) * ndim, dilation=self.dilation or (1,) * ndim,
            padding=padding, groups=self.groups or 1, depth_multiplier=self.depth_multiplier or 1,
            use_bias=bool(self.use_bias), ndim=ndim,
        )


@dataclass(frozen=True)
class Listing:
    """A model file's layers; ``format`` names the reader, ``notes`` what the listing cannot know."""

    model: str
    format: str
    layers: tuple[ModelLayer, ...]
    notes: tuple[str, ...] = ()
    graph: bool = True  # the file holds a graph (geometry, order, merges)

    def input_channels(self) -> int | None:
        """The input's channels C where the file fixes them: its input layer's ``(H, W, C)``, else
        the first conv's input channels; None where the model takes any C."""
        for layer in self.layers:
            if layer.kind == "input" and layer.input_shape and len(layer.input_shape) == 3:
                return layer.input_shape[2]
            if is_conv_kind(layer.kind) or layer.kind == "dense":
                return layer.in_channels
        return None
