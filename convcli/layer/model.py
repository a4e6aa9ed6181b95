"""A model file's listing and its numbers along the graph (numpy-free).

Every reader in :mod:`convcli.sources.models` turns its format into a :class:`Listing` of
:class:`ModelLayer` (:mod:`convcli.layer.listing`, re-exported here). :func:`analyse` counts parameters (conv kinds through
:mod:`convcli.layer.counts`, the others through :mod:`convcli.layer.others`) and, given an input size
``(H, W, C)``, follows the graph (each layer's ``inbound`` names, else the previous layer) for every
layer's output shape, MACs, receptive field and effective stride.

Receptive fields follow a chain of windows: a conv kind adds its own spec, a pooling window adds a
1-channel conv of its size and stride (the same span), zero padding and point-wise layers add
nothing, and a merge takes the widest of its inputs' (per axis, the largest). After a flatten, a
global pooling or a dense layer on a flat vector, every output depends on the whole input: the
receptive field is the input's ``(H, W)`` and the effective stride ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from convcli.errors import ConfigError, LoadError, ShapeError
from convcli.layer import counts, others
from convcli.layer.counts import Analysis as Analysis
from convcli.layer.counts import LayerNumbers as LayerNumbers
from convcli.layer.geometry import span
from convcli.layer.kinds import KIND_OBJECTS, is_conv_kind
from convcli.layer.listing import Listing as Listing
from convcli.layer.listing import ModelLayer as ModelLayer
from convcli.layer.receptive import effective_stride, receptive_field
from convcli.layer.spec import KINDS as CONV_KINDS
from convcli.layer.spec import ConvSpec, LayerConfigError, check_spec

#: The kinds a listed layer may have.
KINDS = (*CONV_KINDS, *others.KINDS)


def _conv_params(layer: ModelLayer) -> tuple[int | None, int | None]:
    if layer.in_channels is None or layer.kernel is None:
        return layer.params, layer.trainable
    total = counts.Params(counts.param_count(layer.spec()))
    return total, total


def layer_params(layer: ModelLayer) -> tuple[int | None, int | None]:
    """``(params, trainable)`` of one layer: Keras' ``count_params()`` and its trainable part."""
    if layer.params is not None:
        return layer.params, layer.trainable
    if is_conv_kind(layer.kind):
        return _conv_params(layer)
    return others.params(layer)


# ------------------------------------------------------------------------------------------------
# Along the graph


@dataclass(frozen=True)
class _Chain:
    """The windows a path went through, as a linked list (each layer adds one in O(1), so a walk
    stays linear in the layers), with the receptive field and effective stride of the chain itself:
    by the textbook recursion while no window is a transpose, else from the whole chain."""

    spec: ConvSpec | None
    parent: _Chain | None
    rf: tuple[int, ...]
    jump: tuple[Fraction, ...]
    transposed: bool = False

    def specs(self) -> list[ConvSpec]:
        out: list[ConvSpec] = []
        node: _Chain | None = self
        while node is not None and node.spec is not None:
            out.append(node.spec)
            node = node.parent
        return out[::-1]

    def then(self, spec: ConvSpec) -> _Chain:
        if self.transposed or spec.kind_obj.transposed:
            specs = [*self.specs(), spec]
            return _Chain(spec, self, receptive_field(specs), effective_stride(specs), True)
        rf = tuple(r + (span(spec.kernel[a], spec.dilation[a]) - 1) * int(j)
                   for a, (r, j) in enumerate(zip(self.rf, self.jump, strict=True)))
        return _Chain(spec, self, rf, tuple(j * spec.stride[a] for a, j in enumerate(self.jump)))


def _start(ndim: int = 2) -> _Chain:
    """The chain of no window on ``ndim`` spatial axes: one input pixel, stride 1."""
    return _Chain(None, None, (1,) * ndim, (Fraction(1),) * ndim)


@dataclass(frozen=True)
class _Flow:
    shape: tuple[int, ...]
    chain: _Chain  # the windows the widest path went through
    rf: tuple[int, ...] | None  # None: the whole input
    jump: tuple[Fraction, ...] | None
    spec: ConvSpec | None = None  # a conv layer's, with its input channels
    counted: counts.LayerShape | None = None  # and its shape and MAC terms


def _window(kernel: Sequence[int], strides: Sequence[int], transposed: bool = False) -> ConvSpec:
    return ConvSpec("transpose" if transposed else "conv", 1, 1, tuple(kernel), stride=tuple(strides), dilation=(1,) * len(kernel),
                    ndim=len(kernel))


def _shape_error(layer: ModelLayer, message: str) -> ShapeError:
    from convcli.text import shown

    return ShapeError(f"layer {shown(layer.name)!r} ({layer.class_name}): {message}")


