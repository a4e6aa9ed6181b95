"""The start-up tricks that keep ``convcli --help`` fast, in one place.

Each works around something in the installed Typer; ``tests/cli/test_cli_startup.py`` checks that Typer
still does what each trick expects, so that a Typer upgrade that makes one obsolete or broken fails a
test instead of silently costing start-up time.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

# Typer vendors click as typer._click (no click to import); its exceptions are the ones raised.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

__all__ = ["ClickException", "NoArgsIsHelpError", "UsageError", "import_lean_rich_utils", "lean_help_option", "no_hugepage_advice"]

# typer.rich_utils, which draws every --help, imports rich.markdown (markdown-it) and rich.traceback
# (pygments) at its top for markup_mode="markdown" and for pretty tracebacks: over half the import time
# of --help, for two classes convcli's help never renders (rich-click made the same import lazy,
# ewels/rich-click#260). It gets stand-ins that import the real class on first use instead.
HEAVY_RICH = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


class _StandIn(type):
    """A class standing in for a rich class: calling it or reading an attribute imports the real one."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(cls.__module__), cls.__name__)(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        return getattr(getattr(import_module(cls.__module__), cls.__name__), name)


def import_lean_rich_utils() -> bool:
    """Import typer.rich_utils with stand-ins for the Markdown and Traceback it imports; see HEAVY_RICH.

    True when typer.rich_utils was imported with the stand-ins now; False when there was nothing to do
    (already imported, or rich.markdown/rich.traceback already are) or when the trick failed. A failure
    costs only start-up time, so it does not stop the command (the real modules are imported later);
    tests/cli/test_cli_startup.py fails on it instead.
    """
    if "typer.rich_utils" in sys.modules or not HEAVY_RICH.keys().isdisjoint(sys.modules):
        return False
    from types import ModuleType

    for module, name in HEAVY_RICH.items():
        sys.modules[module] = stub = ModuleType(module)
        setattr(stub, name, _StandIn(name, (), {"__module__": module}))
    try:
        import_module("typer.rich_utils")
    except Exception:  # a Typer whose rich_utils needs more of them: see tests/cli/test_cli_startup.py
        return False
    finally:
        for module in HEAVY_RICH:
            del sys.modules[module]
    return True


def lean_help_option(option: Any) -> Any:
    """A command's ``--help`` option (from ``get_help_option``) that does not import pydantic.

    Typer coerces every non-bool parameter value through pydantic, and the group's --help is None
    when not given, so `convcli run --help` imported pydantic (~70 ms) for nothing; False means the
    same (no help) and is passed through as a bool.
    """
    if option is not None and option.default is None:
        option.default = False
    return option


def no_hugepage_advice() -> None:
    """Ask numpy (imported later, by the commands) not to advise huge pages for its big arrays.

    Where the kernel honours that advice only by compacting memory first (``transparent_hugepage``
    ``defrag=madvise``), each fresh large array stalls: on the development VM a fresh 144 MB array
    took 0.37-0.45 s with the advice and 0.06-0.09 s without, and ``run`` on a 12 MP photo went from
    2.0 to 1.4 s (``benchmarks/README.md``). ``NUMPY_MADVISE_HUGEPAGE=1`` in the environment wins.
    """
    import os

    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
