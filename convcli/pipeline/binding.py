"""Option values as the one layer spec, bound to the data: every front end builds its layer here.

:func:`layer_spec` turns option values (``N`` or ``(N, M)``, padding as spelt) into a
:class:`~convcli.layer.spec.ConvSpec`; :func:`bound_layer` binds it to the input and kernel through
:func:`convcli.engine.bind`, which makes every check once (the spec's, then the arrays'), and words
the relations that the data decided (the input's channels, a kernel file's filters) as data errors.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from convcli.errors import ConfigError, ConvcliError, ShapeError
from convcli.pipeline.request import Axes, RequestError, as_axes

if TYPE_CHECKING:
    import numpy as np

    from convcli.engine import Layer
    from convcli.layer.spec import ConvSpec, LayerConfigError


def layer_spec(
    kind: str,
    in_channels: int,
    filters: int | None,
    kernel: Axes,
    *,
    stride: Axes = 1,
    dilation: Axes = 1,
    padding: str | Axes = "valid",
    groups: int = 1,
    depth_multiplier: int = 1,
    use_bias: bool = True,
    ndim: int = 2,
    padding_mode: str = "zeros",
    output_padding: Axes | None = None,
) -> ConvSpec:
    """The spec of the options' values: ``N`` means ``(N,) * ndim`` (``(N, N)`` in 2-D), padding ``P``
    means ``P`` on every axis."""
    from convcli.layer.spec import ConvSpec

    return ConvSpec(
        kind=kind,
        in_channels=in_channels,
        filters=filters,
        kernel=as_axes(kernel, ndim),
        stride=as_axes(stride, ndim),
        dilation=as_axes(dilation, ndim),
        padding=padding if isinstance(padding, str) else as_axes(padding, ndim),
        groups=groups,
        depth_multiplier=depth_multiplier,
        use_bias=use_bias,
        ndim=ndim,
        padding_mode=padding_mode,
        output_padding=None if output_padding is None else as_axes(output_padding, ndim),
    )


def bound_layer(spec: ConvSpec, x: np.ndarray, kernel: np.ndarray, *, dtype: str, input_name: str,
                kernel_name: str | None, channel_names: tuple[str, ...] | list[str],
                kernel_layout: str | None = None) -> Layer:
    """``engine.bind(spec, x, kernel)``, its errors worded with the files: ``x (H, W, C)``, ``kernel (kh, kw, C/g, F)``.

    ``spec.in_channels`` is the input's (``input_name``), ``spec.filters`` the kernel file's
    (``kernel_name``) or ``--filters`` (``kernel_name`` None): a relation that fails on a value the
    data gave is a data error (exit 1) naming the file. ``kernel_layout``: how the file was read
    (``keras`` or ``torch``); when the other reading would fit the input's channels, the error says
    to try it.
    """
    from convcli import engine
    from convcli.layer.spec import LayerConfigError

    try:
        return engine.bind(spec, x, kernel, dtype=dtype)
    except LayerConfigError as exc:
        raise _data_worded(exc, spec, input_name, kernel_name) from None
    except ShapeError as exc:
        if exc.field != "kernel_shape" or kernel_name is None:
            raise
        c, cg = spec.in_channels, int(kernel.shape[2])
        # "RGB" reads as three names; "c0c1c2" does not
        have = ("".join if all(len(n) == 1 for n in channel_names) else " ".join)(channel_names) \
            if c <= 4 else f"{c} channels"
        other = {"keras": "torch", "torch": "keras"}.get(kernel_layout or "")
        # the file as stored, read the other way: torch (F, C/g, kh, kw) of a keras-read file is
        # C/g = its axis 1; keras (kh, kw, C/g, F) of a torch-read one is its axis 2, here axis 0
        other_cg = int(kernel.shape[1] if kernel_layout == "keras" else kernel.shape[0])
        hint = f"; try --kernel-layout {other}" if other is not None and other_cg * spec.groups == c else ""
        raise ShapeError(
            f"{kernel_name}: the kernel {kernel.shape} (as kh, kw, C/g, F) expects {cg * spec.groups} input channels "
            f"but {input_name} has {c} ({have}){hint}"
        ) from None


def check_settings(spec: ConvSpec, *, filters_given: bool = True) -> None:
    """Before any data: the checks of ``spec`` whose values are all options (:class:`RequestError`).

    ``spec.in_channels`` is not known yet (it is the input's); pass ``groups`` for it, a count that
    every ``groups`` divides, so that only the settings the options gave can fail. Without
    ``filters_given`` (a kernel file gives them), their fit with ``groups`` is left to the binding.
    """
    from convcli.layer.spec import LayerConfigError, check_spec

    try:
        check_spec(spec)
    except LayerConfigError as exc:
        if exc.against == "filters" and not filters_given:
            return
        worded = _data_worded(exc, spec, "", None)
        raise RequestError(str(worded), field=exc.field) from None


def _data_worded(exc: LayerConfigError, spec: ConvSpec, input_name: str, kernel_name: str | None) -> ConvcliError:
    """A relation error worded with the file that gave one side (a data error), else ``exc`` itself."""
    g = spec.groups
    if exc.against == "in_channels":
        return ShapeError(f"--groups {g} does not divide the {spec.in_channels} input channels of {input_name}")
    if exc.against == "filters":
        if kernel_name is None:
            return ConfigError(f"--groups {g} does not divide --filters {spec.filters}")
        return ShapeError(f"--groups {g} does not divide the {spec.filters} filters of {kernel_name}")
    return exc


def bias_values(bias: object, key: str | None) -> np.ndarray | None:
    """A bias as ``--bias`` spells it (NUMBER, N1,N2,... or a FILE), or numbers: a 0-D or 1-D float64 array."""
    from convcli.sources import kernels

    if isinstance(bias, (str, os.PathLike)):
        return kernels.parse_bias(str(bias), key=key)
    import numpy as np

    return np.asarray(bias, dtype=np.float64)
