"""What ``verify`` asks every framework about a layer of any kind and rank (:mod:`convcli.verify.kinds`). numpy only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convcli.layer.spec import ConvSpec


@dataclass(frozen=True)
class KindProblem:
    """A layer of any kind and rank: ``x (*S, C)``, ``kernel`` in the kind's Keras layout (conv ``(*k, C/g, F)``,
    depthwise ``(*k, C, M)``), ``bias (F,)``; ``semantics`` the framework whose rules the user asked for."""

    spec: ConvSpec
    x: np.ndarray
    kernel: np.ndarray
    bias: np.ndarray
    semantics: str = "keras"

    @property
    def pad_width(self) -> tuple[tuple[int, int], ...]:
        """The pads ``((before, after), ...)`` per axis that the spec's padding means on this input."""
        return self.spec.geometry(self.x.shape[:-1]).pad_width

    def grouped_kernel(self) -> tuple[np.ndarray, int]:
        """The kernel as a grouped conv ``(*k, C/g, F)`` (a depthwise one: ``C`` groups of ``M``) and its groups."""
        shape, groups = self.spec.kind_obj.grouped(self.spec) or (self.kernel.shape, self.spec.groups)
        return self.kernel.reshape(shape), groups
