"""Convs inside ONNX local functions (what the dynamo exporter, onnxscript and
``export_modules_as_functions`` write) and inside If/Loop bodies: listed by their path
(``call/inner``), counted once per call, and run on their real input, checked against ONNX Runtime
running the file as it is; hostile function graphs are one ``Error:`` line in bounded time."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import invoke
from hostile_models import one_error, small_image, small_png

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
h = onnx.helper
T = onnx.TensorProto
nh = onnx.numpy_helper

IMAGE = "samples/grace_hopper.png"  # 150×128 RGB
RNG = np.random.default_rng(23)


def _weights(shape: tuple[int, ...], name: str) -> Any:
    return nh.from_array(RNG.standard_normal(shape).astype(np.float32) * 0.1, name)


def _model(nodes: list[Any], inits: list[Any], functions: list[Any], out: str = "Y", path: Path | None = None,
           domains: tuple[str, ...] = ("local",)) -> Any:
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("X", T.FLOAT, [1, 3, "H", "W"])],
                     [h.make_tensor_value_info(out, T.FLOAT, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17), *(h.make_opsetid(d, 1) for d in domains)],
                     functions=functions)
    if path is not None:
        onnx.save(m, str(path))
    return m


def _block() -> Any:
    """``local:Block(x, w, b) = Conv(Relu(x), w, b)`` (3×3, pads 1)."""
    return h.make_function("local", "Block", ["x", "w", "b"], ["y"], [
        h.make_node("Relu", ["x"], ["r"], name="relu"),
        h.make_node("Conv", ["r", "w", "b"], ["y"], name="conv", pads=[1, 1, 1, 1]),
    ], [h.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def two_calls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """X → block1 (3 → 4) → block2 (4 → 5) = Y: one function called twice with weights of its own each."""
    path = tmp_path_factory.mktemp("fn") / "blocks.onnx"
    _model([h.make_node("Block", ["X", "W1", "B1"], ["Y1"], name="block1", domain="local"),
            h.make_node("Block", ["Y1", "W2", "B2"], ["Y"], name="block2", domain="local")],
           [_weights((4, 3, 3, 3), "W1"), _weights((4,), "B1"), _weights((5, 4, 3, 3), "W2"), _weights((5,), "B2")],
           [_block()], path=path)
    return path


def _image_nchw() -> np.ndarray:
    from PIL import Image

    x = np.asarray(Image.open(IMAGE).convert("RGB"), dtype=np.float32)
    return np.ascontiguousarray(np.moveaxis(x, -1, 0)[None])


def _ort(path: Path, x: np.ndarray) -> np.ndarray:
    """ONNX Runtime on the file as it is (its functions run by ONNX Runtime itself): the first output."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {session.get_inputs()[0].name: x})[0])


def _layers(path: Path) -> list[dict[str, Any]]:
    r = invoke("layers", path, "--json")
    assert r.exit_code == 0, r.output
    return list(json.loads(r.stdout)["layers"])


def test_convs_inside_functions_are_listed_by_path_and_counted_per_call(two_calls: Path) -> None:
    layers = {row["name"]: row for row in _layers(two_calls)}
    assert [n for n in layers if "/" in n] == ["block1/relu", "block1/conv", "block2/relu", "block2/conv"]
    assert layers["block1/conv"]["kind"] == "conv" and layers["block2/conv"]["kind"] == "conv"
    assert layers["block1/conv"]["params"] == 4 * 3 * 9 + 4
    assert layers["block2/conv"]["params"] == 5 * 4 * 9 + 5


def test_a_conv_inside_a_function_runs_on_its_real_input(two_calls: Path, tmp_path: Path) -> None:
    want = _ort(two_calls, _image_nchw())[0]  # Y is block2/conv's output
    out = tmp_path / "out.npz"
    r = invoke("run", IMAGE, "--model", two_calls, "--layer", "block2/conv", "--dtype", "float64", "--save", out, "-q")
    assert r.exit_code == 0, r.output
    with np.load(out) as z:
        got = z["output"]
    assert got.shape == (*want.shape[1:], want.shape[0])
    np.testing.assert_allclose(got, np.moveaxis(want, 0, -1), rtol=1e-4, atol=1e-4 * float(np.abs(want).max()))


