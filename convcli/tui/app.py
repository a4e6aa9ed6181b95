"""``convcli explore``: the Textual app. Arrow keys and the mouse move the output position over the
heatmap, the side panel traces it, ``[``/``]`` switch filters, space switches a channel off.

A view: the maps are the result's (computed once, before the app starts); a key changes the
:class:`~convcli.tui.state.Pointer`, which computes one position's trace, and the widgets redraw from
:mod:`convcli.tui.panels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.events import Click
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Footer, Static

from convcli.engine import LayerResult
from convcli.tui.blocks import Block
from convcli.tui.lines import Lines
from convcli.tui.panels import MapCells, MapLayout, MapPicture, map_layout, status_line, trace_view
from convcli.tui.state import Pointer

#: The keys the help screen explains, in its order: (keys, what they do).
HELP = [
    ("↑ ↓ ← →", "move the output position one heatmap cell (one position in the numbers view)"),
    ("shift + arrows", "move one output position"),
    ("click", "point at the output position under the mouse"),
    ("[  ]", "previous / next filter"),
    (",  .", "move the channel cursor (▶) in the trace"),
    ("space", "switch the channel under the cursor off (or on): the sum goes on without it"),
    ("1 … 9", "switch channel 1 … 9 off or on"),
    ("t", "numbers ⇄ heatmap"),
    ("p", "output ⇄ pre-activation"),
    ("?", "this help"),
    ("q", "quit"),
    ("ctrl+p", "the command palette"),
]


class HelpScreen(ModalScreen[None]):
    """The keys, in words; any of escape, ``?`` or ``q`` closes it."""

    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static { width: auto; max-width: 90%; height: auto; border: round $accent; padding: 0 1;
                          background: $surface; }
    """

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for keys, what in HELP:
            table.add_row(keys, what)
        table.add_row("", Text("The heatmap shows block means of the filter's map; the trace panel's numbers are "
                               "exact (the same as convcli run --trace ROW,COL).", style="dim"))
        yield Static(table, id="help")


