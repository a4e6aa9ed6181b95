"""A 3-D layer shown one depth slice at a time: output plane ``d`` as the 2-D layer that computes it.

The views, traces and heatmaps are 2-D; a Conv3D's output plane ``d`` is a 2-D conv of the ``kd``
input planes its kernel reads, each plane's channels a channel of their own
(:func:`convcli.engine.depth_slice`), so every 2-D view shows it honestly: the trace is the whole 3-D
window, the partial sums per (plane, channel). The archive (``--save``) holds the whole 3-D run
(``built.whole``).
"""

from __future__ import annotations

from dataclasses import replace

from convcli.errors import ConfigError
from convcli.pipeline.built import BuiltLayer


def middle(built: BuiltLayer) -> int:
    """The default plane: the middle of the output's depth."""
    return int(built.layer.geometry.out_size[0]) // 2


def depth_slice(built: BuiltLayer, d: int | None) -> BuiltLayer:
    """``built`` (a 3-D layer) as its output plane ``d`` (``None``: the middle), the whole layer kept in
    ``whole``; a :class:`ConfigError` (field ``depth_at``) for a plane outside the output."""
    from convcli import engine

    whole = built.layer
    planes_out = whole.geometry.out_size[0]
    d = middle(built) if d is None else d
    if not 0 <= d < planes_out:
        raise ConfigError(f"{{field}} {d} is outside the output's {planes_out} planes (0..{planes_out - 1})",
                          field="depth_at")
    layer, planes = engine.depth_slice(whole, d)
    names = built.loaded.channel_names
    cg, groups = whole.cg, whole.groups
    depth = whole.x.shape[0]
    slice_names = tuple(f"z{p}·{names[g * cg + c]}" for g in range(groups) for p in planes for c in range(cg))
    padded = [p for p in planes if not 0 <= p < depth]
    note = (f"depth slice {d} of the output's {planes_out} planes (--depth-at): it reads input planes "
            f"{', '.join(map(str, planes))}, shown as channels z<plane>·<channel>"
            + (f" (planes {', '.join(map(str, padded))} are zero padding)" if padded else ""))
    return replace(built, layer=layer, whole=whole, loaded=replace(built.loaded, channel_names=slice_names),
                   notes=(*built.notes, note), plane=d)


def shown_plane(built: BuiltLayer) -> int:
    """The output plane a depth slice shows."""
    if built.plane is None:
        raise ValueError("not a depth slice")
    return built.plane
