"""What to explore: the input, the layer's options and where its kernel comes from, as typed values.

A :class:`Request` is what ``convcli run``/``verify`` parse their options into and what
:func:`convcli.explore` takes as keyword arguments. It is numpy-free (an array input is held, not
read). :func:`check_request` makes the checks that need no data; each failure is a
:class:`RequestError` naming its field, which the CLI words as a usage error (exit 2).
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

#: The options that make a kernel: a --model layer has its own.
MODEL_GIVES = ("kernel", "init", "seed", "kernel_size", "filters", "kernel_layout", "kernel_key")


class RequestError(ConfigError):
    """Options that cannot go together, whatever the data (``--bias`` with ``--no-bias``, ...)."""


@dataclass(frozen=True)
class Request:
    """One exploration: the input, and the layer's options as ``convcli run`` takes them.

    ``input`` is a file (image, ``.npy``, ``.npz``, text) or an array ``(H, W, C)`` or ``(H, W)``
    (one channel). Sizes are ``N`` or ``(N, M)``; ``padding`` is ``"valid"``, ``"same"``, ``P`` or
    ``(PH, PW)``. The kernel is a preset (``init``, ``seed``, ``kernel_size``, ``filters``), a file
    (``kernel``) or a model's layer (``model``, ``layer``). ``given``: the options set explicitly,
    which a model layer's own settings yield to.
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


def check_request(request: Request, *, enforce_semantics: bool = True) -> None:
    """The checks that need no data, in the order the CLI has always made them (:class:`RequestError`).

    With ``enforce_semantics``, ``semantics="torch"`` refuses what PyTorch refuses: padding 'same'
    with a stride > 1 (``verify`` shows that refusal in PyTorch's row instead). How the settings fit
    the input's channels is the spec's check, made when the layer is bound.
    """
    _check_model(request)
    if request.kernel is None and request.model is None:  # the filters are --filters: their fit with --groups
        from convcli.pipeline.binding import check_settings, layer_spec

        check_settings(layer_spec("conv", request.groups, request.filters, request.kernel_size,
                                  stride=request.stride, dilation=request.dilation, padding=request.padding,
                                  groups=request.groups))
    _check_bias(request)
    stride = as_pair(request.stride)
    if enforce_semantics and request.semantics == "torch" and request.padding == "same" and stride != (1, 1):
        raise RequestError(
            f"--semantics torch: PyTorch refuses padding='same' with --stride {written(request.stride)} "
            "(\"padding='same' is not supported for strided convolutions\"); give the pads with --padding P or PH,PW, or use "
            "--semantics keras for TensorFlow's 'same' (out = ceil(n / s), the odd pad at the bottom/right)",
            field="padding")


def _check_model(request: Request) -> None:
    if (request.model is None) != (request.layer is None):
        raise RequestError("--model and --layer go together: --model FILE --layer NAME (convcli layers FILE "
                           "lists the names)" if request.model is not None else
                           "--layer names a layer of --model FILE; give the model file too",
                           field="model" if request.model is None else "layer")
    if request.model is not None:
        clash = [f"--{n.replace('_', '-')}" for n in MODEL_GIVES if n in request.given]
        if clash:
            raise RequestError(f"--model gives the layer's kernel; {', '.join(clash)} cannot be combined with it",
                               field="model")


def _check_bias(request: Request) -> None:
    if request.bias is not None and request.no_bias:
        raise RequestError("--bias and --no-bias contradict each other", field="bias")
    if request.bias_key is None:
        return
    from convcli.sources.kernels import bias_numbers

    numbers = not isinstance(request.bias, (str, os.PathLike)) or bias_numbers(str(request.bias)) is not None
    if request.bias is not None and numbers:
        raise RequestError(f"--bias-key names an array inside a .npz; --bias {request.bias} is numbers",
                           field="bias_key")
    if request.no_bias or (request.bias is None and request.kernel is None):
        raise RequestError("--bias-key names the bias array inside a .npz: give --bias FILE.npz or --kernel "
                           "FILE.npz" if not request.no_bias else "--bias-key and --no-bias contradict each other",
                           field="bias_key")
