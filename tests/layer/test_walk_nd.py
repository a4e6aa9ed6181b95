"""``layers --input-size`` on 1-D and 3-D Keras models (#25): the walk's shapes against Keras' own
``layer.output.shape``, totals against ``count_params()``, conv MACs against the product computed
here, and a 1-D chain's receptive field against the one worked out by hand."""

from __future__ import annotations

from math import prod
from pathlib import Path
from typing import Any

import pytest

keras = pytest.importorskip("keras")

from convcli.layer import model as layer_model  # noqa: E402
from convcli.sources import models  # noqa: E402

L = keras.layers


def _m1() -> Any:
    """The issue's 1-D model (/tmp/m1.py): conv same, max pooling, causal strided conv, GAP, dense."""
    i = keras.Input((24, 3), name="x")
    x = L.Conv1D(4, 3, padding="same", name="c1")(i)
    x = L.MaxPooling1D(2, name="pool")(x)
    x = L.Conv1D(5, 3, strides=2, padding="causal", name="c2")(x)
    x = L.GlobalAveragePooling1D(name="gap")(x)
    x = L.Dense(2, name="d")(x)
    return keras.Model(i, x)


def _m3() -> Any:
    """The issue's 3-D model: Conv3D same, then a stride-2 Conv3DTranspose."""
    i = keras.Input((6, 8, 8, 2))
    x = L.Conv3D(3, 3, padding="same", name="c3")(i)
    x = L.Conv3DTranspose(2, 2, strides=2, name="t3")(x)
    return keras.Model(i, x)


def _m1_pool() -> Any:
    """1-D: dilated valid conv, 'same' average pooling, separable, depthwise, a transpose with output
    padding, batch norm, dropout, add, concatenate, zero padding, upsampling, cropping, max pooling, flatten, dense."""
    i = keras.Input((30, 2))
    x = L.Conv1D(4, 3, dilation_rate=2, name="c")(i)
    x = L.AveragePooling1D(3, strides=2, padding="same", name="ap")(x)
    x = L.SeparableConv1D(6, 3, padding="same", depth_multiplier=2, name="sep")(x)
    x = L.DepthwiseConv1D(3, depth_multiplier=1, name="dw")(x)
    x = L.BatchNormalization(name="bn")(x)
    x = L.Activation("relu", name="act")(x)
    x = L.Dropout(0.1, name="drop")(x)
    y = L.Conv1D(6, 1, name="skip")(x)
    x = L.Add(name="add")([x, y])
    x = L.Concatenate(name="cat")([x, y])
    x = L.Conv1DTranspose(3, 3, strides=2, output_padding=1, name="tr")(x)
    x = L.ZeroPadding1D((2, 1), name="zp")(x)
    x = L.UpSampling1D(3, name="up")(x)
    x = L.Cropping1D((1, 4), name="crop")(x)
    x = L.MaxPooling1D(2, name="mp")(x)
    x = L.Flatten(name="flat")(x)
    x = L.Dense(4, name="d")(x)
    return keras.Model(i, x)


def _m3_pool() -> Any:
    """3-D: strided conv, 'same' max pooling, average pooling, batch norm, zero padding, upsampling, cropping, a grouped conv, global max pooling, dense."""
    i = keras.Input((9, 10, 12, 3))
    x = L.Conv3D(4, (3, 2, 3), strides=(2, 1, 2), groups=1, name="c")(i)
    x = L.MaxPooling3D(2, padding="same", name="mp")(x)
    x = L.AveragePooling3D((1, 2, 2), name="ap")(x)
    x = L.BatchNormalization(name="bn")(x)
    x = L.ZeroPadding3D(((1, 0), (0, 2), (1, 1)), name="zp")(x)
    x = L.UpSampling3D((2, 1, 3), name="up")(x)
    x = L.Cropping3D(((0, 1), (1, 1), (2, 0)), name="crop")(x)
    x = L.Conv3D(4, 1, groups=2, name="g")(x)
    x = L.GlobalMaxPooling3D(name="gmp")(x)
    x = L.Dense(3, name="d")(x)
    return keras.Model(i, x)


BUILDERS = {"m1": _m1, "m3": _m3, "m1_pool": _m1_pool, "m3_pool": _m3_pool}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Path]]:
    root = tmp_path_factory.mktemp("nd")
    out = {}
    for name, build in BUILDERS.items():
        m = build()
        m.save(root / f"{name}.keras")
        out[name] = (m, root / f"{name}.keras")
    return out


