"""SciPy on a :class:`~convcli.verify.problem.Problem`: the layer's sum written out; imported only when called.

One 2-D ``correlate2d`` per (channel, filter), summed, plus the bias: the definition of the layer
with no framework's conventions in between. With ``--flip`` it is ``convolve2d`` on the kernel as
given, which flips it itself. Pads are explicit, dilation is zeros in the kernel, stride a slice.

A band of a large layer (``Problem.banded``) goes through ``scipy.ndimage.correlate`` (``convolve``
with ``--flip``) instead: the same sum, 2-3× faster here and without the GIL, so the filters run
on two threads; its output is the input's size, centred on the kernel, and the valid part is cut
out of it. Small layers keep ``correlate2d``: their screen shows which routine computed the row.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from convcli.engine import tiles
from convcli.verify.problem import COMPUTED, Outcome, Problem


def compute(p: Problem) -> Outcome:
    """The pre-activation ``(H', W', F)`` by ``scipy.signal`` (``scipy.ndimage`` for a band), and how it was called."""
    if p.banded:
        return _compute_ndimage(p)
    import scipy
    from scipy import signal

    layer, g = p.layer, p.layer.geometry
    top, bottom, left, right = g.pads
    (sh, sw), (dh, dw) = g.stride, g.dilation
    kh, kw, cg, f = layer.kernel.shape
    fg = f // layer.groups
    xpad = np.pad(layer.x, ((top, bottom), (left, right), (0, 0)))
    # the kernel as given (convolve2d flips it itself), with dilation's gaps as explicit zeros
    given = layer.kernel[::-1, ::-1] if p.flip else layer.kernel
    dilated = np.zeros(((kh - 1) * dh + 1, (kw - 1) * dw + 1, cg, f), dtype=layer.kernel.dtype)
    dilated[::dh, ::dw] = given
    fn = signal.convolve2d if p.flip else signal.correlate2d
    ho, wo = g.out_hw
    out = np.empty((ho, wo, f), dtype=layer.x.dtype)
    for j in range(f):
        group = j // fg
        acc = np.full((ho, wo), p.bias[j], dtype=layer.x.dtype)
        for c in range(cg):
            full = fn(xpad[:, :, group * cg + c], dilated[:, :, c, j], mode="valid")
            acc += full[::sh, ::sw][:ho, :wo]
        out[:, :, j] = acc
    name = "convolve2d" if p.flip else "correlate2d"
    how = f"np.pad {g.pads}, {name}(mode='valid')" + (f", then [::{sh}, ::{sw}]" if (sh, sw) != (1, 1) else "")
    gaps = "; dilation as zeros in the kernel" if (dh, dw) != (1, 1) else ""
    given_note = "; the kernel as given: convolve2d flips it" if p.flip else ""
    return Outcome("SciPy", scipy.__version__, COMPUTED,
                   f"Σ_c {name}(x[:, :, c], kernel[:, :, c, f]) + bias[f]{gaps}{given_note}", how, out)


def _compute_ndimage(p: Problem) -> Outcome:
    """:func:`compute` by ``scipy.ndimage.correlate`` / ``convolve``, one filter a task on
    :data:`convcli.engine.tiles.THREADS` threads (``scipy.ndimage`` releases the GIL)."""
    import scipy
    from scipy import ndimage

    layer, g = p.layer, p.layer.geometry
    top, bottom, left, right = g.pads
    (sh, sw), (dh, dw) = g.stride, g.dilation
    kh, kw, cg, f = layer.kernel.shape
    fg = f // layer.groups
    planes = np.ascontiguousarray(np.pad(layer.x, ((top, bottom), (left, right), (0, 0))).transpose(2, 0, 1))
    given = layer.kernel[::-1, ::-1] if p.flip else layer.kernel
    dkh, dkw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    dilated = np.zeros((dkh, dkw, cg, f), dtype=layer.kernel.dtype)
    dilated[::dh, ::dw] = given
    fn = ndimage.convolve if p.flip else ndimage.correlate
    # where a kernel's first tap sits in ndimage's same-size output: its centre, (K - 1) // 2 for convolve
    oh, ow = ((dkh - 1) // 2, (dkw - 1) // 2) if p.flip else (dkh // 2, dkw // 2)
    vh, vw = planes.shape[1] - dkh + 1, planes.shape[2] - dkw + 1
    ho, wo = g.out_hw
    out = np.empty((ho, wo, f), dtype=layer.x.dtype)

    def one(j: int) -> None:
        group = j // fg
        acc = np.full((ho, wo), p.bias[j], dtype=layer.x.dtype)
        for c in range(cg):
            full = fn(planes[group * cg + c], dilated[:, :, c, j], mode="constant", cval=0.0)
            acc += full[oh : oh + vh, ow : ow + vw][::sh, ::sw][:ho, :wo]
        out[:, :, j] = acc

    with ThreadPoolExecutor(tiles.THREADS) as pool:
        list(pool.map(one, range(f)))
    name = "convolve" if p.flip else "correlate"
    how = (f"np.pad {g.pads}, ndimage.{name}(mode='constant'), its valid part"
           + (f", then [::{sh}, ::{sw}]" if (sh, sw) != (1, 1) else "") + " (in bands of rows)")
    gaps = "; dilation as zeros in the kernel" if (dh, dw) != (1, 1) else ""
    given_note = f"; the kernel as given: {name} flips it" if p.flip else ""
    return Outcome("SciPy", scipy.__version__, COMPUTED,
                   f"Σ_c ndimage.{name}(x[:, :, c], kernel[:, :, c, f]) + bias[f]{gaps}{given_note}", how, out)
