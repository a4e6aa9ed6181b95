"""Values -> colours for every view: the palettes, and the one :class:`Scale` that places values on them.

A :class:`Scale` is a value range ``lo … hi`` chosen by one of three explicit policies:

- **symmetric around 0** (:meth:`Scale.including_zero` on data with a negative value): diverging,
  ``[-m, m]`` with ``m = max |value|``, 0 in the (white) middle;
- **clipped at a percentile** (:meth:`Scale.clipped` on data with a negative value): diverging,
  ``[-m, m]`` with ``m`` the ``p``-th percentile of ``|value|``; values beyond get the end colours;
- **sequential** (data ``≥ 0``): ``lo`` takes the palette's first colour, ``hi`` its last.

:meth:`Scale.position` is where a value falls in ``[0, 1]``; a :class:`Palette` turns positions into
RGB, by linear interpolation between its anchors (:meth:`Palette.at`) or a look-up table
(:meth:`Palette.lut`). A view binds its pair of palettes (:data:`TERMINAL`, :data:`FIGURE`) to the
scale in a subclass that sets :attr:`Scale.palettes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np


@dataclass(frozen=True, eq=False)
class Palette:
    """Colours at evenly spaced positions ``anchors (n, 3)`` (0 … 255), from position 0 to 1."""

    anchors: np.ndarray

    @classmethod
    def of_hex(cls, colours: Sequence[str]) -> Palette:
        """A palette from ``"#rrggbb"`` strings."""
        return cls(np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype=np.float64))

    def __len__(self) -> int:
        return len(self.anchors)

    def at(self, t: np.ndarray) -> np.ndarray:
        """``t`` in [0, 1] (any shape) -> RGB ``(..., 3)`` uint8, linear between the two nearest anchors."""
        a = self.anchors
        pos = np.clip(t, 0.0, 1.0) * (len(a) - 1)
        i = np.minimum(np.floor(pos).astype(np.int64), len(a) - 2)
        frac = (pos - i)[..., None]
        rgb = a[i] * (1 - frac) + a[i + 1] * frac
        return np.rint(rgb).astype(np.uint8)

    def lut(self, size: int) -> np.ndarray:
        """``(size, 3)`` uint8: the palette sampled at ``size`` evenly spaced positions."""
        at = np.linspace(0.0, 1.0, len(self.anchors))
        t = np.linspace(0.0, 1.0, size)
        return np.rint(np.stack([np.interp(t, at, self.anchors[:, k]) for k in range(3)], axis=1)).astype(np.uint8)


@dataclass(frozen=True)
class Palettes:
    """A view's colours: ``diverging`` for scales centred on 0, ``sequential`` for the others.
    ``lut_size``: a view that colours through a look-up table samples the palette at this many points."""

    diverging: Palette
    sequential: Palette
    lut_size: int = 256
    #: ``True``: :meth:`Scale.rgb` gives the nearest anchor (a few exact classes), not a blend.
    classes: bool = False


#: The one diverging palette of every view, blue (most negative) → near-white (0) → red (most
#: positive), 4 steps a side like :data:`SIGNED_RAMP`'s characters. Each anchor is a colour of
#: xterm's 256-colour cube or grey ramp (RdBu-like in hue and lightness), so rich's downsampling to
#: 256 colours (tmux's default) leaves it unchanged: RdBu's own pale shades become cyan (#87d7d7),
#: lavender (#d7d7ff) and cream there.
SIGNED = Palette.of_hex((
    "#005faf", "#5f87d7", "#87afd7", "#afd7ff", "#ffffff",
    "#ffd7d7", "#ff8787", "#d75f5f", "#af0000",
))  # fmt: skip
#: Values ≥ 0: the positive half of :data:`SIGNED`, near-white (0) → red, so that a value has one
#: colour whether or not its map also holds negatives.
POSITIVE = Palette(SIGNED.anchors[len(SIGNED) // 2 :])
#: Black to white: pictures (the input image), never values that a sign colours.
GREYS = Palette.of_hex(("#000000", "#ffffff"))

#: The terminal's colours: each value gets its nearest anchor (9 classes), exactly the 256-colour
#: cube's and the same class as its character without colour.
TERMINAL = Palettes(SIGNED, POSITIVE, classes=True)
#: The figure's colours: the same palette blended through a 256-entry look-up table.
FIGURE = Palettes(SIGNED, POSITIVE)
#: The figure's input image, in grey: a picture, not a signed value.
IMAGE = Palettes(GREYS, GREYS)

#: Colour of non-finite values where a view draws them (the figure).
NONFINITE = (0, 190, 0)

#: Characters without colour on a diverging scale, most negative to most positive; blank is 0.
SIGNED_RAMP = "≡=-· ░▒▓█"
#: Characters without colour on a sequential (all ≥ 0) scale, lowest to highest.
SEQUENTIAL_RAMP = " ░▒▓█"
#: A value that is NaN, without colour.
NAN_CHAR = "?"


def _finite(maps: Iterable[np.ndarray]) -> list[np.ndarray]:
    """Each map's finite values, flattened (a map without a non-finite value is not copied)."""
    finite = []
    for a in maps:
        a = np.asarray(a).ravel()
        if a.size and not (np.isfinite(a.min()) and np.isfinite(a.max())):  # only then a masked copy
            a = a[np.isfinite(a)]
        if a.size:
            finite.append(a)
    return finite


