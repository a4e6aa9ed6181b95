"""engine.general, the any-rank path: 1-D and 3-D layers bound from a spec, against a naive N-d loop
written here (and PyTorch's conv1d/conv3d in float64 when torch is installed); in 2-D it agrees
with the tiled fast paths."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from convcli import engine
from convcli.errors import ShapeError
from convcli.layer.spec import ConvSpec

# (spec, input size): conv and depthwise, 1-D and 3-D, with strides, dilations, 'same' and zeros
CASES = [
    (ConvSpec("conv", 3, 4, (3,), stride=(2,), dilation=(1,), padding="same", ndim=1), (11,)),
    (ConvSpec("conv", 4, 6, (2,), stride=(1,), dilation=(3,), padding=(2,), groups=2, ndim=1), (9,)),
    (ConvSpec("depthwise", 3, None, (4,), stride=(3,), dilation=(1,), depth_multiplier=2, ndim=1), (13,)),
    (ConvSpec("conv", 2, 3, (2, 3, 2), stride=(1, 2, 1), dilation=(1, 1, 2), padding="same", ndim=3), (4, 6, 5)),
    (ConvSpec("conv", 4, 4, (3, 1, 2), stride=(2, 1, 1), dilation=(1, 1, 1), padding=(1, 0, 1), groups=2, ndim=3),
     (5, 3, 4)),
    (ConvSpec("depthwise", 3, None, (2, 2, 2), stride=(1, 1, 2), dilation=(2, 1, 1), padding="valid",
              depth_multiplier=2, ndim=3), (5, 4, 6)),
]
IDS = [f"{s.ndim}d-{s.kind}-g{s.groups}-{s.padding}" for s, _ in CASES]


def naive_partials_nd(x, kernel, stride, dilation, pad_width, groups):
    """Per-channel contributions ``(*S', Cg, F)`` of ``x (*S, C)`` with ``kernel (*k, Cg, F)``, float64:
    a loop over every output position, filter, channel and tap; padding is an index check."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    n = x.ndim - 1
    k, (cg, f) = kernel.shape[:n], kernel.shape[n:]
    fg = f // groups
    out_size = [
        (x.shape[a] + sum(pad_width[a]) - (k[a] - 1) * dilation[a] - 1) // stride[a] + 1 for a in range(n)
    ]
    out = np.zeros((*out_size, cg, f))
    for o in itertools.product(*(range(m) for m in out_size)):
        for filt in range(f):
            grp = filt // fg
            for c in range(cg):
                total = 0.0
                for t in itertools.product(*(range(m) for m in k)):
                    at = [o[a] * stride[a] + t[a] * dilation[a] - pad_width[a][0] for a in range(n)]
                    if all(0 <= at[a] < x.shape[a] for a in range(n)):
                        total += x[(*at, grp * cg + c)] * kernel[(*t, c, filt)]
                out[(*o, c, filt)] = total
    return out


def _bound(spec: ConvSpec, size: tuple[int, ...], seed: int = 0) -> tuple[engine.Layer, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*size, spec.in_channels))
    kernel = rng.standard_normal(spec.kernel_shapes()["kernel"])
    return engine.bind(spec, x, kernel, dtype=np.float64), kernel


@pytest.mark.parametrize(("spec", "size"), CASES, ids=IDS)
def test_a_bound_nd_layer_computes_the_naive_loop(spec, size):
    layer, _ = _bound(spec, size)
    g = layer.geometry
    assert layer.ndim == g.ndim == spec.ndim and layer.filters == spec.out_channels
    want = naive_partials_nd(layer.x, layer.kernel, g.strides, g.dilations, g.pad_width, layer.groups)
    bias = np.arange(layer.filters, dtype=np.float64)
    partials = engine.layer_partials_nd(layer)
    assert partials.shape == (*g.out_size, layer.cg, layer.filters)
    np.testing.assert_allclose(partials, want, rtol=1e-12, atol=1e-12)
    out = engine.layer_output(layer, bias)
    np.testing.assert_allclose(out, want.sum(axis=-2) + bias, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("spec", "size"), CASES, ids=IDS)
def test_a_bound_nd_layer_matches_torch_in_float64(spec, size):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    layer, _ = _bound(spec, size, seed=1)
    n, g = layer.ndim, layer.geometry
    # torch pads symmetrically only: pad the input as the geometry says, then run unpadded
    x = np.pad(layer.x, (*g.pad_width, (0, 0)))
    xt = torch.from_numpy(np.moveaxis(x, -1, 0)[None].copy())  # (1, C, *S)
    wt = torch.from_numpy(np.moveaxis(layer.kernel, (-1, -2), (0, 1)).copy())  # (F, Cg, *k)
    conv = functional.conv1d if n == 1 else functional.conv3d
    got = conv(xt, wt, stride=g.strides, dilation=g.dilations, groups=layer.groups).numpy()[0]
    np.testing.assert_allclose(engine.layer_output(layer), np.moveaxis(got, 0, -1), rtol=1e-10, atol=1e-10)


def test_the_general_path_agrees_with_the_2d_fast_paths():
    rng = np.random.default_rng(2)
    x, kernel = rng.standard_normal((9, 8, 4)), rng.standard_normal((3, 2, 2, 6))
    settings = {"stride": (2, 1), "padding": "same", "dilation": (1, 2), "groups": 2, "dtype": np.float64}
    layer = engine.prepare(x, kernel, **settings)
    np.testing.assert_allclose(engine.layer_output(layer), engine.conv2d(x, kernel, **settings), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(engine.layer_partials_nd(layer), engine.partial_sums(x, kernel, **settings),
                               rtol=1e-12, atol=1e-12)


def test_binding_a_1d_spec_names_its_layout():
    spec = ConvSpec("conv", 3, 2, (3,), stride=(1,), dilation=(1,), ndim=1)
    with pytest.raises(ShapeError, match=r"the input must be \(L, C\), got 3 dimensions \(4, 5, 3\)"):
        engine.bind(spec, np.zeros((4, 5, 3)), np.zeros((3, 3, 2)))
    with pytest.raises(ShapeError, match="the input has 4 channels but the layer has in_channels=3"):
        engine.bind(spec, np.zeros((5, 4)), np.zeros((3, 3, 2)))
    with pytest.raises(ShapeError, match="spans 3 positions but the padded input has 2"):
        engine.bind(spec, np.zeros((2, 3)), np.zeros((3, 3, 2)))


def test_a_3d_geometry_has_no_2d_view():
    layer, _ = _bound(*CASES[3])
    assert layer.geometry.in_size == (4, 6, 5)
    with pytest.raises(ValueError, match="a 3-D geometry has no"):
        _ = layer.geometry.out_hw
