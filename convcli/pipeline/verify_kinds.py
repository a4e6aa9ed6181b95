"""``verify`` of a layer of another kind, rank or padding mode: convcli's result against each framework's own
N-d layer (:mod:`convcli.verify.kinds`), in this process. Nothing here prints, exits or imports typer or rich.
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING

from convcli.pipeline.built import BuiltLayer

if TYPE_CHECKING:
    from convcli.pipeline.verify import VerifyReport


def verify_kind(built: BuiltLayer, *, semantics: str = "keras") -> VerifyReport:
    """convcli's pre-activation ``(*S', F)`` of ``built`` (its ``spec`` set: computed on the general path, whole)
    and every framework's, compared within the rounding of ``n``-term sums (:mod:`convcli.verify.compare`)."""
    import numpy as np

    from convcli import engine
    from convcli.pipeline.kinds import bind_kind
    from convcli.pipeline.verify import VerifyReport
    from convcli.verify import compare
    from convcli.verify.adapters import installable
    from convcli.verify.kind_problem import KindProblem
    from convcli.verify.kinds import kind_adapters, run_kind_adapter
    from convcli.verify.problem import COMPUTED, Checked

    spec = built.spec
    if spec is None:
        raise ValueError("verify_kind takes a layer built from a kind request (built.spec)")
    x = built.archived_input()
    weights = built.archived_weights()
    bias = engine.check_bias(built.bias, spec.out_channels, x.dtype)
    dtype = x.dtype.name
    if spec.kind == "separable":
        kernel, pointwise = weights["depthwise_kernel"], weights["pointwise_kernel"]
        given: object = weights
        magnitude_weights: object = {k: np.abs(v).astype(np.float64) for k, v in weights.items()}
    else:
        kernel, pointwise = weights["kernel"], None
        given, magnitude_weights = kernel, np.abs(kernel).astype(np.float64)
    # the layer of its own rank, the padding mode applied; a transposed or separable one as the conv that computes it
    bound = bind_kind(spec, x, given, dtype=dtype)  # type: ignore[arg-type]
    result = engine.run_general(bound, bias, built.activation, use_bias=built.use_bias)
    if spec.kind_obj.own_engine:
        # |x|·|w| through the kind's own weights: a separable kernel's |Σ dw·pw| could hide a cancellation
        magnitudes = bind_kind(spec, np.abs(x).astype(np.float64), magnitude_weights,  # type: ignore[arg-type]
                               dtype="float64")
    else:
        magnitudes = engine.Layer(np.abs(bound.x).astype(np.float64), np.abs(bound.kernel).astype(np.float64),
                                  bound.groups, bound.geometry)
    scale = engine.layer_output(magnitudes, np.abs(bias).astype(np.float64))
    n = prod(spec.kernel) * bound.cg * (spec.depth_multiplier if spec.kind == "separable" else 1) + 1
    problem = KindProblem(spec, x, kernel, bias, semantics, pointwise)
    checked = []
    for name, module, install, compute in kind_adapters():
        outcome = run_kind_adapter(name, module, install, compute, problem)
        same = outcome.status == COMPUTED and outcome.output is not None
        comparison = compare.compare(outcome.output, result.preactivation, scale, n=n, dtype=x.dtype) \
            if same and outcome.output is not None else None
        checked.append(Checked(outcome, comparison))
    return VerifyReport(result, checked, n, compare.rtol_for(x.dtype, n), installable(checked))


def header_pads(built: BuiltLayer) -> tuple[tuple[int, int], ...]:
    """The pads ``((before, after), ...)`` the verify header names: a conv's input pads, a transposed layer's
    cuts of its output (they stand in the pads' place, as in ``run``'s header)."""
    spec = built.spec
    if spec is None:
        raise ValueError("header_pads takes a layer built from a kind request (built.spec)")
    in_size = tuple(built.loaded.array.shape[:-1])
    if spec.kind != "transpose":
        return spec.geometry(in_size).pad_width
    from convcli.layer.geometry import TransposeGeometry

    n = spec.ndim
    padding = (spec.padding,) * n if isinstance(spec.padding, str) else tuple(spec.padding)
    return TransposeGeometry.build(in_size, spec.kernel, spec.stride, spec.dilation, padding,
                                   spec.output_padding).crops
