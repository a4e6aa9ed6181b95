"""How much memory a command may still take: the free memory, and the process's own limit.

``ulimit -v`` (``RLIMIT_AS``) caps the address space: a run that fits in the free memory still fails
with ``MemoryError`` once it crosses that cap. :func:`available_bytes` is the lower of the two, so
the up-front estimate refuses such a run with its numbers instead.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convcli.engine import Layer

#: The compute dtype of the command running now (set once its layer is bound): the advice on memory
#: suggests ``--dtype float32`` only when that would save something.
_RUNNING = {"dtype": ""}


def note_dtype(dtype: str) -> None:
    """Remember the compute dtype (``"float32"``, ``"float64"``) for :func:`advice`."""
    _RUNNING["dtype"] = dtype


def advice(*, dtype: str | None = None) -> list[str]:
    """What to do about too little memory, as phrases: ``--dtype float32`` (unless that is already
    the dtype), fewer filters, a smaller image. (``--save``'s partials are written as they are made,
    so ``--no-partials`` would not help.)"""
    dtype = _RUNNING["dtype"] if dtype is None else dtype
    return (["--dtype float32"] if dtype != "float32" else []) + ["fewer --filters", "a smaller image"]


def listed(phrases: list[str], last: str = "or") -> str:
    """``a, b or c``."""
    return phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} {last} {phrases[-1]}"


def free_bytes() -> int | None:
    """The physical memory free now; ``None`` where the platform cannot tell."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def address_space_left() -> int | None:
    """What ``RLIMIT_AS`` leaves of the address space beyond what the process maps now; ``None``
    when there is no limit (or no way to tell)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = _mapped_bytes()
    return max(soft - used, 0)


def _mapped_bytes() -> int:
    """The process's virtual size now (Linux ``/proc/self/statm``); 0 where unknown."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def available_bytes() -> tuple[int, str] | None:
    """The memory a computation may still take and what bounds it (``"free"`` or ``"the limit"``),
    or ``None`` when neither is known."""
    free, left = free_bytes(), address_space_left()
    if left is not None and (free is None or left < free):
        return left, "allowed by the process's address-space limit (ulimit -v)"
    if free is not None:
        return free, "free"
    return None


def ensure_fits(nbytes: int, what: str, hint: str) -> None:
    """Refuse (``ResourceError``) ``nbytes`` more than 80 % of :func:`available_bytes`, before allocating."""
    from convcli.errors import ResourceError

    avail = available_bytes()
    if avail is None:
        return
    limit, bound = avail
    if nbytes > 0.8 * limit:
        raise ResourceError(
            f"the {what} would need {nbytes / 2**30:.1f} GiB but only {limit / 2**30:.1f} GiB is {bound}; {hint}"
        )


def figure_bytes(layer: Layer, activation: str, shown_filters: int, width: int | None) -> int:
    """What ``run --figure`` adds to a run: ``shown_filters`` rows at most ``width`` pixels wide
    (:data:`FIGURE_MAX_PANEL`), as :mod:`convcli.figure.panels` makes them.

    Kept while the figure is planned: each panel's values (float64 block means where the maps are
    larger than the panels, with the tap sums they come from; where they fit, each shown filter's
    partial maps themselves). Made and dropped on the way, all counted: a band of the tap sums'
    row pass, one result's block sums (every filter), the input's block sums, one map made whole
    ("Σ others", more than ``MAX_CHANNELS_SHOWN`` channels, and the copy of those channels). And
    the RGB picture, twice (the image and the tiles painted into it). Not counted: a map with a
    NaN or an infinity, made whole one channel at a time (``H'·W'`` values, a mask and a float64
    copy), within the run's own block buffers, which are free by then.
    """
    from convcli.engine.blocks import BAND_VALUES
    from convcli.figure import plan
    from convcli.figure.panels import drawn_shape
    from convcli.present import selection

    layout = plan.figure_layout(layer, activation, shown_filters, max_panel=FIGURE_MAX_PANEL, width=width)
    n_in, n_parts, n_res = layout.blocks
    (h, w, c), (ho, wo), item = layer.x.shape, layer.geometry.out_hw, layer.x.itemsize
    (bh, bw), (ih, iw) = drawn_shape((ho, wo), layout.limit), drawn_shape((h, w), layout.limit)
    (kh, kw), others = layer.geometry.kernel_hw, layer.cg > selection.MAX_CHANNELS_SHOWN
    if (bh, bw) != (ho, wo):
        kept = shown_filters * (n_parts + n_res) * bh * bw * 8 + kh * kw * bh * bw * c * 8
        # Σ others: those input channels copied (and padded), their map, its block mean's mask and
        # float64 copy; the convolution's own block buffers are the run's, done by then
        whole = (2 * h * w * (layer.cg - selection.TOP_CHANNELS) * item + ho * wo * (item + 9)) if others else 0
        passing = [4 * max(BAND_VALUES, kh * w * c) * 8, 2 * bh * wo * layer.filters * 8, whole]
    else:
        kept, passing = shown_filters * (layer.cg + others) * ho * wo * item, [layer.cg * ho * wo * item * others]
    if (ih, iw) != (h, w):
        kept += min(c, shown_filters * n_in) * ih * iw * 8
        passing.append(2 * ih * w * c * 8)
    return kept + sum(passing) + 2 * 3 * layout.size[0] * layout.size[1]


#: The longest side ``run --figure`` draws a map at; its ``--figure-width`` decides below that.
FIGURE_MAX_PANEL = 4096
