"""PyTorch ``.pt``/``.pth`` state dicts, through ``torch.load(weights_only=True)`` only.

``weights_only`` lets the unpickler build tensors and plain containers and nothing else: a pickled
whole model, or any pickle that would call something, is refused before it runs. The file is
memory-mapped where its format allows, so tensors that are not shown are not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convcli.errors import LoadError
from convcli.layer.model import Listing
from convcli.sources.models import state_dict, tensors
from convcli.sources.models.install import missing
from convcli.text import clipped, shown

ADVICE = ("save a state_dict (torch.save(model.state_dict(), path)) or export to ONNX or safetensors")
NESTED = ("state_dict", "model_state_dict", "model")
#: The prefix nn.DataParallel and DistributedDataParallel put before every name of a wrapped module.
WRAPPED = "module."


def _tensors(obj: Any, torch: Any) -> list[tuple[str, tuple[int, ...]]] | None:
    if not isinstance(obj, Mapping):
        return None
    arrays = [(k, tuple(int(v) for v in t.shape)) for k, t in obj.items()
              if isinstance(k, str) and isinstance(t, torch.Tensor)]
    return arrays or None


def _torchscript(name: str) -> bool:
    """Whether the file is a TorchScript archive (``torch.jit.save``): a zip whose folder holds
    ``code/`` (the compiled module's source) or ``constants.pkl``."""
    import zipfile

    try:
        with zipfile.ZipFile(name) as zf:
            members = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False  # not a zip (a legacy pickle): torch.load says what it is
    return any(m.partition("/")[2].startswith("code/") or m.partition("/")[2] == "constants.pkl" for m in members)


def state(name: str) -> tuple[Any, Mapping[str, Any]]:
    """The torch module and the file's state dict (a mapping with a tensor for each name it lists),
    loaded with ``weights_only=True``, memory-mapped where the format allows."""
    return _state(name)[:2]


def _state(name: str) -> tuple[Any, Mapping[str, Any], list[str]]:
    """:func:`state`, and notes on where in the file the state dict was found."""
    try:
        import torch
    except ImportError:
        raise missing("torch", ".pt/.pth", "pip install torch (convcli reads state dicts through it)") from None
    if _torchscript(name):
        raise LoadError(f"{name}: a TorchScript file (torch.jit.save), which convcli does not read; export the "
                        "model to ONNX (torch.onnx.export) or save its state_dict (torch.save(model.state_dict(), "
                        "path))")
    import pickle
    import warnings

    try:
        # torch's own warnings about the file (a protocol-4 pickle) would print beside the one line
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                obj = torch.load(name, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as exc:  # the legacy (non-zip) format cannot be memory-mapped
                if "mmap" not in str(exc):
                    raise
                obj = torch.load(name, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()
        why = next((line for line in first if "GLOBAL" in line or "Unsupported" in line), first[0] if first else "")
        raise LoadError(f"{name}: refused: its pickle needs more than tensors ({clipped(shown(why.strip()), 160)}); "
                        f"{ADVICE}") from None
    except Exception as exc:
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoadError(f"{name}: not a readable PyTorch file ({clipped(shown(reason), 200)})") from None
    return (torch, *_found(name, obj, torch))


def _found(name: str, obj: Any, torch: Any) -> tuple[Mapping[str, Any], list[str]]:
    """The state dict in a loaded file: the file itself, or a training checkpoint's entry (ImageNet's
    ``{"state_dict": ..., "best_acc1": ..., "optimizer": ...}``: its scalars are not layers), its
    names without the ``module.`` of a DataParallel wrapper."""
    notes = []
    nested = next((key for key in NESTED if isinstance(obj, Mapping) and _tensors(obj.get(key), torch) is not None),
                  None)
    if nested is not None:
        others = [str(k) for k in obj if k != nested]
        rest = f"; its other entries ({clipped(shown(', '.join(others)), 80)}) are not layers" if others else ""
        notes.append(f"a checkpoint: read its {nested!r} entry{rest}")
        found = obj[nested]
    elif _tensors(obj, torch) is not None:
        found = obj
    else:
        raise LoadError(f"{name}: holds no state dict (a mapping of names to tensors); {ADVICE}")
    keys = [k for k in found if isinstance(k, str)]
    if keys and all(k.startswith(WRAPPED) for k in keys):
        stripped = {k.removeprefix(WRAPPED): v for k, v in found.items()}
        if len(stripped) == len(found):
            notes.append(f"every name began with {WRAPPED!r} (nn.DataParallel's wrapper): stripped")
            found = stripped
    return found, notes


def read(name: str) -> Listing:
    from dataclasses import replace

    torch, found, notes = _state(name)
    arrays = _tensors(found, torch)
    assert arrays is not None
    listing = state_dict.listing(name, "torch", arrays)
    return replace(listing, notes=(*notes, *listing.notes))


def layer_arrays(name: str, want: tensors.Want) -> tensors.Arrays:
    """``<module>.weight`` (``(F, C/g, kh, kw)``, returned in Keras' ``(kh, kw, C/g, F)``) and
    ``<module>.bias`` of the state dict, each checked from its shape and dtype, then copied out of the
    memory-mapped file (bfloat16 as float32, exactly)."""
    import numpy as np

    torch, found = state(name)
    keys = [k for leaf in ("weight", "bias") if (k := state_dict.tensor_key(want.layer.name, leaf, found))]
    if not keys or not keys[0].endswith("weight"):
        raise want.error("the state dict holds no weight for it")
    want.count(len(keys))
    out = []
    for role, key in zip(("kernel", "bias"), keys, strict=False):
        t = found[key]
        if not isinstance(t, torch.Tensor):
            raise want.error(f"{shown(key)!r} is not a tensor")
        stored = tuple(int(v) for v in t.shape)
        dtype = str(t.dtype).removeprefix("torch.")
        shape = (*stored[2:], stored[1], stored[0]) if role == "kernel" and 3 <= len(stored) <= 5 else stored
        want.check(role, key, shape, dtype, stored=stored)
        try:
            t = t.detach().to(torch.float32) if t.dtype == torch.bfloat16 else t.detach()
            value = np.array(t.numpy(), copy=True)
        except (RuntimeError, TypeError) as exc:  # a sparse or meta tensor
            raise want.error(f"{shown(key)!r} cannot be read as an array ({shown(str(exc))[:120]})") from None
        kernel = role == "kernel"  # PyTorch's (F, C/g, *k) as Keras' (*k, C/g, F)
        out.append(np.ascontiguousarray(value.transpose(*range(2, value.ndim), 1, 0)) if kernel else value)
    return out[0], out[1] if len(out) > 1 else None, keys[0], str(found[keys[0]].dtype).removeprefix("torch.")
