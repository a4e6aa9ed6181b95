"""A figure's title: the input's name, the layer as asked (its kind and axes), its shapes."""

from __future__ import annotations

from convcli.engine import LayerResult
from convcli.layer.spec import ConvSpec
from convcli.present import describe


def figure_title(result: LayerResult, source: str | None, spec: ConvSpec | None = None) -> str:
    """``source · the layer, its settings · input → output``. ``spec``: the layer as asked when it is not
    the classic Conv2D (a 1-D layer runs as one row of ``result``: its title names its one axis)."""
    layer = result.layer
    g = layer.geometry
    h, w, c = layer.x.shape
    ho, wo = g.out_hw
    name = spec.kind_obj.keras_name(spec.ndim) if spec is not None else "Conv2D"
    if spec is not None and spec.kind_obj.transposed:  # computed as a conv over the spread input: say so
        name += f", drawn as the Conv{spec.ndim}D it equals:"
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
    if layer.groups > 1:
        parts.append(f"groups {layer.groups}")
    parts.append(f"{layer.filters} filter{'s' if layer.filters != 1 else ''}, {result.activation}")
    text = ", ".join(parts) + f" · {shapes}"
    return f"{source} · {text}" if source else text
