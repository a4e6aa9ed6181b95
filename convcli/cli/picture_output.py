"""What ``convcli run`` writes of its pictures: the --figure in its format and theme, and the --animate file."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcli.cli.picture_options import Pictures

if TYPE_CHECKING:
    from convcli.engine import LayerResult


def check_animation(pictures: Pictures, *, force: bool, inputs: Sequence[Path],
                    others: Sequence[Path | None]) -> Pictures:
    """``--animate``'s target checked as every other (never an input, nor another output of the run); an
    MP4 only where imageio-ffmpeg (the ``mp4`` extra) is installed."""
    import typer

    from convcli.files import targets
    from convcli.files.writers import ANIMATION_FORMATS

    assert pictures.animate is not None
    target = targets.check_target(pictures.animate, force=force, inputs=inputs, suffix=list(ANIMATION_FORMATS))
    if target.suffix.lower() == ".mp4":
        from convcli.errors import ConfigError
        from convcli.files.writers import MP4_EXTRA, mp4_available
        from convcli.text import shown

        if not mp4_available():  # before anything is computed
            raise ConfigError(f"--animate {shown(target)}: MP4 needs the mp4 extra: {MP4_EXTRA}")
    if any(o is not None and Path(o).resolve() == target.resolve() for o in others):
        raise typer.BadParameter(f"--animate {target} is also another output of this run; give it a name of its own")
    return replace(pictures, animate=target)


def write_figure(result: LayerResult, filters: Sequence[int], names: Sequence[str], title: str, target: Path,
                 width: int | None, pictures: Pictures, *, force: bool, inputs: Sequence[Path],
                 trace_at: tuple[int, int] | None = None, field: tuple[Any, Any, str] | None = None,
                 spec: Any = None, built: Any = None) -> None:
    """``--figure``: each panel from block sums at the size it is drawn, never a photo's partial maps whole;
    ``trace_at`` (``--trace``): that position's window marked on every panel; ``field``: the picture, the
    receptive field and its heading of a deep --model layer's traced position (:func:`receptive_field`);
    ``spec``: the layer as asked, when not the classic Conv2D (its kind and axes title the figure);
    ``built`` (a BuiltLayer): a 3-D layer's depth slice titles the figure with the whole layer and its plane."""
    from convcli.figure.budget import FIGURE_MAX_PANEL
    from convcli.figure.export import save_figure
    from convcli.figure.plan import plan_figure
    from convcli.figure.theme import THEMES
    from convcli.figure.title import DepthSlice

    whole, plane = getattr(built, "whole", None), getattr(built, "plane", None)
    depth = DepthSlice(whole, plane) if whole is not None and plane is not None else None
    plan = plan_figure(result, filters, names, title=title, max_panel=FIGURE_MAX_PANEL, width=width, trace_at=trace_at,
                       spec=spec, depth=depth)
    if field is not None:
        from convcli.figure.field import with_field

        plan = with_field(plan, *field)
    save_figure(plan, target, THEMES[pictures.theme], force=force, inputs=inputs)


def write_animation(result: LayerResult, f: int, names: Sequence[str], title: str, pictures: Pictures, *,
                    force: bool, inputs: Sequence[Path], built: Any = None) -> None:
    """``--animate``: filter ``f``'s window sliding over the output; by kind (``built``, a BuiltLayer): a
    transposed layer's input positions scattering their scaled kernels, a 1-D layer's window along the signal."""
    from convcli.figure.animate import choose_positions, iter_frames
    from convcli.figure.theme import THEMES
    from convcli.files.writers import save_animation

    assert pictures.animate is not None
    theme = THEMES[pictures.theme]
    from convcli.engine.transpose import TransposeLayer

    own = getattr(built, "own", None)
    if isinstance(own, TransposeLayer) and own.ndim <= 2:
        from convcli.figure.animate_transpose import iter_scatter_frames, scatter_positions

        frames: Iterator[Any] = iter_scatter_frames(own, result, f, names, scatter_positions(own, pictures.frames),
                                                    theme=theme, title=title)
    elif built is not None and built.ndim == 1:
        from convcli.figure.animate_1d import iter_frames_1d

        positions = choose_positions(result.layer.geometry.out_hw, pictures.frames)
        frames = iter_frames_1d(result, f, names, positions, theme=theme, title=title)
    else:
        positions = choose_positions(result.layer.geometry.out_hw, pictures.frames)
        frames = iter_frames(result, f, names, positions, theme=theme, title=title)
    save_animation((frame.image for frame in frames), pictures.animate, fps=pictures.fps, force=force, inputs=inputs)


