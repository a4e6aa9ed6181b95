"""The command line: parse -> load -> compute -> render -> print.

``convcli = "convcli.cli:app"``: the app is built in :mod:`convcli.cli.app` and each command module
registers its command on it when imported here. Errors map to exit codes in one place (app.py);
numpy, Pillow and rich's heavier modules are imported inside the commands, for start-up time.
"""

# in the order --help lists them
from convcli.cli import run, params, explain, verify  # noqa: F401, I001  (each registers its command)
from convcli.cli.app import FLAGS, app

# TEMPORARY shim for the merge: what tests (and other code) took from the old convcli/cli.py.
import sys  # noqa: E402, F401, I001  (tests/test_cli_pictures.py patched cli.sys.stderr)
from convcli.cli.options import Activation, Init, LayerOptions  # noqa: E402
from convcli.cli.output import _Progress  # noqa: E402
from convcli.cli.startup import import_lean_rich_utils as _import_lean_rich_utils  # noqa: E402

__all__ = ["FLAGS", "Activation", "Init", "LayerOptions", "_Progress", "_import_lean_rich_utils", "app"]
