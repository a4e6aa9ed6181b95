"""What ``convcli run`` shows, as one view model: the header's facts, one :class:`FilterSum` per filter
shown in detail, the summary's rows, the traces and the window. numpy only.

Every front end (the rich screen, the JSON, a notebook, a plain-text view in a test) lays a
:class:`RunView` out; none of them chooses the filters, the channels, the window or the scales again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from convcli.engine import ACTIVATION_FORMULAS, LayerResult, Trace, param_count
from convcli.layer.spec import ConvSpec
from convcli.present import selection
from convcli.present.describe import InputInfo, LayerCall, kind_call, semantics_call
from convcli.present.filtersum import FilterSum
from convcli.present.window import Window

Pair = tuple[int, int]


@dataclass(frozen=True)
class Header:
    """The facts above a run: the input, the layer as called (``call``, in ``semantics``' words), the
    kernel and its source, the output.

    ``kernel_shape (kh, kw, Cg, F)``; ``output_shape (H', W', F)``; ``params`` the weights and biases.
    """

    result: LayerResult = field(repr=False, compare=False)
    info: InputInfo
    padding: object
    kernel_source: str
    semantics: str
    kernel_shape: tuple[int, ...]
    output_shape: tuple[int, int, int]
    dtype: str
    activation: str
    formula: str
    groups: int
    use_bias: bool
    params: Pair
    #: the layer as asked when it is not the classic Conv2D (kind, rank, padding mode; ``None``: the classic one)
    spec: ConvSpec | None = None
    #: its pads ``((before, after), ...)`` per axis and output size (the computed layer may be one row of it)
    pad_width: tuple[tuple[int, int], ...] = ()
    out_size: tuple[int, ...] = ()

    @classmethod
    def of(cls, info: InputInfo, result: LayerResult, padding: object, kernel_source: str, *,
           semantics: str = "keras", spec: ConvSpec | None = None, in_size: tuple[int, ...] = ()) -> Header:
        """``spec`` with ``in_size`` (the input's size per axis): the layer as asked, named in the header."""
        layer = result.layer
        ho, wo = layer.geometry.out_hw
        more: dict[str, object] = {}
        if spec is not None and spec.kind_obj.transposed:
            # a transposed layer cuts its output instead of padding its input: its cuts stand in the pads' place
            from convcli.layer.geometry import transpose_crop_1d

            ops = spec.output_padding or (None,) * spec.ndim
            cuts = tuple(transpose_crop_1d(n, spec.kernel[a], spec.stride[a], spec.dilation[a],
                                           spec.padding if isinstance(spec.padding, str) else spec.padding[a], ops[a])
                         for a, n in enumerate(in_size))
            more = {"spec": spec, "pad_width": cuts, "out_size": spec.kind_obj.out_size(spec, in_size)}
        elif spec is not None:
            g = spec.geometry(in_size)
            more = {"spec": spec, "pad_width": g.pad_width, "out_size": g.out_size}
        return cls(result, info, padding, kernel_source, semantics, tuple(layer.kernel.shape), (ho, wo, layer.filters),
                   layer.x.dtype.name, result.activation, ACTIVATION_FORMULAS[result.activation], layer.groups,
                   result.use_bias, param_count(layer.kernel.shape, result.use_bias), **more)  # type: ignore[arg-type]

    @property
    def call(self) -> LayerCall:
        """The layer as its framework's call (``semantics``: Keras or PyTorch), with the padding as given."""
        if self.spec is not None:
            return kind_call(self.spec, self.pad_width, self.semantics)
        return semantics_call(self.result, self.padding, self.semantics)


@dataclass(frozen=True)
class SummaryRow:
    """One filter over the whole output: ``stats (3,)`` its min, mean, max; ``shares (Cg,)`` in percent
    of its group's channels ``names``. ``skipped``: how many filters the summary leaves out before it."""

    filter: int
    bias: float
    stats: np.ndarray
    names: tuple[str, ...]
    shares: np.ndarray
    skipped: int = 0


@dataclass(frozen=True)
class Summary:
    """Every filter, or beyond :data:`~convcli.present.selection.SUMMARY_ALL_UP_TO` the rows of
    :func:`~convcli.present.selection.summary_filters`, of ``count`` filters."""

    rows: list[SummaryRow]
    count: int

    @property
    def complete(self) -> bool:
        """Whether every filter has its row."""
        return len(self.rows) == self.count

    @property
    def stats(self) -> np.ndarray:
        """The listed rows' min, mean, max ``(rows, 3)`` float64 (one colour scale spans their finite values)."""
        return np.asarray([r.stats for r in self.rows], dtype=np.float64).reshape(-1, 3)

    @classmethod
    def of(cls, result: LayerResult, names: Sequence[str]) -> Summary:
        shares = result.shares()
        rows, previous = [], -1
        for f in selection.summary_filters(result.output_stats):
            channels = selection.group_channels(result, f)
            rows.append(SummaryRow(f, float(result.bias[f]), result.output_stats[f], tuple(names[c] for c in channels),
                                   shares[:, f], f - previous - 1))
            previous = f
        return cls(rows, result.layer.filters)


@dataclass(frozen=True)
class RunView:
    """A run as every view shows it: ``filters`` one :class:`FilterSum` per filter shown in detail,
    their numbers over ``window``; ``traces`` (filter -> its :class:`~convcli.engine.Trace` at
    ``trace_at``) when a position is traced; ``names`` every input channel's (``C``)."""

    result: LayerResult = field(repr=False, compare=False)
    header: Header
    names: tuple[str, ...]
    window: Window
    filters: tuple[FilterSum, ...]
    traces: Mapping[int, Trace] | None = None
    trace_at: Pair | None = None

    @classmethod
    def of(cls, result: LayerResult, info: InputInfo, filters: Sequence[int], *, window: Window,
           padding: object = None, kernel_source: str = "", semantics: str = "keras",
           traces: Mapping[int, Trace] | None = None, trace_at: Pair | None = None,
           spec: ConvSpec | None = None, in_size: tuple[int, ...] = ()) -> RunView:
        """The run's view; the channel names are ``info``'s (``spec``, ``in_size``: see :meth:`Header.of`)."""
        names = tuple(info.channel_names)
        header = Header.of(info, result, padding, kernel_source, semantics=semantics, spec=spec, in_size=in_size)
        return cls(result, header, names, window, tuple(FilterSum.of(result, f, names) for f in filters),
                   traces, trace_at)

    def summary(self) -> Summary:
        """The summary's rows (made when a view asks: a million filters cost a moment)."""
        return Summary.of(self.result, self.names)

    def trace(self, f: int) -> Trace | None:
        """Filter ``f``'s trace at :attr:`trace_at`, if the run traced one."""
        return None if self.traces is None or self.trace_at is None else self.traces[f]
