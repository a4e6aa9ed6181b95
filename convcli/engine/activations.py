"""Activations, by their Keras names, applied element-wise in the input's dtype. numpy only."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convcli.errors import ConfigError

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of -|z| never overflows, and for z < 0 the form e / (1 + e) keeps the relative precision
    # of tiny results (sigmoid(-40) ≈ 4.2e-18) that 0.5·(1 + tanh(z/2)) rounds to 0
    e = np.exp(-np.abs(z))
    out: np.ndarray = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return out


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "relu6": lambda z: np.clip(z, 0, 6),
    "leaky_relu": lambda z: np.where(z >= 0, z, z * z.dtype.type(0.2)),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "selu": lambda z: z.dtype.type(_SELU_SCALE)
    * np.where(z > 0, z, z.dtype.type(_SELU_ALPHA) * np.expm1(np.minimum(z, 0))),
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda z: np.clip(z + 3, 0, 6) / z.dtype.type(6),
    "tanh": np.tanh,
    "softplus": lambda z: np.logaddexp(z.dtype.type(0), z),
    "softsign": lambda z: z / (1 + np.abs(z)),
    "silu": lambda z: z * _sigmoid(z),
    "exponential": np.exp,
}
ACTIVATIONS["swish"] = ACTIVATIONS["silu"]

#: What each activation computes, for help texts and headers.
ACTIVATION_FORMULAS = {
    "linear": "z",
    "relu": "max(z, 0)",
    "relu6": "min(max(z, 0), 6)",
    "leaky_relu": "z if z ≥ 0 else 0.2·z",
    "elu": "z if z > 0 else exp(z) − 1",
    "selu": "1.0507·(z if z > 0 else 1.6733·(exp(z) − 1))",
    "sigmoid": "1 / (1 + exp(−z))",
    "hard_sigmoid": "relu6(z + 3) / 6",
    "tanh": "tanh(z)",
    "softplus": "log(1 + exp(z))",
    "softsign": "z / (1 + |z|)",
    "silu": "z · sigmoid(z)",
    "swish": "z · sigmoid(z)",
    "exponential": "exp(z)",
}


def activation_fn(name: str) -> Callable[[np.ndarray], np.ndarray]:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ConfigError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}") from None


def activate(z: np.ndarray, name: str) -> np.ndarray:
    """Apply the Keras activation ``name`` element-wise; the dtype of ``z`` is kept."""
    fn = activation_fn(name)
    z = np.asarray(z)
    with np.errstate(over="ignore"):
        return np.asarray(fn(z), dtype=z.dtype)
