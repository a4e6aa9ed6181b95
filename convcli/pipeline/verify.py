"""``convcli verify`` as data: convcli's result and every installed framework's, compared.

:func:`verify_layer` starts the frameworks importing before the input is read (in a worker
process, :mod:`convcli.verify.worker`, else on a thread, :mod:`convcli.verify.preload`), builds the
layer through the caller's ``build``, refuses one that does not fit in memory, computes convcli's
result, then runs every adapter band by band (:func:`convcli.verify.schedule.verify`). It returns a
:class:`VerifyReport`; what a front end shows while it works comes through :class:`VerifyHooks`.
Nothing here prints, exits or imports typer or rich.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    import numpy as np

    from convcli.engine import Layer, LayerResult, PaddingSpec
    from convcli.verify.executor import Executor
    from convcli.verify.preload import Importing
    from convcli.verify.problem import Checked


class Built(Protocol):
    """What verify reads of a built layer: the checked layer on its input and the settings it runs with."""

    @property
    def layer(self) -> Layer: ...
    @property
    def bias(self) -> np.ndarray | None: ...  # (F,), or None for zeros
    @property
    def padding(self) -> PaddingSpec: ...
    @property
    def activation(self) -> str: ...
    @property
    def use_bias(self) -> bool: ...


B = TypeVar("B", bound=Built)


class VerifyHooks(Protocol):
    """What :func:`verify_layer` says while it works, in this order (fractions from 0 to 1). When it
    raises, the hooks after the failing step are not called: a front end closes what it still shows."""

    def built(self) -> None:
        """The layer is built and fits in memory: the build's warnings may be said now."""

    def importing(self, fraction: float) -> None:
        """The share of the frameworks imported, while verify waits for them."""

    def imported(self) -> None:
        """The wait for the imports is over."""

    def computing(self, fraction: float) -> None:
        """The share of convcli's own pass done."""

    def computed(self, result: LayerResult) -> None:
        """convcli's pass is over, before any framework is compared."""

    def comparing(self, framework: str, fraction: float) -> None:
        """The share of ``framework``'s bands compared."""

    def compared(self) -> None:
        """The comparison is over (or given up): the last word."""


class Quiet:
    """:class:`VerifyHooks` that say nothing (a library caller's default)."""

    def built(self) -> None:
        pass

    def importing(self, fraction: float) -> None:
        pass

    def imported(self) -> None:
        pass

    def computing(self, fraction: float) -> None:
        pass

    def computed(self, result: LayerResult) -> None:
        pass

    def comparing(self, framework: str, fraction: float) -> None:
        pass

    def compared(self) -> None:
        pass


@dataclass(frozen=True)
class VerifyReport:
    """convcli's result, one verdict per framework, and the tolerance they were held to."""

    result: LayerResult  # convcli's: the pre-activation (H', W', F) every framework is compared with
    checked: list[Checked]  # in the order of convcli.verify.adapters.ADAPTERS
    terms: int  # n of the tolerance 4·n·ε·Σ|x·w|: the terms summed into one output value, the bias one of them
    rtol: float  # that tolerance relative to Σ|x·w|
    installable: list[str]  # the install hints of the frameworks that were missing
    #: precision -> the largest |error| of this layer's pre-activation emulated in it (TF32, bfloat16), against
    #: float64: what a GPU's default (TF32) or mixed precision (bf16) alone would explain
    emulated: dict[str, float] = field(default_factory=dict)
    emulated_rows: tuple[int, int] | None = None  # the output rows [r0, r1) measured, when not all of them

    @property
    def largest_difference(self) -> float | None:
        """The largest max |Δ| any framework's result showed; None when none computed."""
        diffs = [c.comparison.max_abs for c in self.checked if c.comparison is not None]
        return max(diffs) if diffs else None

    @property
    def differ(self) -> list[Checked]:
        """The frameworks whose result differs from convcli's beyond the tolerance."""
        return [c for c in self.checked if c.comparison is not None and not c.comparison.ok]

    def disagreement(self) -> str | None:
        """What the first framework that differs says (``PyTorch differs from convcli at ...``), else None."""
        differ = self.differ
        if not differ:
            return None
        first, more = differ[0], len(differ) - 1
        assert first.comparison is not None
        return (f"{first.outcome.framework} differs from convcli {first.comparison.problem}"
                + (f" (and {more} more framework{'s' * (more > 1)})" if more else ""))


def check_fits(layer: Layer) -> None:
    """Refuse, before computing, a layer whose results and padded input do not fit in memory
    (:class:`convcli.errors.ResourceError`).

    convcli's own pass (:func:`convcli.engine.run_bytes`), then what a framework makes besides: the
    whole padded input ``(H + pads, W + pads, C)`` and its output ``(H', W', F)``, both in the compute dtype.
    """
    from convcli import engine
    from convcli.pipeline import memory

    g = layer.geometry
    (h, w), (top, bottom, left, right) = g.in_hw, g.pads
    (ho, wo), c, item = g.out_hw, layer.x.shape[2], layer.x.itemsize
    hp, wp = h + top + bottom, w + left + right
    nbytes = engine.run_bytes(layer) + (hp * wp * c + ho * wo * layer.filters) * item
    memory.ensure_fits(nbytes, f"{ho}×{wo}×{layer.filters} output and the {hp}×{wp}×{c} padded input a framework makes",
                       "use " + memory.listed(memory.advice(dtype=layer.x.dtype.name)))


