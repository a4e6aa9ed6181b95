"""A layer's computation as one picture (Pillow, numpy; no rich): :mod:`.plan` lays it out,
:mod:`.draw` paints it, :mod:`.maps` writes the output maps as PNGs (``--save-maps``)."""
