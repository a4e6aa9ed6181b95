"""No import cycle between convcli's modules, and no ``_private`` name imported from another module.

Every module of ``convcli/`` is parsed with :mod:`ast` (never imported), and every import in it is
read: at module level and inside functions, ``import a.b`` and ``from a import b``, relative ones
resolved against the module's package. An import names the module it executes: ``from a.b import c``
is ``a.b.c`` where that is a module, else ``a.b``; the parent packages Python runs on the way are
not counted (a package's ``__init__`` importing its own modules is how a package is made). Imports
under ``if TYPE_CHECKING:`` count too: they never run, but two modules that need each other's types
are one idea cut in two, or two ideas tangled (the cycle is reported as type-only).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "convcli"


@dataclass(frozen=True)
class Import:
    """One import in ``module`` (at ``line``): the module it runs and the names it takes from it."""

    module: str
    line: int
    target: str
    names: tuple[str, ...]  # what `from target import ...` takes; () for `import target`
    runtime: bool  # False under `if TYPE_CHECKING:`


def sources(root: Path = ROOT / PACKAGE) -> dict[str, tuple[str, bool, str]]:
    """Every module of the package: its dotted name -> (source, whether it is a package's ``__init__``, its path)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts.pop()
        found[".".join(parts)] = (path.read_text(encoding="utf-8"), package, str(path.relative_to(ROOT)))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(tree: ast.AST, runtime: bool = True):
    """Every import node under ``tree``, with whether it runs (not under ``if TYPE_CHECKING:``)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, runtime
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from _walk(ast.Module(body=[child], type_ignores=[]), False)
            for child in node.orelse:
                yield from _walk(ast.Module(body=[child], type_ignores=[]), runtime)
        else:
            yield from _walk(node, runtime)


def imports(module: str, source: str, package: bool, modules: set[str]) -> list[Import]:
    """The imports of ``module`` that reach the package's own ``modules``."""
    found = []
    here = module.split(".") if package else module.split(".")[:-1]
    for node, runtime in _walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, node.lineno, a.name, (), runtime) for a in node.names
                      if a.name.split(".")[0] == PACKAGE]
            continue
        base = node.module or ""
        if node.level:  # relative: from the module's package, one level up per dot beyond the first
            anchor = here[: len(here) - (node.level - 1)]
            base = ".".join([*anchor, *([base] if base else [])])
        if base.split(".")[0] != PACKAGE:
            continue
        names = tuple(a.name for a in node.names)
        submodules = [n for n in names if f"{base}.{n}" in modules]
        found += [Import(module, node.lineno, f"{base}.{n}", (), runtime) for n in submodules]
        rest = tuple(n for n in names if n not in submodules)
        if rest or not submodules:
            found.append(Import(module, node.lineno, base, rest, runtime))
    return found


def every_import(found: dict[str, tuple[str, bool, str]]) -> list[Import]:
    names = set(found)
    return [i for m, (src, package, _) in found.items() for i in imports(m, src, package, names)]


def cycles(edges: list[Import]) -> list[list[str]]:
    """Each group of modules that import each other (:func:`groups`), as a shortest cycle through
    its first module: ``[a, b, c, a]``."""
    graph = _graph(edges)
    return [_cycle_through(sorted(g)[0], g, graph) for g in groups(edges)]


