"""Keras 3's ``Conv2D`` on a :class:`~convcli.verify.problem.Problem`, and the backend it computes on.

Keras takes convcli's layouts as they are (channels-last, ``(kh, kw, C/g, F)`` kernels by
``set_weights``). Numeric pads go in by a ``ZeroPadding2D`` layer, since Conv2D has no numeric
padding. Keras picks its backend once, at import, so the choice is made here before Keras is
imported: :func:`choose_keras_backend` decides, :func:`keras_backend` applies it (both in
:mod:`convcli.sources.frameworks`, shared with the model readers that run a model).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from convcli.sources import frameworks
from convcli.verify import environment
from convcli.verify.kind_problem import KindProblem
from convcli.verify.problem import COMPUTED, Outcome, Problem, Refused, Unavailable, first_line

#: How convcli's arrays reach Keras.
KERAS_LAYOUT = "x[None] (1, H, W, C); kernel (kh, kw, C/g, F) as is, by set_weights([kernel, bias])"


def choose_keras_backend(explicit: str | None, from_file: str | None,
                         installed: Callable[[str], bool]) -> tuple[str, str | None]:
    """The backend Keras should import with, and the value to give ``KERAS_BACKEND`` (None: leave it).

    :func:`convcli.sources.frameworks.choose_keras_backend`, raising :class:`Unavailable` when no
    usable backend is installed.
    """
    try:
        return frameworks.choose_keras_backend(explicit, from_file, installed)
    except frameworks.NoBackend as exc:
        raise Unavailable(str(exc)) from None


def keras_backend() -> tuple[str, str]:
    """The backend Keras computes on here, and a note when convcli chose it (one choice per process:
    :func:`convcli.sources.frameworks.keras_backend`, asking :func:`environment.installed`)."""
    try:
        return frameworks.keras_backend(environment.installed)
    except frameworks.NoBackend as exc:
        raise Unavailable(str(exc)) from None


def compute(p: Problem) -> Outcome:
    """The pre-activation ``(H', W', F)`` by ``keras.layers.Conv2D``, and how it was called."""
    backend, chosen = keras_backend()
    if backend == "jax" and p.layer.x.dtype == np.float64:
        import jax

        jax.config.update("jax_enable_x64", True)  # otherwise Keras on JAX computes float64 layers in float32
    import keras

    layer, g = p.layer, p.layer.geometry
    dtype = layer.x.dtype.name
    top, bottom, left, right = g.pads
    try:
        conv = keras.layers.Conv2D(
            filters=layer.filters, kernel_size=g.kernel_hw, strides=g.stride,
            padding="same" if p.same else "valid", data_format="channels_last", dilation_rate=g.dilation,
            groups=layer.groups, use_bias=True, dtype=dtype,
        )
    except ValueError as exc:
        if g.stride == (1, 1) or g.dilation == (1, 1):
            raise
        raise Refused(f"Keras allows dilation_rate > 1 only with strides 1: {first_line(exc)}") from exc
    x = keras.ops.convert_to_tensor(layer.x[None], dtype=dtype)
    if p.numeric_padding:
        x = keras.layers.ZeroPadding2D(((top, bottom), (left, right)), data_format="channels_last", dtype=dtype)(x)
        how = f"ZeroPadding2D((({top}, {bottom}), ({left}, {right}))) then padding='valid': Keras has no numeric padding"
    else:
        how = f"padding={'same' if p.same else 'valid'!r}" + (f" (Keras' own: pads {g.pads})" if p.same else "")
    with warnings.catch_warnings():
        # Keras' torch backend trips numpy 2's __array__(copy=) deprecation: noise about Keras, not the layer
        warnings.filterwarnings("ignore", message="__array__ implementation", category=DeprecationWarning)
        conv.build(tuple(x.shape))
        conv.set_weights([layer.kernel, p.bias])
        y = keras.ops.convert_to_numpy(conv(x))[0]
    return Outcome("Keras", environment.version("keras"), COMPUTED, KERAS_LAYOUT, how, np.asarray(y), note=chosen)


def compute_kind(p: KindProblem) -> Outcome:
    """The pre-activation ``(*S', F)`` by Keras' own layer of the kind and rank (``Conv1D``, ``Conv3D``,
    ``DepthwiseConv1D``, ...), numeric pads by ``ZeroPadding{n}D``; a padding mode other than zeros, or a
    class Keras does not have, is refused in its words."""
    spec, n = p.spec, p.spec.ndim
    if spec.padding_mode != "zeros":
        raise Refused(f"Keras pads with zeros only: it has no padding_mode {spec.padding_mode!r} (PyTorch's)")
    backend, chosen = keras_backend()
    if backend == "jax" and p.x.dtype == np.float64:
        import jax

        jax.config.update("jax_enable_x64", True)
    import keras

    cls = getattr(keras.layers, spec.keras_name, None)
    if cls is None:
        raise Refused(f"Keras {environment.version('keras')} has no {spec.keras_name} layer")
    if spec.kind == "transpose":
        return _transpose(p, cls, chosen)
    dtype = p.x.dtype.name
    # only Conv1D takes padding='causal' in Keras: another 1-D class gets its left zeros by ZeroPadding1D
    causal = spec.padding == "causal" and spec.kind != "conv"
    numeric = not isinstance(spec.padding, str) or causal
    padding = "valid" if numeric else spec.padding
    settings: dict[str, object] = {"kernel_size": spec.kernel, "strides": spec.stride, "padding": padding,
                                   "dilation_rate": spec.dilation, "dtype": dtype}
    if spec.kind in ("depthwise", "separable"):
        settings["depth_multiplier"] = spec.depth_multiplier
    if spec.kind == "separable":
        settings["filters"] = spec.out_channels
    elif spec.kind != "depthwise":
        settings.update(filters=spec.out_channels, groups=spec.groups)
    try:
        conv = cls(**settings)
    except ValueError as exc:
        raise Refused(f"Keras refuses this {spec.keras_name}: {first_line(exc)}") from exc
    x = keras.ops.convert_to_tensor(p.x[None], dtype=dtype)
    how = f"{spec.keras_name}(padding={padding!r})"
    weights = [p.kernel, p.bias] if p.pointwise is None else [p.kernel, p.pointwise, p.bias]
    if numeric:
        pads = p.pad_width
        x = getattr(keras.layers, f"ZeroPadding{n}D")(pads if n > 1 else pads[0], dtype=dtype)(x)
        how = f"ZeroPadding{n}D({pads}) then {how}: " + (
            f"Keras' {spec.keras_name} takes no 'causal'" if causal else "Keras has no numeric padding")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="__array__ implementation", category=DeprecationWarning)
        try:
            conv.build(tuple(x.shape))
            conv.set_weights(weights)
            y = keras.ops.convert_to_numpy(conv(x))[0]
        except ValueError as exc:
            raise Refused(f"Keras refuses this {spec.keras_name}: {first_line(exc)}") from exc
    shapes = {k: v for k, v in spec.kernel_shapes().items() if k != "bias"}
    names = ", ".join(f"{k} {v}" for k, v in shapes.items())
    layout = f"x[None] (1, *S, C); {names} as is, by set_weights([{', '.join(shapes)}, bias])"
    return Outcome("Keras", environment.version("keras"), COMPUTED, layout, how, np.asarray(y), note=chosen)


def _transpose(p: KindProblem, cls: type, chosen: str) -> Outcome:
    """A transposed layer by Keras' ``Conv{n}DTranspose``: its ``valid``/``same`` as they are; PyTorch's count ``P``
    (Keras has none) as ``valid`` with ``output_padding`` max(0, op - P), then ``Cropping{n}D`` of what remains to
    cut. Groups are refused: Keras' transposed layers have none."""
    import keras

    spec, n = p.spec, p.spec.ndim
    if spec.groups > 1:
        raise Refused(f"Keras' {spec.keras_name} has no groups (PyTorch's {spec.torch_name} has): "
                      f"groups={spec.groups} is not expressible")
    dtype = p.x.dtype.name
    numeric = not isinstance(spec.padding, str)
    op = spec.output_padding
    crop: tuple[tuple[int, int], ...] = ()
    if not isinstance(spec.padding, str):
        given, counts = op or (0,) * n, tuple(int(q) for q in spec.padding)
        op = tuple(max(0, o - q) for o, q in zip(given, counts, strict=True))
        crop = tuple((q, max(0, q - o)) for o, q in zip(given, counts, strict=True))
    padding = "valid" if numeric else str(spec.padding)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="__array__ implementation", category=DeprecationWarning)
        try:
            conv = cls(filters=spec.out_channels, kernel_size=spec.kernel, strides=spec.stride, padding=padding,
                       output_padding=op, dilation_rate=spec.dilation, dtype=dtype)
            x = keras.ops.convert_to_tensor(p.x[None], dtype=dtype)
            conv.build(tuple(x.shape))
            conv.set_weights([p.kernel, p.bias])
            y = conv(x)
            if any(v for pair in crop for v in pair):
                y = getattr(keras.layers, f"Cropping{n}D")(crop if n > 1 else crop[0], dtype=dtype)(y)
            out = keras.ops.convert_to_numpy(y)[0]
        except ValueError as exc:
            raise Refused(f"Keras refuses this {spec.keras_name}: {first_line(exc)}") from exc
    how = f"{spec.keras_name}(padding={padding!r}, output_padding={op})"
    if numeric:
        how += f" then Cropping{n}D({crop}): Keras has no numeric padding for a transposed conv"
    layout = f"x[None] (1, *S, C); kernel {spec.kernel_shapes()['kernel']} as is (Keras' (*k, F, C)), by set_weights"
    return Outcome("Keras", environment.version("keras"), COMPUTED, layout, how, np.asarray(out), note=chosen)
