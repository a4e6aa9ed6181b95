"""``convcli layers``' table at 80, 100 and 120 columns, byte for byte (tests/snapshots/layers_*.txt).

The listing is built here by hand (no framework, no file): a small residual block with every column
in use, listed without and with an input size. Rewrite with ``pytest --update-snapshots
tests/render/test_layers_snapshots.py`` after a deliberate change and review the diff.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rich.cells import cell_len

from convcli.layer.model import Listing, ModelLayer, analyse
from convcli.render import layers as render_layers

from helpers import draw

WIDTHS = (80, 100, 120)


def block() -> Listing:
    L = ModelLayer
    layers = (
        L("image", "input", "InputLayer", input_shape=(None, None, 3), inbound=()),
        L("stem_pad", "zeropad", "ZeroPadding2D", pads=(0, 1, 0, 1), inbound=("image",)),
        L("stem", "conv", "Conv2D", kernel=(3, 3), strides=(2, 2), padding="valid", dilation=(1, 1), groups=1,
          in_channels=3, filters=16, use_bias=False, activation="linear", inbound=("stem_pad",)),
        L("stem_bn", "batchnorm", "BatchNormalization", in_channels=16, inbound=("stem",)),
        L("stem_relu", "other", "ReLU", inbound=("stem_bn",)),
        L("block_dw", "depthwise", "DepthwiseConv2D", kernel=(3, 3), strides=(1, 1), padding="same",
          dilation=(2, 2), depth_multiplier=1, in_channels=16, use_bias=True, activation="relu",
          inbound=("stem_relu",)),
        L("block_project\x1b[31m", "conv", "Conv2D", kernel=(1, 1), strides=(1, 1), padding="same",
          dilation=(1, 1), groups=4, in_channels=16, filters=16, use_bias=True, activation="linear",
          inbound=("block_dw",)),
        L("block_add", "add", "Add", inbound=("stem_relu", "block_project\x1b[31m")),
        L("pool", "maxpool", "MaxPooling2D", kernel=(2, 2), strides=(2, 2), padding="valid", dilation=(1, 1),
          inbound=("block_add",)),
        L("gap", "globalavgpool", "GlobalAveragePooling2D", keepdims=False, inbound=("pool",)),
        L("logits", "dense", "Dense", in_channels=16, units=10, use_bias=True, activation="softmax",
          inbound=("gap",)),
    )
    return Listing("block[red].keras", "keras", layers)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("sized", [False, True])
def test_layers_table(width: int, sized: bool, snapshot: Callable[[str, str], None]) -> None:
    a = analyse(block(), (32, 30, 3) if sized else None)
    text = draw([render_layers.LayersTable(a), render_layers.layers_totals(a)], width)
    assert all(cell_len(line) <= width for line in text.splitlines())
    assert "\x1b" not in text and "block_pro" in text  # escaped (and cut with … at the narrowest)
    assert "block[red].keras" in text  # a file name is never read as markup
    snapshot(f"layers{'_sized' if sized else ''}_{width}.txt", text)


def test_block_numbers() -> None:
    """By hand: stem 3·3·3·16 = 432 (no bias), bn 4·16, dw 3·3·16 + 16 = 160, grouped 1×1 16/4·16 + 16 = 80,
    dense 16·10 + 10 = 170; receptive field stem 3 (jump 2), dilated dw 3 + 4·2 = 11, pool 11 + 1·2 = 13."""
    a = analyse(block(), (32, 30, 3))
    by = {n.layer.name: n for n in a.layers}
    assert [n.params for n in a.layers] == [0, 0, 432, 64, 0, 160, 80, 0, 0, 0, 170]
    assert a.params == 906 and a.trainable == 906 - 32
    assert by["stem"].out_shape == (16, 15, 16)
    assert by["block_add"].receptive_field == (11, 11)
    assert by["pool"].out_shape == (8, 7, 16) and by["pool"].receptive_field == (13, 13)
    assert by["logits"].out_shape == (10,) and by["logits"].macs == 160
    assert a.macs == 16 * 15 * (27 * 16 + 9 * 16 + 4 * 16) + 160
