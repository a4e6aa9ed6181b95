"""ONNX local functions (``ModelProto.functions``) and control-flow bodies: the nodes inside them.

The dynamo exporter, onnxscript and ``torch.onnx.export(..., export_modules_as_functions=True)``
write a module as a local function and each use of it as a node calling it. :func:`inline` replaces
every call by the function's nodes with onnx's own inliner (``onnx.inliner.inline_local_functions``)
and names each inlined node by its path, as nested Keras layers are named: the calling node's name,
then the inner node's (``block1/conv``; ``outer/block1/conv`` for a call inside a function). A Conv
in a function called twice is two layers, its weights counted once per call.

Before the inliner (C++: a recursion in the file would never end, a deep nesting would overflow its
stack) the calls are checked here without recursion: a function that calls itself (directly or
through others), calls nested deeper than :data:`MAX_DEPTH`, more than :data:`MAX_NODES` nodes once
inlined, or a function without a domain (it would stand for a standard operator) are refused with
one line.

:func:`control_flow` yields the Conv nodes inside ``If``/``Loop``/``Scan`` bodies (and deeper), named
``If_3/then_branch/conv``: listed (:func:`body_layers`), their weights read (:func:`find`), never run
(their input depends on the control flow: :func:`owner` names the node that holds one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from math import prod
from typing import Any

from convcli.errors import LoadError
from convcli.layer.model import ModelLayer
from convcli.sources.models import bounds, onnx_consts
from convcli.text import shown

#: Calls nested deeper than this are refused (exporters nest one call per module level).
MAX_DEPTH = 64
#: The most nodes a graph may hold once its functions are inlined.
MAX_NODES = 200_000
#: The ops whose nodes are listed from inside a control-flow body.
CONVS = ("Conv", "ConvTranspose")

_Key = tuple[str, str, str]


def _key(node: Any) -> _Key:
    return node.domain, node.op_type, getattr(node, "overload", "")


def _fkey(fn: Any) -> _Key:
    return fn.domain, fn.name, getattr(fn, "overload", "")


def _subgraphs(node: Any) -> Iterator[tuple[str, Any]]:
    """A node's graph attributes (an If's branches, a Loop's or Scan's body) by attribute name."""
    for a in node.attribute:
        if a.HasField("g"):
            yield a.name, a.g
        for j, g in enumerate(a.graphs):
            yield f"{a.name}[{j}]", g


def _all_nodes(nodes: Any) -> Iterator[Any]:
    """``nodes`` and every node inside their subgraphs, at any depth (without recursion)."""
    stack = [iter(nodes)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        yield node
        stack.extend(iter(g.node) for _, g in _subgraphs(node))


def calls_functions(model: Any) -> bool:
    """Whether a node of the graph (or of a subgraph) calls one of the model's local functions."""
    if not len(model.functions):
        return False
    keys = {_fkey(fn) for fn in model.functions}
    return any(_key(n) in keys for n in _all_nodes(model.graph.node))


