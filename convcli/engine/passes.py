"""Everything ``convcli run`` computes for a layer: the partial-sum pass and the run itself. numpy only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from convcli.engine import fast, tiles
from convcli.engine.activations import activate, activation_fn
from convcli.engine.bind import Layer, check_bias
from convcli.engine.blocks import column_reduce
from convcli.engine.conv import conv_region, in_pieces, input_region, partials_region, row_pieces
from convcli.engine.fast import tuning
from convcli.engine.stats import map_stats
from convcli.errors import ConfigError

Pair = tuple[int, int]


class PassResult(NamedTuple):
    """What :func:`partial_pass` measures over every partial sum ``(Cg, F)`` each (``partials``:
    ``(H', W', Cg, F)`` when kept; ``low``/``high``: each partial map's min / max when asked)."""

    mean_abs: np.ndarray
    partials: np.ndarray | None
    low: np.ndarray | None
    high: np.ndarray | None


#: Blocks of partials made ahead of a :func:`partial_pass` sink, per thread: one being made and one
#: waiting to be taken (a sink that writes to a disk keeps up, or holds the threads back).
SINK_AHEAD = 2


def fuses_conv(layer: Layer) -> bool:
    """Whether :func:`run_layer` sums the partials into the pre-activation instead of convolving again.

    Where the convolution is memory-bound (stride 1, few channels: the per-tap GEMMs of a photo),
    adding the ``Cg`` partial maps that :func:`partial_pass` makes anyway costs much less than a
    second pass over the image; with many channels one im2col GEMM beats ``Cg·F`` additions.
    """
    return layer.geometry.stride == (1, 1) and layer.cg < tuning.IM2COL_MIN_CHANNELS


def partial_pass(
    layer: Layer, *, keep: bool = False, progress: Callable[[int], None] | None = None,
    total: np.ndarray | None = None, bias: np.ndarray | None = None, ranges: bool = False,
    sink: Callable[[Pair, np.ndarray], None] | None = None,
) -> PassResult:
    """One pass over all partial sums: their mean ``|partial|`` ``(Cg, F)`` and, if ``keep``, the
    partials themselves ``(H', W', Cg, F)``; with ``ranges`` each partial map's min and max.
    ``total (H', W', F)``, if given (stride 1 only), is written with the pre-activation: the sum of
    the partials, plus ``bias (F,)`` if given.

    ``sink(rows, partials)``, if given, receives every block's partials ``(rows, W', Cg, F)`` instead,
    in row order on the calling thread while the threads compute the next blocks (at most
    :data:`SINK_AHEAD` blocks' partials a thread exist at once): ``run --save`` writes them to the archive
    as they are made. A one-long-row output (a 1-D layer) goes in pieces of columns: ``rows`` is then the
    piece's columns and its partials ``(1, columns, Cg, F)``, still in order.

    Computed block by block, so without ``keep`` a whole photo never holds all ``H'·W'·Cg·F``
    partials at once. The mean is accumulated in float64 so millions of values keep their digits
    (and float32 values near their limit do not overflow).
    """
    ho, wo = layer.geometry.out_hw
    cg, f = layer.cg, layer.filters
    g = layer.geometry
    if total is not None and g.stride != (1, 1):
        raise ValueError("partial_pass writes the pre-activation for stride-1 layers only")
    if keep and sink is not None:
        raise ValueError("partial_pass keeps the partials or hands them to a sink, not both")
    kept = np.empty((ho, wo, cg, f), dtype=layer.x.dtype) if keep else None
    stride1 = g.stride == (1, 1)
    blocks = _pass_blocks(layer)
    pieces = in_pieces((0, ho), (0, wo))  # one long row: the blocks are pieces of its columns
    sums = np.zeros((len(blocks), cg, f), dtype=np.float64)  # one row per block: the same sum on any thread
    lows = np.full((len(blocks), cg, f), np.inf, dtype=layer.x.dtype) if ranges else None
    highs = np.full((len(blocks), cg, f), -np.inf, dtype=layer.x.dtype) if ranges else None

    def block(b: Pair) -> np.ndarray | None:
        """The block's partials when there is a sink (else written into ``kept`` or dropped)."""
        i = blocks.index(b)
        low, high = (lows[i], highs[i]) if lows is not None and highs is not None else (None, None)
        rows, cols = ((0, 1), b) if pieces else (b, (0, wo))
        at = (slice(None), slice(*b)) if pieces else (slice(*b),)
        if stride1:
            shape = (rows[1] - rows[0], cols[1] - cols[0])
            mine = None if sink is None else np.empty((*shape, cg, f), dtype=layer.x.dtype)
            fast.partial_stats(
                input_region(layer, rows, cols), layer.kernel, g.dilation, shape,
                abs_sums=sums[i], low=low, high=high,
                total=None if total is None else total[at], bias=bias,
                kept=mine if kept is None else kept[at])
            return mine
        p = partials_region(layer, rows, cols, threads=False)  # the blocks are already on the threads
        if kept is not None:
            kept[at] = p
        flat = p.reshape(-1, cg * f)
        sums[i] = column_reduce(np.abs(flat), np.add, np.float64).reshape(cg, f)
        if low is not None and high is not None:
            low[...] = column_reduce(flat, np.minimum).reshape(cg, f)
            high[...] = column_reduce(flat, np.maximum).reshape(cg, f)
        return p if sink is not None else None

    def rows(b: Pair) -> int:
        block(b)
        return b[1] - b[0]

    def consume(b: Pair, partials: np.ndarray | None) -> None:
        assert sink is not None and partials is not None
        sink(b, partials)
        if progress is not None:
            progress(b[1] - b[0])

    if sink is None:
        tiles._each(rows, blocks, progress)
    else:
        tiles._each_in_order(block, blocks, consume, ahead=SINK_AHEAD * tiles.THREADS)
    low_all = lows.min(axis=0) if lows is not None else None
    high_all = highs.max(axis=0) if highs is not None else None
    return PassResult(sums.sum(axis=0) / (ho * wo), kept, low_all, high_all)


def mean_abs_partials(layer: Layer) -> np.ndarray:
    """Mean of ``|partial_sums|`` over every output position: ``(C // groups, F)``."""
    return partial_pass(layer)[0]


def run_bytes(layer: Layer, *, keep_partials: bool = False, stream_partials: bool = False) -> int:
    """Bytes :func:`run_layer` allocates beyond the input: results, kept partials (or the blocks of
    them made ahead of a ``partials_sink``), block buffers."""
    ho, wo = layer.geometry.out_hw
    per_map = ho * wo * layer.x.itemsize
    total = 2 * per_map * layer.filters  # pre-activation and output
    if keep_partials:
        total += per_map * layer.cg * layer.filters
    elif stream_partials:
        blocks = _pass_blocks(layer)
        positions = (blocks[0][1] - blocks[0][0]) * (1 if in_pieces((0, ho), (0, wo)) else wo)  # columns or rows
        block = positions * layer.cg * layer.filters * layer.x.itemsize
        total += min(len(blocks), SINK_AHEAD * tiles.THREADS + 1) * block  # +1: the one being written
    total += tiles.THREADS * padded_region(layer)[3]
    return total + 4 * tiles.THREADS * tiles.TILE_VALUES * layer.x.itemsize


def _pass_blocks(layer: Layer) -> list[Pair]:
    """The blocks of output rows :func:`partial_pass` computes one at a time (of columns, when the output
    is one long row: :func:`~convcli.engine.conv.in_pieces`)."""
    ho, wo = layer.geometry.out_hw
    per_col = layer.filters * (1 if layer.geometry.stride == (1, 1) else layer.cg)
    # stride 1: the fused kernel keeps only its tile buffers; else each block's partials are made whole
    if in_pieces((0, ho), (0, wo)):
        return row_pieces((0, wo), per_col)
    return tiles._row_tiles((0, ho), wo * per_col, parts=tiles.THREADS)


def progress_units(layer: Layer) -> int:
    """What :func:`partial_pass` and :func:`~convcli.engine.conv.conv_region` count their progress in, over
    the whole output: its rows, or its columns when the output is one long row cut in pieces."""
    ho, wo = layer.geometry.out_hw
    return wo if in_pieces((0, ho), (0, wo)) else ho


def padded_region(layer: Layer) -> tuple[int, int, int, int]:
    """``(rows, cols, channels, bytes)`` of the padded input one output row reads, which a block
    copies when the layer pads (else a view, 0 bytes): ``span_h × ((W' - 1)·sw + span_w) × C``."""
    g = layer.geometry
    (kh, kw), (dh, dw) = g.kernel_hw, g.dilation
    rows, cols = (kh - 1) * dh + 1, (g.out_hw[1] - 1) * g.stride[1] + (kw - 1) * dw + 1
    c = layer.x.shape[2]
    return rows, cols, c, (rows * cols * c * layer.x.itemsize if any(g.pads) else 0)


@dataclass(frozen=True)
class LayerResult:
    """One computed layer; the tables, the JSON and the saved file all read these arrays.

    ``preactivation`` and ``output`` are ``(H', W', F)``; ``mean_abs`` is ``(Cg, F)``, the mean
    ``|partial|`` of each channel over the whole output. Arrays and statistics only: what a view
    shows of them (a window, a choice of channels) is computed by :mod:`convcli.present`.
    """

    layer: Layer
    bias: np.ndarray
    use_bias: bool
    activation: str
    preactivation: np.ndarray
    output: np.ndarray
    mean_abs: np.ndarray
    partials: np.ndarray | None = None
    #: each partial map's min and max over the whole output ``(Cg, F)``, when ``run_layer(ranges=True)``
    partial_low: np.ndarray | None = None
    partial_high: np.ndarray | None = None

    def shares(self) -> np.ndarray:
        """Each channel's share of ``Σ_c mean |partial|`` per filter, in percent: ``(Cg, F)``."""
        total = self.mean_abs.sum(axis=0, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, 100.0 * self.mean_abs / total, 0.0)

    @cached_property
    def _output_summary(self) -> tuple[np.ndarray, np.ndarray]:
        finite = np.empty(self.output.shape[-1], dtype=bool)
        return map_stats(self.output, finite=finite), finite

    @cached_property
    def output_stats(self) -> np.ndarray:
        """Each filter's output min, mean and max over the whole map, NaN ignored: ``(F, 3)`` float64."""
        return self._output_summary[0]

    @property
    def output_finite(self) -> np.ndarray:
        """Whether each output map is all finite ``(F,)`` (:func:`~convcli.engine.stats.finite_maps`),
        from the same pass as :attr:`output_stats`."""
        return self._output_summary[1]

    @cached_property
    def preactivation_stats(self) -> np.ndarray:
        """:attr:`output_stats` of the pre-activation (the same array for ``linear``)."""
        return self.output_stats if self.output is self.preactivation else map_stats(self.preactivation)

    def full_partials(self) -> np.ndarray:
        """All partial sums ``(H', W', Cg, F)``: kept by ``run_layer(keep_partials=True)`` or computed now."""
        if self.partials is not None:
            return self.partials
        ho, wo = self.layer.geometry.out_hw
        return partials_region(self.layer, (0, ho), (0, wo))


def run_layer(
    layer: Layer,
    bias: np.ndarray | Sequence[float] | float | None,
    activation: str,
    *,
    use_bias: bool = True,
    keep_partials: bool = False,
    partials_sink: Callable[[Pair, np.ndarray], None] | None = None,
    ranges: bool = False,
    progress: Callable[[float], None] | None = None,
) -> LayerResult:
    """Compute everything ``convcli run`` shows for ``layer``: the whole output and its statistics.

    ``keep_partials`` keeps all ``(H', W', Cg, F)`` partials (for saving) from the same pass that
    measures each channel's share, or hands them block by block to ``partials_sink(rows, partials)``
    (:func:`partial_pass`'s ``sink``: ``run --save`` writes them as they are made); ``ranges``
    measures each partial map's min and max in it too.
    ``progress(fraction)`` reports the work done, 0 to 1.
    """
    if bias is not None and not use_bias:
        raise ConfigError("a bias was given but the layer has use_bias=False (--no-bias)")
    activation_fn(activation)  # an unknown name fails before the work, not after it
    ho, wo = layer.geometry.out_hw
    b = check_bias(bias, layer.filters, layer.x.dtype)
    fused = fuses_conv(layer)
    # unless fused, the convolution and the partials are the same multiply-adds: each is half of the work
    done = [0]
    passes = 1 if fused else 2

    units = progress_units(layer)

    def step(rows_done: int) -> None:
        done[0] += rows_done
        if progress is not None:
            progress(min(1.0, done[0] / (passes * units)))

    if fused:
        pre = np.empty((ho, wo, layer.filters), dtype=layer.x.dtype)
        measured = partial_pass(layer, keep=keep_partials, progress=step, total=pre, bias=b, ranges=ranges,
                                sink=partials_sink)
    else:
        pre = conv_region(layer, (0, ho), (0, wo), step, bias=b)
        measured = partial_pass(layer, keep=keep_partials, progress=step, ranges=ranges, sink=partials_sink)
    out = activate(pre, activation)
    return LayerResult(layer, b, use_bias, activation, pre, out, measured.mean_abs,
                       measured.partials, measured.low, measured.high)
