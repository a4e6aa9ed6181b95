"""TEMPORARY shim for the merge: kernels and biases live in :mod:`convcli.sources.kernels` now."""

# TEMPORARY shim for the merge
from convcli.sources.kernels import (
    INIT_CHOICES,
    PRESETS,
    TEXT_SUFFIXES,
    glorot_uniform,
    load_array,
    load_kernel,
    make_kernel,
    parse_bias,
    to_keras_layout,
)

__all__ = [
    "INIT_CHOICES", "PRESETS", "TEXT_SUFFIXES", "glorot_uniform", "load_array", "load_kernel", "make_kernel",
    "parse_bias", "to_keras_layout",
]  # fmt: skip
