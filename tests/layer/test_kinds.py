"""convcli.layer.kinds, the conv kinds as objects, and the seam they open: Conv1D and Conv3D specs
count (parameters, output shape, MACs) and bind to the engine, though the CLI does not offer them.

Expected counts are worked by hand from Keras' formulas below; with Keras installed
(``KERAS_BACKEND=torch``) its own ``count_params()`` and ``compute_output_shape`` say the same.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from convcli import engine
from convcli.errors import ShapeError
from convcli.layer import counts, others
from convcli.layer.kinds import CONV, DEPTHWISE, KIND_OBJECTS, SEPARABLE, TRANSPOSE, kind_of
from convcli.layer.listing import ModelLayer
from convcli.layer.spec import KERAS_NAMES, KINDS, ConvSpec, LayerConfigError


def test_every_kind_has_one_object_with_its_names():
    assert tuple(KIND_OBJECTS) == KINDS == ("conv", "depthwise", "separable", "transpose")
    assert KERAS_NAMES == {"conv": "Conv2D", "depthwise": "DepthwiseConv2D", "separable": "SeparableConv2D",
                           "transpose": "Conv2DTranspose"}
    assert [CONV.keras_name(1), DEPTHWISE.keras_name(1), SEPARABLE.keras_name(1), TRANSPOSE.keras_name(3)] == [
        "Conv1D", "DepthwiseConv1D", "SeparableConv1D", "Conv3DTranspose"]
    assert [CONV.torch_name(3), DEPTHWISE.torch_name(2), TRANSPOSE.torch_name(1)] == [
        "Conv3d", "Conv2d", "ConvTranspose1d"]
    spec = ConvSpec("transpose", 3, 4, (2, 2, 2), stride=(2, 2, 2), dilation=(1, 1, 1), ndim=3)
    assert spec.kind_obj is TRANSPOSE and spec.kind == "transpose"
    assert spec.keras_name == "Conv3DTranspose" and spec.torch_name == "ConvTranspose3d"


def test_an_unknown_kind_is_refused_by_name():
    with pytest.raises(LayerConfigError, match="unknown layer kind 'dilated'; choose from conv, depthwise") as err:
        kind_of("dilated")
    assert err.value.field == "kind"


def test_only_conv_and_depthwise_bind_as_a_grouped_conv():
    dw = ConvSpec("depthwise", 3, None, (3, 3), depth_multiplier=2)
    assert DEPTHWISE.grouped(dw) == ((3, 3, 1, 6), 3)
    conv = ConvSpec("conv", 4, 6, (3,), stride=(1,), dilation=(1,), groups=2, ndim=1)
    assert CONV.grouped(conv) == ((3, 2, 6), 2)
    assert SEPARABLE.grouped(ConvSpec("separable", 3, 4, (3, 3))) is None
    assert TRANSPOSE.grouped(ConvSpec("transpose", 3, 4, (3, 3))) is None


def test_a_listings_other_layers_are_kind_objects_too():
    assert set(others.KINDS) >= {"dense", "batchnorm", "maxpool", "avgpool", "flatten", "zeropad", "add", "input"}
    assert [k for k in others.KINDS if others.other_kind(k).pools] == ["maxpool", "avgpool"]
    assert [k for k in others.KINDS if others.other_kind(k).merges] == [
        "add", "multiply", "subtract", "average", "maximum", "minimum", "concatenate"]
    assert [k for k in others.KINDS if others.other_kind(k).counts_channels] == ["dense", "batchnorm"]
    assert others.other_kind("globalavgpool").keras_name == "GlobalAveragePooling2D"
    dense = ModelLayer("d", "dense", "Dense", units=10, use_bias=True)
    assert others.params(dense, (7, 7, 4)) == (50, 50)
    assert others.other_kind("dense").weights_biases(dense, 50) == (40, 10)
    assert others.flow(dense, (3, 4))[:3] == ((3, 10), None, 3 * 4 * 10)


def test_a_kind_no_listing_has_keeps_the_shape_of_known_classes_only():
    assert others.flow(ModelLayer("a", "mystery", "Dropout"), (4, 4, 2))[0] == (4, 4, 2)
    assert others.params(ModelLayer("a", "mystery", "Dropout")) == (0, 0)
    with pytest.raises(ShapeError, match="convcli does not know this layer's output shape"):
        others.flow(ModelLayer("b", "mystery", "Lambda"), (4, 4, 2))


# ------------------------------------------------------------------------------------------------
# Conv1D and Conv3D: counted and bound

# (spec, input size (*S, C), weights, biases, output shape (*S', F)), by hand:
#   conv: weights Π k · C/g · F, biases F; 'same' gives ceil(n / s), 'valid' (n - (k - 1)·d - 1) // s + 1
#   depthwise: Π k · C · M, biases C·M; separable: Π k · C · M + C · M · F, biases F
#   transpose: Π k · F/g · C, biases F; 'valid' (n - 1)·s + max(k, s), 'same' n·s
ND_CASES = [
    (ConvSpec("conv", 3, 8, (5,), stride=(2,), dilation=(1,), padding="same", ndim=1), (50, 3),
     5 * 3 * 8, 8, (25, 8)),
    (ConvSpec("conv", 4, 6, (3,), stride=(1,), dilation=(2,), groups=2, ndim=1), (20, 4),
     3 * 2 * 6, 6, ((20 - 2 * 2 - 1) // 1 + 1, 6)),
    (ConvSpec("depthwise", 3, None, (3,), stride=(1,), dilation=(1,), depth_multiplier=2, ndim=1), (10, 3),
     3 * 3 * 2, 6, (8, 6)),
    (ConvSpec("separable", 3, 5, (3,), stride=(1,), dilation=(1,), padding="same", ndim=1), (10, 3),
     3 * 3 * 1 + 3 * 1 * 5, 5, (10, 5)),
    (ConvSpec("transpose", 3, 2, (3,), stride=(2,), dilation=(1,), ndim=1), (5, 3),
     3 * 2 * 3, 2, ((5 - 1) * 2 + 3, 2)),
    (ConvSpec("conv", 2, 4, (3, 3, 3), stride=(1, 2, 2), dilation=(1, 1, 1), padding="same", ndim=3), (8, 16, 16, 2),
     27 * 2 * 4, 4, (8, 8, 8, 4)),
    (ConvSpec("conv", 2, 4, (2, 3, 2), stride=(1, 1, 1), dilation=(1, 2, 1), use_bias=False, ndim=3), (5, 9, 6, 2),
     2 * 3 * 2 * 2 * 4, 0, (4, 9 - 4 - 1 + 1, 5, 4)),
    (ConvSpec("transpose", 2, 3, (2, 2, 2), stride=(2, 2, 2), dilation=(1, 1, 1), padding="same", ndim=3),
     (3, 4, 5, 2), 8 * 3 * 2, 3, (6, 8, 10, 3)),
]
ND_IDS = [f"{s.keras_name}-{s.padding}" for s, *_ in ND_CASES]


def _hand_macs(spec: ConvSpec, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
    """One multiply-accumulate per product of an input value and a weight."""
    k, c, f, m = math.prod(spec.kernel), spec.in_channels, spec.out_channels, spec.depth_multiplier
    if spec.kind == "transpose":
        return math.prod(in_shape[:-1]) * k * c * (f // spec.groups)
    positions = math.prod(out_shape[:-1])
    if spec.kind == "depthwise":
        return positions * k * c * m
    if spec.kind == "separable":
        return positions * (k * c * m + c * m * f)
    return positions * k * (c // spec.groups) * f


@pytest.mark.parametrize(("spec", "in_shape", "weights", "biases", "out_shape"), ND_CASES, ids=ND_IDS)
def test_a_1d_or_3d_spec_counts_as_keras_does(spec, in_shape, weights, biases, out_shape):
    p = counts.param_count(spec)
    assert (p.weights, p.biases) == (weights, biases)
    shape = counts.layer_shape(spec, in_shape[:-1])
    assert shape.in_shape == in_shape and shape.out_shape == out_shape
    assert shape.macs == _hand_macs(spec, in_shape, out_shape)
    assert (shape.pads is None) == (spec.kind == "transpose")
    names = {1: "L", 3: "D"}[spec.ndim]
    assert any(name.startswith(names) for term in shape.mac_terms for name, _ in term)


@pytest.mark.parametrize(("spec", "in_shape", "weights", "biases", "out_shape"), ND_CASES, ids=ND_IDS)
def test_a_1d_or_3d_spec_counts_as_keras_itself(spec, in_shape, weights, biases, out_shape):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    n = spec.ndim
    settings = {"kernel_size": spec.kernel, "strides": spec.stride, "padding": spec.padding, "use_bias": spec.use_bias}
    if spec.kind != "transpose":
        settings["dilation_rate"] = spec.dilation
    if spec.kind == "depthwise":
        layer = getattr(keras.layers, f"DepthwiseConv{n}D")(depth_multiplier=spec.depth_multiplier, **settings)
    elif spec.kind == "separable":
        layer = getattr(keras.layers, f"SeparableConv{n}D")(spec.filters, depth_multiplier=spec.depth_multiplier,
                                                             **settings)
    elif spec.kind == "transpose":
        layer = getattr(keras.layers, f"Conv{n}DTranspose")(spec.filters, **settings)
    else:
        layer = getattr(keras.layers, f"Conv{n}D")(spec.filters, groups=spec.groups, **settings)
    assert layer.__class__.__name__ == spec.keras_name
    layer.build((None, *in_shape))
    assert layer.count_params() == weights + biases
    assert tuple(layer.compute_output_shape((None, *in_shape)))[1:] == out_shape
    assert {w.path.split("/")[-1]: tuple(w.shape) for w in layer.weights} == spec.kernel_shapes()


@pytest.mark.parametrize(("spec", "in_shape", "weights", "biases", "out_shape"),
                         [c for c in ND_CASES if c[0].kind_obj.grouped(c[0]) is not None],
                         ids=[i for i, c in zip(ND_IDS, ND_CASES, strict=True) if c[0].kind_obj.grouped(c[0]) is not None])
def test_a_1d_or_3d_spec_binds_to_its_counted_shape(spec, in_shape, weights, biases, out_shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(in_shape)
    kernel = rng.standard_normal(spec.kernel_shapes()["kernel"])
    layer = engine.bind(spec, x, kernel, dtype=np.float64)
    out = engine.layer_output(layer)
    assert out.shape == out_shape
    # every product of a weight and an input value, zeros of the padding included, is one MAC
    assert out.size // layer.filters * math.prod(spec.kernel) * layer.cg * layer.filters == \
        counts.layer_shape(spec, in_shape[:-1]).macs