@dataclass(frozen=True)
class Scale:
    """The value range ``lo … hi`` a palette spans.

    ``diverging`` (by default: ``lo < 0``): centred on 0, spanning ``[-limit, limit]`` with
    ``limit = max(|lo|, |hi|)``; an all-negative range stays diverging, on its blue half, so hue
    always says the sign. Otherwise sequential from ``lo`` to ``hi``. ``clipped``: some values lie
    beyond the ends (they get the end colours). ``flat``: the position of every value on a
    zero-width scale (``hi <= lo``); it is 0 whenever the scale has width, so equal scales compare equal.
    """

    lo: float
    hi: float
    diverging: bool = None  # type: ignore[assignment]  # None: lo < 0
    clipped: bool = False
    flat: float = 0.0

    #: The view's colours (a view's subclass binds its own).
    palettes: ClassVar[Palettes] = TERMINAL

    def __post_init__(self) -> None:
        if self.diverging is None:
            object.__setattr__(self, "diverging", self.lo < 0)
        if self.hi > self.lo:
            object.__setattr__(self, "flat", 0.0)

    # -- policies ------------------------------------------------------------------------------

    @classmethod
    def including_zero(cls, *maps: np.ndarray) -> Self:
        """The smallest scale holding every finite value of ``maps`` and 0: symmetric around 0
        when a value is negative, else sequential from 0 to the largest.

        0 is always inside so that colour says how much a map contributes, not how it compares
        with its own minimum, and a shared scale compares maps fairly. An all-zero scale puts
        its values at the palette's start.
        """
        lo, hi = 0.0, 0.0
        for a in _finite(np.asarray(m, dtype=np.float64) for m in maps):
            lo, hi = min(lo, float(a.min())), max(hi, float(a.max()))
        return cls(lo, hi)

    @classmethod
    def clipped_at(cls, maps: Iterable[np.ndarray], percentile: float, *, from_zero: bool = False) -> Self:
        """The scale for maps drawn together: clipped at ``percentile`` when a finite value is
        negative, else sequential over ``[min, max]`` (``[0, max]`` with ``from_zero``); a zero-width scale puts its values in the middle.

        The diverging end is the ``percentile``-th percentile of ``|value|``, an actual value never
        interpolated (so maps of under ``100 / (100 - percentile)`` values are not clipped): the
        few strongest edges of a photo would otherwise push everything else to near-white.
        """
        finite = _finite(maps)
        if not finite:
            return cls(0.0, 0.0, False, flat=0.5)
        lo, hi = min(float(a.min()) for a in finite), max(float(a.max()) for a in finite)
        if lo >= 0:  # from_zero: 0 keeps the colour it has on a diverging scale
            return cls(0.0 if from_zero else lo, hi, False, flat=0.5)
        magnitude = np.concatenate([np.abs(a) for a in finite])  # exact in the maps' own dtype
        top = float(magnitude.max())
        # np.percentile(..., method="higher") is the element at ceil(q·(n - 1)): one partition, no sort
        at = int(np.ceil(np.float64(percentile) / 100 * (magnitude.size - 1)))
        m = float(np.partition(magnitude, at)[at]) or top
        return cls(-m, m, True, clipped=m < top, flat=0.5)

    # -- placing values ------------------------------------------------------------------------

    @property
    def limit(self) -> float:
        """The diverging scale's symmetric half-width ``max(|lo|, |hi|)``."""
        return max(abs(self.lo), abs(self.hi))

    @property
    def ends(self) -> tuple[float, float]:
        """The values at the palette's two ends: ``(-limit, limit)`` if diverging, else ``(lo, hi)``."""
        return (-self.limit, self.limit) if self.diverging else (self.lo, self.hi)

    def position(self, values: np.ndarray) -> np.ndarray:
        """Where ``values`` (any shape) fall on the palette, in [0, 1] float64; 0 is 0.5 on a
        diverging scale; NaN stays NaN."""
        v = np.asarray(values, dtype=np.float64)
        lo, hi = self.ends
        if hi <= lo:
            return np.where(np.isnan(v), np.nan, self.flat)
        t = np.array(v)  # (v - lo) / (hi - lo), clipped: in place, one array (a figure maps 7 M values)
        t -= lo
        t /= hi - lo
        with np.errstate(invalid="ignore"):
            np.clip(t, 0.0, 1.0, out=t)
        return t if t.ndim else t[()]

    @property
    def palette(self) -> Palette:
        return self.palettes.diverging if self.diverging else self.palettes.sequential

    @property
    def lut(self) -> np.ndarray:
        """The palette as a ``(lut_size, 3)`` uint8 look-up table."""
        return lut_table(self.palette, self.palettes.lut_size)

    def rgb(self, values: np.ndarray) -> np.ndarray:
        """The palette's RGB of ``values`` (any shape), interpolated: ``(..., 3)`` uint8 (NaN: meaningless)."""
        t = np.nan_to_num(self.position(values))
        if self.palettes.classes:  # the nearest anchor: 0 is the middle, ±limit the ends
            n = len(self.palette) - 1
            t = np.rint(t * n) / n
        return self.palette.at(t)

    def colours(self, values: np.ndarray) -> np.ndarray:
        """``(..., 3)`` uint8 look-up-table colours of ``values (...)``; non-finite ones are :data:`NONFINITE`."""
        v = np.asarray(values, dtype=np.float64)
        return lut_colours(self.position(v), ~np.isfinite(v), self.lut)

    def chars(self, values: np.ndarray) -> np.ndarray:
        """One character per value of ``values`` (any shape), from :data:`SIGNED_RAMP` or
        :data:`SEQUENTIAL_RAMP`; NaN is :data:`NAN_CHAR`."""
        v = np.asarray(values, dtype=np.float64)
        if self.diverging:
            # by |v| / limit into 4 levels a side, so the blank zero band is symmetric
            level = np.minimum(np.rint(np.nan_to_num(np.abs(v)) / self.limit * 4), 4).astype(np.int64)
            index = 4 + np.sign(np.nan_to_num(v)).astype(np.int64) * level
            ramp = np.array(list(SIGNED_RAMP))
        else:
            n = len(SEQUENTIAL_RAMP)
            index = np.minimum(np.floor(np.nan_to_num(self.position(v)) * n), n - 1).astype(np.int64)
            ramp = np.array(list(SEQUENTIAL_RAMP))
        return np.where(np.isnan(v), NAN_CHAR, ramp[index])

    def ramp(self) -> str:
        return SIGNED_RAMP if self.diverging else SEQUENTIAL_RAMP


