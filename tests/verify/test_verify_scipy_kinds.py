"""SciPy's ``verify`` row for every kind and rank (:mod:`convcli.verify.adapt_scipy_kinds`): random small layers of
every kind, rank, padding and padding mode agree with PyTorch in float64, transposed ones also with
``torch.nn.functional.conv_transpose{n}d`` called here directly, and the CLI shows SciPy's row agreeing."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from convcli.cli import app
from convcli.errors import ConvcliError
from convcli.layer.spec import ConvSpec, check_spec
from convcli.verify import adapt_scipy_kinds, adapt_torch
from convcli.verify.kind_problem import KindProblem
from convcli.verify.problem import COMPUTED

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")


def _ints(rng, low: int, high: int, n: int) -> tuple[int, ...]:
    return tuple(int(v) for v in rng.integers(low, high, n))


def _random_spec(rng, kind: str, ndim: int, mode: str) -> ConvSpec:
    """A small random layer of ``kind``: stride, dilation, groups or multiplier, and a padding the kind takes."""
    stride, dilation = _ints(rng, 1, 3, ndim), _ints(rng, 1, 3, ndim)
    kernel = _ints(rng, 1, 4, ndim)
    groups, m = (int(rng.choice([1, 2])), int(rng.integers(1, 3)))
    c = 2 * int(rng.integers(1, 3))
    if kind == "transpose":
        padding: object = rng.choice(["valid", "same", "pads"])
        padding = _ints(rng, 0, 2, ndim) if padding == "pads" else str(padding)
        op = None
        if not isinstance(padding, str) or rng.random() < 0.5:
            op = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation, strict=True))
        return check_spec(ConvSpec("transpose", c, groups * int(rng.integers(1, 3)), kernel, stride, dilation,
                                   padding, groups=groups, ndim=ndim, output_padding=op))  # type: ignore[arg-type]
    choices = ["valid", "same", "pads"] + (["causal"] if ndim == 1 and kind != "separable" else [])
    padding = str(rng.choice(choices))
    padding = _ints(rng, 0, 3, ndim) if padding == "pads" else padding
    if kind == "conv":
        return check_spec(ConvSpec("conv", c, groups * int(rng.integers(1, 3)), kernel, stride, dilation,
                                   padding, groups=groups, ndim=ndim, padding_mode=mode))  # type: ignore[arg-type]
    filters = None if kind == "depthwise" else int(rng.integers(1, 4))
    return check_spec(ConvSpec(kind, c, filters, kernel, stride, dilation, padding,  # type: ignore[arg-type]
                               depth_multiplier=m, ndim=ndim, padding_mode=mode))


def _problem(rng, spec: ConvSpec) -> KindProblem:
    size = _ints(rng, 6, 9, spec.ndim)
    x = rng.normal(size=(*size, spec.in_channels))
    shapes = spec.kernel_shapes()
    if spec.kind == "separable":
        kernel, pointwise = rng.normal(size=shapes["depthwise_kernel"]), rng.normal(size=shapes["pointwise_kernel"])
    else:
        kernel, pointwise = rng.normal(size=shapes["kernel"]), None
    problem = KindProblem(spec, x, kernel, rng.normal(size=shapes["bias"]), "torch", pointwise)
    # the layer fits this input (refused before any framework runs where it does not)
    if spec.kind == "transpose":
        problem.transpose_geometry()
    else:
        spec.geometry(size)
    return problem


CASES = [(kind, ndim, mode) for kind in ("conv", "depthwise") for ndim in (1, 2, 3)
         for mode in ("zeros", "reflect", "replicate", "circular")]
CASES += [("separable", ndim, "zeros") for ndim in (1, 2)] + [("transpose", ndim, "zeros") for ndim in (1, 2, 3)]


@pytest.mark.parametrize(("kind", "ndim", "mode"), CASES)
def test_scipy_agrees_with_pytorch_on_random_layers(kind, ndim, mode):
    rng = np.random.default_rng(CASES.index((kind, ndim, mode)))
    done = 0
    for _ in range(200):
        if done == 4:
            break
        try:
            problem = _problem(rng, _random_spec(rng, kind, ndim, mode))
        except ConvcliError:  # a setting the kind refuses, or a layer larger than its input
            continue
        if mode == "reflect" and any(max(p) >= n for p, n in zip(problem.pad_width, problem.x.shape, strict=False)):
            continue  # PyTorch's reflect needs pads shorter than the input
        ours, theirs = adapt_scipy_kinds.compute_kind(problem), adapt_torch.compute_kind(problem)
        assert ours.status == COMPUTED and ours.framework == "SciPy"
        assert ours.output is not None and theirs.output is not None
        assert ours.output.shape == theirs.output.shape, problem.spec
        np.testing.assert_allclose(ours.output, theirs.output, rtol=0, atol=1e-9, err_msg=str(problem.spec))
        assert np.abs(ours.output).max() > 0.1  # a real layer's values, not a vacuous zero
        done += 1
    assert done == 4, f"too few {kind} {ndim}-D {mode} layers fit their inputs"


@pytest.mark.parametrize("seed", range(6))
def test_scipy_transpose_is_torch_conv_transpose(seed):
    """PyTorch's own padding ``P`` and ``output_padding``, by ``F.conv_transpose{n}d`` called here directly."""
    rng = np.random.default_rng(100 + seed)
    while True:
        try:
            spec = _random_spec(rng, "transpose", 1 + seed % 3, "zeros")
            if isinstance(spec.padding, str):
                continue
            problem = _problem(rng, spec)
            break
        except ConvcliError:  # a setting the kind refuses, or a layer larger than its input
            continue
    n = spec.ndim
    xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(problem.x, -1, 0)))[None]
    wt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(problem.kernel, (-1, -2), (0, 1))))
    y = getattr(torch.nn.functional, f"conv_transpose{n}d")(
        xt, wt, torch.from_numpy(problem.bias), stride=spec.stride, padding=tuple(spec.padding),
        output_padding=spec.output_padding or (0,) * n, dilation=spec.dilation, groups=spec.groups)
    expected = np.moveaxis(y[0].numpy(), 0, -1)
    out = adapt_scipy_kinds.compute_kind(problem).output
    assert out is not None and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-9)


