"""A fuzz over the options of ``run`` and ``params``: huge, negative and malformed values.

Whatever the options, convcli exits 0, 1 or 2, prints no traceback, says an error in exactly one
``Error:`` line, and answers at once: sizes past the ceiling or past memory are refused before
anything is allocated. The memory convcli sees is fixed at 4 GiB (``memory.available_bytes``), so
that what is refused does not depend on the machine; every example runs under an alarm, and each
test stops drawing new work after a time budget so that the fuzz stays bounded.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcli.pipeline import memory

from helpers import invoke

#: Seconds one example may take before it counts as a hang.
ALARM = 30
#: Seconds of examples per test; later examples return at once.
BUDGET = 40.0

_HUGE = [2**31 - 1, 2**31, 2**62, 2**63 - 1, 2**63, 2**64, 10**30]
_SMALL = st.integers(1, 6)
# mostly values that work, so that the fuzz gets past the first check; then huge, negative, zero
_INTS = st.one_of(_SMALL, _SMALL, _SMALL, st.sampled_from(_HUGE), st.integers(-3, 0),
                  st.sampled_from([-(2**63), -(2**31)]))
_JUNK = st.sampled_from(["", " ", "3x", "x3", "1,2,3", "1,", ",1", "1,,2", "nan", "inf", "-inf", "1e3", "1.5",
                         "٣", "３", "1_0", "0x10", "-0", "+2", " 2 ", "2,-1", "9" * 5000, "\x00", "\x1b[31m",
                         "same", "valid", "SAME", "2;2", "2 x 2", "½"])


def _text(values: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    """An option's text: one value, a pair, or junk."""
    return st.one_of(values.map(str), values.map(str), st.tuples(values, values).map(lambda p: f"{p[0]},{p[1]}"),
                     _JUNK)


_POSITION = st.one_of(st.tuples(_INTS, _INTS).map(lambda p: f"{p[0]},{p[1]}"), _JUNK)
_FILTER = st.one_of(
    st.tuples(_INTS, _INTS).map(lambda p: f"{p[0]}-{p[1]}"), _INTS.map(str),
    st.lists(_INTS, min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))), _JUNK)

_RUN_OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--kernel-size": _text(_INTS), "--stride": _text(_INTS), "--padding": _text(_INTS),
    "--dilation": _text(_INTS), "--filters": st.one_of(_INTS.map(str), _JUNK), "--groups": st.one_of(_INTS.map(str), _JUNK),
    "--seed": st.one_of(_INTS.map(str), st.sampled_from([str(2**128 - 1), str(2**128)]), _JUNK),
    "--at": _POSITION, "--trace": _POSITION, "--window": st.one_of(_INTS.map(str), _JUNK), "--filter": _FILTER,
    "--max-pixels": st.one_of(_INTS.map(str), _JUNK), "--bias": st.one_of(_text(_INTS), _JUNK),
    "--init": st.sampled_from(["random", "ones", "sobel-x", "box", "bogus", ""]),
    "--dtype": st.sampled_from(["float32", "float64", "float16", ""]),
    "--view": st.sampled_from(["auto", "numbers", "heatmap", "both", "nope"]),
    "--semantics": st.sampled_from(["keras", "torch", "jax"]),
    "--activation": st.sampled_from(["linear", "relu", "exponential", "gelu"]),
}
_PARAMS_OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--kind": st.sampled_from(["conv", "depthwise", "separable", "transpose", "dense", ""]),
    "--in-channels": st.one_of(_INTS.map(str), _JUNK), "--filters": st.one_of(_INTS.map(str), _JUNK),
    "--kernel-size": _text(_INTS), "--groups": st.one_of(_INTS.map(str), _JUNK),
    "--depth-multiplier": st.one_of(_INTS.map(str), _JUNK),
    "--input-size": st.one_of(st.tuples(_INTS, _INTS, _INTS).map(lambda v: ",".join(map(str, v))), _text(_INTS)),
    "--stride": _text(_INTS), "--padding": _text(_INTS), "--dilation": _text(_INTS),
}
_STACK_WORDS = st.sampled_from(["conv", "dw", "sep", "tconv", "k", "s", "d", "p", "m", "g", "f", "same", "valid",
                                "nobias", "x", ",", ";", "3", "3x5"])
_STACK = st.one_of(
    st.lists(st.tuples(st.sampled_from(["conv", "dw", "sep", "tconv"]), _INTS, _INTS, _INTS).map(
        lambda t: f"{t[0]} {abs(t[1]) or 1} k{t[2]} s{t[3]}"), min_size=1, max_size=3).map(", ".join),
    st.lists(st.one_of(_STACK_WORDS, _INTS.map(str)), max_size=8).map(" ".join),
)


