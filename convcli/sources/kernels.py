"""Kernels and biases: presets, Keras' default initialiser, files in Keras or PyTorch layout.

Every kernel leaves here in Keras layout ``(kh, kw, C // groups, F)`` as float64; the engine casts
it to the compute dtype.

A 2-D preset (or a 2-D kernel file) is one ``kh × kw`` slice; it is used for **every input
channel of every filter**, so filter ``f`` sums the same filtering of each channel. ``random`` is
the exception: every weight is drawn on its own, as Keras' default initialiser does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from math import comb
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from convcli.errors import FIELD, ConfigError, ShapeError
from convcli.sources.inputs import load_array
from convcli.sources.sniff import TEXT_SUFFIXES

if TYPE_CHECKING:  # the engine's type only: reading a kernel does not need the engine loaded
    from convcli.engine import Pair


def _identity(kh: int, kw: int) -> np.ndarray:
    # the tap that 'same' padding lines up with the output position: (k - 1) // 2
    k = np.zeros((kh, kw))
    k[(kh - 1) // 2, (kw - 1) // 2] = 1.0
    return k


def _binomial(n: int) -> np.ndarray:
    return np.array([comb(n - 1, i) for i in range(n)], dtype=np.float64)


def _gaussian(kh: int, kw: int) -> np.ndarray:
    # binomial weights: the discrete Gaussian of any size, summing to 1 ([1 2 1] / 4 for 3)
    k = np.outer(_binomial(kh), _binomial(kw))
    return k / k.sum()


def _fixed(name: str, values: list[list[float]]) -> Callable[[int, int], np.ndarray]:
    a = np.array(values, dtype=np.float64)

    def make(kh: int, kw: int) -> np.ndarray:
        if (kh, kw) != a.shape:
            raise ConfigError(
                f"{FIELD} {name} is a {a.shape[0]}×{a.shape[1]} kernel, but {{also}} is {kh}×{kw}",
                field="init", also="kernel_size",
            )
        return a.copy()

    return make


#: 2-D presets: name -> (make(kh, kw) -> (kh, kw), one-line description).
PRESETS: dict[str, tuple[Callable[[int, int], np.ndarray], str]] = {
    "ones": (lambda kh, kw: np.ones((kh, kw)), "every weight 1: the plain sum of each window"),
    "identity": (_identity, "1 at the centre tap ((k - 1) // 2), 0 elsewhere"),
    "box": (lambda kh, kw: np.full((kh, kw), 1.0 / (kh * kw)), "the window's mean: 1 / (kh·kw)"),
    "gaussian": (_gaussian, "binomial (discrete Gaussian) blur, sums to 1"),
    "sobel-x": (_fixed("sobel-x", [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]), "3×3 horizontal gradient"),
    "sobel-y": (_fixed("sobel-y", [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]), "3×3 vertical gradient"),
    "laplacian": (_fixed("laplacian", [[0, 1, 0], [1, -4, 1], [0, 1, 0]]), "3×3 second derivative"),
    "sharpen": (_fixed("sharpen", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]), "3×3 sharpening"),
    "emboss": (_fixed("emboss", [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]), "3×3 emboss"),
}

#: Every --init choice with its description (``random`` first: it is the default).
INIT_CHOICES: dict[str, str] = {
    "random": "Keras' default glorot-uniform, seeded by --seed: U(±√(6 / (fan_in + fan_out)))",
    **{name: desc for name, (_, desc) in PRESETS.items()},
}


def glorot_uniform(shape: tuple[int, int, int, int], seed: int) -> np.ndarray:
    """Keras' default Conv2D initialiser for a ``(kh, kw, Cin, F)`` kernel, drawn with numpy.

    ``fan_in = kh·kw·Cin``, ``fan_out = kh·kw·F``, weights ~ U(-limit, limit) with
    ``limit = sqrt(6 / (fan_in + fan_out))``. The distribution is Keras'; the random stream is
    numpy's, so the numbers differ from a Keras layer built with the same seed.
    """
    kh, kw, cin, f = shape
    limit = np.sqrt(6.0 / (kh * kw * cin + kh * kw * f))
    return np.random.default_rng(seed).uniform(-limit, limit, size=shape)


def make_kernel(init: str, kernel_hw: Pair, cg: int, filters: int, *, seed: int = 0) -> np.ndarray:
    """A ``(kh, kw, cg, filters)`` kernel from an ``--init`` choice (see :data:`INIT_CHOICES`)."""
    kh, kw = kernel_hw
    if init == "random":
        return glorot_uniform((kh, kw, cg, filters), seed)
    if init not in PRESETS:
        raise ConfigError(f"unknown {FIELD} {init!r}; choose from {', '.join(INIT_CHOICES)}", field="init")
    slice_2d = PRESETS[init][0](kh, kw)
    return np.broadcast_to(slice_2d[:, :, None, None], (kh, kw, cg, filters)).copy()


def to_keras_layout(a: np.ndarray, layout: str, cg: int, *, from_text: bool = False) -> np.ndarray:
    """A kernel array in ``layout`` as Keras' ``(kh, kw, cg, F)``.

    keras: ``(kh, kw, Cg, F)``, or ``(kh, kw, Cg)`` for one filter. torch: ``(F, Cg, kh, kw)``, or
    ``(Cg, kh, kw)`` for one filter. In either layout a 2-D ``(kh, kw)`` array is one filter whose
    slice is used for every input channel. Text files hold channels as blank-line-separated blocks,
    which load channels-last, so a 3-D text kernel is read as Keras ``(kh, kw, Cg)`` in both layouts.
    """
    if layout not in ("keras", "torch"):
        raise ConfigError(f"{FIELD} must be keras or torch, got {layout!r}", field="kernel_layout")
    if a.ndim == 2:
        return np.broadcast_to(a[:, :, None, None], (*a.shape, cg, 1)).copy()
    if a.ndim == 3:
        k3 = a if (layout == "keras" or from_text) else a.transpose(1, 2, 0)
        return k3[..., None].copy()
    if a.ndim == 4:
        return (a if layout == "keras" else a.transpose(2, 3, 1, 0)).copy()
    want = "(kh, kw, C/g, F)" if layout == "keras" else "(F, C/g, kh, kw)"
    raise ShapeError(f"a kernel must have 2, 3 or 4 dimensions {want}; got {a.ndim}: {a.shape}")


#: The names ``np.savez(*layer.get_weights())`` gives a Conv2D's kernel and bias.
GET_WEIGHTS = ("arr_0", "arr_1")


def saved_weights(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a ``.npz`` of exactly ``arr_0`` and ``arr_1``, as ``np.savez(*layer.get_weights())``
    writes a layer's kernel and bias (the names only are read, from the zip's directory)."""
    import zipfile

    name = os.fspath(path)
    if not os.path.isfile(name):  # a FIFO or a device would block or never end: the loader refuses it
        return False
    try:
        if not zipfile.is_zipfile(name):
            return False
        with zipfile.ZipFile(name) as zf:
            return sorted(zf.namelist()) == [f"{k}.npy" for k in GET_WEIGHTS]
    except (OSError, zipfile.BadZipFile):
        return False  # the loader says what is wrong with it


