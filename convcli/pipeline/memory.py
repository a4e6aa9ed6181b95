"""How much memory a command may still take: the free memory, and the process's own limit.

``ulimit -v`` (``RLIMIT_AS``) caps the address space: a run that fits in the free memory still fails
with ``MemoryError`` once it crosses that cap. :func:`available_bytes` is the lower of the two, so
the up-front estimate refuses such a run with its numbers instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convcli.engine import Layer


def advice(*, dtype: str | None = None) -> list[str]:
    """What to do about too little memory, as phrases: ``--dtype float32`` (unless that is already
    the dtype), fewer filters, a smaller image. (``--save``'s partials, written as they are made,
    are judged by :func:`check_run_fits`.) ``dtype`` None: the command's (:data:`convcli.settings.SETTINGS`)."""
    if dtype is None:
        from convcli.settings import SETTINGS

        dtype = SETTINGS.dtype
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


def check_run_fits(layer: Layer, *, stream_partials: bool, also: Sequence[tuple[int, str]] = ()) -> None:
    """Refuse (``ResourceError``), before computing, a run larger than the free memory or the process's limit.

    The run's own pass (:func:`convcli.engine.run_bytes`; ``stream_partials``: ``(H', W', Cg, F)``
    partials written as they are made, a few blocks held), and ``also``: ``(bytes, what)`` that a
    front end adds (a figure's rows). Where the partials' blocks are most of the estimate, the
    advice starts with ``--no-partials``.
    """
    from convcli import engine

    ho, wo = layer.geometry.out_hw
    what = f"{ho}×{wo}×{layer.filters} output"
    nbytes = engine.run_bytes(layer, stream_partials=stream_partials)
    partials = nbytes - engine.run_bytes(layer) if stream_partials else 0
    rows, cols, c, padded = engine.padded_region(layer)
    if padded > ho * wo * layer.filters * layer.x.itemsize:  # a huge padding or dilation: say what is large
        what += f" and {rows}×{cols}×{c} padded input rows per block"
    for more, more_what in also:
        nbytes += more
        what += f" and {more_what}"
    phrases = advice(dtype=layer.x.dtype.name)
    if 2 * partials > nbytes:  # the --save partials' blocks held in memory are most of it
        phrases.insert(0, f"--no-partials (the partials held for --save take {partials / 2**30:.1f} GiB)")
    ensure_fits(nbytes, what, "use " + listed(phrases))