def dominant_panel(run: Any, f: int) -> Any:
    """``--view dominant``: filter ``f``'s dominant-channel map for the screen (``run``: a run_output.Shown)."""
    from convcli.render.dominant import DominantPanel

    return DominantPanel(run.result, f, run.built.loaded.channel_names)


def dominant_json(run: Any) -> list[dict[str, Any]]:
    """``--view dominant`` in ``--json``: each shown filter's map at full resolution up to 256×256
    positions, else as block means of the fewest positions that fit (``block``)."""
    from convcli.present.dominant import dominant_json as as_json
    from convcli.present.dominant import dominant_map
    from convcli.present.maps import ResultMaps, block_factor

    k = block_factor(run.result.layer.geometry.out_hw, JSON_MAP, JSON_MAP)
    sources = ResultMaps(run.result, "mean")
    return [as_json(dominant_map(run.result, f, run.built.loaded.channel_names, k, sources)) for f in run.detail]


#: the most rows and columns of a dominant-channel map in --json
JSON_MAP = 256


def receptive_field(run: Any) -> tuple[Any, Any, str] | None:
    """``--trace`` on a ``--model`` layer that ran from the image (``run``: a run_output.Shown): the model's
    input picture, the traced position's :class:`~convcli.layer.field.Field` on it and the panel's heading;
    None for any other run, and where the layers' geometry cannot place it (a crop or resize it does not know,
    a flatten)."""
    model = run.built.model
    if run.trace_at is None or model is None or run.built.ndim != 2:
        return None
    by = str(model.get("input"))
    # the model ran from the image up to the layer, or the layer reads the image itself (not an array given as its input)
    if "→ the input of" not in by and (by != "image" or any("is taken as the input" in n for n in run.built.notes)):
        return None
    from convcli.cli.options import parse_layer
    from convcli.errors import ConvcliError
    from convcli.layer.field import field_at
    from convcli.layer.model import analyse
    from convcli.pipeline.build import load
    from convcli.sources.models import read_model
    from convcli.text import shown

    picture = load(parse_layer(run.opts)).array
    listing = read_model(str(model["file"]))
    if not listing.graph:  # weights only: nothing says what ran before the layer
        return None
    try:
        analysis = analyse(listing, picture.shape)
    except ConvcliError:  # the walk cannot follow this model on this input: no panel, the figure stands
        return None
    field = field_at(analysis, str(model["layer"]), run.trace_at, _step_as_run(run, analysis.layers[int(model["index"])]))
    if field is None:
        return None
    r, c = run.trace_at
    return picture, field, f"receptive field on the image: output ({r}, {c}) of {shown(str(model['layer']))!r}"


def _step_as_run(run: Any, numbers: Any) -> Any:
    """The traced layer's step back as run (its options may override the file's): a transposed layer's
    spread, a conv's window; None (the file's) where its input was padded before it (``run``: a
    run_output.Shown, ``numbers``: the layer's LayerNumbers)."""
    from convcli.engine.transpose import TransposeLayer
    from convcli.layer.field import Spread, Window

    if numbers.in_shape is None:
        return None
    own = run.built.own
    if isinstance(own, TransposeLayer):
        t = own.geometry
        if own.ndim != 2 or tuple(own.x.shape[:2]) != tuple(numbers.in_shape[:2]):
            return None
        k, s, d, n = ((int(v[0]), int(v[1])) for v in (t.kernel, t.strides, t.dilations, t.in_size))
        return Spread(k, s, d, (t.crops[0][0], t.crops[1][0]), n)
    g, x = run.built.layer.geometry, run.built.layer.x
    if tuple(x.shape[:2]) != tuple(numbers.in_shape[:2]):
        return None
    return Window(g.kernel_hw, g.stride, g.dilation, (g.pads[0], g.pads[2]))
