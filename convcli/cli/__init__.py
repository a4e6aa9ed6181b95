"""The command line: parse -> load -> compute -> render -> print.

``convcli = "convcli.cli:app"``: the app is built in :mod:`convcli.cli.app` and each command module
registers its command on it when imported here. Errors map to exit codes in one place (app.py);
numpy, Pillow and rich's heavier modules are imported inside the commands, for start-up time.
"""

# in the order --help lists them
from convcli.cli import run, params, layers, explain, verify  # noqa: F401, I001  (each registers its command)
from convcli.cli.app import FLAGS, app

# TEMPORARY shim for the merge: what the old convcli/cli.py offered (tests take app, LayerOptions,
# Activation, Init, _import_lean_rich_utils, FLAGS). Not re-exported: the command functions run,
# params, explain and verify, whose names are now the modules'.
import sys  # noqa: E402, F401, I001
from convcli.cli.app import _DEBUG, _OneLineErrors, _fail, _version, main  # noqa: E402, F401
from convcli.cli.layer import FLIP_NOTE, BuiltLayer, _ensure_fits, _nonfinite, _warn_overflow, build_layer  # noqa: E402, F401
from convcli.cli.options import (  # noqa: E402, F401
    Activation, DType, Init, Kind, KernelLayout, Lang, LayerOptions, Layout, ParsedLayer, Semantics, View, _ints,
    as_hw, parse_filter_list, parse_input_size, parse_layer, parse_padding, parse_pair, parse_position,
)
from convcli.cli.output import EXPORT_SUFFIXES, _export, _Progress, _screen  # noqa: E402, F401
from convcli.cli.startup import (  # noqa: E402, F401
    ClickException as _ClickException, HEAVY_RICH as _HEAVY_RICH, UsageError as _UsageError, _StandIn,
    import_lean_rich_utils as _import_lean_rich_utils, no_hugepage_advice as _no_hugepage_advice,
)

__all__ = ["FLAGS", "Activation", "Init", "LayerOptions", "_Progress", "_import_lean_rich_utils", "app"]