def _inputs(layer: ModelLayer, index: int, flows: dict[str, _Flow], order: list[str]) -> list[_Flow]:
    from convcli.text import shown

    if layer.inbound is None:
        return [flows[order[index - 1]]] if index > 0 else []
    out = []
    for name in layer.inbound:
        if name not in flows:
            raise LoadError(f"layer {shown(layer.name)!r} reads {shown(name)!r}, which no earlier layer is")
        out.append(flows[name])
    return out


#: How a walk names an input of each rank.
SHAPE_NAMES = {2: "(L, C)", 3: "(H, W, C)", 4: "(D, H, W, C)"}


def _conv_flow(layer: ModelLayer, src: _Flow) -> tuple[_Flow, tuple[int, ...] | None, int]:
    ndim = len(layer.kernel) if layer.kernel is not None else 2
    if len(src.shape) != ndim + 1:
        raise _shape_error(layer, f"a {ndim}-D conv needs an {SHAPE_NAMES[ndim + 1]} input, got {src.shape}")
    c_in = src.shape[-1]
    if layer.in_channels is not None and layer.in_channels != c_in:
        raise _shape_error(layer, f"the file says {layer.in_channels} input channels, its input has {c_in}")
    layer_c = layer if layer.in_channels is not None else _with_channels(layer, c_in)
    try:
        spec = check_spec(layer_c.spec())
    except LayerConfigError as exc:  # the file's settings, not an option: bad data, and no flag named
        raise _shape_error(layer, exc.worded()) from None
    if ndim != 2:
        size = src.shape[:-1]
        if ndim == 1 and layer.pads is not None:  # an ONNX Conv's pads (0, 0, before, after): added, then valid
            size = (size[0] + layer.pads[2] + layer.pads[3],)
        try:
            nd_shape = counts.layer_shape(spec, size)
        except (ShapeError, ConfigError) as exc:  # an empty output, an output padding too wide
            raise _shape_error(layer, exc.worded()) from None
        chain = src.chain.then(spec)
        rf, jump = (None, None) if src.rf is None else (chain.rf, chain.jump)
        return _Flow(nd_shape.out_shape, chain, rf, jump, spec, nd_shape), nd_shape.pads, nd_shape.macs
    hw = src.shape[:2]
    pads: tuple[int, int, int, int] | None
    if layer.padding == "same_lower" or (layer.padding is None and layer.pads is not None):
        if layer.pads is not None:
            pads = layer.pads
        else:
            upper = spec.pads(hw)
            pads = (upper[1], upper[0], upper[3], upper[2])
        hw = (hw[0] + pads[0] + pads[1], hw[1] + pads[2] + pads[3])
        shape = counts.layer_shape(spec, hw)
    else:
        shape = counts.layer_shape(spec, hw)
        pads = shape.pads  # type: ignore[assignment]
    chain = src.chain.then(spec)
    if src.rf is None:
        rf, jump = None, None
    else:
        rf, jump = chain.rf, chain.jump
    return _Flow(shape.out_shape, chain, rf, jump, spec, shape), pads, shape.macs


def _with_channels(layer: ModelLayer, c: int) -> ModelLayer:
    return layer.changed(in_channels=c)


def _known_flow(layer: ModelLayer, srcs: list[_Flow],
                known: tuple[int, ...] | None) -> tuple[_Flow, tuple[int, ...] | None, int]:
    """The walk's flow with the shape the format's own inference gives (``known``) in place of its own;
    a layer the walk cannot follow but the inference knows (a layer norm, a transpose, a reshape) keeps
    its input's windows where it keeps its (H, W), else reads the whole input (a mean over H and W)."""
    try:
        flow, pads, macs = _flow(layer, srcs)
    except ShapeError:
        if known is None or is_conv_kind(layer.kind):
            raise
        src = srcs[0]
        whole = len(known) != 3 or src.rf is None or known[:2] != src.shape[:2]
        return _Flow(known, src.chain, None if whole else src.rf, None if whole else src.jump), None, 0
    return (flow if known is None else replace(flow, shape=known)), pads, macs


