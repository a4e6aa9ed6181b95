"""A figure's title: the input's name, the layer as asked (its kind and axes), its shapes."""

from __future__ import annotations

from dataclasses import dataclass

from convcli.engine import Layer, LayerResult
from convcli.layer.spec import ConvSpec
from convcli.present import describe


@dataclass(frozen=True)
class DepthSlice:
    """A 3-D layer drawn one output plane at a time (:mod:`convcli.pipeline.depth`): ``whole`` the 3-D
    layer (its input ``(D, H, W, C)``), ``plane`` the output plane the figure shows."""

    whole: Layer
    plane: int


def figure_title(result: LayerResult, source: str | None, spec: ConvSpec | None = None,
                 depth: DepthSlice | None = None) -> str:
    """``source · the layer, its settings · input → output``. ``spec``: the layer as asked when it is not
    the classic Conv2D (a 1-D layer runs as one row of ``result``: its title names its one axis);
    ``depth``: a 3-D layer's slice (``result`` is its 2-D plane): the title gives the whole kernel and
    shapes, and which depth slice is drawn."""
    layer = result.layer
    g = layer.geometry
    h, w, c = layer.x.shape
    ho, wo = g.out_hw
    name = spec.kind_obj.keras_name(spec.ndim) if spec is not None else "Conv2D"
    if spec is not None and spec.kind_obj.transposed:  # computed as a conv over the spread input: say so
        name += f", drawn as the Conv{spec.ndim}D it equals:"
    if depth is not None:
        return _titled(source, _depth_text(name, result, depth))
    if spec is not None and spec.ndim == 1:  # one row: the title names its one axis
        parts = [f"{name} {g.kernel_hw[1]}", f"stride {g.stride[1]}",
                 f"pads {describe.pair_text(g.pads[2:])}" if any(g.pads) else "no padding"]
        if g.dilation[1] != 1:
            parts.append(f"dilation {g.dilation[1]}")
        shapes = f"input {w}×{c} (L, C) → output {wo}×{layer.filters}"
    else:
        parts = [
            f"{name} {g.kernel_hw[0]}×{g.kernel_hw[1]}",
            f"stride {describe.square_text(g.stride)}",
            f"pads {describe.pair_text(g.pads[:2])} × {describe.pair_text(g.pads[2:])}" if any(g.pads) else "no padding",
        ]
        if g.dilation != (1, 1):
            parts.append(f"dilation {describe.shape_text(g.dilation)}")
        shapes = f"input {h}×{w}×{c} → output {ho}×{wo}×{layer.filters}"
    parts.extend(_tail(result, layer.groups))
    return _titled(source, ", ".join(parts) + f" · {shapes}")


def _depth_text(name: str, result: LayerResult, depth: DepthSlice) -> str:
    """The whole 3-D layer (``kd×kh×kw``, its strides and pads on every axis, its shapes) and the plane
    drawn: ``depth slice d of D' (input planes a–b)``, as ``run``'s note says it."""
    whole = depth.whole
    g = whole.geometry
    pads = tuple(p for pair in g.pad_width for p in pair)
    pad_text = " × ".join(describe.pair_text(pair) for pair in g.pad_width)
    parts = [f"{name} {describe.shape_text(g.kernel)}", f"stride {describe.square_text(g.strides)}",
             f"pads {pad_text}" if any(pads) else "no padding"]
    if any(d != 1 for d in g.dilations):
        parts.append(f"dilation {describe.shape_text(g.dilations)}")
    parts.extend(_tail(result, whole.groups))
    kd, dd, sd, before = g.kernel[0], g.dilations[0], g.strides[0], g.pad_width[0][0]
    read = [depth.plane * sd - before + k * dd for k in range(kd)]
    texts = [f"{p}" if 0 <= p < whole.x.shape[0] else f"{p} (padding)" for p in read]
    planes = ", ".join(texts) if kd <= 4 else f"{read[0]}–{read[-1]}" + (f" every {dd}" if dd != 1 else "")
    out = (*g.out_size, whole.filters)
    return (", ".join(parts) + f" · depth slice {depth.plane} of {g.out_size[0]} (input planes {planes})"
            f" · input {describe.shape_text(whole.x.shape)} (D, H, W, C) → output {describe.shape_text(out)}")


def _tail(result: LayerResult, groups: int) -> list[str]:
    """The groups, filters and activation every title ends its settings with."""
    filters = result.layer.filters
    grouped = [f"groups {groups}"] if groups > 1 else []
    return [*grouped, f"{filters} filter{'s' if filters != 1 else ''}, {result.activation}"]


def _titled(source: str | None, text: str) -> str:
    return f"{source} · {text}" if source else text
