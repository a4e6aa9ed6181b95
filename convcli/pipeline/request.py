"""What to explore: the input, the layer's options and where its kernel comes from, as typed values.

A :class:`Request` is what ``convcli run``/``verify`` parse their options into and what
:func:`convcli.explore` takes as keyword arguments. It is numpy-free (an array input is held, not
read). :func:`convcli.pipeline.checks.check_request` makes the checks that need no data; each
failure is a :class:`RequestError` naming its field, which the CLI words as a usage error (exit 2).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from convcli.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

#: ``N`` (both axes) or ``(N, M)``.
Pair = int | tuple[int, int]

class RequestError(ConfigError):
    """Options that cannot go together, whatever the data (``--bias`` with ``--no-bias``, ...)."""


@dataclass(frozen=True)
class Request:
    """One exploration: the input, and the layer's options as ``convcli run`` takes them.

    ``input`` is a file (image, ``.npy``, ``.npz``, text) or an array ``(H, W, C)`` or ``(H, W)``
    (one channel). Sizes are ``N`` or ``(N, M)``; ``padding`` is ``"valid"``, ``"same"``, ``P`` or
    ``(PH, PW)``. The kernel is a preset (``init``, ``seed``, ``kernel_size``, ``filters``), a file
    (``kernel``) or a model's layer (``model``, ``layer``). ``given``: the options set explicitly,
    which a model layer's own settings yield to. ``precision`` (and ``accumulate``): the layer is also
    computed as a GPU does in that format (:mod:`convcli.pipeline.precision`).
    """

    input: str | os.PathLike[str] | np.ndarray
    filters: int = 1
    kernel_size: Pair = 3
    stride: Pair = 1
    padding: str | Pair = "valid"
    dilation: Pair = 1
    groups: int = 1
    activation: str = "linear"
    dtype: str = "float32"
    semantics: str = "keras"
    init: str = "random"
    seed: int = 0
    kernel: str | os.PathLike[str] | None = None
    kernel_layout: str | None = None  # None: as semantics
    kernel_key: str | None = None
    bias: str | float | Sequence[float] | None = None  # NUMBER, N1,N2,... or a FILE (as --bias), or numbers
    bias_key: str | None = None
    no_bias: bool = False
    flip: bool = False
    key: str | None = None
    layout: str | None = None  # a 3-D/4-D array file's; None: as semantics
    color_mode: str | None = None
    keep_orientation: bool = False
    normalize: bool = False
    max_pixels: int | None = None
    resize: tuple[int, int] | None = None
    preprocess: str = "none"
    model: str | os.PathLike[str] | None = None
    layer: str | None = None
    cache: bool = True  # a --model layer's input computed by its framework: kept on disk, read back (pipeline/cache.py)
    precision: str | None = None  # emulate a GPU's fp64|fp32|tf32|bf16|fp16 beside the float64 result; None: not
    accumulate: str | None = None  # the emulation's adder: fp32 (default) or fp16
    given: frozenset[str] = field(default=frozenset())

    @property
    def input_name(self) -> str:
        """The input as messages name it: its path, or ``array`` for an array."""
        return str(self.input) if isinstance(self.input, (str, os.PathLike)) else "array"

    @property
    def kernel_hw(self) -> tuple[int, int]:
        return as_pair(self.kernel_size)

    @property
    def used_kernel_layout(self) -> str:
        """``keras`` ``(kh, kw, C/g, F)`` or ``torch`` ``(F, C/g, kh, kw)``: the option, else as the semantics."""
        return self.kernel_layout or self.semantics

    @property
    def input_layout(self) -> str:
        """A 3-D/4-D input array's layout: the option, else as the semantics (torch: channels-first)."""
        if self.layout is not None:
            return self.layout
        return "channels-first" if self.semantics == "torch" else "channels-last"


def as_pair(value: Pair) -> tuple[int, int]:
    """``N`` -> ``(N, N)``; a pair as it is."""
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def spelt(value: object) -> str:
    """A setting as an option spells it: ``(2, 2)`` -> ``2``, ``(1, 2)`` -> ``1,2``."""
    if isinstance(value, tuple) and len(value) == 2:
        return str(value[0]) if value[0] == value[1] else f"{value[0]},{value[1]}"
    return str(value)


def written(value: str | Pair) -> str:
    """A value as the option is written: ``same``, ``2`` or ``2,3``."""
    return str(value) if isinstance(value, (str, int)) else f"{value[0]},{value[1]}"
