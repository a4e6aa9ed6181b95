"""TEMPORARY shim for the merge: the readers live in :mod:`convcli.sources` now."""

# TEMPORARY shim for the merge
from convcli.sources.images import image_array as _image_array
from convcli.sources.inputs import DEFAULT_MAX_PIXELS, LAYOUTS, Loaded, load_array, load_input, nonfinite

__all__ = ["DEFAULT_MAX_PIXELS", "LAYOUTS", "Loaded", "_image_array", "load_array", "load_input", "nonfinite"]
