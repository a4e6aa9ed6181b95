"""convcli.cli.startup: each start-up trick still matches the Typer it works around.

The tricks only save time, so at run time a failed one is silent (the command still works, slower).
These tests are where they fail loudly: when a Typer upgrade changes what a trick relies on, a test
here says which trick is now obsolete or broken. Each check that depends on import state runs in a
fresh interpreter, since this test process has long imported everything.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import typer

from convcli.cli import startup

ROOT = Path(__file__).resolve().parents[1]


def python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_typer_vendors_click_and_raises_its_exceptions():
    """app.py catches typer._click's exceptions: they must be the ones Typer raises."""
    assert issubclass(typer.BadParameter, startup.UsageError)
    assert issubclass(startup.UsageError, startup.ClickException)
    assert startup.ClickException.__module__ == "typer._click.exceptions"


def module_level_imports(module: str) -> dict[str, set[str]]:
    """``{imported module: names}`` of the ``from X import names`` at the top level of ``module``'s source."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            found.setdefault(node.module, set()).update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                found.setdefault(a.name, set())
    return found


def test_typer_rich_utils_still_imports_markdown_and_traceback_at_its_top():
    """The stand-ins replace exactly what typer.rich_utils takes from rich.markdown and rich.traceback."""
    imports = module_level_imports("typer.rich_utils")
    taken = {module: imports.get(module) for module in startup.HEAVY_RICH}
    assert taken == {module: {name} for module, name in startup.HEAVY_RICH.items()}, (
        "typer.rich_utils no longer imports exactly rich.markdown.Markdown and rich.traceback.Traceback at its "
        f"top ({taken}): the stand-ins of convcli.cli.startup.import_lean_rich_utils are obsolete or incomplete"
    )


def test_lean_rich_utils_imports_typers_rich_utils_without_markdown_or_traceback():
    out = python("""
import sys
from convcli.cli.startup import import_lean_rich_utils
print(import_lean_rich_utils())
print("typer.rich_utils" in sys.modules, "rich.markdown" in sys.modules, "rich.traceback" in sys.modules)
import typer.rich_utils as ru
print(type(ru.Markdown).__name__, type(ru.Traceback).__name__)
print(import_lean_rich_utils())  # a second call has nothing to do
""")
    assert out.split("\n")[:4] == ["True", "True False False", "_StandIn _StandIn", "False"], (
        f"the stand-in trick failed with this Typer:\n{out}"
    )


HELP_ON_PLAIN_TYPER = """
import sys
import typer
from typer.core import TyperGroup
{patch}
app = typer.Typer(cls=Group, add_completion=False)  # as convcli: its options would import pydantic too

@app.command()
def first(n: int = 1) -> None: ...

@app.command()
def second(n: int = 1) -> None: ...

try:
    app(["first", "--help"])
except SystemExit:
    pass
print("--pydantic--", "pydantic" in sys.modules)
"""


def test_a_groups_help_option_still_costs_pydantic_and_lean_help_option_avoids_it():
    """Typer coerces the group's --help default None through pydantic; lean_help_option makes it False."""
    plain = python(HELP_ON_PLAIN_TYPER.format(patch="Group = TyperGroup"))
    assert plain.endswith("--pydantic-- True\n"), (
        "a plain Typer group's --help no longer imports pydantic: convcli.cli.startup.lean_help_option is obsolete"
    )
    lean = python(HELP_ON_PLAIN_TYPER.format(patch="""
from convcli.cli.startup import lean_help_option
class Group(TyperGroup):
    def get_help_option(self, ctx):
        return lean_help_option(super().get_help_option(ctx))
"""))
    assert lean.endswith("--pydantic-- False\n"), lean
    assert "Usage:" in lean
