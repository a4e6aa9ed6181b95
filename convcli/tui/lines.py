"""A panel of rich lines drawn with Textual's line API: a keypress renders its renderable once, at the
panel's width, and hands Textual the lines as strips.

A ``Static`` showing the same renderable costs a keypress twice that: Textual renders it once to
measure its height and again to split and crop it into lines, and an update lays out the whole screen
again. Here the lines are made once per update (and per width), the height is their count, and a
layout pass runs only when that count changes.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget


class Lines(Widget):
    """``renderable``'s lines at the widget's width; its height is their count (``height: auto``)."""

    DEFAULT_CSS = "Lines { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._renderable: RenderableType = ""
        self._strips: list[Strip] = []
        self._width = -1
        self._base = Style()
        self._tall = (-1, 0)  # (width, the most lines drawn at it)
        self._theme = ""

    def _lines_at(self, width: int) -> list[Strip]:
        """The lines at ``width``, each padded to it, in the widget's own colours (Textual's
        ``rich_style`` is looked up once here: a lookup per line cost more than drawing the line),
        and blank ones up to the most lines shown at this width (see :meth:`update`)."""
        if (width, self.app.theme) != (self._width, self._theme):  # the theme: the lines carry its colours
            console = self.app.console
            options = console.options.update_width(max(1, width))
            self._base = base = self.rich_style
            strips = [Strip(line).apply_style(base).adjust_cell_length(width, base)
                      for line in console.render_lines(self._renderable, options, pad=False)]
            if width != self._tall[0]:
                self._tall = (width, 0)
            self._tall = (width, max(self._tall[1], len(strips)))
            self._strips = strips + [Strip.blank(width, base)] * (self._tall[1] - len(strips))
            self._width, self._theme = width, self.app.theme
        return self._strips

    def update(self, renderable: RenderableType) -> None:
        """Show ``renderable``: drawn now at the current width. Its height never shrinks at one width
        (blank lines below a shorter text), so a layout pass, which measures and repaints every widget
        of the screen, runs only when the text grows past the most lines shown yet."""
        before = len(self._strips)
        self._renderable, self._width = renderable, -1
        width = self.content_size.width
        if width:
            self._lines_at(width)
        self.refresh(layout=not width or len(self._strips) != before)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines_at(width)) if width else 0

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        lines = self._lines_at(width)
        return lines[y] if 0 <= y < len(lines) else Strip.blank(width, self._base)