def _graph(edges: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.target != e.module:
            graph.setdefault(e.module, set()).add(e.target)
    return graph


def groups(edges: list[Import]) -> list[set[str]]:
    """The modules that reach each other through imports: Tarjan's strongly connected components
    of more than one module."""
    graph = _graph(edges)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:  # recursive: the package's import chains are short
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _cycle_through(start: str, group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest way from ``start`` back to it inside ``group`` (breadth first)."""
    came: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph.get(v, set()) & group):
                if w == start:
                    path = [v]
                    while (back := came[path[-1]]) is not None:
                        path.append(back)
                    return [*reversed(path), start]
                if w not in came:
                    came[w] = v
                    following.append(w)
        frontier = following
    return sorted(group)  # not reached: a strongly connected group holds a cycle through each member


def private_imports(edges: list[Import]) -> list[Import]:
    """``from convcli.x import _name`` in a module other than ``convcli.x`` (dunder names are public)."""
    return [e for e in edges if e.target != e.module
            and any(n.startswith("_") and not n.startswith("__") for n in e.names)]


def _circle(cycle: list[str], edges: list[Import]) -> str:
    """``a -> b -> a``, and ``(type-only)`` where a step of it runs only under ``TYPE_CHECKING``."""
    steps = set(zip(cycle, cycle[1:], strict=False))
    runs = {(e.module, e.target) for e in edges if e.runtime}
    return " -> ".join(cycle) + ("" if steps <= runs else " (type-only)")


def _where(e: Import, found: dict[str, tuple[str, bool, str]]) -> str:
    private = ", ".join(n for n in e.names if n.startswith("_") and not n.startswith("__"))
    return f"{found[e.module][2]}:{e.line}: from {e.target} import {private}"


# ------------------------------------------------------------------------------------------------
# the package


def test_no_import_cycle_between_convcli_modules():
    found = sources()
    edges = every_import(found)
    circles = cycles(edges)
    tangled = [g - set(c) for g, c in zip(groups(edges), circles, strict=True)]
    assert circles == [], "import cycles:\n" + "\n".join(
        _circle(c, edges) + (f"; in the same tangle: {', '.join(sorted(t))}" if t else "")
        for c, t in zip(circles, tangled, strict=True))


def test_no_private_name_is_imported_from_another_module():
    found = sources()
    taken = private_imports(every_import(found))
    assert taken == [], "private names imported across modules:\n" + "\n".join(_where(e, found) for e in taken)


def test_every_module_of_the_package_is_read():
    found = sources()
    assert {"convcli", "convcli.cli", "convcli.cli.verify", "convcli.verify.adapters"} <= set(found)
    assert all(m == PACKAGE or m.startswith(PACKAGE + ".") for m in found)


# ------------------------------------------------------------------------------------------------
# the checker, on planted sources


def _planted(modules: dict[str, str]) -> dict[str, tuple[str, bool, str]]:
    """Sources given as strings: a name ending in ``/`` is a package's ``__init__``."""
    return {m.rstrip("/"): (src, m.endswith("/"), m.rstrip("/")) for m, src in modules.items()}


def test_the_checker_finds_a_cycle_through_a_function_level_and_a_relative_import():
    found = _planted({
        "convcli/": "",
        "convcli.a": "from convcli import b\n",
        "convcli.b": "def f():\n    from . import c\n",
        "convcli.c": "import convcli.a\n",
        "convcli.d": "from convcli.a import thing\n",  # into the circle, not part of it
    })
    assert cycles(every_import(found)) == [["convcli.a", "convcli.b", "convcli.c", "convcli.a"]]


def test_the_checker_leaves_parent_packages_out_of_cycles_and_counts_type_checking_imports():
    found = _planted({
        "convcli/": "",
        "convcli.p/": "from convcli.p import m\n",  # a package importing its module
        "convcli.p.m": "import convcli.q.n\n",  # runs convcli.q's __init__ on the way: not counted
        "convcli.q/": "from convcli.p.m import thing\n",
        "convcli.q.n": "",
    })
    assert cycles(every_import(found)) == []
    found["convcli.q.n"] = ("import typing\nif typing.TYPE_CHECKING:\n    from convcli.p import m\n", False, "n")
    edges = every_import(found)
    assert cycles(edges) == [["convcli.p.m", "convcli.q.n", "convcli.p.m"]]
    assert _circle(cycles(edges)[0], edges).endswith("(type-only)")


def test_the_checker_finds_a_private_name_taken_from_another_module_only():
    found = _planted({
        "convcli/": "__version__ = '1'\n",
        "convcli.x/": "from convcli.x import _own\nfrom .y import _helper, public\n",
        "convcli.x.y": "_helper = public = 1\n",
        "convcli.z": "from convcli import __version__\nfrom .x.y import public\n"
                     "def f():\n    from convcli.x.y import _helper\n",
    })
    taken = private_imports(every_import(found))
    assert [(e.module, e.line, e.target) for e in taken] == [("convcli.x", 2, "convcli.x.y"),
                                                              ("convcli.z", 4, "convcli.x.y")]