def load_kernel(path: str | os.PathLike[str], layout: str, cg: int, *, key: str | None = None) -> np.ndarray:
    """Read a kernel file (``.npy``, ``.npz``, text) in ``layout``; returns ``(kh, kw, cg', F)``.

    The channel count ``cg'`` is the file's; the engine checks it against the input. A ``.npz`` of a
    layer's ``get_weights()`` (:func:`saved_weights`) gives its ``arr_0`` unless ``key`` chooses.
    """
    if key is None and saved_weights(path):
        key = GET_WEIGHTS[0]
    a = load_array(path, key=key, what="kernel", key_field="kernel_key")
    from_text = Path(path).suffix.lower() in TEXT_SUFFIXES
    try:
        k = to_keras_layout(a, layout, cg, from_text=from_text)
    except ShapeError as exc:
        raise ShapeError(f"{os.fspath(path)}: {exc}") from None
    return np.asarray(k, dtype=np.float64)


def bias_numbers(text: str) -> list[float] | None:
    """``--bias`` as numbers (``N`` or ``N1,N2,...``), or None when it is not numbers (a file name)."""
    try:
        return [float(p.strip()) for p in text.split(",")]
    except ValueError:
        return None


def bias_file(text: str | None) -> Path | None:
    """The file ``--bias`` names, when it names an existing one rather than numbers (:func:`parse_bias`)."""
    if text is None or bias_numbers(text) is not None or not text.strip():
        return None
    return Path(text) if Path(text).is_file() else None


def parse_bias(text: str | None, *, key: str | None = None) -> np.ndarray | None:
    """``--bias``: a number (every filter), ``N1,N2,...`` (one per filter) or a file; ``None`` is zeros.

    Returns a 0-D or 1-D float64 array; its length is checked against the filters by the engine.
    """
    if text is None:
        return None
    values = bias_numbers(text)
    if values is not None:
        return np.array(values[0] if len(values) == 1 else values, dtype=np.float64)
    if not text.strip() or not Path(text).exists():  # Path("") is the current folder
        raise ConfigError(
            f"{FIELD} {text!r} is neither a number, a comma-separated list, nor an existing file", field="bias"
        )
    if key is None and saved_weights(text):  # a layer's np.savez(*layer.get_weights()): its bias
        key = GET_WEIGHTS[1]
    b = load_array(text, key=key, what="bias", key_field="bias_key")
    if b.ndim > 1 and b.size != max(b.shape):
        raise ShapeError(f"{text}: a bias file must hold one value per filter, got shape {b.shape}")
    return np.asarray(b, dtype=np.float64).reshape(-1) if b.ndim else np.asarray(b, dtype=np.float64)
