"""The built layer: the input as loaded, the bound layer on it, its bias, and what to say about them.

A :class:`BuiltLayer` is what :func:`convcli.pipeline.build.build_layer` returns for every kernel
source; its ``notes`` (shown under a header) and ``warnings`` (NaN/±Inf in the data) are data that
each front end shows in its own way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy and the engine are imported inside the functions, for start-up time
    import numpy as np

    from convcli.engine import Layer
    from convcli.sources.inputs import Loaded


#: The first note of a layer built with ``flip``.
FLIP_NOTE = ("--flip: the kernel is flipped in both spatial axes, so this is true convolution, as "
             "scipy.signal.convolve2d computes it. Conv2D layers (Keras, TensorFlow, PyTorch) never flip: "
             "they cross-correlate.")


@dataclass(frozen=True)
class BuiltLayer:
    """The input as loaded ``(H, W, C)``, the checked layer on it (kernel ``(kh, kw, C/g, F)``, flipped
    for ``flip``) and the bias given ``(F,)`` or a scalar, or None."""

    loaded: Loaded  # the layer's input: for a --model layer deep in the model, what ran before it made
    layer: Layer
    bias: np.ndarray | None
    kernel_source: str
    warnings: tuple[str, ...] = ()  # NaN/±Inf in the input, kernel or bias; shown once every check has passed
    padding: str | int | tuple[int, int] = "valid"  # as the engine takes it: the option's, or a --model layer's
    activation: str = "linear"
    use_bias: bool = True
    notes: tuple[str, ...] = ()  # shown under the header: --flip, what a --model layer's options override, its input
    model: dict[str, object] | None = None  # the --model layer, for --json


def nonfinite_warnings(input_what: str, x: np.ndarray, layer: Layer, kernel: tuple[str, np.ndarray] | None,
                       bias: tuple[str, np.ndarray | None]) -> tuple[str, ...]:
    """The NaN/±Inf warnings of the input ``x (H, W, C)``, a kernel from a file (``(what, array)``,
    ``(kh, kw, C/g, F)``) and a bias ``(F,)``, as cast to the layer's dtype."""
    warned = [_nonfinite(input_what, x, layer.x, ("row", "col", "channel"))]
    if kernel is not None:
        what, k = kernel
        warned.append(_nonfinite(what, k, k.astype(layer.x.dtype), ("row", "col", "channel", "filter")))
    what, b = bias
    if b is not None:
        warned.append(_nonfinite(what, b, b.astype(layer.x.dtype), ("filter",)))
    return tuple(w for w in warned if w)


def _nonfinite(what: str, given: np.ndarray, used: np.ndarray, axes: tuple[str, ...]) -> str | None:
    """The warning for NaN/±Inf in ``used`` (``given`` cast to the compute dtype; axes named by ``axes``), or None.

    Carried through, not refused: a NaN only spoils the outputs it reaches. A value beyond the
    compute dtype's range (1e39 in float32) becomes ±Inf in the cast, and the warning says so.
    """
    from convcli.sources.inputs import nonfinite

    n_nan, n_inf, first = nonfinite(used)
    if first is None:
        return None
    cast = "" if nonfinite(given)[:2] == (n_nan, n_inf) else f" once cast to {used.dtype}"
    where = ("first at " + ", ".join(f"{axis} {i}" for axis, i in zip(axes, first, strict=True))) if first \
        else "used for every filter"
    return f"{what} holds {n_nan} NaN and {n_inf} ±Inf values{cast} ({where}); they propagate to the outputs they touch"
