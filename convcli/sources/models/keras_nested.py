"""What a nested Keras model's listing cannot show in place: a model called more than once (a shared
backbone) and a model with several outputs. Its layers are listed once, on its first call, and the
layers after it read its first output; :func:`calls_note` says so in the listing's notes, and
``run --layer backbone/conv`` computes the layer's input on that first call, as the listing shows it
(:func:`convcli.sources.models.keras_run.layer_input`)."""

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
        parts.append(f"it has {len(outputs)} outputs: the layers after it are listed as reading the first, "
                     f"{shown(outputs[0])!r}")
    return f" ({'; '.join(parts)})" if parts else ""