class MapView(Widget):
    """The filter's map with the cursor, sized to the widget (:func:`~convcli.tui.panels.map_layout`).

    Drawn line by line (Textual's line API) from lines kept per filter, map and size: a move on the
    heatmap repaints the old and the new cursor lines only, not the whole map (:meth:`show`).
    """

    def __init__(self, pointer: Pointer, cells: MapCells) -> None:
        super().__init__(id="map")
        self.pointer, self.cells = pointer, cells
        self.placed: MapLayout | None = None
        self._strips: list[Strip] = []
        self._drawn: tuple[Any, ...] | None = None  # what the strips show: the key of the map, the cursor line
        self._cursor_line: int | None = None
        self._kept: dict[tuple[Any, ...], list[Strip]] = {}  # a heatmap's lines without the cursor, by _key

    def _key(self) -> tuple[Any, ...]:
        p = self.pointer
        # the theme too: the kept lines carry its colours
        return (p.filter, p.pre, p.numbers, self.size.width, self.size.height, self.app.theme) + \
            ((p.row, p.col) if p.numbers else ())

    def _draw(self) -> None:
        """Every line of the map as it is now, at the widget's content width. A heatmap's lines are kept
        per filter, map and size (without the cursor, drawn in afterwards): ``]`` and ``t`` back to a
        map seen before cost no drawing."""
        width, height = self.content_size
        key = self._key()
        self.placed = self._layout(width, height)
        kept = self._kept.get(key)
        if kept is None:
            console = self.app.console
            options = console.options.update(width=max(1, width), height=max(1, height))
            picture = MapPicture(self.pointer, self.placed, self.cells, cursor=False)
            base = self.rich_style
            kept = [Strip(line).apply_style(base).adjust_cell_length(width, base)
                    for line in console.render_lines(picture, options, pad=False)]
            if not self.pointer.numbers:
                self._kept[key] = kept
        self._strips = list(kept)
        self._drawn = key
        self._cursor_line = None
        self._put_cursor()

    def _layout(self, width: int, height: int) -> MapLayout:
        """:func:`~convcli.tui.panels.map_layout`'s, except that the numbers view keeps its window while the
        cursor moves inside it (as a pager scrolls), so that a move changes two lines, not every number;
        a cursor leaving it, or a new size, centres it again. The rows shown are those below the title and
        the column labels: the layout may hold a row more than the box shows (a centred cursor never is there)."""
        lay, old, p = map_layout(self.pointer, width, height), self.placed, self.pointer
        shown = min(lay.rows, height - 2)
        if (p.numbers and old is not None and old.per_line == 1 and old == replace(lay, r0=old.r0, c0=old.c0)
                and old.r0 <= p.row < old.r0 + shown and old.c0 <= p.col < old.c0 + old.cols):
            return old
        return lay

    def _put_cursor(self) -> None:
        """The cursor's heatmap line drawn with the cursor, the line it left without it; each refreshed."""
        lay, p = self.placed, self.pointer
        new = self._line_of_cursor()
        if lay is None or new is None:
            return
        width, base = self.content_size.width, self.rich_style
        cursor = (p.row // lay.k, p.col // lay.k)
        for y in {self._cursor_line, new} - {None}:
            assert y is not None
            line = self.cells.line(p, lay.k, y - lay.top, cursor if y == new else None)
            if 0 <= y < len(self._strips):
                self._strips[y] = Strip(line).apply_style(base).adjust_cell_length(width, base)
                self.refresh(Region(0, y, width, 1))
        self._cursor_line = new

    def _line_of_cursor(self) -> int | None:
        """The content line the heatmap's cursor cell is on (None in the numbers view)."""
        lay, p = self.placed, self.pointer
        if lay is None or p.numbers:
            return None
        return lay.top + (p.row // lay.k) // 2

    def show(self) -> None:
        """Repaint what the pointer's last change altered: the two cursor lines after a move on the heatmap,
        the lines that differ after a move within the numbers view's window, else the whole map."""
        if self._numbers_moved():
            return
        if self._drawn != self._key() or self.placed is None or self._cursor_line is None:
            self._drawn = None
            self.refresh()
            return
        self._put_cursor()

    def _numbers_moved(self) -> bool:
        """In the numbers view after a move that keeps its window: the map drawn again, and only the lines
        that differ (the cursor's old and new rows) kept and repainted. False (nothing done) otherwise."""
        drawn, key, placed = self._drawn, self._key(), self.placed
        if drawn is None or placed is None or not self.pointer.numbers or drawn[:-2] != key[:-2]:
            return False
        if self._layout(*self.content_size) != placed:  # the window scrolled: every line
            return False
        before = self._strips
        self._draw()
        if len(before) != len(self._strips):
            self.refresh()
            return True
        width = self.content_size.width
        for y, (old, new) in enumerate(zip(before, self._strips, strict=True)):
            if old == new:
                self._strips[y] = old
            else:
                self.refresh(Region(0, y, width, 1))
        return True

    def render_line(self, y: int) -> Strip:
        if self._drawn != self._key():
            self._draw()
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.content_size.width, self.rich_style)

    def on_resize(self) -> None:
        self._drawn = None
        self._kept.clear()

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)  # None on the padding
        where = self.placed.position(offset.x, offset.y) if self.placed is not None and offset is not None else None
        if where is not None and isinstance(self.app, ExploreApp):
            self.app.point_at(*where)


