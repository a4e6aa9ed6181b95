"""Where a command's screen goes: the console, its --export, and the progress bar on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

#: What --export can write, by extension: rich's recording of the screen.
EXPORT_SUFFIXES = (".svg", ".html", ".txt")



def export_target(export: Path | None, *, force: bool, json_: bool = False,
                  inputs: Sequence[Path] = ()) -> Path | None:
    """The checked ``--export`` target of a command, or None: the same rules for every command."""
    if export is None:
        return None
    if json_:
        import typer

        raise typer.BadParameter("--export records the tables; it cannot be combined with --json")
    from convcli.files import targets

    return targets.check_target(export, force=force, inputs=inputs, suffix=EXPORT_SUFFIXES)

def screen_console(export: Path | None, width: int | None = None) -> Console:
    """The console a command prints to; it records when the screen is to be exported.

    An .svg or .html export is a picture of the screen a person would see: it is recorded in
    truecolor whatever stdout is (a pipe, a file, ``NO_COLOR``), while what reaches a stdout that
    is not a terminal stays plain. Then a second console, of the screen's width, renders every
    print in colour for the recording only (:func:`export_screen` reads it). ``width``: the
    screen's columns (``--width``; default the terminal's).
    """
    from rich.console import Console

    screen = Console(highlight=False, record=export is not None, width=width)
    if export is None or export.suffix.lower() not in (".svg", ".html"):
        return screen
    if screen.color_system == "truecolor" and not screen.no_color:
        return screen
    import io

    recorder = Console(highlight=False, record=True, file=io.StringIO(), width=screen.width,
                       color_system="truecolor", force_terminal=True, no_color=False)
    plain_print = screen.print

    def print_both(*objects: Any, **kwargs: Any) -> None:
        plain_print(*objects, **kwargs)
        recorder.print(*objects, **kwargs)

    screen.print = print_both  # type: ignore[method-assign]
    screen.record = False
    screen._colour_recorder = recorder  # type: ignore[attr-defined]
    return screen


def show(renderables: Sequence[Any], export: Path | None, title: str, *, force: bool, width: int | None = None,
         theme: str = "light") -> None:
    """Print a command's screen ``width`` columns wide (``--width``; default the terminal's), then write
    it to ``export`` (checked by :func:`export_target`) if given, on a ``theme`` page."""
    console = screen_console(export, width=width)
    for renderable in renderables:
        console.print(renderable)
    export_screen(console, export, title, force=force, theme=theme)


def export_screen(console: Console, target: Path | None, title: str, *, force: bool = True,
            inputs: Sequence[Path] = (), theme: str = "light") -> None:
    """Write what ``console`` printed to ``target`` (checked earlier with :func:`targets.check_target`).

    ``force=False``: refuse a file that appeared at ``target`` since (``atomic.atomic_write``).
    ``theme``: ``light`` (rich's default terminal theme: white page, for slides and paper) or
    ``dark`` (rich's SVG export theme) for an .svg or .html export.
    """
    if target is None:
        return
    from convcli.files import atomic

    suffix = target.suffix.lower()
    console = getattr(console, "_colour_recorder", console)
    from rich.terminal_theme import DEFAULT_TERMINAL_THEME, SVG_EXPORT_THEME

    terminal_theme = SVG_EXPORT_THEME if theme == "dark" else DEFAULT_TERMINAL_THEME
    if suffix == ".svg":
        text = console.export_svg(title=title, clear=False, theme=terminal_theme)
    elif suffix == ".html":
        text = console.export_html(inline_styles=True, clear=False, theme=terminal_theme)
    else:
        text = console.export_text(clear=False)
    atomic.atomic_write(target, lambda fh: fh.write(text.encode("utf-8")), force=force, inputs=inputs)
    # on stderr, so that the exported file and stdout hold the same text
    from convcli.text import shown

    note(f"exported the screen to {shown(target)}", style="dim")


def note(text: str, style: str = "") -> None:
    """One line about a file written ("saved ...", "exported ..."): on stderr, so that stdout holds
    only the screen or the JSON. ``text`` is the user's (paths): never markup."""
    from rich.console import Console
    from rich.text import Text

    Console(highlight=False, stderr=True).print(Text(text, style=style))


class Bars:
    """Progress bars on stderr, one per task name (``verify``: one per framework), that appear only
    once the work has taken about a second, and only on a terminal.

    Called with a task's name and its fraction done (0 to 1); the bars are in the order of each
    task's first call, even a call before they appear.
    """

    DELAY = 1.0

    def __init__(self, enabled: bool, *, name_width: int = 14) -> None:
        import time

        self._clock = time.monotonic
        self._start = self._clock()
        self._enabled = enabled and sys.stderr.isatty()
        self._label = f"{{task.description:<{name_width}}}" if name_width else "{task.description}"
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._early: dict[str, float] = {}  # before the bars appear: each task's latest fraction, in order

    def __call__(self, name: str, fraction: float) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            self._early[name] = fraction
            if self._clock() - self._start < self.DELAY:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn(self._label), BarColumn(), TaskProgressColumn(),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._bar.start()
            for early, done in self._early.items():
                self._tasks[early] = self._bar.add_task(early, total=1.0, completed=done)
        if name not in self._tasks:
            self._tasks[name] = self._bar.add_task(name, total=1.0)
        self._bar.update(self._tasks[name], completed=fraction)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class ProgressBar(Bars):
    """One bar (``run``'s convolving): called with the fraction done (0 to 1)."""

    def __init__(self, description: str, enabled: bool) -> None:
        super().__init__(enabled, name_width=0)
        self._description = description

    def __call__(self, fraction: float) -> None:  # type: ignore[override]
        super().__call__(self._description, fraction)
