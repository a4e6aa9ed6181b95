"""``--stack`` against Keras itself: VGG16 as one stack, and small networks with batch norm, pooling,
zero padding, global pooling and dense layers (skipped without Keras).

Each model is built once per module: ``count_params()``, the trainable and non-trainable counts and
every layer's output shape and parameters must equal what the stack says.
"""

from __future__ import annotations

from math import prod
from typing import Any

import models
import pytest

from convcli.layer import counts
from convcli.layer import stack as stack_syntax

VGG16 = ", ".join([
    "conv 64 same", "conv 64 same", "maxpool 2",
    "conv 128 same", "conv 128 same", "maxpool 2",
    *["conv 256 same"] * 3, "maxpool 2",
    *["conv 512 same"] * 3, "maxpool 2",
    *["conv 512 same"] * 3, "maxpool 2",
    "flatten", "dense 4096", "dense 4096", "dense 1000",
])


def trainable_count(model: Any) -> int:
    return sum(prod(w.shape) for w in model.trainable_weights)


def check_against(model: Any, stack: str, size: tuple[int, int, int]) -> counts.StackReport:
    """The stack on the model's input ``size``: totals, and every layer's output shape and parameters."""
    report = stack_syntax.build_stack(stack_syntax.parse_stack(stack), size)
    layers = [layer for layer in model.layers if type(layer).__name__ not in ("InputLayer", "Activation")]
    assert len(layers) == len(report.layers)
    for layer, rep in zip(layers, report.layers, strict=True):
        out = rep.out_shape if isinstance(rep, counts.OtherReport) else rep.shape.out_shape  # type: ignore[union-attr]
        assert out == tuple(layer.output.shape[1:]), (rep.text, layer.name)
        assert counts.layer_total(rep) == layer.count_params(), (rep.text, layer.name)
        assert counts.layer_trainable(rep) == sum(prod(w.shape) for w in layer.trainable_weights), rep.text
        if isinstance(rep, counts.OtherReport):
            assert rep.layer.class_name == type(layer).__name__
    assert report.total == model.count_params()
    assert report.trainable == trainable_count(model)
    assert report.non_trainable == model.count_params() - trainable_count(model)
    return report


@pytest.fixture(scope="module")
def vgg16() -> Any:
    return models.keras().applications.VGG16(weights=None, input_shape=(224, 224, 3))


def test_vgg16_is_one_stack(vgg16: Any):
    report = check_against(vgg16, VGG16, (224, 224, 3))
    assert report.total == 138_357_544
    assert report.out_shape == (1000,)
    # the last conv sees 212×212 input pixels, 32 apart (the figure published for VGG16); the head, everything
    last_pool = report.layers[17]
    assert last_pool.receptive_field == (212, 212) and last_pool.effective_stride == (32, 32)
    assert report.layers[-1].receptive_field == (224, 224) and report.layers[-1].effective_stride is None


@pytest.fixture(scope="module")
def stem() -> Any:
    k = models.keras()
    L = k.layers
    return k.Sequential([k.Input((224, 224, 3)), L.Conv2D(64, 7, strides=2, padding="same"),
                         L.BatchNormalization(), L.MaxPooling2D(3, strides=2, padding="same")])


def test_resnet_like_stem_with_batch_norm(stem: Any):
    report = check_against(stem, "conv 64 k7 s2 same, bn, maxpool 3 s2 same", (224, 224, 3))
    assert (report.total, report.trainable, report.non_trainable) == (9_728, 9_600, 128)
    assert report.layers[-1].receptive_field == (11, 11) and report.layers[-1].effective_stride == (4, 4)


@pytest.fixture(scope="module")
def resnet50_stem() -> Any:
    """ResNet50's own stem: ZeroPadding2D(3), a valid 7×7/2 conv, batch norm, ZeroPadding2D(1), a valid 3×3/2 pool."""
    k = models.keras()
    L = k.layers
    return k.Sequential([k.Input((224, 224, 3)), L.ZeroPadding2D(3), L.Conv2D(64, 7, strides=2),
                         L.BatchNormalization(), L.Activation("relu"), L.ZeroPadding2D(1),
                         L.MaxPooling2D(3, strides=2)])


def test_resnet50_stem_with_explicit_pads(resnet50_stem: Any):
    report = check_against(resnet50_stem, "pad 3, conv 64 k7 s2, bn, pad 1, maxpool 3 s2", (224, 224, 3))
    assert report.out_shape == (56, 56, 64)


@pytest.fixture(scope="module")
def small_net() -> Any:
    """Every new kind, with asymmetric pads, 'same' average pooling, a dense layer on a map and one without bias."""
    k = models.keras()
    L = k.layers
    return k.Sequential([
        k.Input((33, 40, 5)),
        L.ZeroPadding2D(((1, 2), (0, 3))),
        L.Conv2D(12, 3, strides=2, use_bias=False),
        L.BatchNormalization(),
        L.AveragePooling2D((3, 2), strides=(2, 1), padding="same"),
        L.Dense(7),
        L.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
        L.BatchNormalization(),
        L.MaxPooling2D(),
        L.ZeroPadding2D((1, 2)),
        L.SeparableConv2D(9, 3),
        L.GlobalMaxPooling2D(),
        L.Dense(6, use_bias=False),
        L.BatchNormalization(),
        L.Dense(3),
    ])


def test_every_new_kind_against_keras(small_net: Any):
    report = check_against(small_net, "pad 1,2,0,3, conv 12 k3 s2 nobias, bn, avgpool 3x2 s2x1 same, dense 7, "
                                      "dw k3 same m2, bn, maxpool, pad 1x2, sep 9 k3, gmp, dense 6 nobias, bn, dense 3",
                           (33, 40, 5))
    assert report.non_trainable == 2 * (12 + 14 + 6)


def test_global_average_pooling_head_against_keras():
    k = models.keras()
    L = k.layers
    model = k.Sequential([k.Input((28, 28, 1)), L.Conv2D(8, 3), L.AveragePooling2D(2), L.Flatten(), L.Dense(16),
                          L.Dense(4)])
    check_against(model, "conv 8, avg, flatten, dense 16, dense 4", (28, 28, 1))
    model = k.Sequential([k.Input((28, 28, 1)), L.Conv2D(8, 3), L.GlobalAveragePooling2D(), L.Dense(4)])
    check_against(model, "conv 8, gap, dense 4", (28, 28, 1))