class ExploreApp(App[None]):
    """The explorer over ``result``: ``names`` its input channels' (``C``), ``name`` the input's (the
    status line's first word); it opens at ``filter`` and ``at`` (default: the output's centre)."""

    TITLE = "convcli explore"
    CSS = """
    #status { height: 1; padding: 0 1; }
    #body { height: 1fr; }
    #map { width: 1fr; height: 1fr; padding: 0 1; }
    #side { width: 1fr; min-width: 36; border-left: tall $primary-darken-2; padding: 0 1; }
    """
    BINDINGS = [
        Binding("up", "move(-1, 0)", "move", key_display="↑↓←→"),
        Binding("down", "move(1, 0)", "move", show=False),
        Binding("left", "move(0, -1)", "move", show=False),
        Binding("right", "move(0, 1)", "move", show=False),
        Binding("shift+up", "step(-1, 0)", "one position", show=False),
        Binding("shift+down", "step(1, 0)", "one position", show=False),
        Binding("shift+left", "step(0, -1)", "one position", show=False),
        Binding("shift+right", "step(0, 1)", "one position", show=False),
        Binding("left_square_bracket", "filter(-1)", "filter", key_display="[", show=False),
        Binding("right_square_bracket", "filter(1)", "filter", key_display="[ ]"),
        Binding("comma", "channel(-1)", "channel", show=False),
        Binding("full_stop", "channel(1)", "channel", key_display=", ."),
        Binding("space", "switch", "on/off"),
        *(Binding(str(n), f"switch({n - 1})", f"channel {n} on/off", show=False) for n in range(1, 10)),
        Binding("t", "numbers", "numbers/heatmap"),
        Binding("p", "pre", "output/pre-act"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, result: LayerResult, names: Sequence[str], name: str, *, filter: int = 0,  # noqa: A002
                 at: tuple[int, int] | None = None, emulated: Any = None) -> None:
        super().__init__()
        self.emulated = emulated  # pipeline.precision.Emulated with --precision: its panel under the trace
        self.pointer = Pointer(result, filter=filter)
        if at is None:
            self.pointer.centre()
        else:
            self.pointer.move_to(*at)
        self.names, self.input_name = tuple(names), name
        self.cells = MapCells()
        self.weights: dict[tuple[int, int, int], Block] = {}  # the trace's kernel slices as drawn

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Horizontal(id="body"):
            yield MapView(self.pointer, self.cells)
            # not focusable: the arrow keys move the position, never scroll the panel (the wheel does)
            with VerticalScroll(id="side", can_focus=False):
                yield Lines(id="trace")
        yield Footer()

    def on_mount(self) -> None:
        self.redraw()
        self.call_after_refresh(self._warm)

    def _warm(self) -> None:
        """Once the first frame is drawn, in a thread while the user looks: what a first key would wait
        for, each a pass over a map (on a 12 MP photo a tenth of a second or more): this filter's exact
        range for the numbers view (``t``), the other filters' heatmap cells (``]``), then each filter's
        pre-activation cells and range (``p``)."""
        placed = self.query_one(MapView).placed
        if placed is None or self.pointer.numbers:
            return
        k, result, cells, first = placed.k, self.pointer.result, self.cells, self.pointer.filter
        order = [first] + [f for f in range(result.layer.filters) if f != first]

        def warm() -> None:
            cells.scale(Pointer(result, filter=first))
            for f in order[1:]:
                cells.lines(Pointer(result, filter=f), k)
            for pre in (False, True):
                for f in order:
                    cells.lines(Pointer(result, filter=f, pre=pre), k)
                    cells.scale(Pointer(result, filter=f, pre=pre))

        self.run_worker(warm, thread=True, exit_on_error=False, name="warm the heatmaps")

    def redraw(self) -> None:
        """Show the pointer's state: the status line, the map (from kept lines) and the trace.

        Without a layout pass where nothing changes size (a pass measures and repaints every widget: it
        was most of a keypress): the status line is one line, the trace (:class:`~convcli.tui.lines.Lines`)
        lays out again only when its height changes, the map repaints its cursor lines only."""
        self.query_one("#status", Static).update(status_line(self.pointer, self.input_name), layout=False)
        self.query_one("#trace", Lines).update(self._side())
        self.query_one(MapView).show()

    def _side(self) -> Any:
        """The side panel: the pointer's trace, and with --precision the emulated sum at the same position."""
        trace = trace_view(self.pointer, self.names, self.weights)
        if self.emulated is None:
            return trace
        from rich.console import Group

        from convcli.present.precision import precision_window
        from convcli.render.precision import precision_panel

        p = self.pointer
        names = self.names if p.result.layer.groups == 1 else None
        return Group(trace, "", precision_panel(precision_window(self.emulated.emulation, p.filter, p.row, p.col, names)))

    def point_at(self, row: int, col: int) -> None:
        self.pointer.move_to(row, col)
        self.redraw()

    def _cell(self) -> int:
        """Positions per heatmap cell as last drawn (1 in the numbers view)."""
        placed = self.query_one(MapView).placed
        return 1 if placed is None or self.pointer.numbers else placed.k

    def action_move(self, rows: int, cols: int) -> None:
        k = self._cell()
        self.pointer.move(rows * k, cols * k)
        self.redraw()

    def action_step(self, rows: int, cols: int) -> None:
        self.pointer.move(rows, cols)
        self.redraw()

    def action_filter(self, step: int) -> None:
        self.pointer.switch_filter(step)
        self.redraw()

    def action_channel(self, step: int) -> None:
        self.pointer.move_channel(step)
        self.redraw()

    def action_switch(self, index: int | None = None) -> None:
        self.pointer.toggle(index)
        self.redraw()

    def action_numbers(self) -> None:
        self.pointer.numbers = not self.pointer.numbers
        self.redraw()

    def action_pre(self) -> None:
        self.pointer.pre = not self.pointer.pre
        self.redraw()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())
