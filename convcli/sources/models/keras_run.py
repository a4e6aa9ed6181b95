"""The Keras side of computing a model layer's input (:mod:`convcli.sources.models.upstream`): Keras 3's
layer classes that read the configs Keras 2 wrote, and the step into nested models along a layer's path."""

from __future__ import annotations

from typing import Any

import numpy as np

from convcli.errors import LoadError
from convcli.sources.models.sizes import Fits, keras_fits
from convcli.text import shown


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, escaped and cut to 200 characters."""
    lines = str(exc).strip().splitlines()
    return shown(lines[0])[:200] if lines else type(exc).__name__


def keras2_layers(keras: Any) -> dict[str, Any]:
    """Keras 3's depthwise and separable layers, taking the ``groups: 1`` Keras 2 (tf_keras) wrote in
    their configs (Keras 3 refuses the word; a depthwise or separable layer has no groups)."""

    def taking_groups(base: Any) -> Any:
        class Keras2(base):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, groups: Any = 1, **kwargs: Any) -> None:
                if groups != 1:
                    raise ValueError(f"a {base.__name__} has no groups; the config says {groups!r}")
                super().__init__(*args, **kwargs)

        Keras2.__name__ = base.__name__
        return Keras2

    return {cls: taking_groups(getattr(keras.layers, cls)) for cls in ("DepthwiseConv2D", "SeparableConv2D")}


def layer_input(keras: Any, model: Any, name: str, layer_name: str, x: np.ndarray, fits: Fits | None) -> np.ndarray:
    """The input of layer ``layer_name`` (a path ``backbone/conv1`` for a nested model's layer) as Keras
    computes it from ``x (H, W, C)``, batch first; ``fits`` sees every activation's size before Keras makes it."""
    y = x[None].astype(np.float32)
    parts = layer_name.split("/")  # a nested model's layer: its path (Keras names hold no '/')
    for depth in range(len(parts)):
        try:
            target = model.get_layer(parts[depth])
            if depth < len(parts) - 1:  # the nested model's input as the enclosing model feeds it
                nodes = getattr(target, "_inbound_nodes", None) or []
                tensor = list(nodes[0].input_tensors) if nodes else target.input
                tensor = tensor[0] if isinstance(tensor, list) and len(tensor) == 1 else tensor
            else:
                tensor = target.input
        except (ValueError, AttributeError, IndexError) as exc:
            raise LoadError(f"{name}: Keras gives no single input for layer {shown(layer_name)!r} "
                            f"({first_line(exc)})") from None
        if isinstance(tensor, (list, tuple, dict)):
            raise LoadError(f"{name}: layer {shown('/'.join(parts[:depth + 1]))!r} reads {len(tensor)} tensors "
                            "(a merge); convcli explores a layer with one input")
        if fits is not None:  # every activation on the way, before Keras makes one
            keras_fits(keras, model.inputs[0], tensor, y[0], fits)
        try:
            y = np.asarray(keras.Model(model.inputs[0], tensor).predict_on_batch(y))
        except Exception as exc:  # noqa: BLE001 - Keras' error on running the graph, in one line
            if isinstance(exc, (KeyboardInterrupt, MemoryError)):
                raise
            raise LoadError(f"{name}: Keras cannot compute the input of {shown(layer_name)!r} "
                            f"({first_line(exc)})") from None
        if depth < len(parts) - 1:
            model = target
            if len(list(getattr(model, "inputs", None) or [])) != 1:
                raise LoadError(f"{name}: the nested model {shown('/'.join(parts[:depth + 1]))!r} has "
                                "several inputs; convcli feeds one")
    return y
