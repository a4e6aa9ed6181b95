"""A layer's computation as one picture (Pillow, numpy; no rich): :mod:`.plan` lays it out,
:mod:`.draw` paints it, :mod:`.maps` writes the output maps as PNGs (``--save-maps``)."""

# TEMPORARY shim for the merge: what the module convcli.figure offered, private names included
from convcli.figure.draw import *  # noqa: F403
from convcli.figure.draw import _ASCII, _draw_bar, _fit, _font, _has_glyph, _safe, _text, _unit32  # noqa: F401
from convcli.figure.plan import *  # noqa: F403
from convcli.figure.plan import _check, _Map, _note, _row_maps, _title  # noqa: F401
from convcli.present.colour import lut_colours as _colour_units  # noqa: F401
from convcli.present.maps import block_mean32 as _block_means32  # noqa: F401
