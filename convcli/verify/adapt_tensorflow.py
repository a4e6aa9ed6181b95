"""TensorFlow's ``tf.nn.convolution`` on a :class:`~convcli.verify.problem.Problem`; imported only when called.

TensorFlow takes convcli's layouts as they are (NHWC, HWIO kernels). Numeric pads go in by
``tf.pad``; 'same' is its own. Its CPU kernels have no grouped convolution, so a grouped layer is
one call per group, concatenated.
"""

from __future__ import annotations

import numpy as np

from convcli.verify.problem import COMPUTED, Outcome, Problem, Refused, first_line

#: How convcli's arrays reach TensorFlow; :data:`GROUPS_LAYOUT` is added for a grouped layer.
TENSORFLOW_LAYOUT = "NHWC x[None]; kernel HWIO (kh, kw, C/g, F) as is"
GROUPS_LAYOUT = "; one tf.nn.convolution per group"


def compute(p: Problem) -> Outcome:
    """The pre-activation ``(H', W', F)`` by ``tf.nn.convolution``, and how it was called."""
    import tensorflow as tf

    layer, g = p.layer, p.layer.geometry
    top, bottom, left, right = g.pads
    x = tf.constant(layer.x[None])
    if p.numeric_padding:
        x = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])
        mode, how = "VALID", f"tf.pad (({top}, {bottom}), ({left}, {right})) then padding='VALID'"
    else:
        mode = "SAME" if p.same else "VALID"
        how = f"padding={mode!r}" + (f" (TensorFlow's own: pads {g.pads})" if p.same else "")
    cg, fg = layer.cg, layer.filters // layer.groups
    refusal_expected = g.stride != (1, 1) and g.dilation != (1, 1)
    outs = []
    for k in range(layer.groups):  # one call per group: TensorFlow's CPU kernels have no grouped convolution
        try:
            outs.append(tf.nn.convolution(
                x[..., k * cg : (k + 1) * cg], tf.constant(layer.kernel[..., k * fg : (k + 1) * fg]),
                strides=g.stride, padding=mode, dilations=g.dilation, data_format="NHWC",
            ))
        except Exception as exc:  # its error type for this rule varies between versions and devices
            if not refusal_expected:
                raise
            raise Refused(f"TensorFlow allows dilations > 1 only with strides 1: {first_line(exc)}") from exc
    y = tf.concat(outs, axis=-1) + tf.constant(p.bias)
    layout = TENSORFLOW_LAYOUT + (GROUPS_LAYOUT if layer.groups > 1 else "")
    return Outcome("TensorFlow", tf.__version__, COMPUTED, layout, how, np.asarray(y.numpy()[0]))
