"""convcli's own second implementation (:mod:`convcli.verify.reference`) as one more framework, always there."""

from __future__ import annotations

import numpy as np

from convcli.verify import reference
from convcli.verify.problem import COMPUTED, Outcome, Problem

#: How the arrays reach the einsum.
NUMPY_LAYOUT = "einsum('ijcuv,uvcf->ijf') over sliding_window_view (convcli's second implementation)"


def compute(p: Problem) -> Outcome:
    """The pre-activation ``(H', W', F)`` by :func:`~convcli.verify.reference.einsum_conv2d`."""
    layer, g = p.layer, p.layer.geometry
    out = reference.einsum_conv2d(layer.x, layer.kernel, p.bias, stride=g.stride, dilation=g.dilation,
                                  pads=g.pads, groups=layer.groups)
    return Outcome("numpy einsum", np.__version__, COMPUTED, NUMPY_LAYOUT, f"np.pad {g.pads}", out)
