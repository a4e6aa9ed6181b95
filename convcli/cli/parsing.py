"""Parsing option values that are "N" or "N,M" (or "NxM"): usage errors (``typer.BadParameter``, exit 2).

Imports nothing but typer, for start-up time.
"""

from __future__ import annotations

import typer

#: The largest value a size, count or step option takes: convcli.layer.geometry.MAX_SIZE (2³¹ - 1),
#: written out so that parsing an option imports nothing.
MAX_SIZE = 2**31 - 1


def _split(text: str) -> list[str]:
    """``"3,5"``, ``"3x5"`` or ``"3×5"`` (as the --stack syntax writes ``k3x5``) -> ``["3", "5"]``."""
    return text.replace(" ", "").lower().replace("×", ",").replace("x", ",").split(",")


def _ints(text: str, option: str, count: tuple[int, ...] = (1, 2)) -> tuple[int, ...]:
    try:
        values = tuple(int(p) for p in _split(text))
    except ValueError:
        raise typer.BadParameter(f"{option} takes whole numbers like 3 or 3,5; got {text!r}") from None
    if len(values) not in count:
        want = " or ".join({1: "N", 2: "N,M"}[c] for c in count)
        raise typer.BadParameter(f"{option} takes {want}; got {text!r}")
    return values


def parse_pair(text: str, option: str, *, minimum: int = 1) -> int | tuple[int, int]:
    """``"3"`` -> 3, ``"3,5"`` or ``"3x5"`` -> (3, 5); every value ≥ ``minimum``."""
    values = _ints(text, option)
    if min(values) < minimum:
        raise typer.BadParameter(f"{option} must be ≥ {minimum}; got {text!r}")
    if max(values) > MAX_SIZE:
        raise typer.BadParameter(f"{option} must be ≤ {MAX_SIZE}; got {text!r}")
    return values[0] if len(values) == 1 else (values[0], values[1])


def parse_axes(text: str, option: str, ndim: int, *, minimum: int = 1) -> int | tuple[int, ...]:
    """One value or one per axis of ``ndim`` (``"9"``, ``"3,3,3"`` or ``"3x3x3"``), each ≥ ``minimum``: an
    int, or a tuple of ``ndim``. In 2-D this is :func:`parse_pair`."""
    if ndim == 2:
        return parse_pair(text, option, minimum=minimum)
    count = (1, ndim)
    try:
        values = tuple(int(p) for p in _split(text))
    except ValueError:
        raise typer.BadParameter(f"{option} takes whole numbers like 3 or {','.join(['3'] * ndim)}; got {text!r}") \
            from None
    if len(values) not in count:
        many = ",".join("N" * ndim) if ndim > 1 else "N"
        raise typer.BadParameter(f"{option} takes N{' or ' + many if ndim > 1 else ''} for a {ndim}-D layer; "
                                 f"got {text!r}")
    if min(values) < minimum:
        raise typer.BadParameter(f"{option} must be ≥ {minimum}; got {text!r}")
    if max(values) > MAX_SIZE:
        raise typer.BadParameter(f"{option} must be ≤ {MAX_SIZE}; got {text!r}")
    return values[0] if len(values) == 1 else values


def parse_position_nd(text: str, option: str, ndim: int) -> tuple[int, ...]:
    """An output position of a ``ndim``-D layer: ``I`` (1-D), ``ROW,COL`` (2-D), ``D,ROW,COL`` (3-D), each ≥ 0."""
    if ndim == 2:
        return parse_position(text, option)
    names = {1: "I", 3: "D,ROW,COL"}[ndim]
    try:
        values = tuple(int(p) for p in _split(text))
    except ValueError:
        raise typer.BadParameter(f"{option} takes {names} (whole numbers) for a {ndim}-D layer; got {text!r}") \
            from None
    if len(values) != ndim or min(values) < 0 or max(values) > MAX_SIZE:
        raise typer.BadParameter(f"{option} takes {names} with every value from 0 to {MAX_SIZE} for a {ndim}-D "
                                 f"layer; got {text!r}")
    return values


def check_count(value: int | None, option: str) -> None:
    """A count option (``--filters``, ``--groups`` ...; Typer has checked ``≥ 1``) is at most :data:`MAX_SIZE`."""
    if value is not None and value > MAX_SIZE:
        raise typer.BadParameter(f"{option} must be ≤ {MAX_SIZE}; got {value}")


def check_seed(seed: int) -> None:
    """``--seed`` is what numpy's generator takes: a whole number ≥ 0 (of at most 128 bits)."""
    if not 0 <= seed < 2**128:
        raise typer.BadParameter(f"--seed takes a whole number from 0 to 2^128 - 1; got {seed}")


def as_hw(value: int | tuple[int, int]) -> tuple[int, int]:
    """The ``(h, w)`` pair of a :func:`parse_pair` value (an int means both axes)."""
    return (value, value) if isinstance(value, int) else value


