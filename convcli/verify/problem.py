"""What ``convcli verify`` asks every framework, and what each one answers.

A :class:`Problem` is one layer in convcli's layouts; an :class:`Outcome` is what one framework did
with it (computed, refused in its own words, or missing); a :class:`Checked` pairs an outcome with
its comparison. The adapters raise :class:`Refused` and :class:`Unavailable`; the registry turns
them into outcomes. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convcli import engine
from convcli.engine import PaddingSpec
from convcli.verify import compare

#: The frameworks whose rules a user can ask for (``--semantics``).
SEMANTICS = ("keras", "torch")

COMPUTED = "computed"
REFUSED = "refused"
MISSING = "missing"


@dataclass(frozen=True)
class Problem:
    """One layer to compute everywhere.

    ``layer`` holds the arrays as applied (``kernel (kh, kw, C // groups, F)`` already flipped
    when ``flip``); ``bias (F,)``; ``padding`` as the user spelt it (``'valid'``, ``'same'``, P or
    ``(PH, PW)``), the concrete pads being ``layer.geometry.pads``; ``semantics`` the framework
    whose rules the user asked for. ``banded``: a band of a larger layer
    (:func:`convcli.verify.tiles.bands`), where an adapter may take its faster routine.
    """

    layer: engine.Layer
    bias: np.ndarray
    padding: PaddingSpec
    semantics: str = "keras"
    flip: bool = False
    banded: bool = False

    @property
    def same(self) -> bool:
        return isinstance(self.padding, str) and self.padding == "same"

    @property
    def numeric_padding(self) -> bool:
        return not isinstance(self.padding, str)


@dataclass(frozen=True)
class Outcome:
    """What one framework did with a :class:`Problem`.

    ``status`` is :data:`COMPUTED` (``output (H', W', F)`` set), :data:`REFUSED` (``note`` holds the
    framework's rule and message) or :data:`MISSING` (``note`` says how to install it).
    """

    framework: str
    version: str
    status: str
    layout: str = ""
    padding: str = ""
    output: np.ndarray | None = None
    note: str = ""


@dataclass(frozen=True)
class Checked:
    """An :class:`Outcome` and, when it computed, its comparison with convcli."""

    outcome: Outcome
    comparison: compare.Comparison | None


class Refused(Exception):
    """A framework refused the configuration; the message is its rule and its own words."""


class Unavailable(Exception):
    """A framework is installed but cannot be used here (e.g. Keras without its backend)."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (frameworks' messages run on), or its type's name."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def pair_text(p: tuple[int, ...]) -> str:
    """``(0, 1, 0, 1)``: a tuple as Python writes it, for the "how it was called" texts."""
    return f"({', '.join(str(v) for v in p)})"
