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
    from convcli.pipeline.verify import VerifyReport, check_verifiable
    from convcli.verify import compare
    from convcli.verify.adapters import installable
    from convcli.verify.kind_problem import KindProblem
    from convcli.verify.kinds import kind_adapters, run_kind_adapter
    from convcli.verify.problem import COMPUTED, Checked

    check_verifiable(built)  # not yet the kinds with engines of their own (transpose, separable)
    spec = built.spec
    if spec is None:
        raise ValueError("verify_kind takes a layer built from a kind request (built.spec)")
    x, kernel = built.archived_input(), built.archived_kernel()
    bias = engine.check_bias(built.bias, spec.out_channels, x.dtype)
    bound = engine.bind(spec, x, kernel, dtype=x.dtype)  # the layer of its own rank, the padding mode applied
    result = engine.run_general(bound, bias, built.activation, use_bias=built.use_bias)
    magnitudes = engine.Layer(np.abs(bound.x).astype(np.float64), np.abs(bound.kernel).astype(np.float64),
                              bound.groups, bound.geometry)
    scale = engine.layer_output(magnitudes, np.abs(bias).astype(np.float64))
    n = prod(spec.kernel) * bound.cg + 1
    problem = KindProblem(spec, x, kernel, bias, semantics)
    checked = []
    for name, module, install, compute in kind_adapters():
        outcome = run_kind_adapter(name, module, install, compute, problem)
        same = outcome.status == COMPUTED and outcome.output is not None
        comparison = compare.compare(outcome.output, result.preactivation, scale, n=n, dtype=x.dtype) \
            if same and outcome.output is not None else None
        checked.append(Checked(outcome, comparison))
    return VerifyReport(result, checked, n, compare.rtol_for(x.dtype, n), installable(checked))