def _check(name: str, model: Any) -> dict[_Key, Any]:
    """The functions by key, checked: a domain each, no cycle of calls, the depth and the size bounded."""
    functions: dict[_Key, Any] = {}
    for fn in model.functions:
        if not fn.domain:
            raise LoadError(f"{name}: ONNX function {shown(fn.name)!r} has no domain (a function must have one; "
                            "without it, it stands for a standard operator): refused")
        key = _fkey(fn)
        if key in functions:
            raise LoadError(f"{name}: ONNX function {shown(fn.domain)}:{shown(fn.name)} is defined twice: refused")
        functions[key] = fn
    callees: dict[_Key, list[_Key]] = {}  # only of the functions the graph reaches, found on the way

    def called(key: _Key) -> list[_Key]:
        if key not in callees:
            callees[key] = [_key(n) for n in _all_nodes(functions[key].node)]
        return callees[key]

    # size: the nodes a function is once inlined (post-order, on a stack as deep as the calls nest)
    size: dict[_Key, int] = {}
    for root in dict.fromkeys(k for k in (_key(n) for n in _all_nodes(model.graph.node)) if k in functions):
        if root in size:
            continue
        stack: list[tuple[_Key, int]] = [(root, 0)]
        on_path = {root}
        while stack:
            key, at = stack[-1]
            nexts = called(key)
            if at < len(nexts):
                stack[-1] = (key, at + 1)
                callee = nexts[at]
                if callee not in functions or callee in size:
                    continue
                if callee in on_path:
                    raise LoadError(f"{name}: ONNX function {shown(callee[0])}:{shown(callee[1])} calls itself "
                                    "(through its own nodes or another function's): a recursion, refused")
                if len(stack) >= MAX_DEPTH:
                    raise LoadError(f"{name}: ONNX functions call each other more than {MAX_DEPTH} deep: refused")
                stack.append((callee, 0))
                on_path.add(callee)
                continue
            stack.pop()
            on_path.discard(key)
            calls = [c for c in nexts if c in functions]
            size[key] = len(nexts) - len(calls) + sum(size[c] for c in calls)
            if size[key] > MAX_NODES:
                raise LoadError(f"{name}: an ONNX function holds more than {MAX_NODES:,} nodes once its calls are "
                                "inlined: refused")
    total = sum(size.get(_key(n), 1) for n in _all_nodes(model.graph.node))
    if total > MAX_NODES:
        raise LoadError(f"{name}: the graph holds more than {MAX_NODES:,} nodes once its ONNX functions are "
                        f"inlined ({total:,}): refused")
    return functions


def _path_names(nodes: Any, functions: dict[_Key, Any]) -> list[tuple[str, str]]:
    """``(path name, op_type)`` of each node the inliner leaves of ``nodes``, in its order: a call
    expanded to its function's nodes (their calls too), each named ``call/inner``."""
    out: list[tuple[str, str]] = []
    stack: list[tuple[str, Iterator[tuple[int, Any]]]] = [("", iter(enumerate(nodes)))]
    while stack:
        prefix, it = stack[-1]
        item = next(it, None)
        if item is None:
            stack.pop()
            continue
        i, node = item
        own = f"{prefix}{node.name or f'{node.op_type}_{i}'}"
        fn = functions.get(_key(node))
        if fn is None:
            out.append((own, node.op_type))
        else:
            stack.append((f"{own}/", iter(enumerate(fn.node))))
    return out


def inline(name: str, model: Any) -> Any:
    """The model with its local functions inlined (onnx's inliner), each inlined node of the main
    graph named by its path; the model itself where no node calls a function."""
    if not calls_functions(model):
        return model
    functions = _check(name, model)
    try:
        import onnx.inliner
    except ImportError:
        raise LoadError(f"{name}: the model calls ONNX functions; inlining them needs onnx 1.16 or later "
                        "(pip install -U onnx)") from None
    try:
        inlined = onnx.inliner.inline_local_functions(model)
    except Exception as exc:  # noqa: BLE001 - the inliner's refusal, in one line
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LoadError(f"{name}: its ONNX functions cannot be inlined ({shown(first)[:160]})") from None
    names = _path_names(model.graph.node, functions)
    ops = [op for _, op in names]
    if ops != [n.op_type for n in inlined.graph.node]:
        raise LoadError(f"{name}: its ONNX functions inline to nodes convcli cannot name (a call that does not fit "
                        "its function?): refused")
    for node, (path, _) in zip(inlined.graph.node, names, strict=True):
        node.name = path
    return inlined


def control_flow(nodes: list[tuple[str, Any]]) -> Iterator[tuple[str, str, Any, list[Any]]]:
    """For each listed ``(layer name, node)``, the Conv nodes inside its control-flow bodies at any depth:
    ``(path name, the listed node's layer name, the Conv node, the initializers of the bodies around it)``."""
    for lname, node in nodes:
        stack: list[tuple[str, Iterator[tuple[str, Any]], list[Any]]] = [(lname, _subgraphs(node), [])]
        while stack:
            prefix, it, inits = stack[-1]
            item = next(it, None)
            if item is None:
                stack.pop()
                continue
            attr, g = item
            here = [*inits, *g.initializer]
            for i, inner in enumerate(g.node):
                path = f"{prefix}/{attr}/{inner.name or f'{inner.op_type}_{i}'}"
                if inner.op_type in CONVS:
                    yield path, lname, inner, here
                if any(True for _ in _subgraphs(inner)):
                    stack.append((path, _subgraphs(inner), here))


