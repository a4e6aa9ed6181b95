"""A PyTorch-layout state dict (names → shapes) as layers: shared by ``.safetensors`` and ``.pt``.

A state dict holds arrays only: a module's ``weight`` of 4 dimensions is read as a conv's
``(F, C/g, kh, kw)`` (of 3 a ``Conv1d``'s ``(F, C/g, k)``, of 5 a ``Conv3d``'s ``(F, C/g, kd, kh, kw)``), of 2 as
a dense layer's ``(units, in)``, a module with ``running_mean`` as a
batch norm; everything else is listed as ``other`` with its arrays counted. Strides, padding,
dilation, groups, activations and the order of the graph are not in such a file: they are ``None``.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from math import prod

from convcli.layer.model import Listing, ModelLayer
from convcli.sources.models import bounds

NOTE = ("weights only: strides, padding, dilation, groups, activations and the graph are not in the file "
        "(null); conv kernels read as PyTorch (F, C/g, kh, kw), so the input channels of a grouped conv and "
        "a ConvTranspose's (C, F/g, kh, kw) cannot be told apart")
BUFFERS = ("num_batches_tracked",)


def layers(arrays: Iterable[tuple[str, tuple[int, ...]]]) -> tuple[list[ModelLayer], bool]:
    """The modules of a state dict in first-seen order; the flag says a counter buffer was skipped."""
    modules: dict[str, dict[str, tuple[int, ...]]] = {}
    skipped = False
    for key, shape in arrays:
        prefix, _, leaf = key.rpartition(".")
        if leaf in BUFFERS:
            skipped = True
            continue
        modules.setdefault(prefix or key, {})[leaf if prefix else key] = shape
    out = []
    for name, w in modules.items():
        total = sum(prod(s) for s in w.values())
        weight = w.get("weight")
        bias = "bias" in w
        if "running_mean" in w and "running_var" in w:
            c = w["running_mean"][0] if len(w["running_mean"]) == 1 else None
            trainable = total - prod(w["running_mean"]) - prod(w["running_var"])
            out.append(ModelLayer(name=name, kind="batchnorm", class_name="BatchNorm", in_channels=c, weights=w,
                                  params=total, trainable=trainable))
        elif weight is not None and 3 <= len(weight) <= 5 and set(w) <= {"weight", "bias"}:
            out.append(ModelLayer(name=name, kind="conv", class_name=f"Conv{len(weight) - 2}d",
                                  kernel=tuple(weight[2:]), filters=weight[0], use_bias=bias, weights=w,
                                  params=total, trainable=total))
        elif weight is not None and len(weight) == 2 and set(w) <= {"weight", "bias"}:
            out.append(ModelLayer(name=name, kind="dense", class_name="Linear", in_channels=weight[1],
                                  units=weight[0], use_bias=bias, weights=w, params=total, trainable=total))
        else:
            out.append(ModelLayer(name=name, kind="other", class_name="arrays", weights=w, params=total,
                                  trainable=total))
    return out, skipped


def tensor_key(module: str, leaf: str, keys: Container[str]) -> str | None:
    """The name of a listed module's array ``leaf`` (``weight``, ``bias``) among ``keys``, as
    :func:`layers` grouped them: ``<module>.<leaf>``, or a top-level name that is both."""
    key = f"{module}.{leaf}"
    if key in keys:
        return key
    return module if module == leaf and module in keys else None


def listing(model: str, fmt: str, arrays: Iterable[tuple[str, tuple[int, ...]]]) -> Listing:
    found, skipped = layers(arrays)
    for layer in found:
        bounds.check_layer(model, layer, "state_dict")
    notes = [NOTE]
    if skipped:
        notes.append("num_batches_tracked counters are buffers, not parameters: not counted")
    return Listing(model, fmt, tuple(found), tuple(notes), graph=False)
