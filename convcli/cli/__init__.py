"""The command line: parse -> load -> compute -> render -> print.

``convcli = "convcli.cli:main"`` (:func:`main`: the app, then :func:`leave`): the app is built in :mod:`convcli.cli.app` and each command module
registers its command on it when imported here. Errors map to exit codes in one place (app.py, with
``FLAGS``, the flag of each library field); numpy, Pillow and rich's heavier modules are imported
inside the commands, for start-up time.
"""

# in the order --help lists them
from convcli.cli import run, params, layers, explain, verify, report, explore  # noqa: F401, I001  (each registers its command)
from convcli.cli.app import app
from convcli.cli.exits import leave, main

__all__ = ["app", "leave", "main"]
