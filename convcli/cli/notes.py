"""What ``run`` and ``verify`` say about the layer the pipeline built: notes under the header, warnings on stderr.

The pipeline returns them as data (:class:`convcli.pipeline.built.BuiltLayer`); here they are
written, and a request the pipeline refuses becomes a usage error.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

from convcli.cli.app import usage_errors, warn
from convcli.pipeline.built import BuiltLayer

if TYPE_CHECKING:
    from convcli.cli.options import LayerOptions
    from convcli.engine import LayerResult
    from convcli.pipeline.request import Request


class WarnedLayer(BuiltLayer):
    """A built layer whose warnings the CLI writes when every check that can fail before computing has passed."""

    def warn(self) -> None:
        """Write the warnings, one ``Warning:`` line each on stderr."""
        for line in self.warnings:
            warn(line)


def build_layer(opts: LayerOptions, request: Request) -> WarnedLayer:
    """The pipeline's layer for ``request`` (parsed from ``opts``); data errors exit 1, usage errors 2."""
    from convcli.pipeline import build
    from convcli.settings import SETTINGS

    SETTINGS.dtype = request.dtype  # the out-of-memory advice suggests float32 only when it is not
    with usage_errors():
        built = build.build_layer(request)
    return WarnedLayer(**{f.name: getattr(built, f.name) for f in fields(built)})


def print_notes(console: Any, built: BuiltLayer, *_: object) -> None:
    """Under the header, dim: the built layer's notes (--flip, a --model layer's input, what options override).

    Extra arguments are ignored: the --flip note is one of the notes.
    """
    from rich.text import Text

    for note in built.notes:
        console.print(Text(note, style="dim"))  # names from the file: never markup


def warn_overflow(result: LayerResult, *, with_stats: bool = False) -> None:
    """One warning line when finite inputs gave ±Inf or NaN results (:func:`convcli.pipeline.run.overflow_warning`)."""
    from convcli.pipeline.run import overflow_warning

    line = overflow_warning(result, with_stats=with_stats)
    if line is not None:
        warn(line)
