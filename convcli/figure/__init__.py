"""A layer's computation as one picture (Pillow, numpy; no rich): :mod:`.plan` lays it out,
:mod:`.panels` makes each panel's values at the size it is drawn (block means of a photo's maps),
:mod:`.draw` paints it, :mod:`.maps` writes the output maps as PNGs (``--save-maps``)."""
