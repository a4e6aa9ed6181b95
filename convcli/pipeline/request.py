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
#: ``N`` (every axis) or one value per axis (``(N, M)`` in 2-D).
Axes = int | tuple[int, ...]

class RequestError(ConfigError):
    """Options that cannot go together, whatever the data (``--bias`` with ``--no-bias``, ...)."""


@dataclass(frozen=True)
class Request:
    """One exploration: the input, and the layer's options as ``convcli run`` takes them.

    ``input`` is a file (image, ``.npy``, ``.npz``, text) or an array ``(H, W, C)`` or ``(H, W)``
    (one channel); for ``ndim`` 1 or 3 ``(L, C)`` / ``(D, H, W, C)``, a rank less meaning one channel.
    ``kind`` and ``ndim`` say which layer (``conv`` or ``depthwise`` are computed; a kind object whose
    ``computes`` is false is refused by the checks). Sizes are ``N`` or one per axis (``(N, M)``);
    ``padding`` is ``"valid"``, ``"same"``, ``"causal"`` (1-D), ``P`` or one ``P`` per axis. The kernel is a preset (``init``, ``seed``, ``kernel_size``, ``filters``), a file
    (``kernel``) or a model's layer (``model``, ``layer``). ``given``: the options set explicitly,
    which a model layer's own settings yield to. ``precision`` (and ``accumulate``): the layer is also
    computed as a GPU does in that format (:mod:`convcli.pipeline.precision`).
    """

    input: str | os.PathLike[str] | np.ndarray
    filters: int = 1
    kernel_size: Axes = 3
    stride: Axes = 1
    padding: str | Axes = "valid"
    dilation: Axes = 1
    groups: int = 1
    kind: str = "conv"  # a name of convcli.layer.kinds.KIND_OBJECTS
    ndim: int = 2  # spatial axes: 1 (Conv1D), 2, 3 (Conv3D)
    padding_mode: str = "zeros"  # PyTorch's: zeros, reflect, replicate, circular
    depth_multiplier: int = 1  # depthwise: outputs per input channel
    output_padding: Axes | None = None  # transpose: the output padding per axis (None: the framework's default)
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
    def kernel_axes(self) -> tuple[int, ...]:
        """The kernel size, one per axis."""
        return as_axes(self.kernel_size, self.ndim)

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


def as_pair(value: Axes) -> tuple[int, int]:
    """``N`` -> ``(N, N)``; a pair as it is (a 2-D setting)."""
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def as_axes(value: Axes, ndim: int) -> tuple[int, ...]:
    """``N`` -> ``(N,) * ndim``; one value per axis as it is."""
    return (value,) * ndim if isinstance(value, int) else tuple(int(v) for v in value)


def spelt(value: object) -> str:
    """A setting as an option spells it: ``(2, 2)`` -> ``2``, ``(1, 2)`` -> ``1,2``."""
    if isinstance(value, tuple) and value:
        return str(value[0]) if len(set(value)) == 1 else ",".join(str(v) for v in value)
    return str(value)


def written(value: str | Axes) -> str:
    """A value as the option is written: ``same``, ``2`` or ``2,3``."""
    return str(value) if isinstance(value, (str, int)) else ",".join(str(v) for v in value)