def verify_layer(build: Callable[[], B], *, semantics: str = "keras", flip: bool = False,
                 hooks: VerifyHooks | None = None) -> tuple[B, VerifyReport]:
    """The layer ``build()`` makes, computed by convcli and by every installed framework, compared.

    The frameworks start importing before ``build`` runs (it reads the input), in a process of
    their own where one can start, which then computes their bands while this process computes
    convcli's result; elsewhere on a thread of this one, joined before computing. ``semantics`` is
    the framework whose padding rules verify follows; ``flip``: the kernel was flipped (``--flip``).
    Raises what ``build`` raises, :class:`convcli.errors.ResourceError` for a layer that does not fit.
    """
    from convcli.verify import preload, worker

    hooks = hooks or Quiet()
    executor = worker.start_worker()
    importing = preload.preload(skip=() if executor is None else executor.modules)
    try:
        built = build()
        check_fits(built.layer)
        hooks.built()
        _start_frameworks(built, executor, importing, semantics, flip)
        _wait(importing, hooks)
        result = _compute(built, hooks)
        return built, _compare(built, result, executor, semantics, flip, hooks)
    except BaseException:
        importing.abandon()  # an error is said at once, not after the imports (a daemon thread)
        raise
    finally:
        if executor is not None:
            executor.close()


def _start_frameworks(built: Built, executor: Executor | None, importing: Importing, semantics: str,
                      flip: bool) -> None:
    """Give the worker the problem, so that it computes each framework's bands as soon as that one
    is imported, and have SciPy imported on the thread (its module depends on the layer's size)."""
    import numpy as np

    from convcli import engine
    from convcli.errors import ConvcliError
    from convcli.verify import environment, preload, tiles
    from convcli.verify.problem import Problem

    layer = built.layer
    if executor is not None and (built.use_bias or built.bias is None):
        try:
            executor.compute(Problem(layer, engine.check_bias(built.bias, layer.filters, layer.x.dtype),
                                     built.padding, semantics, flip))
        except ConvcliError:
            pass  # a bias that does not fit: run_layer says so, in its words
    banded = len(tiles.bands(Problem(layer, np.zeros(layer.filters, layer.x.dtype), built.padding))) > 1
    if environment.installed("scipy"):
        importing.also("scipy", preload.scipy_module(banded))


def _wait(importing: Importing, hooks: VerifyHooks) -> None:
    """Until the frameworks are imported, saying how far they are every tenth of a second."""
    try:
        while not importing.join(timeout=0.1):
            hooks.importing(importing.fraction())
    finally:
        hooks.imported()


def _compute(built: Built, hooks: VerifyHooks) -> LayerResult:
    """convcli's own result: the pass of ``convcli run``."""
    from convcli import engine

    result = engine.run_layer(built.layer, built.bias, built.activation, use_bias=built.use_bias,
                              progress=hooks.computing)
    hooks.computed(result)
    return result


def _compare(built: Built, result: LayerResult, executor: Executor | None, semantics: str, flip: bool,
             hooks: VerifyHooks) -> VerifyReport:
    """Every framework's result compared with convcli's pre-activation, band by band."""
    from convcli.verify import adapters, compare, schedule
    from convcli.verify.problem import Problem

    layer = built.layer
    problem = Problem(layer, result.bias, built.padding, semantics, flip)
    try:
        checked = schedule.verify(problem, result.preactivation, progress=hooks.comparing, executor=executor)
    finally:
        hooks.compared()
    n = compare.terms(layer)
    emulated, rows = emulated_errors(built)
    return VerifyReport(result, checked, n, compare.rtol_for(layer.x.dtype, n), adapters.installable(checked),
                        emulated, rows)


#: The precisions a GPU computes a float32 convolution in without being asked (TF32) or under a mixed policy.
EXPLAINED = ("tf32", "bf16")
#: The most output values (H'·W'·F) whose emulated error verify measures: a larger layer's is measured on
#: a centred band of output rows this size, so the note costs a fraction of verify's own pass.
EXPLAINED_VALUES = 1 << 18


def emulated_errors(built: Built) -> tuple[dict[str, float], tuple[int, int] | None]:
    """Each of :data:`EXPLAINED` -> the largest |error| of ``built``'s pre-activation emulated in it against
    float64 (2-D only, else nothing), and the output rows ``[r0, r1)`` it was measured on when not all."""
    from convcli import engine
    from convcli.pipeline.precision import centred_rows, emulate_layer

    layer = built.layer
    if layer.ndim != 2:
        return {}, None
    g = layer.geometry
    padding, band = built.padding, centred_rows(layer, EXPLAINED_VALUES)
    if band is not None:
        # the rows' zero-padded input, as a layer of its own: 'valid' over it makes just those rows
        region = engine.input_region(layer, band, (0, g.out_hw[1]))
        layer = engine.prepare(region, layer.kernel, stride=g.stride, dilation=g.dilation, groups=layer.groups,
                               dtype=layer.x.dtype)
        padding = "valid"
    bias = built.bias if built.use_bias else None
    return {p: emulate_layer(layer, bias, "linear", padding, p).errors.total.max_abs for p in EXPLAINED}, band
