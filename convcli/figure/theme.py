"""The figure's colours around its maps (``--theme light|dark``): background, text, rules.

The maps keep their colours in either theme (blue < 0 < red, white at 0: the values' language);
only the page around them changes. Light is the default of files meant for slides and paper.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Theme:
    name: str
    background: RGB
    ink: RGB
    muted: RGB
    rule: RGB
    border: RGB


LIGHT = Theme("light", (255, 255, 255), (25, 25, 25), (90, 90, 90), (205, 205, 205), (160, 160, 160))
DARK = Theme("dark", (24, 26, 31), (235, 235, 235), (170, 170, 175), (70, 72, 80), (110, 112, 120))
THEMES = {t.name: t for t in (LIGHT, DARK)}


def hex_colour(rgb: RGB) -> str:
    """``#rrggbb``."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)
