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


def shown_layer(built: WarnedLayer, depth: int | None) -> WarnedLayer:
    """The layer the views show: a 3-D layer's plane ``depth`` (:func:`convcli.pipeline.depth.depth_slice`)."""
    if built.ndim != 3:
        return built
    from convcli.pipeline.depth import depth_slice

    with usage_errors():
        return WarnedLayer(**vars(depth_slice(built, depth)))


def view_layer(opts: LayerOptions, request: Request, at: str | None,
               depth_at: int | None) -> tuple[WarnedLayer, tuple[int, int] | None]:
    """The layer a view points at (``report``, ``explore``), and ``--at`` as its ``(row, col)``.

    Every kind and rank ``run`` shows, as ``run`` shows it: a 1-D layer is its one row (``--at I`` is
    ``(0, I)``), a 3-D layer the output plane ``--at D,ROW,COL`` or ``--depth-at`` chooses (default: the
    middle one), a transposed or separable layer the ordinary conv that computes it.
    """
    import typer

    from convcli.cli.parsing import parse_position_nd

    whole = build_layer(opts, request)
    if depth_at is not None and whole.ndim != 3:
        raise typer.BadParameter(f"--depth-at chooses a plane of a 3-D layer; this layer is {whole.ndim}-D")
    at_v = parse_position_nd(at, "--at", whole.ndim) if at else None
    if at_v is not None and whole.ndim == 3:
        if depth_at is not None and depth_at != at_v[0]:
            raise typer.BadParameter(f"--at and --depth-at choose different planes ({at_v[0]}, {depth_at})")
        depth_at = at_v[0]
    rowcol = None if at_v is None else (0, at_v[0]) if whole.ndim == 1 else (at_v[-2], at_v[-1])
    return shown_layer(whole, depth_at), rowcol


def view_label(name: str, built: BuiltLayer) -> str:
    """The input's ``name`` and, for a layer of another kind or rank, what a view shows of it:
    ``signal.npy · Conv1D (one row)``, ``vol.npy · Conv3D plane 2 of 5``, ``photo.png · Conv2DTranspose``."""
    spec = built.spec
    if spec is None:
        return name
    if spec.ndim == 1:
        return f"{name} · {spec.keras_name} (one row)"
    if spec.ndim == 3:
        from convcli.pipeline.depth import shown_plane

        in_size = built.loaded.array.shape[:-1]
        out = spec.kind_obj.out_size(spec, in_size) if spec.kind_obj.transposed else spec.geometry(in_size).out_size
        planes = out[0]
        return f"{name} · {spec.keras_name} plane {shown_plane(built)} of {planes}"
    return f"{name} · {spec.keras_name}"
