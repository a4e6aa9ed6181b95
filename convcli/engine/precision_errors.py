"""Where an emulated layer's difference from float64 comes from, input channel by input channel.

For one filter at output position ``(i, j)``, with ``P_c`` channel ``c``'s exact partial sum (the
float64 cross-correlation of the unrounded input and weights), ``R_c`` the same of the rounded ones
(exact products, float64 sums), ``b`` / ``b_r`` the bias as given / as stored, ``A`` the emulated
adder's sum and ``Y`` the stored pre-activation::

    Y − (Σ_c P_c + b) =  Σ_c (R_c − P_c)          each channel's input and weight rounding
                       + (b_r − b)                 the bias rounding
                       + (A − (Σ_c R_c + b_r))     the accumulation's own error
                       + (Y − A)                   the output rounding

exactly, up to float64 rounding. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convcli.engine.bind import Layer
from convcli.engine.conv import input_region, layer_partials
from convcli.engine.precision import Emulation
from convcli.errors import ShapeError
from convcli.layer.geometry import conv_geometry
from convcli.layer.spec import group_of

Pair = tuple[int, int]

#: The parts besides the channels, in the order they are shown.
PARTS = ("bias", "accumulation", "output rounding")


def partials64(layer: Layer, rows: Pair, cols: Pair, filters: slice | None = None,
               region: np.ndarray | None = None) -> np.ndarray:
    """The layer's partial sums in float64 over output rows × cols: ``(h, w, C // groups, F)``.

    Only the input region those outputs read is converted to float64, so a window of a large
    image costs what the window needs. ``filters`` keeps a slice of them (all of one group).
    ``region``: that input region when the caller has it (the rounded one of an emulation).
    """
    region = (input_region(layer, rows, cols) if region is None else region).astype(np.float64)
    kernel = layer.kernel.astype(np.float64)
    groups = layer.groups
    if filters is not None:
        first = group_of(filters.start, layer.filters, groups)
        region = region[:, :, first * layer.cg : (first + 1) * layer.cg]
        kernel, groups = kernel[:, :, :, filters], 1
    g = layer.geometry
    geometry = conv_geometry(region.shape[:2], g.kernel_hw, stride=g.stride, padding="valid", dilation=g.dilation)
    h, w = rows[1] - rows[0], cols[1] - cols[0]
    return layer_partials(Layer(region, kernel, groups, geometry), (0, h), (0, w))


def rounded_partials64(em: Emulation, rows: Pair, cols: Pair, filters: slice | None = None) -> np.ndarray:
    """:func:`partials64` of ``em``'s rounded layer, its input rounded over the region read only."""
    src = em.source
    layer = Layer(src.x, em.rounded_kernel, src.groups, src.geometry)
    return partials64(layer, rows, cols, filters, region=em.rounded_region(rows, cols))


@dataclass(frozen=True)
class ErrorParts:
    """Emulated − exact for filter ``filt`` over output rows × cols, split into its parts.

    ``exact (h, w)`` the float64 pre-activation, ``emulated (h, w)`` the stored one;
    ``exact_partials``, ``rounded_partials`` and ``channel_errors`` are ``(h, w, Cg)``;
    ``bias_error`` a number; ``accumulation`` and ``output_rounding`` ``(h, w)``;
    ``scale (h, w)`` is ``Σ_c |P_c| + |b|``, the size the errors are measured against.
    """

    filt: int
    rows: Pair
    cols: Pair
    channels: np.ndarray  # (Cg,) the input channels the filter reads
    exact: np.ndarray
    emulated: np.ndarray
    exact_partials: np.ndarray
    rounded_partials: np.ndarray
    channel_errors: np.ndarray
    bias_error: float
    accumulation: np.ndarray
    output_rounding: np.ndarray
    scale: np.ndarray

    @property
    def difference(self) -> np.ndarray:
        """``emulated − exact``: ``(h, w)``."""
        out: np.ndarray = self.emulated - self.exact
        return out

    @property
    def residual(self) -> np.ndarray:
        """What the parts leave of the difference: ``(h, w)``, zero up to float64 rounding."""
        parts = self.channel_errors.sum(axis=-1) + self.bias_error + self.accumulation + self.output_rounding
        out: np.ndarray = self.difference - parts
        return out

    def parts(self) -> dict[str, np.ndarray]:
        """Each part's error ``(h, w)``: ``channel c`` for each channel read, then :data:`PARTS`."""
        out = {f"channel {int(c)}": self.channel_errors[..., i] for i, c in enumerate(self.channels)}
        out["bias"] = np.full(self.exact.shape, self.bias_error)
        out["accumulation"] = self.accumulation
        out["output rounding"] = self.output_rounding
        return out

    @property
    def dominant(self) -> str | None:
        """The part with the largest mean |error| (the first of equals); None when nothing differs."""
        means = {name: float(np.abs(e).mean()) for name, e in self.parts().items()}
        top = max(means, key=lambda k: means[k])
        return top if means[top] > 0 else None


