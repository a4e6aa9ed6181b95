"""TEMPORARY shim for the merge: ``convcli verify``'s renderables moved to :mod:`convcli.render.verify`."""

# TEMPORARY shim for the merge
from convcli.render.verify import *  # noqa: F403
from convcli.render.verify import AGREES, DIFFERS, REFUSES, diff_text, header, how, summary, table  # noqa: F401
