"""SciPy on a :class:`~convcli.verify.kind_problem.KindProblem`: every kind and rank written out as SciPy's own
N-d correlations and convolutions, nothing of convcli's engine in between; imported only when called.

- conv and depthwise (1-3 axes, groups, depth multiplier): the input padded by ``np.pad`` in the padding
  mode's numpy name (zeros/reflect/replicate/circular → constant/reflect/edge/wrap; causal is the spec's
  left pad), then one ``scipy.signal.correlate(mode='valid')`` per (input channel, filter) with the dilated
  kernel (zeros between taps), summed over the group's channels; stride is a slice of that full correlation.
- separable (1-2 axes): the depthwise correlation per channel and multiplier, then the pointwise sum.
- transposed (1-3 axes, groups): the input upsampled with ``stride - 1`` zeros between values, SciPy's full
  ``scipy.signal.convolve`` by the dilated kernel (a true convolution, which is what a transposed conv is:
  input ``i`` and tap ``t`` land on ``i·s + t·d``), summed over the group's channels, then the framework's
  cut: PyTorch's ``padding``/``output_padding`` or Keras' valid/same, as the header's crops say.
"""

from __future__ import annotations

import numpy as np

from convcli.verify.kind_problem import KindProblem
from convcli.verify.problem import COMPUTED, Outcome

#: PyTorch's padding modes by numpy's ``np.pad`` names.
NUMPY_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _dilated(kernel: np.ndarray, dilation: tuple[int, ...]) -> np.ndarray:
    """``kernel (*k, a, b)`` with ``d - 1`` zeros between its taps on each spatial axis."""
    n = len(dilation)
    k = kernel.shape[:n]
    out = np.zeros((*((kk - 1) * d + 1 for kk, d in zip(k, dilation, strict=True)), *kernel.shape[n:]),
                   dtype=kernel.dtype)
    out[tuple(slice(None, None, d) for d in dilation)] = kernel
    return out


def compute_kind(p: KindProblem) -> Outcome:
    """The pre-activation ``(*S', F)`` of a layer of any kind and rank by ``scipy.signal``, and how it was called."""
    if p.spec.kind == "transpose":
        return _transpose(p)
    if p.spec.kind == "separable":
        return _separable(p)
    return _conv(p)


def _padded(p: KindProblem) -> tuple[np.ndarray, str]:
    spec, pads = p.spec, p.pad_width
    mode = NUMPY_MODE[spec.padding_mode]
    xpad = np.pad(p.x, (*pads, (0, 0)), mode=mode)  # type: ignore[call-overload]
    return xpad, f"np.pad({pads}, mode={mode!r})"


def _strided(full: np.ndarray, stride: tuple[int, ...], out_size: tuple[int, ...]) -> np.ndarray:
    """Every ``stride``-th position of a valid correlation, the first ``out_size`` of them."""
    return full[tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out_size, stride, strict=True))]


def _conv(p: KindProblem) -> Outcome:
    import scipy
    from scipy import signal

    spec = p.spec
    kernel, groups = p.grouped_kernel()  # (*k, C/g, F); a depthwise one: C groups of M
    xpad, pad_how = _padded(p)
    out_size = spec.geometry(p.x.shape[:-1]).out_size
    dk = _dilated(kernel, spec.dilation)
    cg, f = kernel.shape[-2], kernel.shape[-1]
    fg = f // groups
    out = np.empty((*out_size, f), dtype=p.x.dtype)
    for j in range(f):
        group = j // fg
        acc = np.full(out_size, p.bias[j], dtype=p.x.dtype)
        for c in range(cg):
            full = signal.correlate(xpad[..., group * cg + c], dk[..., c, j], mode="valid", method="direct")
            acc += _strided(full, spec.stride, out_size)
        out[..., j] = acc
    what = "depthwise: channel c, multiplier m is filter c·M + m" if spec.kind == "depthwise" else \
        f"groups={groups}"
    how = pad_how + ", signal.correlate(mode='valid')" + _stride_note(spec.stride)
    return Outcome("SciPy", scipy.__version__, COMPUTED,
                   f"Σ_c signal.correlate(x[..., c], kernel[..., c, f]) + bias[f] ({what})"
                   + _dilation_note(spec.dilation), how, out)


def _separable(p: KindProblem) -> Outcome:
    import scipy
    from scipy import signal

    spec = p.spec
    assert p.pointwise is not None
    xpad, pad_how = _padded(p)
    out_size = spec.geometry(p.x.shape[:-1]).out_size
    c, m = p.kernel.shape[-2:]
    dk = _dilated(p.kernel, spec.dilation)
    pointwise = p.pointwise.reshape(c * m, -1)
    f = pointwise.shape[-1]
    out = np.empty((*out_size, f), dtype=p.x.dtype)
    out[...] = p.bias
    for ch in range(c):
        for mm in range(m):
            full = signal.correlate(xpad[..., ch], dk[..., ch, mm], mode="valid", method="direct")
            depthwise = _strided(full, spec.stride, out_size)
            for j in range(f):
                out[..., j] += depthwise * pointwise[ch * m + mm, j]
    how = pad_how + ", signal.correlate(mode='valid')" + _stride_note(spec.stride) + ", then the pointwise sum"
    return Outcome("SciPy", scipy.__version__, COMPUTED,
                   "Σ_{c,m} signal.correlate(x[..., c], depthwise_kernel[..., c, m]) · pointwise[c·M + m, f] + bias[f]"
                   + _dilation_note(spec.dilation), how, out)


def _transpose(p: KindProblem) -> Outcome:
    import scipy
    from scipy import signal

    spec, g = p.spec, p.transpose_geometry()
    groups = spec.groups
    c, fg = p.x.shape[-1], p.kernel.shape[-2]  # kernel (*k, F/g, C)
    cg = c // groups
    up = np.zeros((*((n - 1) * s + 1 for n, s in zip(g.in_size, g.strides, strict=True)), c), dtype=p.x.dtype)
    up[tuple(slice(None, None, s) for s in g.strides)] = p.x
    dk = _dilated(p.kernel, g.dilations)
    full_size = tuple(u + k - 1 for u, k in zip(up.shape[:-1], dk.shape[:-2], strict=True))
    full = np.zeros((*full_size, fg * groups), dtype=p.x.dtype)
    for grp in range(groups):
        for jj in range(fg):
            for ch in range(grp * cg, (grp + 1) * cg):
                full[..., grp * fg + jj] += signal.convolve(up[..., ch], dk[..., jj, ch], mode="full", method="direct")
    # a negative crop (PyTorch's output_padding beyond the last copy) adds zeros no kernel copy reaches
    full = np.pad(full, (*((max(0, -b), max(0, -a)) for b, a in g.crops), (0, 0)))
    out = full[tuple(slice(max(0, b), full.shape[i] - max(0, a)) for i, (b, a) in enumerate(g.crops))] + p.bias
    zeros = f"; x upsampled with {tuple(s - 1 for s in g.strides)} zeros between values" \
        if any(s > 1 for s in g.strides) else ""
    return Outcome("SciPy", scipy.__version__, COMPUTED,
                   "Σ_c signal.convolve(x↑s[..., c], kernel[..., f, c], mode='full') + bias[f]"
                   + zeros + _dilation_note(g.dilations),
                   f"the full convolution, then the cuts {g.crops}", out)


def _stride_note(stride: tuple[int, ...]) -> str:
    return f", then every {stride} position" if any(s > 1 for s in stride) else ""


def _dilation_note(dilation: tuple[int, ...]) -> str:
    return "; dilation as zeros in the kernel" if any(d > 1 for d in dilation) else ""