_PADDINGS = {1: "valid, same, causal or P", 2: "valid, same, P or PH,PW", 3: "valid, same, P or PD,PH,PW"}


def parse_padding(text: str, ndim: int = 2) -> str | int | tuple[int, ...]:
    """``valid``, ``same``, ``causal`` (checked against the layer by its spec), ``P`` or one ``P`` per axis
    (``PH,PW`` in 2-D; symmetric pads, PyTorch style)."""
    if text.strip().lower() in ("valid", "same", "causal"):
        return text.strip().lower()
    try:
        return parse_axes(text, "--padding", ndim, minimum=0)
    except typer.BadParameter as exc:
        if "≤" in exc.message:
            raise
        raise typer.BadParameter(
            f"--padding takes {_PADDINGS.get(ndim, _PADDINGS[2])} with P ≥ 0; got {text!r}"
        ) from None


def parse_position(text: str, option: str) -> tuple[int, int]:
    values = _ints(text, option, count=(2,))
    if min(values) < 0:
        raise typer.BadParameter(f"{option} takes ROW,COL with ROW, COL ≥ 0; got {text!r}")
    if max(values) > MAX_SIZE:
        raise typer.BadParameter(f"{option} takes ROW,COL ≤ {MAX_SIZE}; got {text!r}")
    return values[0], values[1]


def parse_filter_list(text: str, filters: int, *, from_option: bool = True) -> list[int]:
    """``--filter 0,3`` or ``--filter 2-5``: filter indices to show in detail.

    Every index and range is checked against ``filters`` before any list is built, so the list is
    at most ``filters`` long whatever range is asked for. When the filters come from ``--filters``
    (``from_option``, not a kernel file) and one index beyond them is asked for, the message suggests
    the ``--filters N`` that was probably meant.
    """
    spans: list[tuple[int, int]] = []
    for part in text.replace(" ", "").split(","):
        try:
            if "-" in part[1:]:
                first, last = part.split("-", 1)
                spans.append((int(first), int(last)))
            else:
                spans.append((int(part), int(part)))
        except ValueError:
            raise typer.BadParameter(f"--filter takes indices like 0,3 or 2-5; got {text!r}") from None
    for lo, hi in spans:
        if lo > hi:
            raise typer.BadParameter(f"--filter {lo}-{hi}: a range goes from the smaller index to the larger, "
                                     f"e.g. {hi}-{lo}")
        # the first index of the range (in order) that does not exist
        bad = lo if lo <= hi and not 0 <= lo < filters else (filters if lo <= hi and hi >= filters else None)
        if bad is not None:
            hint = ""
            if from_option and len(spans) == 1 and lo == hi and lo >= filters:
                hint = f"; to make {lo} filters use --filters {lo}"
            raise typer.BadParameter(f"--filter {bad} does not exist: the layer has {filters} filter"
                                     f"{'s' * (filters != 1)} (0..{filters - 1}){hint}")
    return sorted({f for lo, hi in spans for f in range(lo, hi + 1)})


def parse_input_size(text: str, ndim: int = 2) -> tuple[int, ...]:
    """``"224,224"`` or ``"224,224,3"`` (or ``224x224x3``): H, W ≥ 1 and C ≥ 1; one size per axis of a
    ``ndim``-D layer, then C if given (``L`` or ``L,C`` in 1-D, ``D,H,W`` or ``D,H,W,C`` in 3-D)."""
    forms = {1: "L or L,C", 2: "H,W or H,W,C", 3: "D,H,W or D,H,W,C"}[ndim]
    try:
        values = tuple(int(p) for p in _split(text))
    except ValueError:
        raise typer.BadParameter(f"--input-size takes {forms} (whole numbers); got {text!r}") from None
    if len(values) not in (ndim, ndim + 1):
        raise typer.BadParameter(f"--input-size takes {forms}; got {text!r}")
    if min(values) < 1:
        what = "channels C" if min(values[:ndim]) >= 1 else {1: "L", 2: "H and W", 3: "D, H and W"}[ndim]
        raise typer.BadParameter(f"--input-size needs {what} ≥ 1; got {text!r}")
    if max(values) > MAX_SIZE:
        raise typer.BadParameter(f"--input-size takes values ≤ {MAX_SIZE}; got {text!r}")
    return values


def parse_resize(text: str) -> tuple[int, int]:
    """``--resize H,W`` (or ``HxW``): both ≥ 1."""
    values = _ints(text, "--resize", count=(2,))
    if min(values) < 1 or max(values) > MAX_SIZE:
        raise typer.BadParameter(f"--resize takes H,W with 1 ≤ H, W ≤ {MAX_SIZE}; got {text!r}")
    return values[0], values[1]
