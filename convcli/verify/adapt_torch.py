"""PyTorch's ``F.conv2d`` on a :class:`~convcli.verify.problem.Problem`; torch imported only when called.

PyTorch is channels-first: the input and kernel are permuted to ``(1, C, H, W)`` and ``(F, C/g,
kh, kw)``. Its ``padding=`` is symmetric and its ``'same'`` refuses stride > 1, so Keras' 'same'
with stride > 1 is realised by the pads themselves: as ``padding=`` when they are symmetric, by
``F.pad`` when they are not. Under ``--semantics torch`` it is left to refuse, in its own words.
"""

from __future__ import annotations

import warnings

import numpy as np

from convcli.verify.kind_problem import KindProblem
from convcli.verify.problem import COMPUTED, Outcome, Problem, Refused, first_line, pair_text

#: How convcli's arrays reach torch (the "layouts" line of the verify screen).
TORCH_LAYOUT = ("x (H, W, C) → (1, C, H, W) by permute(2, 0, 1)[None]; "
                "kernel (kh, kw, C/g, F) → (F, C/g, kh, kw) by permute(3, 2, 0, 1)")


def compute(p: Problem) -> Outcome:
    """The pre-activation ``(H', W', F)`` by ``torch.nn.functional.conv2d``, and how it was called."""
    import torch
    import torch.nn.functional as F

    layer, g = p.layer, p.layer.geometry
    top, bottom, left, right = g.pads
    explicit: tuple[int, int, int, int] | None = None
    padding: str | tuple[int, int]
    refusal_expected = False
    if p.numeric_padding:
        padding, how = (top, left), f"padding=({top}, {left})"
    elif not p.same:
        padding, how = "valid", "padding='valid'"
    elif p.semantics == "torch" or g.stride == (1, 1):
        padding = "same"
        refusal_expected = g.stride != (1, 1)
        how = f"padding='same' (torch's own: pads {g.pads}"
        how += ", the odd one at the end, as TensorFlow)" if (top, left) != (bottom, right) else ")"
    elif (top, left) == (bottom, right):
        padding, how = (top, left), f"padding=({top}, {left}): these 'same' pads are symmetric"
    else:
        padding, explicit = (0, 0), (left, right, top, bottom)
        how = (f"F.pad(x, {pair_text(explicit)}) (left, right, top, bottom), then padding=0: torch refuses "
               "'same' with stride > 1 and its padding= is symmetric")
    x = torch.from_numpy(np.ascontiguousarray(layer.x)).permute(2, 0, 1)[None]
    w = torch.from_numpy(np.ascontiguousarray(layer.kernel)).permute(3, 2, 0, 1)
    b = torch.from_numpy(np.ascontiguousarray(p.bias))
    with torch.no_grad(), warnings.catch_warnings():
        # torch warns that 'same' with an even kernel copies a padded input: a cost, not a difference
        warnings.filterwarnings("ignore", message=".*padding='same'.*", category=UserWarning)
        if explicit is not None:
            x = F.pad(x, explicit)
        try:
            y = F.conv2d(x, w, b, stride=g.stride, padding=padding, dilation=g.dilation,  # type: ignore[arg-type]
                         groups=layer.groups)
        except (RuntimeError, ValueError) as exc:
            if not refusal_expected:
                raise
            raise Refused(f"PyTorch allows padding='same' only with stride 1: {first_line(exc)}") from exc
    return Outcome("PyTorch", torch.__version__, COMPUTED, TORCH_LAYOUT, how,
                   y[0].permute(1, 2, 0).contiguous().numpy())


def compute_kind(p: KindProblem) -> Outcome:
    """The pre-activation ``(*S', F)`` of a layer of any kind and rank by ``torch.nn.Conv{n}d`` (its own
    ``padding`` and ``padding_mode`` when the pads are symmetric; else ``F.pad`` with the mode, then no padding)."""
    import torch
    import torch.nn.functional as F

    spec = p.spec
    if spec.kind == "transpose":
        return _transpose(p)
    if spec.kind == "separable":
        return _separable(p)
    kernel, groups = p.grouped_kernel()
    pads = p.pad_width
    c, f = p.x.shape[-1], kernel.shape[-1]
    symmetric = all(b == a for b, a in pads)
    conv = getattr(torch.nn, spec.torch_name)(
        c, f, spec.kernel, stride=spec.stride, dilation=spec.dilation, groups=groups,
        padding=tuple(b for b, _ in pads) if symmetric else 0,
        padding_mode=spec.padding_mode if symmetric else "zeros", dtype=getattr(torch, p.x.dtype.name))
    x = torch.from_numpy(np.ascontiguousarray(np.moveaxis(p.x, -1, 0)))[None]
    mode = {"zeros": "constant", "replicate": "replicate", "reflect": "reflect", "circular": "circular"}
    if symmetric:
        how = f"{spec.torch_name}(padding={tuple(b for b, _ in pads)}, padding_mode={spec.padding_mode!r})"
    else:
        flat = tuple(v for pair in reversed(pads) for v in pair)
        x = F.pad(x, flat, mode=mode[spec.padding_mode])
        how = (f"F.pad(x, {flat}, mode={mode[spec.padding_mode]!r}) then {spec.torch_name}(padding=0): "
               f"the pads {pads} are not symmetric, which torch's padding= is")
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(np.moveaxis(kernel, (-1, -2), (0, 1)))))
        assert conv.bias is not None
        conv.bias.copy_(torch.from_numpy(np.ascontiguousarray(p.bias)))
        y = conv(x)[0]
    layout = f"x (*S, C) → (1, C, *S); kernel {spec.kernel_shapes()['kernel']} (Keras) → (F, C/g, *k)"
    return Outcome("PyTorch", torch.__version__, COMPUTED, layout, how, np.moveaxis(y.numpy(), 0, -1).copy())


