"""A layer of another kind, rank or padding mode as ``run --json`` names it: its spec and shapes in its own axes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcli.layer.spec import ConvSpec


def kind_json(spec: ConvSpec, in_size: Sequence[int]) -> dict[str, Any]:
    """The layer as asked when it is not the classic Conv2D (``run --json``'s ``kind``): its kind, class names,
    axes, settings per axis, pads ``[[before, after], ...]``, and the kernel and output shapes in its own axes
    (the document's other numbers are those of the 2-D layer that computes it: one row, or one depth slice)."""
    g = spec.geometry(in_size)
    return {
        "kind": spec.kind, "ndim": spec.ndim, "keras": spec.keras_name, "torch": spec.torch_name,
        "kernel_size": list(spec.kernel), "strides": list(spec.stride), "dilation": list(spec.dilation),
        "padding": spec.padding if isinstance(spec.padding, str) else list(spec.padding),
        "padding_mode": spec.padding_mode, "pads": [list(p) for p in g.pad_width], "groups": spec.groups,
        "depth_multiplier": spec.depth_multiplier, "kernel_shape": list(spec.kernel_shapes()["kernel"]),
        "output_shape": [*g.out_size, spec.out_channels],
    }
