"""convcli's own second implementation (:mod:`convcli.verify.reference`) as one more framework, always there."""

from __future__ import annotations

import numpy as np

from convcli.verify import reference
from convcli.verify.kind_problem import KindProblem
from convcli.verify.problem import COMPUTED, Outcome, Problem

#: How the arrays reach the einsum.
NUMPY_LAYOUT = "einsum('ijcuv,uvcf->ijf') over sliding_window_view (convcli's second implementation)"


def compute(p: Problem) -> Outcome:
    """The pre-activation ``(H', W', F)`` by :func:`~convcli.verify.reference.einsum_conv2d`."""
    layer, g = p.layer, p.layer.geometry
    out = reference.einsum_conv2d(layer.x, layer.kernel, p.bias, stride=g.stride, dilation=g.dilation,
                                  pads=g.pads, groups=layer.groups)
    return Outcome("numpy einsum", np.__version__, COMPUTED, NUMPY_LAYOUT, f"np.pad {g.pads}", out)


def compute_kind(p: KindProblem) -> Outcome:
    """The pre-activation ``(*S', F)`` of a layer of any kind and rank, tap by tap: the input padded by
    ``np.pad`` in the padding mode's numpy name, then one matrix product per kernel tap and group."""
    import itertools

    spec = p.spec
    if spec.kind == "transpose":
        return _transpose(p)
    if spec.kind == "separable":
        return _separable(p)
    kernel, groups = p.grouped_kernel()
    pads = p.pad_width
    mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[spec.padding_mode]
    xpad = np.pad(p.x, (*pads, (0, 0)), mode=mode)  # type: ignore[call-overload]
    out_size = spec.geometry(p.x.shape[:-1]).out_size
    cg, f = kernel.shape[-2], kernel.shape[-1]
    fg = f // groups
    out = np.zeros((*out_size, f), dtype=p.x.dtype)
    for tap in itertools.product(*(range(k) for k in spec.kernel)):
        window = tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                       for t, d, s, o in zip(tap, spec.dilation, spec.stride, out_size, strict=True))
        for g in range(groups):
            out[..., g * fg:(g + 1) * fg] += xpad[(*window, slice(g * cg, (g + 1) * cg))] @ kernel[tap][:, g * fg:(g + 1) * fg]
    out += p.bias
    return Outcome("numpy einsum", np.__version__, COMPUTED, "x (*S, C), kernel (*k, C/g, F): one product per tap",
                   f"np.pad({pads}, mode={mode!r}), then a matmul per tap", out)


def _transpose(p: KindProblem) -> Outcome:
    """A transposed layer as a scatter: per kernel tap ``t`` and group, ``x @ kernel[t]`` added at
    ``i·s + t·d`` of the uncut output, which is then cut as the layer's padding says (zeros where a cut is negative)."""
    import itertools

    spec, g = p.spec, p.transpose_geometry()
    groups = spec.groups
    c, fg = p.x.shape[-1], p.kernel.shape[-2]
    cg = c // groups
    full = np.zeros((*((n - 1) * s + (k - 1) * d + 1 for n, s, k, d in
                       zip(g.in_size, g.strides, g.kernel, g.dilations, strict=True)), fg * groups), dtype=p.x.dtype)
    for tap in itertools.product(*(range(k) for k in g.kernel)):
        at = tuple(slice(t * d, t * d + (n - 1) * s + 1, s)
                   for t, d, s, n in zip(tap, g.dilations, g.strides, g.in_size, strict=True))
        for grp in range(groups):
            ch = slice(grp * cg, (grp + 1) * cg)
            full[(*at, slice(grp * fg, (grp + 1) * fg))] += p.x[..., ch] @ p.kernel[tap][:, ch].T
    full = np.pad(full, (*((max(0, -b), max(0, -a)) for b, a in g.crops), (0, 0)))
    out = full[tuple(slice(max(0, b), full.shape[i] - max(0, a)) for i, (b, a) in enumerate(g.crops))] + p.bias
    return Outcome("numpy einsum", np.__version__, COMPUTED, "x (*S, C), kernel (*k, F/g, C): one product per tap",
                   f"a matmul per tap added at i·s + t·d, then the cuts {g.crops}", out)


def _separable(p: KindProblem) -> Outcome:
    """A separable layer: the depthwise maps ``(*S', C, M)`` tap by tap, then one matmul by the pointwise weights."""
    import itertools

    spec = p.spec
    assert p.pointwise is not None
    pads = p.pad_width
    xpad = np.pad(p.x, (*pads, (0, 0)))
    out_size = spec.geometry(p.x.shape[:-1]).out_size
    c, m = p.kernel.shape[-2:]
    maps = np.zeros((*out_size, c, m), dtype=p.x.dtype)
    for tap in itertools.product(*(range(k) for k in spec.kernel)):
        window = tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                       for t, d, s, o in zip(tap, spec.dilation, spec.stride, out_size, strict=True))
        maps += xpad[window][..., None] * p.kernel[tap]
    out = maps.reshape(*out_size, c * m) @ p.pointwise.reshape(c * m, -1) + p.bias
    return Outcome("numpy einsum", np.__version__, COMPUTED,
                   "x (*S, C), depthwise_kernel (*k, C, M), pointwise_kernel (1, …, C·M, F)",
                   f"np.pad({pads}), a multiply per tap, then one matmul", out)
