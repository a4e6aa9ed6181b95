"""A map as the page shows it: its block-reduced values painted in a scale's colours, as a PNG data URI.

Every picture is inline (``data:image/png;base64,...``): the page opens from disk with no request.
A map is never painted whole when it is larger than its panel: the caller gives block means
(:func:`convcli.present.maps.block_mean`), one pixel a block; the browser enlarges it, pixelated.
"""

from __future__ import annotations

import base64
import io

import numpy as np

from convcli.figure.plan import Scale


def png_uri(rgb: np.ndarray) -> str:
    """``rgb (h, w, 3)`` uint8 as a ``data:image/png;base64,`` URI (Pillow, the smallest PNG filter choice)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(buffer, format="PNG", optimize=False, compress_level=3)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def map_uri(values: np.ndarray, scale: Scale) -> str:
    """``values (h, w)`` (already at panel size) in ``scale``'s colours, as a PNG data URI; non-finite
    values in :data:`convcli.present.colour.NONFINITE`."""
    return png_uri(scale.colours(values))


def hex_colour(value: float, scale: Scale) -> str:
    """``#rrggbb`` of one value on ``scale`` (the bias swatch)."""
    r, g, b = (int(v) for v in scale.colours(np.array([value], dtype=np.float64))[0])
    return f"#{r:02x}{g:02x}{b:02x}"


def gradient(scale: Scale, stops: int = 9) -> str:
    """The scale's palette as a CSS ``linear-gradient`` (its legend bar), ``stops`` colours evenly spaced."""
    colours = scale.palette.at(np.linspace(0.0, 1.0, stops))
    return "linear-gradient(to right, " + ", ".join(f"#{r:02x}{g:02x}{b:02x}" for r, g, b in colours.tolist()) + ")"
