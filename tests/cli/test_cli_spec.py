"""pipeline/binding.py: run, verify and params build their layer as one ConvSpec and bind it with engine.bind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import typer

from convcli import engine
from convcli.cli.notes import build_layer
from convcli.cli.options import Init, LayerOptions, parse_layer
from convcli.errors import ShapeError
from convcli.layer.spec import ConvSpec
from convcli.pipeline.binding import layer_spec
from convcli.sources import kernels

from helpers import invoke


def test_option_values_become_the_spec_params_and_run_share():
    assert layer_spec("conv", 3, 4, 3, stride=(2, 1), dilation=2, padding=1, groups=1) == ConvSpec(
        "conv", 3, 4, (3, 3), (2, 1), (2, 2), (1, 1), groups=1)
    assert layer_spec("depthwise", 3, None, (3, 5), padding="same", depth_multiplier=2, use_bias=False) == ConvSpec(
        "depthwise", 3, None, (3, 5), padding="same", depth_multiplier=2, use_bias=False)


def test_run_binds_the_layer_prepare_makes_from_the_same_settings(tmp_path: Path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 6, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    opts = LayerOptions(tmp_path / "x.npy", filters=4, kernel_size="3,2", stride="2,1", padding="1,0",
                        dilation="1,2", groups=2, seed=5, flip=True, init=Init("random"))
    built = build_layer(opts, parse_layer(opts))
    # the oracle: the kernel as --init random makes it, flipped by hand, bound by the array-first API
    k = kernels.make_kernel("random", (3, 2), 2, 4, seed=5)[::-1, ::-1]
    want = engine.prepare(x, k, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
    assert built.layer.geometry == want.geometry and built.layer.groups == 2
    np.testing.assert_array_equal(built.layer.kernel, want.kernel)
    np.testing.assert_array_equal(built.layer.x, x)
    assert built.kernel_source == "--init random (seed 5), flipped (--flip)"


def test_groups_that_do_not_divide_are_worded_by_where_the_count_came_from(tmp_path: Path):
    np.save(tmp_path / "x4.npy", np.ones((5, 5, 4)))
    np.save(tmp_path / "k.npy", np.ones((3, 3, 2, 3)))  # 3 filters in 2 groups
    opts = LayerOptions(tmp_path / "x4.npy", groups=3, filters=3, init=Init("random"))
    with pytest.raises(ShapeError) as channels:  # C is the input's: a data error naming it
        build_layer(opts, parse_layer(opts))
    assert str(channels.value) == f"--groups 3 does not divide the 4 input channels of {tmp_path / 'x4.npy'}"
    opts = LayerOptions(tmp_path / "x4.npy", groups=2, kernel=tmp_path / "k.npy")
    with pytest.raises(ShapeError) as filters:  # F is the kernel file's
        build_layer(opts, parse_layer(opts))
    assert str(filters.value) == f"--groups 2 does not divide the 3 filters of {tmp_path / 'k.npy'}"
    with pytest.raises(typer.BadParameter, match="--groups 2 does not divide --filters 3"):
        parse_layer(LayerOptions(tmp_path / "x4.npy", groups=2, filters=3))  # before any data


def test_a_kernel_file_of_other_channels_is_named_with_the_input(tmp_path: Path):
    np.save(tmp_path / "x.npy", np.ones((5, 5, 3)))
    np.save(tmp_path / "k.npy", np.ones((3, 3, 2, 1)))
    r = invoke("run", tmp_path / "x.npy", "--kernel", tmp_path / "k.npy")
    assert r.exit_code == 1
    assert r.stderr == (f"Error: {tmp_path / 'k.npy'}: the kernel (3, 3, 2, 1) (as kh, kw, C/g, F) expects 2 input "
                        f"channels but {tmp_path / 'x.npy'} has 3 (c0 c1 c2); try --kernel-layout torch\n")
