"""SciPy on a :class:`~convcli.verify.problem.Problem`: the layer's sum written out; imported only when called.

One 2-D ``correlate2d`` per (channel, filter), summed, plus the bias: the definition of the layer
with no framework's conventions in between. With ``--flip`` it is ``convolve2d`` on the kernel as
given, which flips it itself. Pads are explicit, dilation is zeros in the kernel, stride a slice.
"""

from __future__ import annotations

import numpy as np

from convcli.verify.problem import COMPUTED, Outcome, Problem


def compute(p: Problem) -> Outcome:
    """The pre-activation ``(H', W', F)`` by ``scipy.signal``, and how it was called."""
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
