"""``params --ndim 1/3`` counts as Keras does: parameters (``count_params()``) and output shapes of Conv1D,
Conv3D, DepthwiseConv1D and DepthwiseConv2D layers, through the CLI's JSON (skipped without Keras)."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from convcli.cli import app

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

CASES = [
    # (CLI arguments, Keras layer, input shape without the batch)
    (["--kind", "Conv1D", "-f", "32", "-k", "9", "--dilation", "8", "--padding", "causal", "--input-size", "100,16"],
     lambda: keras.layers.Conv1D(32, 9, dilation_rate=8, padding="causal"), (100, 16)),
    (["--kind", "conv1d", "-f", "6", "-k", "4", "--stride", "3", "--padding", "same", "--groups", "2",
      "--input-size", "50,4"], lambda: keras.layers.Conv1D(6, 4, strides=3, padding="same", groups=2), (50, 4)),
    (["--kind", "Conv3D", "-f", "16", "-k", "3", "--padding", "same", "--input-size", "8,9,10,8"],
     lambda: keras.layers.Conv3D(16, 3, padding="same"), (8, 9, 10, 8)),
    (["--kind", "conv", "--ndim", "3", "-f", "5", "-k", "1,2,3", "--stride", "2,1,2", "--no-bias",
      "--input-size", "7,7,7,3"],
     lambda: keras.layers.Conv3D(5, (1, 2, 3), strides=(2, 1, 2), use_bias=False), (7, 7, 7, 3)),
    (["--kind", "DepthwiseConv1D", "-m", "2", "-k", "3", "--stride", "2", "--padding", "same", "--input-size", "31,5"],
     lambda: keras.layers.DepthwiseConv1D(3, strides=2, padding="same", depth_multiplier=2), (31, 5)),
    (["--kind", "depthwise", "-m", "3", "-k", "3,5", "--input-size", "12,13,4"],
     lambda: keras.layers.DepthwiseConv2D((3, 5), depth_multiplier=3), (12, 13, 4)),
]


@pytest.mark.parametrize(("args", "make", "shape"), CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_params_of_every_rank_match_keras(args, make, shape):
    result = CliRunner().invoke(app, ["params", *args, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    layer = make()
    layer.build((1, *shape))
    assert doc["total"] == layer.count_params()
    assert doc["output_shape"] == list(layer.compute_output_shape((1, *shape))[1:])
    assert doc["layer"] == type(layer).__name__
