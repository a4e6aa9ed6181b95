"""A nested Keras model's calls and outputs. Called more than once (a shared backbone), its layers are
listed once, on its first call (:func:`calls_note` says so, and ``run --layer backbone/conv`` computes
the layer's input on that first call: :func:`convcli.sources.models.keras_run.layer_input`). With
several outputs, each layer after it reads the output it names: an inbound ``[layer, node, tensor]``
of tensor ``t > 0`` is kept as :func:`output_name` and resolved to that output's layer
(:func:`output_aliases`, :func:`resolve`)."""

from __future__ import annotations

from typing import Any

from convcli.text import shown


def calls_note(inbound_nodes: Any, outputs: list[str]) -> str:
    """The part of a nested model's note that says which call (of its config's ``inbound_nodes``, one a
    call) and which output the listing follows (``""`` for one call and one output)."""
    calls = len(inbound_nodes) if isinstance(inbound_nodes, list) else 0
    parts = []
    if calls > 1:
        parts.append(f"it is called {calls} times: its layers are listed, and run, on its first call's input")
    if len(outputs) > 1:
        parts.append(f"it has {len(outputs)} outputs ({', '.join(repr(shown(o)) for o in outputs)}): each layer "
                     "after it reads the one its config names")
    return f" ({'; '.join(parts)})" if parts else ""


#: Between a layer's name and the index of the output another layer reads, when not its first.
OUTPUT = "\x00"


def output_name(name: str, tensor: object) -> str:
    """``name``, or ``name`` and ``tensor`` joined by :data:`OUTPUT` when it reads output ``tensor > 0``."""
    if isinstance(tensor, int) and not isinstance(tensor, bool) and tensor > 0:
        return f"{name}{OUTPUT}{tensor}"
    return name


def output_aliases(full: str, outputs: list[str]) -> dict[str, str]:
    """A nested model ``full``'s outputs past the first, by :func:`output_name`: the layer each one is."""
    return {output_name(full, i): f"{full}/{o}" for i, o in enumerate(outputs) if i > 0}


def resolve(name: str, alias: dict[str, str], limit: int) -> str:
    """The listed layer ``name`` stands for: through ``alias`` (a nested model, its input, its outputs);
    another output of a layer that is not a nested model is that layer."""
    for _ in range(limit):
        if name in alias:
            name = alias[name]
        elif OUTPUT in name:
            name = name.split(OUTPUT)[0]
        else:
            return name
    return name.split(OUTPUT)[0]
