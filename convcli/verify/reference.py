"""A second, deliberately different computation of a Conv2D, for ``convcli verify`` without frameworks.

The engine loops over kernel taps and multiplies strided views by ``(C, F)`` matrices. This module
instead pads the input explicitly, cuts every receptive field out with
:func:`numpy.lib.stride_tricks.sliding_window_view` and contracts each one with the kernel in a
single :func:`numpy.einsum`, the textbook formula written once::

    out[i, j, f] = bias[f] + Σ_c Σ_u Σ_v xpad[i·s + u·d, j·s + v·d, g·Cg + c] · kernel[u, v, c, f]

It shares no code with the engine's computation, only the pads the engine worked out.
numpy only.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: Receptive-field values materialised per block of output rows (bounded memory on big photos).
BLOCK_VALUES = 1 << 22


def einsum_conv2d(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    *,
    stride: tuple[int, int],
    dilation: tuple[int, int],
    pads: tuple[int, int, int, int],
    groups: int,
) -> np.ndarray:
    """Pre-activation ``(H', W', F)`` of ``x (H, W, C)`` with ``kernel (kh, kw, C // groups, F)``.

    ``pads`` is ``(top, bottom, left, right)`` zeros; ``bias (F,)``. Computed in ``x``'s dtype.
    """
    top, bottom, left, right = pads
    (sh, sw), (dh, dw) = stride, dilation
    kh, kw, cg, f = kernel.shape
    fg = f // groups
    xpad = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    # every (kh - 1)·dh + 1 by (kw - 1)·dw + 1 patch: (rows, cols, C, span_h, span_w), a view
    patches = sliding_window_view(xpad, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(0, 1))
    fields = patches[::sh, ::sw, :, ::dh, ::dw]  # (H', W', C, kh, kw): the taps only
    ho, wo = fields.shape[:2]
    out = np.empty((ho, wo, f), dtype=x.dtype)
    step = max(1, BLOCK_VALUES // max(1, wo * fields.shape[2] * kh * kw))
    for r in range(0, ho, step):
        block = fields[r : r + step]
        for g in range(groups):
            out[r : r + step, :, g * fg : (g + 1) * fg] = np.einsum(
                "ijcuv,uvcf->ijf",
                block[:, :, g * cg : (g + 1) * cg],
                kernel[:, :, :, g * fg : (g + 1) * fg],
                optimize=True,
            )
    out += bias
    return out