def constant_tensor(graph: Any, out: str, onnx: Any) -> Any:
    """The tensor of the ``Constant`` node (its ``value`` attribute) that makes ``out``, named ``out``; None if none."""
    for node in graph.node:
        if node.op_type == "Constant" and list(node.output) == [out]:
            attr = next((a for a in node.attribute if a.name == "value" and a.HasField("t")), None)
            if attr is None:
                return None
            tensor = onnx.TensorProto()
            tensor.CopyFrom(attr.t)
            tensor.name = out
            return tensor
    return None


def owner(listed: list[tuple[str, Any]], layer: str) -> str | None:
    """The listed node (If, Loop, Scan) whose body holds the Conv ``layer``; None where none does."""
    return next((own for path, own, _, _ in control_flow(listed) if path == layer), None)


def body_layers(name: str, lname: str, node: Any, dims: dict[str, tuple[int, ...]], counts: onnx_consts.Counts,
                counted: set[str], build: Callable[[Any, str, dict[str, tuple[int, ...]], dict[str, str]], ModelLayer]
                ) -> list[ModelLayer]:
    """The Convs inside ``node``'s control-flow bodies (If, Loop, Scan), named by their path, each built by
    ``build(node, path, dims, producers)`` (the listing's own): each reads ``node`` (its input depends on
    the control flow) and the initializers of the graph and its bodies, counted as the graph's are."""
    out: list[ModelLayer] = []
    for path, _, inner, inits in control_flow([(lname, node)]):
        known = {**dims, **{t.name: tuple(int(d) for d in t.dims) for t in inits}}
        for t in inits:  # a body's own weights count as the graph's do
            if t.data_type in onnx_consts.FLOAT_TYPES:
                counts.floats.setdefault(t.name, prod(int(d) for d in t.dims))
        reads = {x: lname for x in inner.input if x and x not in known}
        with node_errors(name, path, inner.op_type):
            layer = counts.counted(build(inner, path, known, reads), inner, counted)
        bounds.check_layer(name, layer, "onnx")
        out.append(layer)
    return out


def find(graph: Any, listed: list[tuple[str, Any]], layer: str) -> tuple[Any, dict[str, Any]]:
    """The node of the listed ``layer`` (also a Conv inside a control-flow body) or None, and the
    initializers it may read by name (the graph's, and those of the bodies around it)."""
    inits: dict[str, Any] = {t.name: t for t in graph.initializer}
    node = next((n for lname, n in listed if lname == layer), None)
    if node is None:
        inner = next(((n, here) for path, _, n, here in control_flow(listed) if path == layer), None)
        if inner is not None:
            node = inner[0]
            inits |= {t.name: t for t in inner[1]}
    return node, inits


def check_names(name: str, graph: Any) -> None:
    """Refuse a graph (its functions inlined) with a name that is not text: protobuf hands a string
    field that is not UTF-8 back as bytes, which no name of a listing may be."""
    names = [*(t.name for t in graph.initializer), *(v.name for v in graph.input), *(v.name for v in graph.output)]
    for node in graph.node:
        names += [node.name, node.op_type, *node.input, *node.output, *(a.name for a in node.attribute)]
    bad = next((n for n in names if not isinstance(n, str)), None)
    if bad is not None:
        raise LoadError(f"{name}: not a readable ONNX model (a name that is not UTF-8 text: "
                        f"{shown(repr(bad))[:80]})")


@contextmanager
def node_errors(name: str, path: str, op: str) -> Iterator[None]:
    """Reading node ``path`` (an ``op``) of the file ``name``: a bad value in it (or the reader's
    :class:`LoadError`) becomes one :class:`LoadError` naming the file, the node and its op."""
    try:
        yield
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        raise LoadError(f"{name}: node {shown(path)!r} ({shown(op)}): {shown(str(exc))}") from None
    except LoadError as exc:
        raise LoadError(f"{name}: node {shown(path)!r} ({shown(op)}): {exc.message}") from None