def _chosen(options: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[str]]:
    """Some of ``options``, each with a drawn value, as an argument list."""
    names = sorted(options)
    return st.lists(st.sampled_from(names), unique=True, max_size=5).flatmap(
        lambda chosen: st.tuples(*(options[n] for n in chosen)).map(
            lambda values: [a for n, v in zip(chosen, values, strict=True) for a in (n, v)]))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    np.save(folder / "x.npy", np.random.default_rng(0).random((6, 6, 2)).astype(np.float32))
    return folder


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang(f"one example took more than {ALARM} s")


@pytest.fixture
def bounded(tiny: Path) -> Iterator[dict[str, float]]:
    """In ``tiny``, with 4 GiB of memory as convcli sees it and SIGALRM as the hang detector."""
    saved_cwd, saved_avail = Path.cwd(), memory.available_bytes
    previous = signal.signal(signal.SIGALRM, _alarm)
    memory.available_bytes = lambda: (4 * 2**30, "free")  # type: ignore[assignment]
    os.chdir(tiny)
    try:
        yield {"start": time.monotonic()}
    finally:
        os.chdir(saved_cwd)
        memory.available_bytes = saved_avail  # type: ignore[assignment]
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _check(args: list[str], clock: dict[str, float]) -> None:
    if time.monotonic() - clock["start"] > BUDGET:
        return  # the budget is spent: the rest of the examples pass at once
    signal.alarm(ALARM)
    try:
        r = invoke(*args, columns=100)
    finally:
        signal.alarm(0)
    shown = f"convcli {' '.join(map(repr, args))}\nexit {r.exit_code}\nstderr: {r.stderr!r}"
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise AssertionError(f"{shown}\nuncaught {type(r.exception).__name__}: {r.exception}") from r.exception
    assert r.exit_code in (0, 1, 2), shown
    assert "Traceback" not in r.stdout and "Traceback" not in r.stderr, shown
    if r.exit_code != 0:
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), shown


_FUZZ = settings(max_examples=200, deadline=15_000, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@_FUZZ
@given(args=_chosen(_RUN_OPTIONS), json_=st.booleans())
def test_fuzz_run(bounded: dict[str, float], args: list[str], json_: bool) -> None:
    _check(["run", "x.npy", "-q", *(["--json"] if json_ else []), *args], bounded)


@_FUZZ
@given(args=_chosen(_PARAMS_OPTIONS), json_=st.booleans())
def test_fuzz_params(bounded: dict[str, float], args: list[str], json_: bool) -> None:
    channels = [] if "--in-channels" in args or "--input-size" in args else ["-c", "4"]
    _check(["params", *(["--json"] if json_ else []), *channels, *args], bounded)


@_FUZZ
@given(stack=_STACK, size=st.one_of(st.tuples(_INTS, _INTS, _INTS).map(lambda v: ",".join(map(str, v))), _JUNK))
def test_fuzz_params_stack(bounded: dict[str, float], stack: str, size: str) -> None:
    _check(["params", "--stack", stack, "--input-size", size], bounded)


def _network_layer(t: tuple[str, int, int]) -> str:
    kind, a, b = t
    if kind in ("maxpool", "avgpool", "conv"):
        return f"{kind} {abs(a) or 1} s{b}"
    if kind == "pad":
        return f"pad {abs(a)},{abs(b)},1,0"
    return f"dense {a}" if kind == "dense" else kind


_NETWORK_WORDS = st.sampled_from(["maxpool", "avg", "gap", "gmp", "bn", "flatten", "dense", "pad", "nobias", "same",
                                  "valid", "k", "s", "x", ",", ";", "2", "3x2", "1,2,3,4", "1,2", "0", "conv 8", "dw"])
_NETWORK = st.one_of(
    st.lists(st.tuples(st.sampled_from(["maxpool", "avgpool", "pad", "dense", "conv", "bn", "gap", "flatten"]),
                       _INTS, _INTS).map(_network_layer), min_size=1, max_size=4).map(", ".join),
    st.lists(st.one_of(_NETWORK_WORDS, _INTS.map(str)), max_size=8).map(" ".join),
)


@_FUZZ
@given(stack=_NETWORK, size=st.one_of(st.tuples(_INTS, _INTS, _INTS).map(lambda v: ",".join(map(str, v))), _JUNK),
       json_=st.booleans())
def test_fuzz_params_stack_network_layers(bounded: dict[str, float], stack: str, size: str, json_: bool) -> None:
    """Pooling, batch norm, dense, flatten and pad words, valid or not: a table, a JSON or one error line."""
    _check(["params", "--stack", stack, "--input-size", size, *(["--json"] if json_ else [])], bounded)


def test_the_fuzz_can_fail(bounded: dict[str, float], monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks catch a traceback: a loader that raises an unexpected exception fails _check."""
    from convcli.sources import inputs

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("array is too big")

    monkeypatch.setattr(inputs, "load_input", broken)
    with pytest.raises(AssertionError, match="uncaught ValueError"):
        _check(["run", "x.npy", "-q"], bounded)