def test_nested_calls_are_named_by_their_whole_path_and_weights_inside_count_once_per_call(tmp_path: Path) -> None:
    """``local:Stage`` calls ``local:Block`` with a weight that is a Constant inside Stage: two calls of
    Stage are two Convs of 4·3·9 + 4 parameters each; the output is ONNX Runtime's."""
    w, b = _weights((4, 3, 3, 3), "w"), _weights((4,), "b")
    stage = h.make_function("local", "Stage", ["x"], ["y"], [
        h.make_node("Constant", [], ["sw"], value=w, name="cw"),
        h.make_node("Constant", [], ["sb"], value=b, name="cb"),
        h.make_node("Block", ["x", "sw", "sb"], ["y"], name="inner", domain="local"),
    ], [h.make_opsetid("", 17), h.make_opsetid("local", 1)])
    path = tmp_path / "stages.onnx"
    nodes = [h.make_node("Stage", ["X"], ["S1"], name="stage1", domain="local"),
             h.make_node("Slice", ["S1", "starts", "ends", "axes"], ["S1c"], name="first3"),
             h.make_node("Stage", ["S1c"], ["Y"], name="stage2", domain="local")]
    inits = [nh.from_array(np.array([0], np.int64), "starts"), nh.from_array(np.array([3], np.int64), "ends"),
             nh.from_array(np.array([1], np.int64), "axes")]
    _model(nodes, inits, [_block(), stage], path=path)
    layers = {row["name"]: row for row in _layers(path)}
    assert {"stage1/inner/conv", "stage2/inner/conv", "stage1/inner/relu"} <= set(layers)
    assert layers["stage1/inner/conv"]["params"] == layers["stage2/inner/conv"]["params"] == 4 * 3 * 9 + 4
    want = _ort(path, _image_nchw())[0]
    out = tmp_path / "out.npz"
    r = invoke("run", IMAGE, "--model", path, "--layer", "stage2/inner/conv", "--dtype", "float64", "--save", out, "-q")
    assert r.exit_code == 0, r.output
    with np.load(out) as z:
        np.testing.assert_allclose(z["output"], np.moveaxis(want, 0, -1), rtol=1e-4,
                                   atol=1e-4 * float(np.abs(want).max()))


