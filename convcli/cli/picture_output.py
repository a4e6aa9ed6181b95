"""What ``convcli run`` writes of its pictures: the --figure in its format and theme, and the --animate file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcli.cli.picture_options import Pictures

if TYPE_CHECKING:
    from convcli.engine import LayerResult


def check_animation(pictures: Pictures, *, force: bool, inputs: Sequence[Path],
                    others: Sequence[Path | None]) -> Pictures:
    """``--animate``'s target checked as every other (never an input, nor another output of the run)."""
    import typer

    from convcli.files import targets
    from convcli.files.writers import ANIMATION_FORMATS

    assert pictures.animate is not None
    target = targets.check_target(pictures.animate, force=force, inputs=inputs, suffix=list(ANIMATION_FORMATS))
    if any(o is not None and Path(o).resolve() == target.resolve() for o in others):
        raise typer.BadParameter(f"--animate {target} is also another output of this run; give it a name of its own")
    return replace(pictures, animate=target)


def write_figure(result: LayerResult, filters: Sequence[int], names: Sequence[str], title: str, target: Path,
                 width: int | None, pictures: Pictures, *, force: bool, inputs: Sequence[Path],
                 trace_at: tuple[int, int] | None = None) -> None:
    """``--figure``: each panel from block sums at the size it is drawn, never a photo's partial maps whole;
    ``trace_at`` (``--trace``): that position's window marked on every panel."""
    from convcli.figure.budget import FIGURE_MAX_PANEL
    from convcli.figure.export import save_figure
    from convcli.figure.plan import plan_figure
    from convcli.figure.theme import THEMES

    plan = plan_figure(result, filters, names, title=title, max_panel=FIGURE_MAX_PANEL, width=width, trace_at=trace_at)
    save_figure(plan, target, THEMES[pictures.theme], force=force, inputs=inputs)


def write_animation(result: LayerResult, f: int, names: Sequence[str], title: str, pictures: Pictures, *,
                    force: bool, inputs: Sequence[Path]) -> None:
    """``--animate``: filter ``f``'s window sliding over the output."""
    from convcli.figure.animate import choose_positions, iter_frames
    from convcli.figure.theme import THEMES
    from convcli.files.writers import save_animation

    assert pictures.animate is not None
    positions = choose_positions(result.layer.geometry.out_hw, pictures.frames)
    frames = iter_frames(result, f, names, positions, theme=THEMES[pictures.theme], title=title)
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
