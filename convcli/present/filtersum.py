"""A filter's sum, decided once for every view: which channels it reads and shows, the parts that add
up to its pre-activation, and which maps share a colour scale. numpy only.

Filter ``f`` of a layer computes::

    part_0 + part_1 + ... (+ Σ N others) + bias = pre-activation  --activation-->  output

The numbers table (:mod:`convcli.render.run`), the heatmaps (:mod:`convcli.render.heatmap`), the
figure (:mod:`convcli.figure.plan`) and the JSON (:mod:`convcli.present.schema`) lay a
:class:`FilterSum` out; none of them chooses the channels, the group or the scales again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from convcli.engine import LayerResult
from convcli.layer.spec import group_of
from convcli.present import describe, selection
from convcli.present.colour import same_units
from convcli.present.window import Window, window_partials

#: Activations whose output is in the units of their input: ``z`` itself, ``z`` clipped (relu,
#: relu6) or ``z`` gated (``f(z) / z → 1`` as ``z`` grows: elu, selu, softplus, silu). A value keeps
#: its colour from pre-activation to output.
SAME_UNITS_ACTIVATIONS = frozenset({"linear", "relu", "relu6", "leaky_relu", "elu", "selu", "softplus", "silu",
                                    "swish"})
#: Activations that map the pre-activation into other units (a bounded range, or its exponential):
#: their output on the parts' scale would be one pale colour, so it always gets a scale of its own.
OTHER_UNITS = {
    "sigmoid": "0 … 1",
    "hard_sigmoid": "0 … 1",
    "tanh": "-1 … 1",
    "softsign": "-1 … 1",
    "exponential": "exp(z) > 0",
}
#: How a folded part is called, by default ("Σ 12 others").
OTHERS_LABEL = "Σ {n} others"


@dataclass(frozen=True)
class OutputScale:
    """Whether a filter's output is coloured on the scale of its parts, its bias and their sum, and why.

    ``same_units``: whether the activation keeps its input's units at all (false for tanh, sigmoid, ...).
    """

    shared: bool
    reason: str
    same_units: bool = True


def output_scale(activation: str, pre_hi: float, out_hi: float) -> OutputScale:
    """The one rule for every view, from the activation and the maps' largest values.

    An output in other units than its parts (:data:`OTHER_UNITS`: tanh, sigmoid, ...) gets its own
    scale. One in the same units (:data:`SAME_UNITS_ACTIVATIONS`) shares the parts' scale while its
    largest value is the pre-activation's (:func:`~convcli.present.colour.same_units`); relu6 past
    its ceiling, or a relu of a map below 0, would be one pale colour there: its own scale then.
    """
    if activation not in SAME_UNITS_ACTIVATIONS:
        units = OTHER_UNITS.get(activation, "other units")
        return OutputScale(False, f"{activation} gives {units}, not the units of its input: a scale of its own",
                           same_units=False)
    if same_units(pre_hi, out_hi):
        return OutputScale(True, f"{activation} keeps the units of its input: the scale of the parts and their sum")
    return OutputScale(False, f"the output reaches {describe.fmt(out_hi)}, the pre-activation {describe.fmt(pre_hi)}: "
                              "a scale of its own")


@dataclass(frozen=True)
class Part:
    """One term of the sum: a channel's partial map, or the channels folded into "Σ N others".

    ``positions``: the channels' positions within the filter's group (indices into ``Cg``).
    """

    label: str
    positions: tuple[int, ...]
    folded: bool = False


@dataclass(frozen=True)
class WindowSum:
    """A :class:`FilterSum`'s numbers over a :class:`~convcli.present.window.Window` of ``h × w`` positions.

    ``partials (h, w, Cg)`` every channel's; ``parts`` one ``(h, w)`` map per :attr:`FilterSum.parts`
    entry (the folded channels summed); ``bias``, ``preactivation``, ``output`` ``(h, w)``.
    """

    partials: np.ndarray
    parts: list[np.ndarray]
    bias: np.ndarray
    preactivation: np.ndarray
    output: np.ndarray


@dataclass(frozen=True)
class FilterSum:
    """Filter ``index``'s sum, as every view shows it (built by :meth:`of`).

    ``channels (Cg,)`` are the input channels its group reads, ``names`` theirs; ``shown`` and
    ``others`` are positions within the group (:mod:`convcli.present.selection`: the largest few
    and "Σ N others" past :data:`~convcli.present.selection.MAX_CHANNELS_SHOWN`). ``output`` is
    ``None`` for ``linear`` (the output is the pre-activation: no map of its own), else which scale
    it takes and why (:func:`output_scale`). The parts, the bias and the pre-activation always
    share one scale, so that colours add up like the numbers.
    """

    result: LayerResult = field(repr=False, compare=False)
    index: int
    group: int
    groups: int
    channels: tuple[int, ...]
    names: tuple[str, ...]
    shown: tuple[int, ...]
    others: tuple[int, ...]
    bias: float
    use_bias: bool
    activation: str
    output: OutputScale | None

    @classmethod
    def of(cls, result: LayerResult, f: int, names: Sequence[str]) -> FilterSum:
        """Filter ``f`` of ``result``; ``names`` are every input channel's (``C``)."""
        layer = result.layer
        channels = tuple(int(c) for c in selection.group_channels(result, f))
        shown, others = selection.shown_channels(result, f)
        out: OutputScale | None = None
        if result.activation != "linear":
            out = output_scale(result.activation, float(result.preactivation_stats[f, 2]),
                               float(result.output_stats[f, 2]))
        return cls(result, f, group_of(f, layer.filters, layer.groups), layer.groups, channels,
                   tuple(names[c] for c in channels), tuple(shown), tuple(others), float(result.bias[f]),
                   result.use_bias, result.activation, out)

    # -- what the views lay out ------------------------------------------------------------------

    @property
    def grouped(self) -> bool:
        """Whether the layer has groups: then a view names the filter's group and its channels."""
        return self.groups > 1

    @property
    def group_channels(self) -> tuple[int, int]:
        """The first and last input channel of the filter's group."""
        return self.channels[0], self.channels[-1]

    @property
    def group_title(self) -> str:
        """``group g (channels a–b)``, or ``group g (channel a)`` for a group of one (depthwise):
        the one wording of every view's title."""
        first, last = self.group_channels
        return f"group {self.group} (channels {first}–{last})" if last > first else f"group {self.group} (channel {first})"

    def parts(self, others_label: str = OTHERS_LABEL) -> list[Part]:
        """The terms before the bias: each shown channel, then the folded ones (``others_label``, ``{n}`` their count)."""
        parts = [Part(self.names[c], (c,)) for c in self.shown]
        if self.others:
            parts.append(Part(others_label.format(n=len(self.others)), self.others, folded=True))
        return parts

    @property
    def has_output(self) -> bool:
        """Whether the output is a map of its own (not ``linear``)."""
        return self.output is not None

    @property
    def output_shared(self) -> bool:
        """Whether the output joins the scale of the parts, the bias and the pre-activation."""
        return self.output is not None and self.output.shared

    @property
    def kernel(self) -> np.ndarray:
        """The filter's weights ``(kh, kw, Cg)``."""
        return self.result.layer.kernel[:, :, :, self.index]

    @property
    def output_stats(self) -> np.ndarray:
        """The output's min, mean and max over the whole map ``(3,)``."""
        return self.result.output_stats[self.index]

    @property
    def shares(self) -> np.ndarray:
        """Each channel's share of ``Σ mean |partial|``, in percent ``(Cg,)``."""
        return self.result.shares()[:, self.index]

    def window(self, window: Window) -> WindowSum:
        """The sum's numbers over ``window`` (the partials computed once per window and result)."""
        r = self.result
        (r0, r1), (c0, c1) = window.rows, window.cols
        partials = window_partials(r, window)[:, :, :, self.index]
        parts = [partials[:, :, p.positions[0]] if not p.folded else partials[:, :, list(p.positions)].sum(axis=2)
                 for p in self.parts()]
        pre = r.preactivation[r0:r1, c0:c1, self.index]
        return WindowSum(partials, parts, np.full(pre.shape, r.bias[self.index]), pre,
                         r.output[r0:r1, c0:c1, self.index])
