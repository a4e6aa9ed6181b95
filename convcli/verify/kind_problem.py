"""What ``verify`` asks every framework about a layer of any kind and rank (:mod:`convcli.verify.kinds`). numpy only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convcli.layer.geometry import TransposeGeometry
from convcli.layer.spec import ConvSpec


@dataclass(frozen=True)
class KindProblem:
    """A layer of any kind and rank: ``x (*S, C)``, ``kernel`` in the kind's Keras layout (conv ``(*k, C/g, F)``,
    depthwise ``(*k, C, M)``, transpose ``(*k, F/g, C)``, separable: its ``depthwise_kernel (*k, C, M)``),
    ``pointwise (1, …, 1, C·M, F)`` a separable layer's ``pointwise_kernel`` (else None), ``bias (F,)``;
    ``semantics`` the framework whose rules the user asked for."""

    spec: ConvSpec
    x: np.ndarray
    kernel: np.ndarray
    bias: np.ndarray
    semantics: str = "keras"
    pointwise: np.ndarray | None = None

    def transpose_geometry(self) -> TransposeGeometry:
        """A transposed layer's geometry on this input: where its kernel copies land, what it cuts per axis."""
        spec, n = self.spec, self.spec.ndim
        padding = (spec.padding,) * n if isinstance(spec.padding, str) else tuple(spec.padding)
        return TransposeGeometry.build(self.x.shape[:-1], spec.kernel, spec.stride, spec.dilation, padding,
                                       spec.output_padding)

    @property
    def pad_width(self) -> tuple[tuple[int, int], ...]:
        """The pads ``((before, after), ...)`` per axis that the spec's padding means on this input."""
        return self.spec.geometry(self.x.shape[:-1]).pad_width

    def grouped_kernel(self) -> tuple[np.ndarray, int]:
        """The kernel as a grouped conv ``(*k, C/g, F)`` (a depthwise one: ``C`` groups of ``M``) and its groups."""
        shape, groups = self.spec.kind_obj.grouped(self.spec) or (self.kernel.shape, self.spec.groups)
        return self.kernel.reshape(shape), groups
