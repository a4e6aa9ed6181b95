"""Model files read into one neutral listing (:class:`convcli.layer.model.Listing`), one module per format.

=============  ============================================  ==========================================
format         what is read                                  needs
=============  ============================================  ==========================================
``.keras``     ``config.json`` (the graph), the shapes in    h5py
               ``model.weights.h5`` (never the values)
``.h5``        ``model_config`` and the ``model_weights``    h5py
               shapes (legacy Keras)
``.onnx``      the graph's nodes and initializer dims        onnx
``.safetensors`` the header: names, dtypes and shapes        safetensors
``.pt/.pth``   a state dict through                          torch
               ``torch.load(weights_only=True)``
=============  ============================================  ==========================================

:func:`read_model` picks the reader by the file's first bytes and its suffix. Every failure is one
:class:`~convcli.errors.LoadError` naming the file; names from the file are escaped where shown.
:mod:`convcli.sources.models.weights` reads the values of one conv layer of a listing (its kernel
and bias), through each format module's ``layer_arrays``.
:mod:`~convcli.sources.models.upstream` runs a model up to one layer (Keras, ONNX Runtime) for that
layer's real input; :mod:`~convcli.sources.models.paths` follows a layer's path from the input (what
it reads, which layers rescale the image on the way).

A hostile file cannot turn a reader against the user: HDF5 is read through hard links and each
dataset's own storage only (:mod:`~convcli.sources.models.hdf5`); every layer's values are held to
whole numbers in bounds, one error naming the file, the layer and the attribute
(:mod:`~convcli.sources.models.bounds`); a ``.keras`` archive's member sizes are checked before Keras
extracts any; the files an ONNX model reads beside it are registered as inputs.
"""

from __future__ import annotations

import os
from dataclasses import replace

from convcli.errors import LoadError
from convcli.layer.model import Listing
from convcli.sources import sniff

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
SUFFIXES = {".keras": "keras", ".h5": "h5", ".hdf5": "h5", ".onnx": "onnx", ".safetensors": "safetensors",
            ".pt": "torch", ".pth": "torch", ".bin": "torch"}
#: A PyTorch checkpoint named as the ImageNet example names it (``model_best.pth.tar``: no tar archive).
TORCH_TARS = (".pth.tar", ".pt.tar")


def format_of(name: str, head: bytes) -> str:
    """``"keras"``, ``"h5"``, ``"onnx"``, ``"safetensors"`` or ``"torch"``, from the bytes and the suffix."""
    ext = sniff.suffix(name)
    by_suffix = "torch" if name.lower().endswith(TORCH_TARS) else SUFFIXES.get(ext)
    if head.startswith(HDF5_MAGIC):
        return "h5"
    if head.startswith(sniff.ZIP_MAGICS):
        if by_suffix in ("keras", "torch"):
            return by_suffix
        return "zip"
    if by_suffix == "safetensors" or (len(head) >= 9 and head[8:9] == b"{" and by_suffix is None):
        return "safetensors"
    if by_suffix is not None and by_suffix not in ("keras", "h5"):
        return by_suffix
    if by_suffix == "keras":
        raise LoadError(f"{name}: not a .keras file (not a zip archive)")
    if by_suffix == "h5":
        raise LoadError(f"{name}: not an HDF5 file (no HDF5 signature)")
    return "unknown"


def read_model(path: str | os.PathLike[str]) -> Listing:
    """The layers of the model file at ``path`` (a folder: the file inside it convcli reads, see
    :mod:`~convcli.sources.models.folders`)."""
    from convcli.sources.models import folders

    name, note = folders.model_file(sniff.name_of(path))
    listing = _read_file(name)
    return listing if note is None else replace(listing, notes=(note, *listing.notes))


def _read_file(name: str) -> Listing:
    head = sniff.head(name)
    fmt = format_of(name, head)
    if fmt == "zip":
        import zipfile

        try:
            with zipfile.ZipFile(name) as zf:
                members = zf.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise LoadError(f"{name}: not a readable zip archive ({sniff.reason(exc)})") from None
        if "config.json" in members:
            fmt = "keras"
        elif any(m.endswith("/data.pkl") or m == "data.pkl" for m in members):
            fmt = "torch"
        else:
            raise LoadError(f"{name}: a zip archive that is neither a .keras model nor a PyTorch file")
    if fmt == "keras":
        from convcli.sources.models import keras_v3

        return keras_v3.read(name)
    if fmt == "h5":
        from convcli.sources.models import keras_h5

        return keras_h5.read(name)
    if fmt == "onnx":
        from convcli.sources.models import onnx_graph

        return onnx_graph.read(name)
    if fmt == "safetensors":
        from convcli.sources.models import safetensors_header

        return safetensors_header.read(name)
    if fmt == "torch":
        from convcli.sources.models import torch_state

        return torch_state.read(name)
    raise LoadError(f"{name}: not a model file convcli reads (.keras, .h5, .onnx, .safetensors, .pt/.pth)")
