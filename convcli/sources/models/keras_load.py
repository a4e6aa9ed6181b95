"""Keras cannot load a model file: what it could not rebuild, and what to do, in one line.

Keras 3 refuses some legacy ``.h5`` files, its own among them: a layer class it does not know
(MobileNetV3Small's, ConvNeXt's ``LayerScale``, a custom layer) cannot be rebuilt from the file's
config. That is Keras' limit, not the file's: the line names the file and the class and says to save
the model as ``.keras`` where it was made. :mod:`~convcli.sources.models.upstream` raises it; where
only Rescaling layers precede the layer, it computes the layer's input itself instead.
"""

from __future__ import annotations

import os
from typing import Any

from convcli.errors import LoadError
from convcli.layer.model import Listing
from convcli.sources import frameworks
from convcli.text import shown


class KerasCannotLoad(LoadError):
    """Keras cannot rebuild the model from the file (where only Rescaling layers come before the layer,
    convcli computes its input itself)."""


#: The classes a listing names for a nested model (Keras knows them, not as layers).
_MODEL_CLASSES = frozenset({"Functional", "Sequential", "Model"})


def _unknown_class(keras: Any, listing: Listing, text: str) -> str:
    """The layer class Keras could not rebuild: the one its message names (``Unknown layer: 'pkg>Name'``),
    else the listing's first class that is no Keras layer; ``""`` when neither says."""
    import re

    said = re.search(r"(?:Unknown|Could not (?:locate|deserialize)) (?:layer|class|object)[^']*'([^']+)'", text)
    if said:
        return said.group(1).rsplit(">", 1)[-1]
    return next((lay.class_name for lay in listing.layers if lay.kind != "input"
                 and lay.class_name not in _MODEL_CLASSES and not hasattr(keras.layers, lay.class_name)), "")


def cannot_load(name: str, keras: Any, listing: Listing, exc: Exception, text: str) -> KerasCannotLoad:
    """Keras' refusal of the file (``exc``, its first line ``text``), in one line: for a legacy ``.h5``
    with a layer class Keras does not know, that it is Keras' own limit, the class, and what to do (save
    it as ``.keras`` where it was made); any other refusal in Keras' words."""
    cls = _unknown_class(keras, listing, str(exc)) if listing.format == "h5" else ""
    if not cls:  # another refusal (a config Keras finds wrong): Keras' own words
        return KerasCannotLoad(f"{name}: Keras cannot load the model ({text})")
    what = f"its layer class {shown(cls)!r}"
    cause = text.split(". ")[0]
    stem = os.path.splitext(os.path.basename(name))[0]
    return KerasCannotLoad(f"{name}: Keras {frameworks.version('keras')} cannot rebuild {what} from this legacy .h5 "
                           f"file ({cause}), a limit of Keras' own .h5 loading: save the model as .keras where it was "
                           f"made (model.save({shown(stem + '.keras')!r})) and give convcli that file")
