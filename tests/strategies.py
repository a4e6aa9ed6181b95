"""Hypothesis strategies for random Conv2D layers, shared by the oracle and the torch tests.

A :class:`ConvCase` carries the layer settings in the forms the engine accepts (ints, ``(h, w)``
pairs, padding names) and works out its own pads and output size with the oracle's independent
arithmetic, never with the engine's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from hypothesis import strategies as st

from oracle import naive_out_size, naive_same_pads


def _pair(v):
    return (v, v) if isinstance(v, int) else (v[0], v[1])


@dataclass(frozen=True)
class ConvCase:
    """One random layer: ``x (h, w, c)``, ``kernel (kh, kw, c // groups, f)``, ``bias (f,)``."""

    h: int
    w: int
    c: int
    f: int
    kh: int
    kw: int
    stride: int | tuple[int, int]
    dilation: int | tuple[int, int]
    padding: str | int | tuple[int, int]
    groups: int
    seed: int

    @property
    def kwargs(self) -> dict:
        return {
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "groups": self.groups,
        }

    @property
    def pads(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right), from the oracle's own 'same' formula."""
        (sh, sw), (dh, dw) = _pair(self.stride), _pair(self.dilation)
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            return (*naive_same_pads(self.h, self.kh, sh, dh), *naive_same_pads(self.w, self.kw, sw, dw))
        ph, pw = _pair(self.padding)
        return (ph, ph, pw, pw)

    @property
    def out_hw(self) -> tuple[int, int]:
        (sh, sw), (dh, dw) = _pair(self.stride), _pair(self.dilation)
        top, bottom, left, right = self.pads
        return (
            naive_out_size(self.h, self.kh, sh, dh, top, bottom),
            naive_out_size(self.w, self.kw, sw, dw, left, right),
        )

    @property
    def empty(self) -> bool:
        return min(self.out_hw) == 0

    @cached_property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """float64 ``(x, kernel, bias)`` drawn from ``default_rng(seed)``."""
        rng = np.random.default_rng(self.seed)
        x = rng.standard_normal((self.h, self.w, self.c))
        kernel = rng.standard_normal((self.kh, self.kw, self.c // self.groups, self.f))
        bias = rng.standard_normal(self.f)
        return x, kernel, bias


def int_or_pair(lo: int, hi: int) -> st.SearchStrategy:
    return st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


paddings = st.one_of(
    st.sampled_from(["valid", "same"]),
    st.integers(0, 2),
    st.tuples(st.integers(0, 2), st.integers(0, 2)),
)


@st.composite
def conv_cases(draw, max_hw: int = 9, max_k: int = 4) -> ConvCase:
    groups = draw(st.integers(1, 3))
    return ConvCase(
        h=draw(st.integers(1, max_hw)),
        w=draw(st.integers(1, max_hw)),
        c=groups * draw(st.integers(1, 3)),
        f=groups * draw(st.integers(1, 3)),
        kh=draw(st.integers(1, max_k)),
        kw=draw(st.integers(1, max_k)),
        stride=draw(int_or_pair(1, 3)),
        dilation=draw(int_or_pair(1, 3)),
        padding=draw(paddings),
        groups=groups,
        seed=draw(st.integers(0, 2**32 - 1)),
    )