@pytest.mark.parametrize("every", [False, True])
def test_torch_export_modules_as_functions(tmp_path: Path, every: bool) -> None:
    """Block as a function, or every module (the Sequential calling Block calling Conv2d and ReLU)."""
    torch = pytest.importorskip("torch")

    class Block(torch.nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(c, 4, 3, padding=1)
            self.act = torch.nn.ReLU()

        def forward(self, x: Any) -> Any:
            return self.act(self.conv(x))

    model = torch.nn.Sequential(Block(3), Block(4)).eval()
    path = tmp_path / "torch_fn.onnx"
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.rand(1, 3, 16, 16),), str(path), dynamo=False,
                              export_modules_as_functions=True if every else {Block}, opset_version=17)
    except Exception as exc:  # noqa: BLE001 - an exporter without the option: nothing to check here
        pytest.skip(f"torch cannot export modules as functions here ({type(exc).__name__})")
    assert onnx.load(str(path)).functions, "the exporter wrote no function"
    rows = _layers(path)
    convs = [row for row in rows if row["kind"] == "conv"]
    assert len(convs) == 2 and all("/" in row["name"] for row in convs)
    assert sum(row["params"] for row in rows) == sum(p.numel() for p in model.parameters())
    # the second block's conv (and the ReLU after it, its listed activation) on its real input, as torch computes it
    from PIL import Image

    png = small_png(tmp_path, 16)
    x = np.asarray(Image.open(png).convert("RGB"), dtype=np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(np.moveaxis(x, -1, 0)[None].copy())).numpy()[0]  # its ReLU: the listed act
    out = tmp_path / "out.npz"
    r = invoke("run", png, "--model", path, "--layer", convs[1]["name"], "--save", out, "-q")
    assert r.exit_code == 0, r.output
    with np.load(out) as z:
        np.testing.assert_allclose(z["output"], np.moveaxis(want, 0, -1), rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def branches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An If whose branches each hold a Conv, one on the graph's weight, one on the branch's own."""
    then_g = h.make_graph([h.make_node("Conv", ["X", "W"], ["T"], name="conv_then", pads=[1, 1, 1, 1])], "then", [],
                          [h.make_tensor_value_info("T", T.FLOAT, None)])
    else_g = h.make_graph([h.make_node("Conv", ["X", "We", "Be"], ["E"], name="conv_else", pads=[1, 1, 1, 1])],
                          "else", [], [h.make_tensor_value_info("E", T.FLOAT, None)],
                          [_weights((4, 3, 3, 3), "We"), _weights((4,), "Be")])
    path = tmp_path_factory.mktemp("if") / "branches.onnx"
    _model([h.make_node("ReduceMean", ["X"], ["m"], keepdims=0, name="mean"),
            h.make_node("Greater", ["m", "zero"], ["c"], name="gt"),
            h.make_node("If", ["c"], ["Y"], name="branch", then_branch=then_g, else_branch=else_g)],
           [_weights((4, 3, 3, 3), "W"), nh.from_array(np.float32(0), "zero")], [], path=path, domains=())
    return path


def test_convs_inside_if_branches_are_listed_with_their_weights(branches: Path) -> None:
    layers = {row["name"]: row for row in _layers(branches)}
    assert layers["branch/then_branch/conv_then"]["params"] == 4 * 3 * 9
    assert layers["branch/else_branch/conv_else"]["params"] == 4 * 3 * 9 + 4
    assert layers["branch/then_branch/conv_then"]["kind"] == "conv"


def test_a_conv_inside_a_branch_is_refused_on_an_image(branches: Path) -> None:
    r = invoke("run", IMAGE, "--model", branches, "--layer", "branch/else_branch/conv_else", "-q")
    assert r.exit_code == 1
    one_error(r.stderr, "'branch/else_branch/conv_else'", "control flow of 'branch'", "array file")


def test_a_conv_inside_a_branch_runs_on_its_input_given_as_an_array(branches: Path, tmp_path: Path) -> None:
    """Its weights (the branch's own) are read: the output is ONNX Runtime's for a graph of that Conv alone."""
    arr = small_image(tmp_path)
    x = np.load(arr)
    out = tmp_path / "out.npz"
    r = invoke("run", arr, "--model", branches, "--layer", "branch/else_branch/conv_else",
               "--save", out, "-q")
    assert r.exit_code == 0, r.output
    branch = next(n for n in onnx.load(str(branches)).graph.node if n.op_type == "If")
    else_g = next(a.g for a in branch.attribute if a.name == "else_branch")
    alone = tmp_path / "alone.onnx"
    _model(list(else_g.node), list(else_g.initializer), [], out="E", path=alone, domains=())
    want = _ort(alone, np.ascontiguousarray(np.moveaxis(x, -1, 0)[None]))[0]
    with np.load(out) as z:
        np.testing.assert_allclose(z["output"], np.moveaxis(want, 0, -1), rtol=1e-5, atol=1e-5)


def _listing_error(path: Path, *fragments: str, limit: float = 20.0) -> None:
    start = time.monotonic()
    r = invoke("layers", path)
    assert time.monotonic() - start < limit
    assert r.exit_code == 1, r.output
    one_error(r.stderr, f"Error: {path}: ", *fragments)


def test_a_function_that_calls_itself_is_refused(tmp_path: Path) -> None:
    loop = h.make_function("local", "Loopy", ["x"], ["y"], [h.make_node("Loopy", ["x"], ["y"], domain="local")],
                           [h.make_opsetid("", 17), h.make_opsetid("local", 1)])
    path = tmp_path / "self.onnx"
    _model([h.make_node("Loopy", ["X"], ["Y"], name="call", domain="local")], [], [loop], path=path)
    _listing_error(path, "local:Loopy calls itself")


def test_functions_that_call_each_other_are_refused(tmp_path: Path) -> None:
    ping = h.make_function("local", "Ping", ["x"], ["y"], [h.make_node("Pong", ["x"], ["y"], domain="local")],
                           [h.make_opsetid("local", 1)])
    pong = h.make_function("local", "Pong", ["x"], ["y"], [h.make_node("Relu", ["x"], ["r"]),
                                                           h.make_node("Ping", ["r"], ["y"], domain="local")],
                           [h.make_opsetid("", 17), h.make_opsetid("local", 1)])
    path = tmp_path / "pingpong.onnx"
    _model([h.make_node("Ping", ["X"], ["Y"], name="call", domain="local")], [], [ping, pong], path=path)
    _listing_error(path, "calls itself")


def test_a_million_nested_calls_are_refused_in_bounded_time(tmp_path: Path) -> None:
    """F999999 calls F999998 ... calls F0: the file written as bytes (a repeated field is its entries
    one after another), each function the same message with its two names of fixed width."""
    count = 1_000_000
    base = _model([h.make_node(f"F{count - 1:07d}", ["X"], ["Y"], name="call", domain="local")], [],
                  [h.make_function("local", f"F{0:07d}", ["x"], ["y"], [h.make_node("Relu", ["x"], ["y"])],
                                   [h.make_opsetid("", 17)])])
    one = onnx.ModelProto()
    one.functions.add().CopyFrom(h.make_function("local", "FAAAAAAA", ["x"], ["y"],
                                                 [h.make_node("FBBBBBBB", ["x"], ["y"], domain="local")],
                                                 [h.make_opsetid("local", 1)]))
    template = one.SerializeToString()
    parts = [base.SerializeToString()]
    parts += [template.replace(b"FAAAAAAA", b"F%07d" % i).replace(b"FBBBBBBB", b"F%07d" % (i - 1))
              for i in range(1, count)]
    path = tmp_path / "deep.onnx"
    path.write_bytes(b"".join(parts))
    assert len(onnx.load(str(path)).functions) == count
    _listing_error(path, "more than 64 deep", limit=30.0)


def test_calls_that_double_at_each_level_are_refused_by_size(tmp_path: Path) -> None:
    fns = [h.make_function("local", "F0", ["x"], ["y"], [h.make_node("Relu", ["x"], ["y"])],
                           [h.make_opsetid("", 17)])]
    for i in range(1, 40):
        fns.append(h.make_function("local", f"F{i}", ["x"], ["y"], [
            h.make_node(f"F{i - 1}", ["x"], ["a"], domain="local"),
            h.make_node(f"F{i - 1}", ["a"], ["y"], domain="local")], [h.make_opsetid("local", 1)]))
    path = tmp_path / "wide.onnx"
    _model([h.make_node("F39", ["X"], ["Y"], name="call", domain="local")], [], fns, path=path)
    _listing_error(path, "nodes once its calls are inlined")


def test_a_function_without_a_domain_is_refused(tmp_path: Path) -> None:
    fn = h.make_function("", "Block", ["x", "w", "b"], ["y"], [h.make_node("Conv", ["x", "w", "b"], ["y"])],
                         [h.make_opsetid("", 17)])
    path = tmp_path / "nodomain.onnx"
    _model([h.make_node("Block", ["X", "W", "B"], ["Y"], name="call")],
           [_weights((4, 3, 3, 3), "W"), _weights((4,), "B")], [fn], path=path, domains=())
    _listing_error(path, "function 'Block' has no domain")


def test_a_call_that_does_not_fit_its_function_is_one_line(tmp_path: Path) -> None:
    """Block called with its input alone: its Conv, inlined, reads no weight."""
    path = tmp_path / "misfit.onnx"
    _model([h.make_node("Block", ["X"], ["Y"], name="call", domain="local")], [], [_block()], path=path)
    _listing_error(path, "node 'call/conv' (Conv)", "weight")


def test_a_conv_inside_a_loop_body_is_listed_and_refused_on_an_image(tmp_path: Path) -> None:
    body = h.make_graph([h.make_node("Identity", ["cond_in"], ["cond_out"]),
                         h.make_node("Conv", ["v", "W"], ["v2"], name="conv", pads=[1, 1, 1, 1])], "body",
                        [h.make_tensor_value_info("i", T.INT64, []), h.make_tensor_value_info("cond_in", T.BOOL, []),
                         h.make_tensor_value_info("v", T.FLOAT, None)],
                        [h.make_tensor_value_info("cond_out", T.BOOL, []), h.make_tensor_value_info("v2", T.FLOAT, None)])
    path = tmp_path / "loop.onnx"
    _model([h.make_node("Loop", ["trips", "", "X"], ["Y"], name="repeat", body=body)],
           [_weights((3, 3, 3, 3), "W"), nh.from_array(np.array(2, np.int64), "trips")], [], path=path, domains=())
    x = _image_nchw()
    assert _ort(path, x).shape == x.shape  # a valid model: ONNX Runtime runs it
    layers = {row["name"]: row for row in _layers(path)}
    assert layers["repeat/body/conv"]["kind"] == "conv" and layers["repeat/body/conv"]["params"] == 81
    r = invoke("run", IMAGE, "--model", path, "--layer", "repeat/body/conv", "-q")
    assert r.exit_code == 1
    one_error(r.stderr, "'repeat/body/conv'", "control flow of 'repeat'")