#: How close the output's largest value must come to the pre-activation's to share its scale.
SAME_UNITS = 0.1


def same_units(pre_hi: float, out_hi: float) -> bool:
    """Whether a filter's output, after an activation that keeps its input's units, reaches the
    pre-activation's largest value within :data:`SAME_UNITS` (relu, leaky relu, elu, selu, swish,
    softplus; relu6 while below its ceiling). Only then is it drawn on the scale of its parts: relu6
    capped at 6 beside a pre-activation up to 300 would be all white there. The whole rule, with the
    activations in other units (tanh, sigmoid), is :func:`convcli.present.filtersum.output_scale`."""
    if not (np.isfinite(pre_hi) and np.isfinite(out_hi)) or pre_hi <= 0:
        return False
    return bool(abs(out_hi - pre_hi) <= SAME_UNITS * pre_hi)


_TABLES: dict[tuple[Palette, int], np.ndarray] = {}


def lut_table(palette: Palette, size: int) -> np.ndarray:
    """:meth:`Palette.lut`, made once per palette and size (palettes compare by identity)."""
    key = (palette, size)
    if key not in _TABLES:
        _TABLES[key] = palette.lut(size)
    return _TABLES[key]


def lut_colours(t: np.ndarray, bad: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Positions ``t (...)`` in [0, 1] -> ``(..., 3)`` uint8 from ``lut (n, 3)`` (nearest entry);
    where ``bad`` (same shape), :data:`NONFINITE`."""
    x = np.array(t, dtype=np.float64, ndmin=1)  # the same numbers as rint(nan_to_num(t) · (n - 1)),
    x *= len(lut) - 1  # made in place
    np.rint(x, out=x)
    np.nan_to_num(x, copy=False, nan=0.0)
    idx = x.astype(np.intp).reshape(-1)
    # each entry one 3-byte item: a plain take, twice as fast as indexing the (n, 3) table's rows
    rows = np.ascontiguousarray(lut, dtype=np.uint8).view(np.dtype((np.void, 3))).reshape(-1)
    out = np.take(rows, idx).view(np.uint8).reshape(*np.shape(t), 3)
    out[bad] = NONFINITE
    return out
