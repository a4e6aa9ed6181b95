"""A model's input of any rank: its layout, and the check that an input fits the shape the model declares.

A 1-D model reads a signal ``(L, C)``, a 2-D one an image ``(H, W, C)``, a 3-D one a volume
``(D, H, W, C)``, channels last (:mod:`convcli.sources.models.upstream` feeds them to Keras and ONNX
Runtime).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convcli.errors import FIELD, ShapeError

#: The input's layout by its rank (channels-last; ``first`` channels-first): a signal, an image, a volume.
LAYOUTS = {2: "(L, C)", 3: "(H, W, C)", 4: "(D, H, W, C)"}


def first(rank: int) -> str:
    """The layout of a batch of one, channels first: ``(1, C, H, W)`` for rank 3."""
    return "(1, C, " + LAYOUTS[rank][1:-4] + ")"


def check_x(x: np.ndarray) -> np.ndarray:
    """``x`` as an array of a rank :data:`LAYOUTS` holds, of numbers; else a :class:`ShapeError`."""
    arr = np.asarray(x)
    if arr.ndim not in LAYOUTS or arr.dtype.kind not in "fiu":
        raise ShapeError(f"a layer's input is computed from an (L, C), (H, W, C) or (D, H, W, C) array of numbers, "
                         f"got {arr.dtype} {arr.shape}")
    return arr


def fit(name: str, declared: tuple[Any, ...], x: np.ndarray) -> None:
    """Refuse an input ``x`` (:data:`LAYOUTS`) the model's input cannot take, in one line."""
    shape = tuple(None if d is None else int(d) for d in declared)
    text = "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
    what = "image" if x.ndim == 3 else "array"
    if len(shape) != x.ndim:
        raise ShapeError(f"{name}: the model's input is {text}, an {LAYOUTS.get(len(shape), f'{len(shape)}-D')} "
                         f"input; the {what} is {x.shape}, {LAYOUTS[x.ndim]}")
    if shape[-1] is not None and shape[-1] != x.shape[-1]:
        raise ShapeError(f"{name}: the model's input takes {shape[-1]} channels {text}, the {what} has {x.shape[-1]}")
    if x.ndim != 3 and any(d is not None and d != s for d, s in zip(shape[:-1], x.shape[:-1], strict=True)):
        raise ShapeError(f"{name}: the model's input takes {text}, the array is {x.shape}")
    if any(d is not None and d != s for d, s in zip(shape[:2], x.shape[:2], strict=True)):
        raise ShapeError("{name}: " + f"the model's input takes {text}, the image is {x.shape}; resize it with {FIELD}",
                         field="resize", values={"name": name})
