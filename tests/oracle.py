"""A deliberately naive Conv2D, kept as the test oracle only (the product never imports it).

Plain Python loops over output row ``i``, column ``j``, filter ``f``, channel ``c`` and kernel taps
``(u, v)``; zero padding is an index check, not a padded copy. Slow and obviously right, so that the
vectorised engine has something independent to be compared with.

Layouts as in the engine: ``x (H, W, C)``, ``kernel (kh, kw, C // groups, F)``, ``bias (F,)``,
``pads (top, bottom, left, right)``; ``stride`` and ``dilation`` are ``(h, w)`` pairs or ints.
"""

from __future__ import annotations

import numpy as np


def _pair(v):
    if isinstance(v, int):
        return v, v
    return int(v[0]), int(v[1])


def naive_same_pads(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding for one axis, straight from its documented formula."""
    out = (n + s - 1) // s  # ceil(n / s)
    effective_k = (k - 1) * d + 1
    total = (out - 1) * s + effective_k - n
    if total < 0:
        total = 0
    before = total // 2
    after = total - before
    return before, after


def naive_out_size(n: int, k: int, s: int, d: int, before: int, after: int) -> int:
    """How many positions ``i`` have every tap ``i·s + u·d`` inside the padded axis (may be 0)."""
    last_tap = (k - 1) * d
    count = 0
    i = 0
    while i * s + last_tap <= n + before + after - 1:
        count += 1
        i += 1
    return count


def _tap(x, top, left, r, c, ch):
    """``x`` at padded coordinates ``(r, c)`` of channel ``ch``: zero outside the image."""
    h, w = x.shape[0], x.shape[1]
    r, c = r - top, c - left
    if r < 0 or r >= h or c < 0 or c >= w:
        return 0.0
    return float(x[r, c, ch])


def naive_partials(x, kernel, stride=1, pads=(0, 0, 0, 0), dilation=1, groups=1):
    """Per-channel contributions ``(H', W', C // groups, F)`` in float64."""
    x = np.asarray(x)
    kernel = np.asarray(kernel)
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    top, bottom, left, right = pads
    h, w, _ = x.shape
    kh, kw, cg, nf = kernel.shape
    fg = nf // groups
    ho = naive_out_size(h, kh, sh, dh, top, bottom)
    wo = naive_out_size(w, kw, sw, dw, left, right)
    out = np.zeros((ho, wo, cg, nf), dtype=np.float64)
    for i in range(ho):
        for j in range(wo):
            for f in range(nf):
                g = f // fg
                for c in range(cg):
                    total = 0.0
                    for u in range(kh):
                        for v in range(kw):
                            xv = _tap(x, top, left, i * sh + u * dh, j * sw + v * dw, g * cg + c)
                            total += xv * float(kernel[u, v, c, f])
                    out[i, j, c, f] = total
    return out


def naive_conv2d(x, kernel, bias=None, stride=1, pads=(0, 0, 0, 0), dilation=1, groups=1):
    """Pre-activation output ``(H', W', F)`` in float64: bias plus every tap of every channel."""
    x = np.asarray(x)
    kernel = np.asarray(kernel)
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    top, bottom, left, right = pads
    h, w, _ = x.shape
    kh, kw, cg, nf = kernel.shape
    fg = nf // groups
    ho = naive_out_size(h, kh, sh, dh, top, bottom)
    wo = naive_out_size(w, kw, sw, dw, left, right)
    out = np.zeros((ho, wo, nf), dtype=np.float64)
    for i in range(ho):
        for j in range(wo):
            for f in range(nf):
                g = f // fg
                total = 0.0 if bias is None else float(bias[f])
                for c in range(cg):
                    for u in range(kh):
                        for v in range(kw):
                            xv = _tap(x, top, left, i * sh + u * dh, j * sw + v * dw, g * cg + c)
                            total += xv * float(kernel[u, v, c, f])
                out[i, j, f] = total
    return out


def naive_patch(x, i, j, kernel_hw, stride=1, pads=(0, 0, 0, 0), dilation=1, channels=(0,)):
    """What the kernel sees at output ``(i, j)``: ``(kh, kw, len(channels))``, zeros for padding."""
    kh, kw = kernel_hw
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    top, _, left, _ = pads
    patch = np.zeros((kh, kw, len(channels)), dtype=np.float64)
    for u in range(kh):
        for v in range(kw):
            for k, ch in enumerate(channels):
                patch[u, v, k] = _tap(np.asarray(x), top, left, i * sh + u * dh, j * sw + v * dw, ch)
    return patch
