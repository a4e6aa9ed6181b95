"""``convcli.explore(source, **options)``: one layer on one input, computed, as a Python object.

The library's entry point on the pipeline: the same request, build and run as ``convcli run``, with
the options as keyword arguments (``filters=4, kernel_size=3, activation="relu"``, a ``kernel`` file,
``model=... , layer=...``). Nothing is printed: the notes and warnings are in the result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcli.errors import ConfigError
from convcli.pipeline.build import build_layer
from convcli.pipeline.built import BuiltLayer
from convcli.pipeline.checks import check_request
from convcli.pipeline.request import Request
from convcli.pipeline.run import overflow_warning, run

#: A position's axes, as ``run --trace`` names them, by the layer's rank.
_AXES = {1: "I", 2: "ROW, COL", 3: "D, ROW, COL"}

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from convcli.engine import Layer, LayerResult, Trace
    from convcli.pipeline.precision import Emulated


def explore(source: str | os.PathLike[str] | np.ndarray, **options: Any) -> Exploration:
    """Apply a layer to ``source`` and keep everything ``convcli run`` shows.

    ``source``: an image, array or text file, or an array ``(H, W, C)`` (channels last) or ``(H, W)``
    (one channel). ``options``: :class:`~convcli.pipeline.request.Request`'s fields, as ``convcli run``
    spells its options (``filters``, ``kernel_size``, ``stride``, ``padding``, ``dilation``, ``groups``,
    ``activation``, ``init``, ``seed``, ``kernel``, ``bias``, ``dtype``, ``model``, ``layer``,
    ``resize``, ``preprocess``, ...); sizes as ``N`` or ``(N, M)``. ``precision="bf16"`` (``fp64``,
    ``fp32``, ``tf32``, ``fp16``; ``accumulate="fp16"``) also computes the layer as a GPU does in that
    format: :attr:`Exploration.emulated`.

    Raises :class:`~convcli.errors.ConvcliError`: a :class:`~convcli.errors.ConfigError` (with the
    ``field`` that is wrong) for options that cannot be, a ``ShapeError``/``LoadError`` for data.

    >>> import numpy as np, convcli
    >>> ex = convcli.explore(np.ones((5, 5, 3)), filters=2, init="ones")
    >>> ex.output.shape, float(ex.output[0, 0, 0])
    ((3, 3, 2), 27.0)
    """
    if "given" in options:
        raise TypeError("explore() takes the options themselves; 'given' is what they are")
    request = Request(source, **options, given=frozenset(options))
    check_request(request)
    built = build_layer(request)
    emulated = None
    if request.precision is None:
        result = run(built)
    else:
        from convcli.pipeline.precision import run_emulated

        result, emulated = run_emulated(built, request.precision, request.accumulate)
    late = () if built.warnings else tuple(w for w in [overflow_warning(result, with_stats=True)] if w)
    return Exploration(request, built, result, built.warnings + late + (emulated.warnings if emulated else ()),
                       emulated)


@dataclass(frozen=True)
class Exploration:
    """A layer applied to an input: the request, the built layer, the result and what to say about them.

    Shapes: ``input (H, W, C)``, ``kernel (kh, kw, C/g, F)``, ``bias (F,)``, ``preactivation`` and
    ``output (H', W', F)``; a filter's ``partials(f)`` ``(H', W', C/g)``.
    """

    request: Request
    built: BuiltLayer
    result: LayerResult
    warnings: tuple[str, ...] = ()  # NaN/±Inf in the data, results that overflowed the dtype or the precision
    emulated: Emulated | None = None  # the layer in request.precision, with each part's error; None without

    @property
    def layer(self) -> Layer:
        """The bound layer: input, kernel (as computed: cast, flipped for ``flip``), geometry, groups."""
        return self.built.layer

    @property
    def input(self) -> np.ndarray:
        """The layer's input ``(H, W, C)`` as loaded (for a deep model layer: what ran before it made)."""
        return self.built.loaded.array

    @property
    def kernel(self) -> np.ndarray:
        return self.built.layer.kernel

    @property
    def bias(self) -> np.ndarray:
        """``(F,)``: zeros without a bias."""
        return self.result.bias

    @property
    def preactivation(self) -> np.ndarray:
        """``(*S', F)`` in the layer's own axes (a 1-D layer's ``(L', F)``, not the row that computes it)."""
        return self.built.unlifted(self.result.preactivation)

    @property
    def output(self) -> np.ndarray:
        return self.built.unlifted(self.result.output)

    @property
    def notes(self) -> tuple[str, ...]:
        """What a header says under the layer: ``flip``, a model layer's input and what the options override."""
        return self.built.notes

    def partials(self, filter: int) -> np.ndarray:  # noqa: A002  (the CLI's own word for it)
        """Filter ``filter``'s per-channel partial maps ``(H', W', C/g)``: their sum plus the bias is its
        pre-activation. Computed on demand: ``C/g`` single-channel convolutions."""
        from convcli import engine

        return engine.filter_partials(self.layer, filter)

    def trace(self, *position: int, filter: int = 0) -> Trace:  # noqa: A002
        """Every product that makes output ``position`` of ``filter``: the layer's own axes, as ``run --trace``
        takes them (``I`` of a 1-D layer, also as ``0, I``, the row its views draw; ``ROW, COL``; ``D, ROW, COL``
        of a 3-D layer, traced in its depth slice ``D``, as ``run --depth-at D --trace ROW,COL``). A
        transposed or separable layer is traced as the ordinary conv that computes it, as ``run`` shows it.

        Raises :class:`~convcli.errors.ConfigError` for a position of another rank (field ``trace``) or a
        plane outside the output (field ``depth_at``)."""
        from convcli import engine

        ndim = self.built.ndim
        if ndim == 1 and len(position) == 1:
            position = (0, *position)
        if len(position) != (3 if ndim == 3 else 2):
            raise ConfigError(f"{{field}} takes {_AXES[ndim]} for a {ndim}-D layer; got {len(position)} value(s)",
                              field="trace")
        if ndim != 3:
            return engine.trace_position(self.layer, position[0], position[1], filter)
        from convcli.pipeline.depth import depth_slice

        d, row, col = position
        return engine.trace_position(depth_slice(self.built, d).layer, row, col, filter)

    # How it shows itself (:mod:`convcli.tui.notebook`, imported when asked: rich and Pillow are no part
    # of computing). Creating one prints nothing; a notebook cell or a print shows it.

    def __repr__(self) -> str:
        from convcli.tui import notebook

        return notebook.summary(self)

    def __rich__(self) -> object:  # a rich renderable (pipeline/ names no rich type)
        """The run screen: header, each shown filter's numbers and heatmaps, the summary."""
        from convcli.tui import notebook

        return notebook.screen(self)

    def _repr_html_(self) -> str:
        """Jupyter's view: the run screen as HTML, the heatmaps as an inline PNG (no network)."""
        from convcli.tui import notebook

        return notebook.html(self)

    def report(self, path: str | os.PathLike[str], *, filters: list[int] | None = None,
               at: tuple[int, ...] | None = None) -> Path:
        """Write ``convcli report``'s interactive HTML page of ``filters`` (default: the first 4) to ``path``,
        opening at output ``at`` (the layer's own axes, as :meth:`trace` takes them: a 3-D layer's page
        shows plane ``D`` of ``(D, ROW, COL)``, else the middle one); returns the path."""
        from convcli.tui import notebook

        return notebook.write_report(self, path, filters=filters, at=at)

    def to_json(self, *, filters: list[int] | None = None, at: tuple[int, int] | None = None,
                window: int | None = None, trace: tuple[int, ...] | None = None) -> dict[str, Any]:
        """The dict ``convcli run --json`` prints, for ``--filter``, ``--at``, ``--window`` and ``--trace``
        (in the layer's own axes, as :meth:`trace` takes it): a 3-D layer's as ``run`` shows it, one depth
        slice (the trace's plane, else the middle one), and every other kind's ``"kind"`` document."""
        from convcli import engine
        from convcli.present import describe, schema
        from convcli.present.selection import DEFAULT_DETAIL_FILTERS
        from convcli.present.window import Window

        built, result = self.built, self.result
        if trace is not None:
            self.trace(*trace, filter=0)  # a position of another rank: the one error trace() gives
        if built.ndim == 3:  # what run --json shows: one plane, computed here
            from convcli.pipeline.depth import depth_slice

            built = depth_slice(built, trace[0] if trace is not None else None)
            result = run(built)
        layer = built.layer
        detail = list(range(min(layer.filters, DEFAULT_DETAIL_FILTERS))) if filters is None else list(filters)
        # a 1-D layer's I is the row its views draw, (0, I), as in run's JSON
        rowcol = None if trace is None else (0, trace[-1]) if len(trace) == 1 else (trace[-2], trace[-1])
        traces = {f: engine.trace_position(layer, *rowcol, f) for f in detail} if rowcol is not None else None
        x, loaded = built.loaded.array, built.loaded
        info = describe.InputInfo(self.request.input_name, loaded.description, x.shape, str(x.dtype),
                                  loaded.channel_names, describe.value_range(x))
        # as run chooses it: a --trace outside the default window moves the window to it
        shown = Window.choose(layer.geometry.out_hw, at, window, showing=rowcol)
        doc = schema.result_json(info, result, built.padding, detail, traces, rowcol, window=shown,
                                 semantics=self.request.semantics, flip=self.request.flip)
        if self.emulated is not None and built.ndim != 3:
            from convcli.present.precision_json import add_precision

            add_precision(doc, self.emulated.emulation, self.emulated.errors, shown)
        if built.model is not None:
            doc["model"] = built.model
        if built.spec is not None:
            doc["kind"] = _kind_json(built, detail, rowcol)
        return doc


def _kind_json(built: BuiltLayer, detail: list[int], at: tuple[int, int] | None) -> dict[str, Any]:
    """``run --json``'s ``"kind"`` of a layer of another kind or rank (a transposed layer's scatter traces at
    ``at`` included; a depth slice's plane as ``depth_at``)."""
    assert built.spec is not None
    if built.own is not None:
        from convcli.pipeline.own_engine import input_channel_names, scatter_trace
        from convcli.present.own_kinds import own_kind_json, scatter_json

        assert built.weights is not None
        names = input_channel_names(built)
        traces = [scatter_trace(built, at, f) for f in detail] if at is not None else []
        return own_kind_json(built.spec, built.weights, built.notes, [scatter_json(t, names) for t in traces if t])
    from convcli.present.kinds import kind_json

    doc = kind_json(built.spec, built.loaded.array.shape[:-1])
    if built.whole is not None and built.plane is not None:
        doc["depth_at"] = built.plane
    return doc
