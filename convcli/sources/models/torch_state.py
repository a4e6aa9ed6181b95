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
from convcli.sources.models import missing, state_dict
from convcli.text import shown

ADVICE = ("save a state_dict (torch.save(model.state_dict(), path)) or export to ONNX or safetensors")
NESTED = ("state_dict", "model_state_dict", "model")


def _tensors(obj: Any, torch: Any) -> list[tuple[str, tuple[int, ...]]] | None:
    if not isinstance(obj, Mapping):
        return None
    arrays = [(k, tuple(int(v) for v in t.shape)) for k, t in obj.items()
              if isinstance(k, str) and isinstance(t, torch.Tensor)]
    return arrays or None


def read(name: str) -> Listing:
    try:
        import torch
    except ImportError:
        raise missing("torch", ".pt/.pth", "pip install torch (convcli reads state dicts through it)") from None
    import pickle

    try:
        try:
            obj = torch.load(name, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:  # the legacy (non-zip) format cannot be memory-mapped
            if "mmap" not in str(exc):
                raise
            obj = torch.load(name, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()
        why = next((line for line in first if "GLOBAL" in line or "Unsupported" in line), first[0] if first else "")
        raise LoadError(f"{name}: refused: its pickle needs more than tensors ({shown(why.strip())[:160]}); "
                        f"{ADVICE}") from None
    except Exception as exc:
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoadError(f"{name}: not a readable PyTorch file ({shown(reason)[:200]})") from None
    arrays = _tensors(obj, torch)
    if arrays is None and isinstance(obj, Mapping):
        for key in NESTED:
            arrays = _tensors(obj.get(key), torch)
            if arrays is not None:
                break
    if arrays is None:
        raise LoadError(f"{name}: holds no state dict (a mapping of names to tensors); {ADVICE}")
    return state_dict.listing(name, "torch", arrays)
