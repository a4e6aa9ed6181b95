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