def walk(listing: Listing, input_size: Sequence[int] | None = None) -> Iterator[LayerNumbers]:
    """Each layer's numbers in order, as the walk reaches it: the one walk along a model's listing
    and a ``--stack`` alike (its caller may stop at a layer, or word a layer's error its own way).

    Parameters always; with ``input_size`` ``(H, W, C)``, the graph is followed (each layer's
    ``inbound`` names, else the previous layer) for shapes, pads, MACs, receptive field and
    effective stride. Linear in the layers."""
    size = tuple(int(v) for v in input_size) if input_size is not None else None
    flows: dict[str, _Flow] = {}
    order: list[str] = []
    known = listing.shapes(size) if size is not None and listing.shapes is not None else {}
    for index, layer in enumerate(listing.layers):
        p, t = layer_params(layer)
        if size is None:
            order.append(layer.name)
            yield LayerNumbers(layer, p, t, pads=_known_pads(layer))
            continue
        srcs = _inputs(layer, index, flows, order)
        if others.other_kind(layer.kind).starts:
            flow = _input_flow(layer, size)
            in_shape = flow.shape
            pads, macs = None, 0
        else:
            if not srcs and index == 0:  # a Sequential model saved without its input layer reads the input
                srcs = [_input_flow(layer.changed(input_shape=None), size)]
            if not srcs:
                raise _shape_error(layer, "reads no input")
            in_shape = srcs[0].shape
            flow, pads, macs = _known_flow(layer, srcs, known.get(layer.name))
            if flow.spec is not None and p is None:
                p = t = counts.Params(counts.param_count(flow.spec))
            elif others.other_kind(layer.kind).counts_channels and p is None:
                p, t = others.params(layer, in_shape)
        flows[layer.name] = flow
        order.append(layer.name)
        yield LayerNumbers(layer, p, t, in_shape, flow.shape, pads, macs,
                           flow.rf if flow.rf is not None else tuple(size[:-1]), flow.jump, flow.spec, flow.counted)


def analyse(listing: Listing, input_size: Sequence[int] | None = None) -> Analysis:
    """Parameters of every layer and, with ``input_size`` ``(H, W, C)``, its shapes and numbers
    (:func:`walk`, all of it)."""
    size = tuple(int(v) for v in input_size) if input_size is not None else None
    return Analysis(listing, tuple(walk(listing, size)), size)


def _known_pads(layer: ModelLayer) -> tuple[int, int, int, int] | None:
    """Pads known without an input size: explicit ones, valid, and 'same' at stride 1."""
    if layer.pads is not None:
        return layer.pads
    if layer.kernel is None or not _pads_input(layer.kind):
        return None
    if layer.padding == "valid":
        return (0, 0, 0, 0)
    strides = layer.strides or (1,) * len(layer.kernel)
    if layer.padding == "same" and all(s == 1 for s in strides) and len(layer.kernel) == 2:
        from convcli.layer.geometry import same_pads_1d

        d = layer.dilation or (1, 1)
        (t, b), (le, r) = (same_pads_1d(1000, layer.kernel[a], 1, d[a]) for a in range(2))
        return (t, b, le, r)
    return None


def _pads_input(kind: str) -> bool:
    """Whether a kind pads its input before sliding a window over it (a conv, not transposed; a pooling)."""
    if is_conv_kind(kind):
        return not KIND_OBJECTS[kind].transposed
    return others.other_kind(kind).pools


def _input_flow(layer: ModelLayer, size: tuple[int, ...]) -> _Flow:
    from convcli.text import shown

    declared = layer.input_shape
    if declared is not None:
        if len(declared) != len(size) or any(d is not None and d != s for d, s in zip(declared, size, strict=False)):
            shape = tuple("?" if d is None else d for d in declared)
            raise ShapeError(f"{{field}}: the model's input {shown(layer.name)!r} takes {shape}, not "
                             f"{tuple(size)}", field="input_size")
    start = _start(len(size) - 1)
    return _Flow(tuple(size), start, start.rf, start.jump)


def _flow(layer: ModelLayer, srcs: list[_Flow]) -> tuple[_Flow, tuple[int, ...] | None, int]:
    src = srcs[0]
    kind = layer.kind
    if is_conv_kind(kind):
        return _conv_flow(layer, src)
    if others.other_kind(kind).merges:
        shape = others.merge_shape(layer, [s.shape for s in srcs])
        known = [s for s in srcs if s.rf is not None]
        if len(known) < len(srcs):
            return _Flow(shape, _start(len(shape) - 1), None, None), None, 0
        widest = max(known, key=lambda s: s.rf or ())
        rf = tuple(max(s.rf[a] for s in known if s.rf is not None) for a in range(len(widest.rf or ())))
        return _Flow(shape, widest.chain, rf, widest.jump), None, 0
    shape, pads, macs, window, whole = others.flow(layer, src.shape)
    # a resize by no window (a Resizing) is bounded by no window either: as a layer the walk cannot follow
    if whole or src.rf is None or others.other_kind(layer.kind).resamples and window is None:
        return _Flow(shape, src.chain, None, None), pads, macs
    if window is None:
        return _Flow(shape, src.chain, src.rf, src.jump), pads, macs
    chain = src.chain.then(_window(*window, transposed=others.other_kind(layer.kind).spreads))
    return _Flow(shape, chain, chain.rf, chain.jump), pads, macs
