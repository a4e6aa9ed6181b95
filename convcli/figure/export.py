"""``run --figure FILE``: the figure in the format its extension names.

PNG, JPEG and WebP are the picture :mod:`.draw` paints (a PNG written by
:func:`convcli.files.png.write_rgb_png`, its bands deflated on the engine's threads: 0.3 s for a
12 MP photo's 4-filter figure instead of Pillow's 0.84 s); SVG is :mod:`.svg` (vector text and grids,
the maps embedded as PNG); PDF is the painted picture on one page (a raster PDF, written by Pillow:
no vector text; use SVG where that matters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from convcli.figure.boxes import FigurePlan
from convcli.figure.theme import Theme
from convcli.files import writers
from convcli.files.targets import IMAGE_FORMATS

#: Every extension ``--figure`` takes.
FIGURE_SUFFIXES = (*IMAGE_FORMATS, ".svg", ".pdf")


def save_figure(plan: FigurePlan, target: Path, theme: Theme, *, force: bool = True,
                inputs: Sequence[str | Path] = ()) -> None:
    """Write ``plan`` drawn in ``theme`` to ``target`` (checked with ``suffix=FIGURE_SUFFIXES``)."""
    suffix = target.suffix.lower()
    if suffix == ".svg":
        from convcli.figure.svg import figure_svg

        writers.save_text(figure_svg(plan, theme), target, force=force, inputs=inputs)
        return
    from convcli.figure.draw import draw_figure

    picture = draw_figure(plan, theme)
    if suffix == ".png" and picture.mode == "RGB":
        from convcli.files import png
        from convcli.files.atomic import atomic_write

        # read a band of rows at a time: no copy of the whole picture
        atomic_write(target, lambda fh: png.write_rgb_png(fh, picture, run_bands=_on_threads), force=force,
                     inputs=inputs)
    elif suffix == ".pdf":
        writers.save_pdf(picture, target, force=force, inputs=inputs)
    else:
        writers.save_image(picture, target, force=force, inputs=inputs, png_level=3)


def _on_threads(fn: Callable[[tuple[int, int]], int], bands: list[tuple[int, int]]) -> None:
    """A PNG's bands deflated on the engine's threads (zlib releases the GIL)."""
    from convcli.engine import tiles

    tiles.each(fn, bands, None)
