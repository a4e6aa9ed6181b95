"""TEMPORARY shim for the merge: --save-maps moved to :mod:`convcli.figure.maps`."""

from convcli.figure.maps import *  # noqa: F403
