"""Keras 3's ``Conv2D`` on a :class:`~convcli.verify.problem.Problem`, and the backend it computes on.

Keras takes convcli's layouts as they are (channels-last, ``(kh, kw, C/g, F)`` kernels by
``set_weights``). Numeric pads go in by a ``ZeroPadding2D`` layer, since Conv2D has no numeric
padding. Keras picks its backend once, at import, so the choice is made here before Keras is
imported: :func:`choose_keras_backend` decides, :func:`keras_backend` applies it.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from convcli.verify import environment
from convcli.verify.problem import COMPUTED, Outcome, Problem, Refused, Unavailable, first_line

#: How convcli's arrays reach Keras.
KERAS_LAYOUT = "x[None] (1, H, W, C); kernel (kh, kw, C/g, F) as is, by set_weights([kernel, bias])"

_KERAS_BACKEND_MODULE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": "numpy",
                         "openvino": "openvino"}


#: Why convcli chose Keras' backend, if it did (Keras reads KERAS_BACKEND once, at import).
_KERAS_CHOICE = {"note": ""}


def _keras_config_backend() -> str | None:
    """The backend named in keras.json (where Keras itself looks), if any."""
    if "KERAS_HOME" in os.environ:
        home = Path(os.environ["KERAS_HOME"])
    else:
        base = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
        home = base / ".keras"
    try:
        backend = json.loads((home / "keras.json").read_text(encoding="utf-8")).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return backend if isinstance(backend, str) else None


def choose_keras_backend(explicit: str | None, from_file: str | None,
                         installed: Callable[[str], bool]) -> tuple[str, str | None]:
    """The backend Keras should import with, and the value to give ``KERAS_BACKEND`` (None: leave it).

    Keras picks its backend once, at import: ``KERAS_BACKEND``, else keras.json, else TensorFlow.
    When the choice comes from keras.json or the default and is not installed, an installed one
    (torch, then jax) is used instead; an explicit ``KERAS_BACKEND`` is always respected.
    Raises :class:`Unavailable` when no usable backend is installed.
    """
    configured = explicit or from_file or "tensorflow"
    if installed(_KERAS_BACKEND_MODULE.get(configured, configured)):
        return configured, None
    if explicit:
        raise Unavailable(f"KERAS_BACKEND={explicit} but {explicit} is not installed")
    for alternative in ("torch", "jax"):
        if installed(alternative):
            return alternative, alternative
    raise Unavailable(f"Keras' {configured} backend is not installed; pip install 'convcli[keras]' (torch backend)")


def keras_backend() -> tuple[str, str]:
    """The backend Keras computes on here, and a note when convcli chose it (see :func:`choose_keras_backend`)."""
    if "keras" in sys.modules:
        return str(sys.modules["keras"].backend.backend()), _KERAS_CHOICE["note"]
    explicit = os.environ.get("KERAS_BACKEND") or None
    from_file = _keras_config_backend()
    backend, set_env = choose_keras_backend(explicit, from_file, environment.installed)
    if set_env is not None:
        os.environ["KERAS_BACKEND"] = set_env
        configured = from_file or "tensorflow"
        source = "keras.json" if from_file else "Keras' default"
        _KERAS_CHOICE["note"] = (f"the {configured} backend ({source}) is not installed, so convcli set "
                                 f"KERAS_BACKEND={set_env}")
    return backend, _KERAS_CHOICE["note"]


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
