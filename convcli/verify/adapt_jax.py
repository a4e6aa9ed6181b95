"""JAX's ``lax.conv_general_dilated`` on a :class:`~convcli.verify.problem.Problem`; imported only when called.

``dimension_numbers`` name convcli's layouts, so nothing is permuted; pads are given as pairs, or
as lax's own 'SAME'. float64 needs ``jax_enable_x64``, else JAX silently computes in float32.
"""

from __future__ import annotations

import numpy as np

from convcli.verify.problem import COMPUTED, Outcome, Problem

#: How convcli's arrays reach JAX.
JAX_LAYOUT = "lax.conv_general_dilated, dimension_numbers ('NHWC', 'HWIO', 'NHWC'): nothing permuted"


def compute(p: Problem) -> Outcome:
    """The pre-activation ``(H', W', F)`` by ``jax.lax.conv_general_dilated``, and how it was called."""
    import jax

    if p.layer.x.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)  # otherwise JAX silently computes in float32
    import jax.numpy as jnp
    from jax import lax

    layer, g = p.layer, p.layer.geometry
    top, bottom, left, right = g.pads
    padding: str | list[tuple[int, int]]
    if p.numeric_padding:
        padding = [(top, bottom), (left, right)]
        how = f"padding={padding}"
    elif p.same:
        padding, how = "SAME", f"padding='SAME' (lax's own: pads {g.pads})"
    else:
        padding, how = "VALID", "padding='VALID'"
    y = lax.conv_general_dilated(
        jnp.asarray(layer.x[None]), jnp.asarray(layer.kernel), window_strides=g.stride, padding=padding,
        rhs_dilation=g.dilation, dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=layer.groups, precision=lax.Precision.HIGHEST,
    )
    y = y + jnp.asarray(p.bias)
    return Outcome("JAX", jax.__version__, COMPUTED, JAX_LAYOUT, how, np.asarray(y[0]))