def error_parts(em: Emulation, filt: int, rows: Pair, cols: Pair) -> ErrorParts:
    """:class:`ErrorParts` of ``em``'s filter ``filt`` at output rows ``[r0, r1)`` × cols ``[c0, c1)``."""
    layer = em.source
    ho, wo = layer.geometry.out_hw
    if not 0 <= filt < layer.filters:
        raise ShapeError(f"filter {filt} does not exist: the layer has {layer.filters} (0..{layer.filters - 1})")
    if not (0 <= rows[0] < rows[1] <= ho and 0 <= cols[0] < cols[1] <= wo):
        raise ShapeError(f"window rows {rows[0]}:{rows[1]}, cols {cols[0]}:{cols[1]} is not inside the {ho}×{wo} output")
    one = slice(filt, filt + 1)
    exact_p = partials64(layer, rows, cols, one)[..., 0]
    rounded_p = rounded_partials64(em, rows, cols, one)[..., 0]
    b, br = float(em.source_bias[filt]), float(em.bias[filt])
    (r0, r1), (c0, c1) = rows, cols
    acc = em.accumulated[r0:r1, c0:c1, filt].astype(np.float64)
    stored = em.stored(rows)[:, c0:c1, filt].astype(np.float64)
    group = group_of(filt, layer.filters, layer.groups)
    with np.errstate(invalid="ignore"):  # an overflowed sum is ±inf: its parts are inf or nan
        return ErrorParts(
            filt=filt, rows=rows, cols=cols, channels=np.arange(group * layer.cg, (group + 1) * layer.cg),
            exact=exact_p.sum(axis=-1) + b, emulated=stored, exact_partials=exact_p, rounded_partials=rounded_p,
            channel_errors=rounded_p - exact_p, bias_error=br - b,
            accumulation=acc - (rounded_p.sum(axis=-1) + br), output_rounding=stored - acc,
            scale=np.abs(exact_p).sum(axis=-1) + abs(b),
        )


@dataclass(frozen=True)
class PartStats:
    """One part's |error| over a layer: ``max_abs``/``mean_abs``, and the same in units of
    ``eps · scale`` (``scale = Σ_c |P_c| + |b|`` at each position; positions of scale 0 count 0)."""

    name: str
    max_abs: float
    mean_abs: float
    max_eps: float
    mean_eps: float


@dataclass(frozen=True)
class ErrorSummary:
    """Every part's :class:`PartStats` over all filters and positions, the total's last.

    ``rows``: the output rows ``[r0, r1)`` measured when not all of them (``None``: the whole layer).
    """

    precision: str
    parts: tuple[PartStats, ...]
    total: PartStats
    rows: tuple[int, int] | None = None

    @property
    def dominant(self) -> str | None:
        """The part with the largest mean |error|; None when nothing differs."""
        top = max(self.parts, key=lambda p: p.mean_abs)
        return top.name if top.mean_abs > 0 else None


def error_summary(em: Emulation, *, block_values: int = 1 << 21, rows: tuple[int, int] | None = None) -> ErrorSummary:
    """Max and mean |error| of each part over the whole layer (or its output ``rows`` ``[r0, r1)``), in
    blocks of output rows.

    ``block_values`` bounds one block's ``h·w'·Cg·F`` partial sums, so memory stays bounded for any
    image. Channel ``c`` is the ``c``-th channel of each filter's group (the input channel itself
    when ``groups = 1``).
    """
    layer = em.source
    (ho, wo), cg, f = layer.geometry.out_hw, layer.cg, layer.filters
    eps = em.format.eps
    names = [f"channel {c}" for c in range(cg)] + [*PARTS, "total"]
    sums = np.zeros((len(names), 2))  # Σ|e|, Σ|e|/(eps·scale)
    maxes = np.zeros((len(names), 2))
    step = max(1, block_values // max(1, wo * cg * f))
    b, br = em.source_bias, em.bias.astype(np.float64)
    first, last = rows if rows is not None else (0, ho)
    for r0 in range(first, last, step):
        block, cols = (r0, min(last, r0 + step)), (0, wo)
        exact_p = partials64(layer, block, cols)  # (h, w, Cg, F)
        rounded_p = rounded_partials64(em, block, cols)
        acc = em.accumulated[block[0] : block[1]].astype(np.float64)
        stored = em.stored(block).astype(np.float64)
        scale = np.abs(exact_p).sum(axis=2) + np.abs(b)
        with np.errstate(invalid="ignore"):
            errors = [*(rounded_p[:, :, c] - exact_p[:, :, c] for c in range(cg)),
                      np.broadcast_to(br - b, acc.shape), acc - (rounded_p.sum(axis=2) + br), stored - acc,
                      stored - (exact_p.sum(axis=2) + b)]
        # the mask, eps·scale and the buffers once a block, not once a part: these passes, not the
        # partials, are most of the summary's time
        positive = scale > 0
        eps_scale = eps * scale
        a, rel = np.empty_like(scale), np.zeros_like(scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            for k, e in enumerate(errors):
                np.abs(e, out=a)
                np.divide(a, eps_scale, out=rel, where=positive)  # 0 where the scale is 0 (or NaN)
                sums[k] += a.sum(), rel.sum()
                maxes[k] = np.maximum(maxes[k], (a.max(), rel.max()))
    n = (last - first) * wo * f
    stats = [PartStats(name, float(maxes[k, 0]), float(sums[k, 0] / n), float(maxes[k, 1]), float(sums[k, 1] / n))
             for k, name in enumerate(names)]
    return ErrorSummary(em.precision, tuple(stats[:-1]), stats[-1], rows if (first, last) != (0, ho) else None)