def _walk(path: Path, size: tuple[int, ...]) -> dict[str, Any]:
    analysis = layer_model.analyse(models.read_model(path), size)
    return {n.layer.name: n for n in analysis.layers} | {"": analysis}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_shapes_params_and_conv_macs_against_keras(saved: dict[str, tuple[Any, Path]], name: str) -> None:
    m, path = saved[name]
    size = tuple(int(v) for v in m.inputs[0].shape[1:])
    walked = _walk(path, size)
    assert walked[""].params == m.count_params()
    convs = 0
    for layer in m.layers:
        got = walked[layer.name]
        want = tuple(int(v) for v in layer.output.shape[1:])
        assert got.out_shape == want, (name, layer.name)
        assert got.params == layer.count_params(), (name, layer.name)
        if type(layer).__name__ in ("Conv1D", "Conv3D"):
            cfg = layer.get_config()
            c = int(layer.input.shape[-1])
            macs = prod(want[:-1]) * prod(cfg["kernel_size"]) * (c // cfg["groups"]) * cfg["filters"]
            assert got.macs == macs, (name, layer.name)
            convs += 1
    assert convs >= 1


def test_the_issues_numbers(saved: dict[str, tuple[Any, Path]]) -> None:
    w = _walk(saved["m1"][1], (24, 3))
    # by hand: c1 k3 s1 → RF 3, jump 1; pool k2 s2 → 3 + 1·1 = 4, jump 2; c2 k3 s2 → 4 + 2·2 = 8, jump 4
    assert [w[n].receptive_field for n in ("x", "c1", "pool", "c2")] == [(1,), (3,), (4,), (8,)]
    assert [w[n].effective_stride for n in ("c1", "pool", "c2")] == [(1,), (2,), (4,)]
    assert w["gap"].receptive_field == (24,) and w["gap"].effective_stride is None  # the whole input
    assert w["c2"].pads == (2, 0)  # causal: (k - 1)·d zeros before, none after
    assert w["c1"].macs == 24 * 3 * 3 * 4 and w["d"].macs == 5 * 2
    assert w[""].macs == 24 * 3 * 3 * 4 + 6 * 3 * 4 * 5 + 5 * 2
    w3 = _walk(saved["m3"][1], (6, 8, 8, 2))
    assert w3["c3"].receptive_field == (3, 3, 3) and w3["c3"].pads == (1, 1) * 3
    # every input value of a transpose meets every tap: D·H·W·kd·kh·kw·C·F
    assert w3["t3"].macs == 6 * 8 * 8 * 8 * 3 * 2
    assert w3["t3"].out_shape == (12, 16, 16, 2)


def test_receptive_field_of_a_1d_chain_by_hand(saved: dict[str, tuple[Any, Path]]) -> None:
    w = _walk(saved["m1_pool"][1], (30, 2))
    # c: k3 d2 → span 5; ap: k3 s2 → 5 + 2 = 7, jump 2; sep: k3 → 7 + 2·2 = 11; dw: k3 → 15
    assert [w[n].receptive_field for n in ("c", "ap", "sep", "dw", "bn", "skip", "add")] == \
        [(5,), (7,), (11,), (15,), (15,), (15,), (15,)]
    assert w["dw"].effective_stride == (2,) and w["flat"].effective_stride is None


def test_cli_sizes_per_axis_and_the_models_own_c(cli: Any, saved: dict[str, tuple[Any, Path]]) -> None:
    path = saved["m1"][1]
    full, short = cli("layers", path, "--input-size", "24,3"), cli("layers", path, "--input-size", "24")
    assert full.exit_code == 0 and short.exit_code == 0, full.output + short.output
    assert full.output == short.output and "on 24×3 (L, C)" in full.output
    r3 = cli("layers", saved["m3"][1], "--input-size", "6,8,8")
    assert r3.exit_code == 0 and "12×16×16×2" in r3.output and "(D, H, W, C)" in r3.output
    bad = cli("layers", saved["m3"][1], "--input-size", "8,8")
    assert bad.exit_code == 2 and "D,H,W or D,H,W,C" in bad.output
    wrong = cli("layers", path, "--input-size", "24,5")
    assert wrong.exit_code == 1 and "takes (24, 3), not (24, 5)" in wrong.output


def test_a_layer_the_walk_does_not_follow_is_one_line(cli: Any, tmp_path: Path) -> None:
    i = keras.Input((10, 2))
    x = L.Conv1D(2, 3, name="c")(i)
    x = L.Permute((2, 1), name="perm")(x)
    keras.Model(i, x).save(tmp_path / "perm.keras")
    r = cli("layers", tmp_path / "perm.keras", "--input-size", "10,2")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "layer 'perm' (Permute)" in r.output and "--input-size cannot go past it" in r.output


def test_upsampling_spreads_the_receptive_field_as_a_transposed_window(saved: dict[str, tuple[Any, Path]]) -> None:
    w = _walk(saved["m1_pool"][1], (30, 2))
    # nearest upsampling by 3: each output reads one input, three outputs per input
    assert w["up"].receptive_field == w["zp"].receptive_field
    assert w["up"].effective_stride == tuple(j / 3 for j in w["zp"].effective_stride)
    assert w["crop"].receptive_field == w["up"].receptive_field and w["up"].macs == 0