def _transpose(p: KindProblem) -> Outcome:
    """A transposed layer by ``F.conv_transpose{n}d``: PyTorch's padding ``P`` and ``output_padding`` as they are;
    Keras' ``valid``/``same`` (no PyTorch spelling) as the uncut output, then ``F.pad`` with negative pads cutting
    what Keras cuts (a positive one adds the zeros no kernel copy reaches), then the bias."""
    import torch
    import torch.nn.functional as F

    spec, n = p.spec, p.spec.ndim
    conv = getattr(F, f"conv_transpose{n}d")
    x = torch.from_numpy(np.ascontiguousarray(np.moveaxis(p.x, -1, 0)))[None]
    w = torch.from_numpy(np.ascontiguousarray(np.moveaxis(p.kernel, (-1, -2), (0, 1))))  # (C, F/g, *k)
    b = torch.from_numpy(np.ascontiguousarray(p.bias))
    name = f"conv_transpose{n}d"
    with torch.no_grad():
        if not isinstance(spec.padding, str):
            op = spec.output_padding or (0,) * n
            y = conv(x, w, b, stride=spec.stride, padding=tuple(spec.padding), output_padding=op,
                     groups=spec.groups, dilation=spec.dilation)[0]
            how = (f"F.{name}(padding={pair_text(spec.padding)}, output_padding={pair_text(op)}, "
                   f"groups={spec.groups})")
        else:
            crops = p.transpose_geometry().crops
            flat = tuple(-v for pair in reversed(crops) for v in pair)
            y = conv(x, w, None, stride=spec.stride, padding=0, groups=spec.groups, dilation=spec.dilation)
            y = F.pad(y, flat)[0] + b.reshape(-1, *(1,) * n)
            how = (f"F.{name}(padding=0), then F.pad(y, {flat}) cuts Keras' {spec.padding!r} crops {crops}, then "
                   f"the bias: PyTorch has no {spec.padding!r} for a transposed conv")
    layout = f"x (*S, C) → (1, C, *S); kernel {spec.kernel_shapes()['kernel']} (Keras) → (C, F/g, *k)"
    return Outcome("PyTorch", torch.__version__, COMPUTED, layout, how, np.moveaxis(y.numpy(), 0, -1).copy())


def _separable(p: KindProblem) -> Outcome:
    """A separable layer by PyTorch's depthwise ``F.conv{n}d`` (``groups=C``, ``C·M`` outputs) then a 1×…×1 one."""
    import torch
    import torch.nn.functional as F

    spec, n = p.spec, p.spec.ndim
    assert p.pointwise is not None
    conv = getattr(F, f"conv{n}d")
    c, m = p.kernel.shape[-2], p.kernel.shape[-1]
    f = p.pointwise.shape[-1]
    x = torch.from_numpy(np.ascontiguousarray(np.moveaxis(p.x, -1, 0)))[None]
    pads = p.pad_width
    flat = tuple(v for pair in reversed(pads) for v in pair)
    # Keras' depthwise output c·M + j is torch's too: group c's j-th output channel
    dw = np.moveaxis(p.kernel.reshape(*spec.kernel, c * m), -1, 0)[:, None]  # (C·M, 1, *k)
    pw = p.pointwise.reshape(c * m, f).T.reshape(f, c * m, *(1,) * n)  # (F, C·M, 1, …)
    with torch.no_grad():
        y = conv(F.pad(x, flat), torch.from_numpy(np.ascontiguousarray(dw)), None, stride=spec.stride,
                 dilation=spec.dilation, groups=c)
        y = conv(y, torch.from_numpy(np.ascontiguousarray(pw)), torch.from_numpy(np.ascontiguousarray(p.bias)))[0]
    how = (f"F.pad(x, {flat}), F.conv{n}d(groups={c}) with the depthwise kernel ({c * m}, 1, *k), then F.conv{n}d "
           f"with the pointwise ({f}, {c * m}{', 1' * n}) and the bias")
    layout = ("x (*S, C) → (1, C, *S); depthwise_kernel (*k, C, M) → (C·M, 1, *k); "
              "pointwise_kernel (1, …, C·M, F) → (F, C·M, 1, …)")
    return Outcome("PyTorch", torch.__version__, COMPUTED, layout, how, np.moveaxis(y.numpy(), 0, -1).copy())
