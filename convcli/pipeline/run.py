"""The run: a built layer computed in one pass, its ``.npz`` archive written on the way if asked.

:func:`run` returns the engine's :class:`~convcli.engine.LayerResult`; ``progress(fraction)`` is
called as the pass goes (a front end draws it). :func:`overflow_warning` says, as data, when finite
data gave non-finite results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from convcli.pipeline.built import BuiltLayer

if TYPE_CHECKING:
    import numpy as np

    from convcli.engine import LayerResult

#: What an archive of a run holds, by name: ``partials (H', W', C/g, F)`` only when asked.
ARCHIVED = ("input", "kernel", "bias", "preactivation", "output", "partials")


@dataclass(frozen=True)
class Archive:
    """Where a run's arrays go (``run --save``): a ``.npz`` target already checked, never one of ``inputs``."""

    path: Path
    force: bool = False
    inputs: Sequence[Path] = ()
    compress: bool = False  # deflated: smaller, many times slower to write
    partials: bool = True  # the (large) partials too, written block by block as the pass makes them

    def names(self) -> list[str]:
        """The arrays it holds, sorted."""
        return sorted(k for k in ARCHIVED if k != "partials" or self.partials)


def run(built: BuiltLayer, *, archive: Archive | None = None, ranges: bool = False,
        progress: Callable[[float], None] | None = None,
        then: Callable[[LayerResult], Mapping[str, np.ndarray]] | None = None) -> LayerResult:
    """The run's result, and its ``archive`` written on the way: the partials go to it block by block as
    the pass makes them, never held whole. ``ranges``: measure each partial map's min and max in the pass.
    ``then(result)``: called once the pass is done (the emulation of ``--precision``); the arrays it
    returns go into the archive after the run's own."""
    from convcli import engine

    layer = built.layer

    def compute(sink: Callable[..., None] | None = None) -> LayerResult:
        if layer.ndim != 2:  # a 3-D layer not shown a slice at a time: the general path, whole
            return engine.run_general(layer, built.bias, built.activation, use_bias=built.use_bias)
        return engine.run_layer(layer, built.bias, built.activation, use_bias=built.use_bias, partials_sink=sink,
                                ranges=ranges, progress=progress)

    if archive is None:
        result = compute()
        if then is not None:
            then(result)
        return result
    from convcli.files import writers

    with writers.npz_archive(archive.path, force=archive.force, inputs=archive.inputs,
                             compress=archive.compress) as npz:
        if built.whole is not None or layer.ndim != 2:  # the archive holds the whole 3-D run
            whole = engine.run_general(built.whole if built.whole is not None else layer, built.bias,
                                       built.activation, use_bias=built.use_bias)
            result = compute() if built.whole is not None else whole
            saved = whole
            if archive.partials:
                npz.add("partials", whole.full_partials())
        elif archive.partials:
            ho, wo = layer.geometry.out_hw
            one_row = built.ndim == 1  # a 1-D layer computed as one row: its arrays have no row axis
            shape = (wo, layer.cg, layer.filters) if one_row else (ho, wo, layer.cg, layer.filters)
            with npz.rows("partials", shape, layer.x.dtype) as partials:
                result = compute(lambda rows, block: partials.write(block[0] if one_row else block))
            saved = result
        else:
            result = saved = compute()
        for name, value in (("input", built.archived_input()), *built.archived_weights().items(),
                            ("bias", saved.bias), ("preactivation", built.unlifted(saved.preactivation)),
                            ("output", built.unlifted(saved.output))):
            npz.add(name, value)
        for name, value in (then(result) if then is not None else {}).items():
            npz.add(name, value)
    return result


def overflow_warning(result: LayerResult, *, with_stats: bool = False) -> str | None:
    """The warning when finite inputs gave ±Inf or NaN results (the compute dtype overflowed), or None.

    ``with_stats``: the output's statistics were made in the pass (``result.output_finite``): reused.
    """
    import numpy as np

    from convcli import engine

    if with_stats:
        ok = result.output_finite.copy()
        if result.output is not result.preactivation:
            ok &= engine.finite_maps(result.preactivation)
    else:
        ok = engine.finite_maps(result.preactivation)
        if result.output is not result.preactivation:
            ok &= engine.finite_maps(result.output)
    bad = [int(f) for f in np.flatnonzero(~ok)]
    if not bad:
        return None
    dtype = result.layer.x.dtype
    advice = "; --dtype float64 reaches about 1.8e308" if dtype == np.float32 else ""
    listed = ", ".join(map(str, bad[:8])) + (", …" if len(bad) > 8 else "")
    return (f"the results overflow {dtype} (±Inf or NaN in filter{'s' * (len(bad) > 1)} "
            f"{listed}) although the input, kernel and bias are finite{advice}")
