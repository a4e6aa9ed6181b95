"""The built layer: the input as loaded, the bound layer on it, its bias, and what to say about them.

A :class:`BuiltLayer` is what :func:`convcli.pipeline.build.build_layer` returns for every kernel
source; its ``notes`` (shown under a header) and ``warnings`` (NaN/±Inf in the data) are data that
each front end shows in its own way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy and the engine are imported inside the functions, for start-up time
    import numpy as np

    from convcli.engine import Layer
    from convcli.layer.spec import ConvSpec
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
    padding: str | int | tuple[int, ...] = "valid"  # as the engine takes it: the option's, or a --model layer's
    activation: str = "linear"
    use_bias: bool = True
    notes: tuple[str, ...] = ()  # shown under the header: --flip, what a --model layer's options override, its input
    model: dict[str, object] | None = None  # the --model layer, for --json
    #: the layer as asked, when it is not the classic 2-D conv (its kind, rank, padding mode): ``layer`` computes
    #: it (a 1-D layer as one row, a padding mode as its padded input), the views and the archive name it
    spec: ConvSpec | None = None
    #: the whole 3-D layer when ``layer`` is one depth slice of it (:mod:`convcli.pipeline.depth`): the archive's
    whole: Layer | None = None
    plane: int | None = None  # and the output plane it shows
    #: a kind with an engine of its own (transpose, separable: :mod:`convcli.pipeline.own_engine`), which ``layer``
    #: computes as an ordinary conv: its weights in Keras layout by their Keras names (transpose ``kernel
    #: (*k, F/g, C)``; separable ``depthwise_kernel (*k, C, M)``, ``pointwise_kernel (1, …, C·M, F)``) ...
    weights: Mapping[str, np.ndarray] | None = None
    #: ... and its own bound layer (``engine.transpose.TransposeLayer``, ``engine.separable.SeparableLayer``)
    own: object | None = None

    @property
    def ndim(self) -> int:
        """The layer's spatial axes (1, 2 or 3)."""
        return self.spec.ndim if self.spec is not None else 2

    def archived_input(self) -> np.ndarray:
        """The input as ``--save`` holds it: ``(*S, C)`` in the compute dtype, before any padding mode's pads."""
        if self.spec is None:
            return self.layer.x
        import numpy as np

        return np.asarray(self.loaded.array, dtype=self.layer.x.dtype)

    def archived_kernel(self) -> np.ndarray:
        """The kernel as ``--save`` holds it: the kind's Keras layout (conv ``(*k, C/g, F)``, depthwise ``(*k, C, M)``)."""
        if self.spec is None:
            return self.layer.kernel
        if self.weights is not None and "kernel" in self.weights:  # a transposed layer's own (*k, F/g, C)
            return self.weights["kernel"].astype(self.layer.x.dtype, copy=False)
        kernel = (self.whole if self.whole is not None else self.layer).kernel
        return kernel.reshape(self.spec.kernel_shapes()["kernel"])

    def archived_weights(self) -> dict[str, np.ndarray]:
        """Every weight array ``--save`` holds, by its Keras name: ``kernel``, or a separable layer's
        ``depthwise_kernel`` and ``pointwise_kernel``."""
        if self.weights is not None:
            return {name: a.astype(self.layer.x.dtype, copy=False) for name, a in self.weights.items()}
        return {"kernel": self.archived_kernel()}

    def unlifted(self, a: np.ndarray) -> np.ndarray:
        """A result map ``(H', W', ...)`` of the computed layer in the layer's own axes: a 1-D layer's one row
        ``(L', ...)``."""
        return a[0] if self.ndim == 1 else a


_AXES = {1: ("position",), 2: ("row", "col"), 3: ("plane", "row", "col")}


def nonfinite_warnings(input_what: str, x: np.ndarray, layer: Layer, kernel: tuple[str, np.ndarray] | None,
                       bias: tuple[str, np.ndarray | None]) -> tuple[str, ...]:
    """The NaN/±Inf warnings of the input ``x (H, W, C)``, a kernel from a file (``(what, array)``,
    ``(kh, kw, C/g, F)``) and a bias ``(F,)``, as cast to the layer's dtype."""
    spatial = _AXES.get(x.ndim - 1, ("row", "col"))
    used = layer.x if layer.x.shape == x.shape else x.astype(layer.x.dtype, copy=False)  # padded or lifted: x cast
    warned = [_nonfinite(input_what, x, used, (*spatial, "channel"))]
    if kernel is not None:
        what, k = kernel
        taps = _AXES.get(k.ndim - 2, ("row", "col"))
        warned.append(_nonfinite(what, k, k.astype(layer.x.dtype), (*taps, "channel", "filter")))
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