def test_a_dilated_strided_conv1d_by_hand():
    """A case small enough to write out: x = 0..9, k = [1, 10, 100], dilation 2, stride 3, valid."""
    spec = check_spec(ConvSpec("conv", 1, 1, (3,), (3,), (2,), "valid", ndim=1))
    x = np.arange(10.0)[:, None]
    kernel = np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)
    out = adapt_scipy_kinds.compute_kind(KindProblem(spec, x, kernel, np.array([0.5]))).output
    # output o reads x[3o], x[3o + 2], x[3o + 4]: o = 0, 1 fit in 10 samples
    assert out is not None
    np.testing.assert_array_equal(out[:, 0], [0 + 20 + 400 + 0.5, 3 + 50 + 700 + 0.5])


@pytest.mark.parametrize("args", [
    ["--kind", "Conv1D", "-k", "3", "--padding", "causal", "--dilation", "2", "-f", "2"],
    ["--kind", "Conv2D", "-k", "3", "--padding", "1", "--padding-mode", "reflect", "-f", "2"],
    ["--kind", "Conv3D", "-k", "2", "--stride", "2", "-f", "2", "--groups", "2"],
    ["--kind", "DepthwiseConv1D", "-k", "3", "--depth-multiplier", "2", "--padding", "1",
     "--padding-mode", "circular"],
    ["--kind", "SeparableConv2D", "-k", "3", "-f", "3", "--padding", "same"],
    ["--kind", "ConvTranspose3d", "-k", "2", "--stride", "2", "-f", "2", "--padding", "1", "--output-padding", "1"],
])
def test_verify_command_shows_scipy_agreeing(tmp_path, args):
    ndim = int(args[1].lower().rstrip("d")[-1])  # Conv1D → 1, ConvTranspose3d → 3
    shape = {1: (24, 2), 2: (8, 7, 2), 3: (6, 5, 6, 2)}[ndim]
    np.save(tmp_path / "x.npy", np.random.default_rng(ndim).normal(size=shape))
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["verify", str(tmp_path / "x.npy"), *args])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.strip().startswith("SciPy") and "1." in line)
    assert "✓ agrees" in row, result.output
    assert "signal." in result.output and "has no" not in row
