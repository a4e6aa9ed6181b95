"""Values read from a Keras layer config, each checked: whole numbers, pairs, paddings, activations,
a Rescaling's numbers. A value that is not what Keras writes is a :class:`LoadError` naming the layer."""

from __future__ import annotations

from typing import Any

from convcli.errors import LoadError
from convcli.text import shown


def pair(v: Any, what: str, layer: str) -> tuple[int, int]:
    if isinstance(v, int) and not isinstance(v, bool):
        return v, v
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return int(v[0]), int(v[1])
    raise LoadError(f"layer {shown(layer)!r}: {what} is not one or two whole numbers: {shown(repr(v))[:80]}")


def count(cfg: dict[str, Any], key: str, layer: str, default: int | None) -> int:
    """A whole-number setting (``groups``, ``filters``): ``default`` when absent or null (``None``:
    required), else checked to be a whole number (a string, list or Infinity is refused)."""
    v = cfg.get(key)
    if v is None and default is not None:
        return default
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool):
        raise LoadError(f"layer {shown(layer)!r}: its {key} is {shown(repr(v))[:60]}; it must be a whole number")
    return v


def activation(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        inner = v.get("config")
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return inner["name"]
        if isinstance(v.get("class_name"), str):
            return v["class_name"]
    return "custom"


def number(v: Any) -> float | tuple[float, ...] | None:
    """A Rescaling's scale or offset: a number, or a list of them (per channel); None if neither."""
    def real(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and abs(x) != float("inf")

    if real(v):
        return float(v)
    if isinstance(v, list) and v and all(real(x) for x in v):
        return tuple(float(x) for x in v)
    return None


def zeropad(v: Any, layer: str) -> tuple[int, int, int, int]:
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (list, tuple)) for x in v):
        (t, b), (le, r) = pair(v[0], "padding", layer), pair(v[1], "padding", layer)
        return t, b, le, r
    ph, pw = pair(v, "padding", layer)
    return ph, ph, pw, pw
