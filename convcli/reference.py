"""convcli's second, einsum implementation: moved to :mod:`convcli.verify.reference`."""

# TEMPORARY shim for the merge
from convcli.verify.reference import *  # noqa: F403
from convcli.verify.reference import BLOCK_VALUES, einsum_conv2d  # noqa: F401
