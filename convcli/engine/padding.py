"""PyTorch's padding modes: what the pads hold when they are not zeros. numpy only.

A layer with ``padding_mode`` ``reflect``, ``replicate`` or ``circular`` is computed as PyTorch
computes it: the input is padded with that mode first (``F.pad``), then the convolution reads it
without padding. :func:`check_mode_pads` refuses the pads PyTorch refuses; :func:`pad_input` pads.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convcli.errors import ConfigError

#: numpy's ``np.pad`` mode of each PyTorch ``padding_mode`` (zeros: ``constant``).
NUMPY_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}

_AXES = {1: ("positions",), 2: ("rows", "columns"), 3: ("planes", "rows", "columns")}


def check_mode_pads(mode: str, in_size: Sequence[int], pad_width: Sequence[tuple[int, int]]) -> None:
    """PyTorch's limits on the pads of ``mode``: ``reflect`` pads less than the axis' length (it mirrors
    without repeating the edge), ``circular`` at most its length (it wraps around once). A
    :class:`~convcli.errors.ConfigError` (field ``padding_mode``) names the axis and the numbers."""
    if mode not in NUMPY_MODES:
        raise ConfigError(f"padding mode must be one of {', '.join(NUMPY_MODES)}, got {mode!r}", field="padding_mode")
    names = _AXES.get(len(in_size), ("positions",) * len(in_size))
    for axis, (n, (before, after)) in enumerate(zip(in_size, pad_width, strict=True)):
        pad = max(before, after)
        if mode == "reflect" and pad >= n:
            raise ConfigError(f"padding mode reflect pads {pad} {names[axis]} but the input has {n}: PyTorch "
                              f"reflects at most {n - 1} (the pad must be smaller than the input)",
                              field="padding_mode")
        if mode == "circular" and pad > n:
            raise ConfigError(f"padding mode circular pads {pad} {names[axis]} but the input has {n}: PyTorch "
                              f"wraps around at most once (the pad must be at most the input)", field="padding_mode")


def pad_input(x: np.ndarray, pad_width: Sequence[tuple[int, int]], mode: str) -> np.ndarray:
    """``x (*S, C)`` padded on its spatial axes by ``pad_width`` ``((before, after), ...)`` as PyTorch's
    ``mode`` pads: ``(*S + pads, C)``, the channels untouched. Checked by :func:`check_mode_pads`."""
    check_mode_pads(mode, x.shape[:-1], pad_width)
    padded: np.ndarray = np.pad(x, (*pad_width, (0, 0)), mode=NUMPY_MODES[mode])  # type: ignore[call-overload]
    return padded
