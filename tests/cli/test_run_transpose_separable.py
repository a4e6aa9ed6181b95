"""`convcli run --kind transpose|separable`: the archive against PyTorch, the scatter view, the errors.

The run computes these kinds as the ordinary conv that gathers what they spread (transpose) or whose
kernel is the depthwise kernel through the pointwise weights (separable); the archive's output,
pre-activation and every channel's partial are checked here against torch's ``conv_transpose*d``
and grouped-then-1×1 convs in float64, with only that channel nonzero for a partial.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import invoke, one_error

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TIGHT = {"rtol": 1e-9, "atol": 1e-9}


def channels_first(x):
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 0))[None])


def torch_transpose(x, w, bias=None, **settings):
    fn = {1: TF.conv_transpose1d, 2: TF.conv_transpose2d, 3: TF.conv_transpose3d}[x.ndim - 1]
    y = fn(channels_first(x), torch.from_numpy(w), None if bias is None else torch.from_numpy(bias), **settings)
    return np.moveaxis(y[0].numpy(), 0, -1)


@pytest.mark.parametrize(("shape", "w_shape", "args", "settings"), [
    ((5, 6, 3), (3, 2, 3, 2), ["--stride", "2,3", "--padding", "1", "--output-padding", "1,0", "--dilation", "1,2",
                               "--groups", "3"],
     {"stride": (2, 3), "padding": 1, "output_padding": (1, 0), "dilation": (1, 2), "groups": 3}),
    ((9, 2), (2, 3, 4), ["--ndim", "1", "--stride", "3", "--padding", "2", "--output-padding", "2"],
     {"stride": 3, "padding": 2, "output_padding": 2}),
    ((3, 4, 3, 2), (2, 2, 2, 3, 2), ["--kind", "ConvTranspose3d", "--stride", "2,1,2", "--padding", "0,1,0"],
     {"stride": (2, 1, 2), "padding": (0, 1, 0)}),
])
def test_transposed_archive_matches_torch(tmp_path, shape, w_shape, args, settings):
    rng = np.random.default_rng(len(shape))
    x, w, bias = rng.standard_normal(shape), rng.standard_normal(w_shape), rng.standard_normal(6 if len(shape) == 3
                                                                                               else 3 if len(shape) == 2
                                                                                               else 2)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)  # PyTorch's (C, F/g, *k)
    f = w.shape[1] * settings.get("groups", 1)
    bias = bias[:f]
    kind = [] if "--kind" in args else ["--kind", "transpose"]
    r = invoke("run", tmp_path / "x.npy", *kind, *args, "--kernel", tmp_path / "w.npy", "--kernel-layout", "torch",
               "--bias", ",".join(map(repr, bias.tolist())), "--dtype", "float64", "--activation", "tanh",
               "--save", tmp_path / "out.npz", "--view", "numbers")
    assert r.exit_code == 0, r.output
    saved = np.load(tmp_path / "out.npz")
    want = torch_transpose(x, w, bias, **settings)
    n = x.ndim - 1
    assert saved["kernel"].shape == (*w.shape[2:], w.shape[1], w.shape[0])  # Keras' (*k, F/g, C)
    np.testing.assert_array_equal(saved["kernel"], np.moveaxis(w, (0, 1), (-1, -2)))
    np.testing.assert_array_equal(saved["input"], x)
    np.testing.assert_allclose(saved["preactivation"], want, **TIGHT)
    np.testing.assert_allclose(saved["output"], np.tanh(want), **TIGHT)
    groups = settings.get("groups", 1)
    cg, fg = x.shape[-1] // groups, f // groups
    assert saved["partials"].shape == (*want.shape[:n], cg, f)
    for c in range(x.shape[-1]):
        only = np.zeros_like(x)
        only[..., c] = x[..., c]
        grp = c // cg
        part = torch_transpose(only, w, **settings)[..., grp * fg:(grp + 1) * fg]
        np.testing.assert_allclose(saved["partials"][..., c - grp * cg, grp * fg:(grp + 1) * fg], part, **TIGHT)
    assert "Conv" in r.stdout and "Transpose" in r.stdout


def test_keras_same_header_states_the_rule(tmp_path):
    r = invoke("run", "samples/textbook.npy", "--kind", "Conv2DTranspose", "-k", "3", "--stride", "2", "--padding",
               "same", "--init", "ones", "--view", "numbers", columns=120)
    assert r.exit_code == 0, r.output
    assert "Keras same: 3·2 = 6" in r.stdout
    assert "(kh, kw, F, C)" in r.stdout
    assert "output  6×6×1" in r.stdout


def test_scatter_view_lists_what_lands(tmp_path):
    # conv_arithmetic's picture: k 3, stride 2: the centre of a 3×3 input's 7×7 output gets 4 copies
    r = invoke("run", "samples/textbook.npy", "--kind", "transpose", "-k", "3", "--stride", "2", "--init", "ones",
               "--trace", "2,2", "--view", "numbers", columns=120)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "scatter · output (2, 2) · filter 0" in out
    assert "4 kernel copies land" in out
    for landing in ("(1, 1)     (0, 0)", "(1, 0)     (0, 2)", "(0, 1)     (2, 0)", "(0, 0)     (2, 2)"):
        assert landing in out
    assert "10000 · 1 = 10000" in out
    assert out.count("Σ channels 4 + 400 + 40000 + bias 0 = 40404") == 2  # the gather trace and the scatter


def test_separable_archive_matches_torch(tmp_path):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((7, 8, 3))
    dw, pw = rng.standard_normal((3, 2, 3, 2)), rng.standard_normal((1, 1, 6, 4))
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "k.npz", depthwise_kernel=dw, pointwise_kernel=pw)
    r = invoke("run", tmp_path / "x.npy", "--kind", "SeparableConv2D", "-m", "2", "--stride", "2", "--padding", "1",
               "--kernel", tmp_path / "k.npz", "--no-bias", "--dtype", "float64", "--save", tmp_path / "out.npz",
               "--view", "numbers")
    assert r.exit_code == 0, r.output
    assert "saved" in r.stderr and "depthwise_kernel" in r.stderr and "pointwise_kernel" in r.stderr
    saved = np.load(tmp_path / "out.npz")
    assert "kernel" not in saved.files
    np.testing.assert_array_equal(saved["depthwise_kernel"], dw)
    np.testing.assert_array_equal(saved["pointwise_kernel"], pw)

    def torch_separable(a):
        wt = torch.from_numpy(np.ascontiguousarray(dw.reshape(3, 2, 1, 6).transpose(3, 2, 0, 1)))
        y = TF.conv2d(channels_first(a), wt, stride=2, padding=1, groups=3)
        y = TF.conv2d(y, torch.from_numpy(np.ascontiguousarray(pw.transpose(3, 2, 0, 1))))
        return np.moveaxis(y[0].numpy(), 0, -1)

    want = torch_separable(x)
    np.testing.assert_allclose(saved["preactivation"], want, **TIGHT)
    assert saved["partials"].shape == (*want.shape[:2], 3, 4)  # (*out, C, F)
    for c in range(3):
        only = np.zeros_like(x)
        only[..., c] = x[..., c]
        np.testing.assert_allclose(saved["partials"][..., c, :], torch_separable(only), **TIGHT)


def test_separable_presets_and_header():
    r = invoke("run", "samples/textbook.npy", "--kind", "separable", "-k", "2", "-f", "2", "--init", "ones",
               "--view", "numbers", columns=120)
    assert r.exit_code == 0, r.output
    assert "depthwise_kernel 2×2×3×1 (kh, kw, C, M), pointwise_kernel 1×1×3×2 (1, 1, C·M, F)" in r.stdout
    assert "40404" in r.stdout  # ones everywhere: the textbook sum again


@pytest.mark.parametrize(("args", "fragments"), [
    (["--kind", "transpose", "--stride", "2", "--output-padding", "2"], ["--output-padding", "smaller than the stride"]),
    (["--kind", "transpose", "--stride", "2", "--padding", "1", "--dilation", "2", "--output-padding", "2"],
     ["--output-padding", "stride or the dilation"]),
    (["--output-padding", "1", "--stride", "2"], ["--output-padding", "transpose layers"]),
    (["--kind", "separable", "--padding-mode", "reflect"], ["padding mode reflect", "zeros only"]),
    (["--kind", "transpose", "--flip"], ["--flip", "takes its kernel as it is"]),
    (["--kind", "separable", "--kernel", "samples/kernel_rgb_keras.npy"], ["--kernel", ".npz", "depthwise_kernel"]),
])
def test_bad_settings_are_one_usage_error(args, fragments):
    r = invoke("run", "samples/textbook.npy", "-k", "2", *args)
    assert r.exit_code == 2, r.output
    one_error(r.stderr, *fragments)


def test_transposed_padding_that_cuts_everything_is_one_error():
    r = invoke("run", "samples/textbook.npy", "--kind", "transpose", "-k", "2", "--padding", "5")
    assert r.exit_code in (1, 2), r.output
    one_error(r.stderr, "transposed output has")


def test_json_names_the_kind_and_its_scatter():
    import json

    r = invoke("run", "samples/textbook.npy", "--kind", "transpose", "-k", "3", "--stride", "2", "--init", "ones",
               "--padding", "1", "--output-padding", "1", "--trace", "1,1", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    kind = doc["kind"]
    assert (kind["kind"], kind["keras"], kind["torch"]) == ("transpose", "Conv2DTranspose", "ConvTranspose2d")
    assert kind["config"]["output_padding"] == [1, 1] and kind["weights"] == {"kernel": [3, 3, 1, 3]}
    (scatter,) = kind["scatter"]
    # PyTorch padding 1 cuts one position: output (1, 1) is full (2, 2), where 4 copies land
    assert scatter["full_position"] == [2, 2] and len(scatter["landings"]) == 4
    assert scatter["sums"] == [4.0, 400.0, 40000.0] and scatter["total"] == 40404.0


def test_verify_computes_the_kinds_with_engines_of_their_own():
    r = invoke("verify", "samples/textbook.npy", "--kind", "separable", "-k", "2")
    assert r.exit_code == 0, r.output
    assert "SeparableConv2D" in r.stdout and "✓ agrees" in r.stdout


def test_scatter_view_of_a_3d_layer_on_its_plane(tmp_path):
    x = np.arange(4 * 5 * 6 * 2, dtype=float).reshape(4, 5, 6, 2) / 100
    np.save(tmp_path / "vol.npy", x)
    r = invoke("run", tmp_path / "vol.npy", "--kind", "Conv3DTranspose", "-k", "2", "--stride", "2", "--init", "ones",
               "--trace", "3,2,3", "--view", "numbers", columns=120)
    assert r.exit_code == 0, r.output
    assert "scatter · output (3, 2, 3) · filter 0" in r.stdout and "1 kernel copy lands" in r.stdout
    # k = s: one copy per output, from input (1, 1, 1) through tap (1, 0, 1), channels named as loaded
    assert "(1, 1, 1)   (1, 0, 1)" in r.stdout and "c0: x · w" in r.stdout
    total = x[1, 1, 1].sum()
    assert r.stdout.count(f"= {total:.4g}") >= 2  # the gathering trace and the scatter agree
