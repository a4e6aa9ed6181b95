"""The comparison behind ``convcli verify``: moved to :mod:`convcli.verify.compare`."""

# TEMPORARY shim for the merge
from convcli.verify.compare import *  # noqa: F403
from convcli.verify.compare import FACTOR, Comparison, compare, magnitude, rtol_for, terms, tolerance_text  # noqa: F401
