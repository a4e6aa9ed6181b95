"""The boxes of a figure's plan (:func:`convcli.figure.plan.plan_figure`): each panel, bar and filter,
computed before anything is drawn, so that tests read what the picture shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from convcli.present.colour import Scale


@dataclass(frozen=True)
class Box:
    """A rectangle of the figure: columns ``[x0, x1)`` × rows ``[y0, y1)``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def crop(self, pixels: np.ndarray) -> np.ndarray:
        """This box of an ``(H, W, ...)`` picture array."""
        return pixels[self.y0 : self.y1, self.x0 : self.x1]


@dataclass(frozen=True)
class PanelPlan:
    """One map: ``values (h, w)`` drawn into ``box`` in ``scale``; ``title`` above, ``note`` (its range) below."""

    kind: str  # "input", "kernel", "partial", "others", "bias", "preactivation", "output"
    title: str
    note: str
    values: np.ndarray
    scale: Scale
    box: Box
    title_box: Box
    note_box: Box
    #: the values are written in their cells (a map of at most :data:`NUMBERS_MAX` values a side)
    numbers: bool = False
    channel: int | None = None  # the input channel (index into ``C``) of an input, kernel or partial panel
    #: a categorical map (kind "dominant"): its values index these colours, named in ``legend``
    categories: tuple[tuple[int, int, int], ...] = ()
    legend: tuple[tuple[str, tuple[int, int, int]], ...] = ()
    #: ``--trace``: the window's taps (an input) or the traced position (a map) in this panel
    mark: Box | None = None


@dataclass(frozen=True)
class BarPlan:
    """A colour bar under the panels of a block that share ``scale`` (an output on a scale of its own
    has its own bar); its end values in ``label_box``."""

    scale: Scale
    box: Box
    label_box: Box


@dataclass(frozen=True)
class RowPlan:
    """One filter's part of the figure: a line per input channel (input ⊛ kernel slice = partial map),
    then the bias, the pre-activation and the output; a bar per scale, the operators between panels,
    and free text (the activation's name above its arrow, "Σ N others" where no input is drawn)."""

    filter: int
    heading: str
    heading_box: Box
    panels: list[PanelPlan]
    bars: list[BarPlan]
    operators: list[tuple[str, int, int]]  # (symbol, x centre, y centre)
    labels: list[tuple[str, int, int]] = field(default_factory=list)  # (text, x centre, y centre)
    #: the filters drawn by this row because they are identical to it (same weights and bias)
    same_as: tuple[int, ...] = ()

    def of_kind(self, kind: str) -> list[PanelPlan]:
        return [p for p in self.panels if p.kind == kind]


@dataclass(frozen=True)
class FieldPlan:
    """``--trace`` on a deep ``--model`` layer: the model's input picture ``image (h, w, 3)`` uint8
    drawn into ``box`` under ``heading``, the traced position's receptive field outlined at ``rect``
    (its part on the image), ``note`` under it."""

    heading: str
    heading_box: Box
    image: np.ndarray
    box: Box
    rect: Box
    note: str
    note_box: Box
    #: the field's neighbourhood enlarged beside the picture (when the field is small in it), its rectangle
    zoom: np.ndarray | None = None
    zoom_box: Box | None = None
    zoom_rect: Box | None = None


@dataclass(frozen=True)
class FigurePlan:
    """Every box of the figure; :func:`draw_figure` paints it, tests read the boxes to check the pixels."""

    size: tuple[int, int]  # (width, height) of the picture
    cell: tuple[int, int]  # (width, height) of every map's cell
    title: str
    legend: str
    title_box: Box
    rows: list[RowPlan]

    wrapped: bool = False  # the bias, pre-activation and output under the channels' lines, not beside them
    #: the receptive field on the image, under the filters (:mod:`convcli.figure.field`)
    field: FieldPlan | None = None

    @property
    def columns(self) -> int:
        """Panels per line of a channel: input, kernel slice, partial map."""
        return 3
