"""The picture options of ``convcli run``: ``--theme``, ``--width``, ``--animate``, ``--frames`` and ``--fps``;
and of ``explain``, ``params`` and ``layers``: ``--theme`` and ``--width`` of their screen and --export.

They join a command's own parameters through :func:`takes_picture_options` (or
:func:`takes_screen_options`), and reach it as one :class:`Pictures`, so that the command's
signature and body stay short.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from convcli.cli.options import OUT_PANEL, SHOW_PANEL

#: ``--fps``'s default: slow enough to read each frame's numbers.
FPS = 2.0


class ThemeName(StrEnum):
    """``--theme``: the page around a --figure and an --export (the maps keep their colours)."""

    light = "light"
    dark = "dark"


ThemeOpt = Annotated[ThemeName, typer.Option(
    "--theme", help="light or dark page for the --figure, the --animate frames and an .svg/.html --export "
    "(light, for slides and paper, by default).", rich_help_panel=OUT_PANEL)]
ScreenThemeOpt = Annotated[ThemeName, typer.Option(
    "--theme", help="light or dark page for an .svg/.html --export (light, for slides and paper, by default).",
    rich_help_panel=OUT_PANEL)]
WidthOpt = Annotated[int | None, typer.Option(
    "--width", metavar="COLUMNS", min=40, max=1000, help="Width of the screen and of its --export, in columns "
    "(default: the terminal's).", rich_help_panel=SHOW_PANEL, show_default=False)]
AnimateOpt = Annotated[Path | None, typer.Option(
    "--animate", help="Write an animation of the window sliding over the output (every position of a small "
    "one, else a path along the middle row) to this .gif, .webp, .png (animated) or .mp4 (with the mp4 "
    "extra).", rich_help_panel=OUT_PANEL,
    show_default=False)]
FramesOpt = Annotated[int | None, typer.Option(
    "--frames", metavar="N", min=1, max=2000, help="How many positions --animate shows (default: every position up to 64, "
    "else 60 along a path).", rich_help_panel=OUT_PANEL, show_default=False)]
FpsOpt = Annotated[float, typer.Option("--fps", metavar="F", min=0.1, max=50.0, help="Frames a second of --animate.",
                                       rich_help_panel=OUT_PANEL)]


@dataclass(frozen=True)
class Pictures:
    """What ``--theme``, ``--width``, ``--animate``, ``--frames`` and ``--fps`` asked for."""

    theme: str = ThemeName.light.value
    width: int | None = None
    animate: Path | None = None
    frames: int | None = None
    fps: float = FPS


NO_PICTURES = Pictures()

_OPTIONS: list[tuple[str, Any, Any]] = [
    ("theme", ThemeOpt, ThemeName.light),
    ("width", WidthOpt, None),
    ("animate", AnimateOpt, None),
    ("frames", FramesOpt, None),
    ("fps", FpsOpt, FPS),
]


#: the options of a command that prints one screen: its --export's page and its width
_SCREEN_OPTIONS: list[tuple[str, Any, Any]] = [
    ("theme", ScreenThemeOpt, ThemeName.light),
    ("width", WidthOpt, None),
]


def takes_picture_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command(..., pictures: Pictures)`` as a command whose parameters end with the picture options."""
    return _taking(command, _OPTIONS)


def takes_screen_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command(..., pictures: Pictures)`` as a command whose parameters end with ``--theme`` and
    ``--width`` (of its screen and its --export; the other fields of ``pictures`` keep their defaults)."""
    return _taking(command, _SCREEN_OPTIONS)


def _taking(command: Callable[..., None], options: list[tuple[str, Any, Any]]) -> Callable[..., None]:
    params = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "pictures"]
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
             for name, annotation, default in options]

    @functools.wraps(command)
    def with_pictures(*args: Any, **values: Any) -> None:
        own = {name: values.pop(name) for name, _, _ in options if name in values}
        if "theme" in own:
            own["theme"] = ThemeName(own["theme"]).value
        command(*args, **values, pictures=Pictures(**own))

    with_pictures.__signature__ = inspect.Signature([*params, *extra], return_annotation=None)  # type: ignore[attr-defined]
    with_pictures.__annotations__ = {p.name: p.annotation for p in (*params, *extra)}
    return with_pictures
