"""A built layer computed as a GPU does in reduced precision, beside the float64 run (``--precision``).

:func:`emulate_built` emulates the same bound layer (input, kernel as computed, bias, activation,
geometry) with :func:`convcli.engine.precision.emulate` and sums up where its difference from float64
comes from (:func:`convcli.engine.precision_errors.error_summary`); the overflows are warnings, as data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from convcli.pipeline.request import RequestError

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from convcli.engine import Layer, LayerResult, PaddingSpec
    from convcli.engine.precision import Emulation
    from convcli.engine.precision_errors import ErrorSummary
    from convcli.pipeline.built import BuiltLayer
    from convcli.pipeline.run import Archive

#: What ``--save`` adds for ``--precision``: ``(H', W', F)`` results, the rounded ``(H, W, C)`` input and
#: ``(kh, kw, C/g, F)`` kernel (held in float32; float64 for fp64).
SAVED = ("emulated_preactivation", "emulated_output", "rounded_input", "rounded_kernel")

#: The most output values (H'·W'·F) the error summary measures (:func:`centred_rows`).
SUMMARY_VALUES = 1 << 20
#: Partial sums per block of :func:`convcli.engine.precision_errors.error_summary` (4 MiB of float64;
#: its few float64 temporaries per block stay near 25 MB, and larger blocks measured no faster).
SUMMARY_BLOCK = 1 << 19


@dataclass(frozen=True)
class Emulated:
    """The layer in ``emulation.precision``: the arrays, each part's error over the layer, the overflows."""

    emulation: Emulation
    errors: ErrorSummary

    @property
    def precision(self) -> str:
        return self.emulation.precision

    @property
    def accumulate(self) -> str:
        return self.emulation.accumulate

    @property
    def warnings(self) -> tuple[str, ...]:
        """One line per kind of value (input, kernel, bias, output) that overflowed the format: count and first."""
        return tuple(w.message for w in self.emulation.warnings)

    def how(self) -> str:
        """What is emulated, in one line: ``inputs and weights rounded to bfloat16, products added in ...``."""
        from convcli.engine.precision import FORMATS

        em = self.emulation
        fmt, store = em.format, FORMATS[em.format.storage]
        adder = FORMATS[em.accumulate].title
        return (f"{fmt.title} emulated on the CPU: inputs and weights rounded to {fmt.title}, products "
                f"accumulated in {adder}, output stored in {store.title}")

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of :data:`SAVED`, by name."""
        em = self.emulation
        return {"emulated_preactivation": em.preactivation, "emulated_output": em.output,
                "rounded_input": em.rounded.x, "rounded_kernel": em.rounded.kernel}


def emulation_bytes(layer: Layer) -> int:
    """About the most memory :func:`emulate_built` holds at once: the rounded kernel, a block of the
    rounded input (:data:`convcli.engine.precision_sums.BLOCK_VALUES`), the sum and, for ``--save``, the
    stored and activated outputs ``(H', W', F)`` in float32, and a block of the error summary's partials."""
    from convcli.engine.precision_sums import BLOCK_VALUES

    ho, wo = layer.geometry.out_hw
    return 4 * (layer.kernel.size + BLOCK_VALUES) + 3 * 4 * ho * wo * layer.filters + SUMMARY_BLOCK * 8 * 6


def emulate_built(built: BuiltLayer, precision: str, accumulate: str | None = None) -> Emulated:
    """``built``'s layer in ``precision`` (adder ``accumulate``, fp32 by default), with its error summary."""
    return emulate_layer(built.layer, built.bias if built.use_bias else None, built.activation, built.padding,
                         precision, accumulate)


def emulate_layer(layer: Layer, bias: np.ndarray | float | None, activation: str, padding: PaddingSpec,
                  precision: str, accumulate: str | None = None) -> Emulated:
    """The bound ``layer`` with ``bias (F,)`` (None: none), ``activation`` and ``padding`` as the engine takes
    it, in ``precision``. A 2-D conv layer only (the emulation's engine); :class:`RequestError` for another."""
    from convcli.engine.precision import emulate
    from convcli.engine.precision_errors import error_summary

    if layer.ndim != 2:
        raise RequestError(f"--precision emulates 2-D conv layers; this one has {layer.ndim} spatial axes",
                           field="precision")
    g = layer.geometry
    em = emulate(layer.x, layer.kernel, bias, activation, precision, accumulate, stride=g.stride,
                 padding=padding, dilation=g.dilation, groups=layer.groups)
    return Emulated(em, error_summary(em, block_values=SUMMARY_BLOCK, rows=centred_rows(layer, SUMMARY_VALUES)))


def centred_rows(layer: Layer, values: int) -> tuple[int, int] | None:
    """The output rows ``[r0, r1)`` of a centred band of at most ``values`` output values (H'·W'·F), or
    ``None`` when the whole layer is no larger. The error summary (:data:`SUMMARY_VALUES`) and verify's
    note measure such a band: their float64 passes over a whole photo would cost many runs, while a
    band of that size shows the same parts at work."""
    (ho, wo), f = layer.geometry.out_hw, layer.filters
    rows = max(1, values // max(1, wo * f))
    if rows >= ho:
        return None
    r0 = (ho - rows) // 2
    return r0, r0 + rows


def run_emulated(built: BuiltLayer, precision: str, accumulate: str | None = None, *, archive: Archive | None = None,
                 ranges: bool = False, progress: Callable[[float], None] | None = None) -> tuple[LayerResult, Emulated]:
    """:func:`convcli.pipeline.run.run`, then the same layer in ``precision``; the ``archive`` holds both
    (the emulation's arrays under :data:`SAVED`'s names)."""
    from convcli.pipeline.run import run

    made: list[Emulated] = []

    def then(result: LayerResult) -> dict[str, np.ndarray]:
        made.append(emulate_built(built, precision, accumulate))
        # the whole stored and activated results are made only for an archive (see Emulation)
        return made[0].arrays() if archive is not None else {}

    result = run(built, archive=archive, ranges=ranges, progress=progress, then=then)
    return result, made[0]
