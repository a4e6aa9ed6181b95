"""``convcli layers``' numbers on a listing made by hand (its table's snapshots at 80, 100 and 120
columns are in test_snapshots.py: ``layers_table`` and ``layers_table_sized``)."""

from __future__ import annotations

from models import layer_block

from convcli.layer.model import Listing, ModelLayer, analyse


def test_block_numbers() -> None:
    """By hand: stem 3·3·3·16 = 432 (no bias), bn 4·16, dw 3·3·16 + 16 = 160, grouped 1×1 16/4·16 + 16 = 80,
    dense 16·10 + 10 = 170; receptive field stem 3 (jump 2), dilated dw 3 + 4·2 = 11, pool 11 + 1·2 = 13."""
    a = analyse(layer_block(), (32, 30, 3))
    by = {n.layer.name: n for n in a.layers}
    assert [n.params for n in a.layers] == [0, 0, 432, 64, 0, 160, 80, 0, 0, 0, 170]
    assert a.params == 906 and a.trainable == 906 - 32
    assert by["stem"].out_shape == (16, 15, 16)
    assert by["block_add"].receptive_field == (11, 11)
    assert by["pool"].out_shape == (8, 7, 16) and by["pool"].receptive_field == (13, 13)
    assert by["logits"].out_shape == (10,) and by["logits"].macs == 160
    assert a.macs == 16 * 15 * (27 * 16 + 9 * 16 + 4 * 16) + 160


def test_a_chain_without_an_input_layer_starts_at_the_input() -> None:
    """A Sequential model saved without its input layer (Keras 2): the first layer reads the input."""
    conv = ModelLayer("c", "conv", "Conv2D", kernel=(3, 3), strides=(1, 1), padding="valid", in_channels=2,
                      filters=4, use_bias=True)
    a = analyse(Listing("m.h5", "h5", (conv,)), (5, 6, 2))
    assert a.layers[0].in_shape == (5, 6, 2) and a.layers[0].out_shape == (3, 4, 4)
    assert a.layers[0].macs == 3 * 4 * 9 * 2 * 4 and a.params == 9 * 2 * 4 + 4


def test_names_escaped_and_never_markup() -> None:
    from convcli.render import layers as render_layers

    from helpers import draw

    for sized in (None, (32, 30, 3)):
        a = analyse(layer_block(), sized)
        for width in (80, 100, 120):
            text = draw([render_layers.LayersTable(a), render_layers.layers_totals(a)], width)
            assert "\x1b" not in text and "block_pro" in text
            assert "block[red].keras" in text  # a file name is never read as markup
    assert "block_project\\x1b[31m" in draw(render_layers.LayersTable(analyse(layer_block())), 120)
