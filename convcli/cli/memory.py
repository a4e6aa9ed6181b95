"""How much memory a command may still take: the free memory, and the process's own limit.

``ulimit -v`` (``RLIMIT_AS``) caps the address space: a run that fits in the free memory still fails
with ``MemoryError`` once it crosses that cap. :func:`available_bytes` is the lower of the two, so
the up-front estimate refuses such a run with its numbers instead.
"""

from __future__ import annotations

import os

#: The compute dtype of the command running now (set once its layer is bound): the advice on memory
#: suggests ``--dtype float32`` only when that would save something.
_RUNNING = {"dtype": ""}


def note_dtype(dtype: str) -> None:
    """Remember the compute dtype (``"float32"``, ``"float64"``) for :func:`advice`."""
    _RUNNING["dtype"] = dtype


def advice(*, partials: bool = False, dtype: str | None = None) -> list[str]:
    """What to do about too little memory, as phrases: ``--no-partials`` (when partials are kept),
    ``--dtype float32`` (unless that is already the dtype), fewer filters, a smaller image."""
    dtype = _RUNNING["dtype"] if dtype is None else dtype
    return (["--no-partials"] if partials else []) + (["--dtype float32"] if dtype != "float32" else []) + \
        ["fewer --filters", "a smaller image"]


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


def figure_bytes(out_hw: tuple[int, int], cg: int, shown_filters: int, itemsize: int) -> int:
    """The partial maps a ``--figure`` keeps: ``(H', W', Cg)`` per shown filter."""
    return out_hw[0] * out_hw[1] * cg * shown_filters * itemsize
