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


def zeropad_nd(v: Any, n: int, layer: str, what: str = "padding") -> tuple[int, ...]:
    """A ZeroPadding1D's or ZeroPadding3D's ``padding`` (a Cropping1D's or 3D's ``cropping``): ``P``, one ``P`` per axis, or ``(before, after)``
    per axis (1-D: one pair), as ``(before, after)`` per axis flat; :class:`LoadError` otherwise."""
    def whole(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and x >= 0

    if whole(v):
        return (v, v) * n
    if isinstance(v, (list, tuple)):
        items = list(v)
        if n == 1 and len(items) == 2 and all(whole(x) for x in items):
            return items[0], items[1]
        if len(items) == n and all(whole(x) for x in items):
            return tuple(p for x in items for p in (x, x))
        if len(items) == n and all(isinstance(x, (list, tuple)) and len(x) == 2 and all(whole(y) for y in x)
                                   for x in items):
            return tuple(p for x in items for p in x)
    raise LoadError(f"layer {shown(layer)!r}: {what} is not {n} pairs of whole numbers: {shown(repr(v))[:80]}")


def zeropad(v: Any, layer: str) -> tuple[int, int, int, int]:
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (list, tuple)) for x in v):
        (t, b), (le, r) = pair(v[0], "padding", layer), pair(v[1], "padding", layer)
        return t, b, le, r
    ph, pw = pair(v, "padding", layer)
    return ph, ph, pw, pw


def interpolation(cfg: dict[str, Any]) -> str:
    """An upsampling's or resize's interpolation, lower-case (``nearest`` where the config has none);
    ``+antialias`` where a resize antialiases (its kernel then widens as it shrinks)."""
    value = cfg.get("interpolation", "nearest")
    text = value.lower()[:40] if isinstance(value, str) else "nearest"
    return text + "+antialias" if cfg.get("antialias") is True else text


def crops_first(cls: str, cfg: dict[str, Any]) -> bool:
    """A Resizing that crops or pads to the aspect ratio first: its positions move by more than its
    two sizes say, so it is listed as another layer, not a resize."""
    return cls == "Resizing" and bool(cfg.get("crop_to_aspect_ratio") or cfg.get("pad_to_aspect_ratio"))


def target_shape(cfg: dict[str, Any], layer: str) -> tuple[int, ...]:
    """A ``Reshape``'s ``target_shape``: sizes without the batch axis, at most one ``-1``."""
    v = cfg.get("target_shape")
    if not (isinstance(v, list) and 0 < len(v) <= 4 and v.count(-1) <= 1
            and all(isinstance(x, int) and not isinstance(x, bool) and (x > 0 or x == -1) for x in v)):
        raise LoadError(f"layer {shown(layer)!r}: target_shape is not a list of sizes: {shown(repr(v))[:80]}")
    return tuple(v)


def concat_axis(cfg: dict[str, Any], layer: str) -> int:
    """A ``Concatenate``'s axis as a listing counts it: Keras counts the batch axis (``axis=3`` of
    ``(N, H, W, C)`` is the channels), a listing's shapes do not; a negative axis is the same in both."""
    axis = cfg.get("axis", -1)
    axis = axis if isinstance(axis, int) and not isinstance(axis, bool) else -1
    if axis == 0:
        raise LoadError(f"layer {shown(layer)!r}: concatenates along axis 0 (the batch)")
    return axis - 1 if axis > 0 else axis
