"""A layer of another kind, rank or padding mode as ``run --json`` names it: its spec and shapes in its own axes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from convcli.layer import counts
from convcli.layer.spec import ConvSpec
from convcli.present.describe import SPATIAL_NAMES, shape_text


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


def terms_formula(terms: Sequence[counts.Term], *, numbers: bool = True) -> str:
    """``kh·kw·C·M + C·M·F`` (symbols) or ``3·3·64·1 + 64·1·128`` (numbers)."""
    return " + ".join("·".join(str(v) if numbers else name for name, v in term) for term in terms)


@dataclass(frozen=True)
class KindTexts:
    """A layer of another kind or rank as its header words it, in its own axes (every view: the run
    screen, the report, the explorer): ``kernel`` its weights' shapes, ``output`` ``(L', F)``-style shape,
    ``params`` the count with numbers, ``symbols`` the same in symbols."""

    kernel: str
    output: str
    params: str
    symbols: str

    @classmethod
    def of(cls, spec: ConvSpec, out_size: Sequence[int]) -> KindTexts:
        n = spec.ndim
        taps = ("k",) if n == 1 else tuple(f"k{a.lower()}" for a in SPATIAL_NAMES[n])
        if spec.kind == "separable":
            shapes = spec.kernel_shapes()
            kernel = (f"depthwise_kernel {shape_text(shapes['depthwise_kernel'])} ({', '.join((*taps, 'C', 'M'))}), "
                      f"pointwise_kernel {shape_text(shapes['pointwise_kernel'])} "
                      f"({', '.join(('1',) * n + ('C·M', 'F'))})")
        else:
            inner = (("C", "M") if spec.kind == "depthwise" else ("F/g" if spec.groups > 1 else "F", "C")
                     if spec.kind == "transpose" else ("C/g" if spec.groups > 1 else "C", "F"))
            kernel = f"{shape_text(spec.kernel_shapes()['kernel'])} ({', '.join((*taps, *inner))})"
        out_names = ", ".join(f"{a}'" for a in SPATIAL_NAMES[n])
        terms = spec.kind_obj.weight_terms(spec) + ((spec.kind_obj.bias_term(spec),) if spec.use_bias else ())
        p = counts.param_count(spec)
        return cls(kernel, f"{shape_text((*out_size, spec.out_channels))} ({out_names}, F)",
                   f"{terms_formula(terms)} = {p.weights + p.biases:,}", terms_formula(terms, numbers=False))
