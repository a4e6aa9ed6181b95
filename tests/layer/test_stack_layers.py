"""The layers of ``--stack`` that are not convolutions: pooling, global pooling, batch norm, flatten,
dense and zero padding (convcli.layer.stack); their counts against Keras are in test_stack_keras.py.

Receptive fields are checked against numbers worked by hand and against a 1-D oracle written here
(the input positions each output depends on, followed set by set); shapes, counts, MACs and
receptive fields against :func:`convcli.layer.model.analyse` on the same layers as a listing, the
path ``convcli layers`` takes.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli.errors import ConfigError, ShapeError
from convcli.layer import counts
from convcli.layer import stack as stack_syntax
from convcli.layer.model import Listing, ModelLayer, analyse


def build(text: str, size: tuple[int, int, int] = (224, 224, 3)) -> counts.StackReport:
    return stack_syntax.build_stack(stack_syntax.parse_stack(text), size)


# ------------------------------------------------------------------------------------------------
# the words


def test_parse_every_new_kind():
    layers = stack_syntax.parse_stack(
        "maxpool 3 s2 same, avgpool k2x3, max, avg 2 valid; gap, gmp, bn, batchnorm, flatten, dense 10 nobias, "
        "pad 2, pad 1x2, pad 0,1,2,3, zeropad"
    )
    assert [lay.kind for lay in layers] == [
        "maxpool", "avgpool", "maxpool", "avgpool", "globalavgpool", "globalmaxpool", "batchnorm", "batchnorm",
        "flatten", "dense", "zeropad", "zeropad", "zeropad", "zeropad"]
    assert layers[0].settings == {"kernel": (3, 3), "stride": (2, 2), "padding": "same"}
    assert layers[1].settings == {"kernel": (2, 3)}
    assert layers[2].settings == {} and layers[3].settings == {"kernel": (2, 2), "padding": "valid"}
    assert layers[9].settings == {"units": 10, "use_bias": False}
    assert [lay.settings.get("pads") for lay in layers[10:]] == [(2, 2, 2, 2), (1, 1, 2, 2), (0, 1, 2, 3), None]
    assert layers[12].text == "pad 0,1,2,3" and layers[12].index == 13  # its commas do not split the stack


def test_pad_commas_split_only_inside_a_pad():
    layers = stack_syntax.parse_stack("pad 1,2,3,4,conv 8, pad 1,1,0,0;maxpool 2")
    assert [lay.text for lay in layers] == ["pad 1,2,3,4", "conv 8", "pad 1,1,0,0", "maxpool 2"]
    assert layers[2].settings["pads"] == (1, 1, 0, 0)


def test_keras_defaults():
    """MaxPooling2D(): pool 2, strides = pool size, valid; ZeroPadding2D(): 1 on every side; Dense with a bias."""
    report = build("maxpool, avgpool 3, pad, flatten, dense 4", (12, 13, 2))
    pool, avg, pad, flat, dense = report.layers
    assert isinstance(pool, counts.OtherReport) and pool.out_shape == (6, 6, 2) and pool.pads == (0, 0, 0, 0)
    assert isinstance(avg, counts.OtherReport) and avg.layer.strides == (3, 3) and avg.out_shape == (2, 2, 2)
    assert isinstance(pad, counts.OtherReport) and pad.out_shape == (4, 4, 2) and pad.pads == (1, 1, 1, 1)
    assert isinstance(flat, counts.OtherReport) and flat.out_shape == (32,)
    assert isinstance(dense, counts.OtherReport) and (dense.weights, dense.biases, dense.total) == (128, 4, 132)


@pytest.mark.parametrize(
    "stack, fragments",
    [
        ("maxpool 2 d2", ["layer 1", "'maxpool 2 d2'", "unknown word 'd2'", "maxpool takes a pool size"]),
        ("conv 8, bn 3", ["layer 2", "unknown word '3'", "bn takes no words"]),
        ("gap nobias", ["unknown word 'nobias'", "gap takes no words"]),
        ("dense", ["a dense layer needs the number of units", "'dense 128'"]),
        ("dense 0", ["'0': the number of units must be ≥ 1, got 0"]),
        ("dense 4 k3", ["unknown word 'k3'", "dense takes the number of units N, nobias and an activation"]),
        ("pad 1,2", ["unknown word '1,2'", "pad takes P, PHxPW or T,B,L,R (top, bottom, left, right)"]),
        ("pad -1", ["unknown word '-1'"]),
        ("maxpool k0", ["'k0': the pool size must be ≥ 1, got 0"]),
        ("avg 2 s0", ["'s0': the stride must be ≥ 1, got 0"]),
        ("maxpool 2 3", ["'3' repeats the pool size given by '2'"]),
        ("pad 1x2 3", ["'3' repeats the padding given by '1x2'"]),
        ("dense 3 nobias nobias", ["repeats the nobias"]),
        ("maxpool 99999999999", ["must be ≤ 2147483647"]),
        ("flatten 2", ["flatten takes no words"]),
        ("cnv 3", ["unknown layer kind 'cnv'", "maxpool, avgpool, gap, gmp, bn, flatten, dense or pad"]),
    ],
)
def test_word_errors_are_one_line_naming_the_layer(stack: str, fragments: list[str]):
    with pytest.raises(ConfigError) as info:
        build(stack, (8, 8, 3))
    line = info.value.worded({"stack": "--stack"})
    assert "\n" not in line and line.startswith("--stack layer ")
    for fragment in fragments:
        assert fragment in line


@pytest.mark.parametrize(
    "stack, fragment",
    [
        ("flatten, conv 8", "layer 2 ('conv 8'): it needs an (H, W, C) input, but its input is a flat vector of 192"),
        ("gap, maxpool 2", "layer 2 ('maxpool 2'): it needs an (H, W, C) input, but its input is a flat vector of 3"),
        ("gap, pad 1", "layer 2 ('pad 1'): it needs an (H, W, C) input"),
        ("conv 4 k7, maxpool 3", "layer 2 ('maxpool 3'): '3': the pool window 3×3 spans 3 rows but the padded input "
                                 "has 2 (its input is 2×2×4)"),
        ("maxpool 8, maxpool", "layer 2 ('maxpool'): the default pool 2×2: the pool window 2×2 spans 2 rows"),
        ("pad 2147483647", "the padded output is 4294967302×4294967302; an axis may have at most 2147483647"),
    ],
)
def test_shape_errors_name_the_layer(stack: str, fragment: str):
    with pytest.raises(ShapeError) as info:
        build(stack, (8, 8, 3))
    line = info.value.worded({"stack": "--stack"})
    assert "\n" not in line and line.startswith("--stack layer ")
    assert fragment in line


def test_same_pooling_never_runs_out_of_input():
    """Keras' 'same' pooling pads like a conv: a 9×9 pool on a 4×4 map gives ceil(4 / 9) = 1."""
    pool = build("maxpool 9 same", (4, 4, 3)).layers[0]
    assert isinstance(pool, counts.OtherReport) and pool.out_shape == (1, 1, 3) and pool.pads == (2, 3, 2, 3)


# ------------------------------------------------------------------------------------------------
# counts


def test_batch_norm_counts_four_arrays_two_trainable():
    report = build("conv 16 k3, bn, dense 5", (10, 10, 3))
    conv, bn, dense = report.layers
    assert isinstance(bn, counts.OtherReport)
    assert (bn.total, bn.trainable, bn.weights, bn.biases, bn.macs) == (64, 32, None, None, 0)
    assert isinstance(dense, counts.OtherReport)  # a dense layer on an (H, W, C) map works on its last axis
    assert dense.out_shape == (8, 8, 5) and dense.total == 16 * 5 + 5 and dense.macs == 8 * 8 * 16 * 5
    assert report.total == 448 + 64 + 85 and report.trainable == 448 + 32 + 85 and report.non_trainable == 32
    assert (report.weights, report.biases) == (432 + 80, 16 + 5)
    assert report.macs == 8 * 8 * 27 * 16 + 8 * 8 * 16 * 5


def test_pooling_and_padding_hold_nothing_and_multiply_nothing():
    for last in ("gap", "gmp"):
        report = build(f"pad 1,2,3,4, maxpool 2, avgpool 2 s1 same, {last}", (9, 9, 7))
        assert [(counts.layer_total(r), counts.layer_macs(r)) for r in report.layers] == [(0, 0)] * 4
        assert report.total == 0 and report.macs == 0
        assert [r.out_shape for r in report.layers] == [(12, 16, 7), (6, 8, 7), (6, 8, 7), (7,)]  # type: ignore[union-attr]
    with pytest.raises(ShapeError):  # gmp after gap: a flat vector
        build("gap, gmp", (9, 9, 7))


# ------------------------------------------------------------------------------------------------
# receptive field and effective stride


def test_receptive_field_through_pooling_by_hand():
    """r += (k - 1)·jump, jump *= s, a pool like a conv: 3 (conv) → 3 + 1·1 = 4 (pool 2) → 4 + 2·2 = 8 (conv 3, jump 2)
    → 8 + 2·2 = 12 (pool 3 s2 same: its pads shift nothing) with jump 4."""
    report = build("conv 8 k3, maxpool 2, conv 8 k3, maxpool 3 s2 same, bn, pad 5", (64, 64, 3))
    assert [r.receptive_field[0] for r in report.layers] == [3, 4, 8, 12, 12, 12]
    assert [r.effective_stride for r in report.layers] == [(1, 1), (2, 2), (2, 2), (4, 4), (4, 4), (4, 4)]


def test_unequal_pool_strides_per_axis():
    report = build("avgpool 3x2 s1x2, conv 4 k3", (20, 20, 1))
    assert report.layers[0].receptive_field == (3, 2) and report.layers[0].effective_stride == (1, 2)
    assert report.layers[1].receptive_field == (5, 6) and report.layers[1].effective_stride == (1, 2)


def test_after_flatten_every_output_sees_the_whole_input():
    report = build("conv 4 k3 s2, flatten, dense 8, bn", (30, 40, 3))
    assert report.layers[0].receptive_field == (3, 3)
    for r in report.layers[1:]:
        assert r.receptive_field == (30, 40) and r.effective_stride is None
    gap = build("maxpool 2, gap", (30, 40, 3)).layers[1]
    assert gap.receptive_field == (30, 40) and gap.effective_stride is None


def rf_oracle_1d(windows: list[tuple[int, int]], n_out: int = 6) -> tuple[int, int]:
    """``(receptive field, jump)`` along one axis of a chain of ``(k, s)`` windows, from the definition:
    the input positions each of the first outputs depends on, followed back layer by layer."""
    widest = 0
    for o in range(n_out):
        positions = {o}
        for k, s in reversed(windows):
            positions = {p * s + t for p in positions for t in range(k)}
        widest = max(widest, max(positions) - min(positions) + 1)
    starts = []
    for o in (0, 1):
        positions = {o}
        for k, s in reversed(windows):
            positions = {p * s + t for p in positions for t in range(k)}
        starts.append(min(positions))
    return widest, starts[1] - starts[0]


_LAYER = st.one_of(
    st.tuples(st.just("conv"), st.integers(1, 4), st.integers(1, 3)),
    st.tuples(st.sampled_from(["maxpool", "avgpool"]), st.integers(1, 3), st.integers(1, 3)),
    st.tuples(st.sampled_from(["bn", "pad"]), st.just(0), st.just(0)),
)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(chain=st.lists(_LAYER, min_size=1, max_size=5))
def test_receptive_field_matches_the_oracle(chain: list[tuple[str, int, int]]):
    words = {"conv": "conv 2 k{k} s{s} same", "maxpool": "maxpool {k} s{s} same", "avgpool": "avgpool {k} s{s} same",
             "bn": "bn", "pad": "pad 2"}
    report = build(", ".join(words[kind].format(k=k, s=s) for kind, k, s in chain), (200, 200, 1))
    windows = [(k, s) for kind, k, s in chain if kind not in ("bn", "pad")]
    rf, jump = rf_oracle_1d(windows) if windows else (1, 1)
    assert report.layers[-1].receptive_field == (rf, rf)
    assert report.layers[-1].effective_stride == (Fraction(jump), Fraction(jump))


# ------------------------------------------------------------------------------------------------
# the same numbers as `convcli layers` (model.analyse) on the same layers


def _listing(report: counts.StackReport) -> Listing:
    out = []
    for n, rep in enumerate(report.layers):
        if isinstance(rep, counts.OtherReport):
            out.append(rep.layer)
            continue
        spec = rep.spec
        out.append(ModelLayer(name=f"c{n}", kind=spec.kind, class_name=spec.keras_name, kernel=spec.kernel,
                              strides=spec.stride, padding=spec.padding if isinstance(spec.padding, str) else None,
                              pads=None if isinstance(spec.padding, str) else
                              (spec.padding[0], spec.padding[0], spec.padding[1], spec.padding[1]),
                              dilation=spec.dilation, groups=spec.groups, depth_multiplier=spec.depth_multiplier,
                              in_channels=spec.in_channels, filters=spec.filters, use_bias=spec.use_bias))
    return Listing("stack", "test", tuple(out))


@pytest.mark.parametrize("text", [
    "pad 3, conv 64 k7 s2, bn, pad 1, maxpool 3 s2, conv 64 k1, dw k3 same, bn, sep 128 same, avgpool 2, gap, dense 10",
    "conv 32 k3 s2 same, maxpool 2, conv 16 k3 p1 d2, avgpool 3x2 s1x2 same, flatten, dense 8 nobias, bn, dense 3",
    "conv 8 k3, dense 4, maxpool 2, gmp, bn",
])
def test_same_numbers_as_analyse(text: str):
    report = build(text, (96, 80, 3))
    a = analyse(_listing(report), (96, 80, 3))
    assert a.params == report.total and a.trainable == report.trainable and a.macs == report.macs
    for rep, n in zip(report.layers, a.layers, strict=True):
        out = rep.out_shape if isinstance(rep, counts.OtherReport) else rep.shape.out_shape  # type: ignore[union-attr]
        assert n.out_shape == out, rep.text
        assert (n.params, n.trainable, n.macs) == (counts.layer_total(rep), counts.layer_trainable(rep),
                                                   counts.layer_macs(rep)), rep.text
        assert n.receptive_field == rep.receptive_field and n.effective_stride == rep.effective_stride, rep.text


def test_an_activation_after_a_conv_or_dense_layer_is_kept_and_changes_no_count():
    with_act = stack_syntax.parse_stack("conv 64 k1 relu, gap, dense 10 softmax")
    plain = stack_syntax.parse_stack("conv 64 k1, gap, dense 10")
    assert with_act[0].settings["activation"] == "relu" and with_act[2].settings["activation"] == "softmax"
    counted = stack_syntax.build_stack(with_act, (8, 8, 3))
    assert counted.total == stack_syntax.build_stack(plain, (8, 8, 3)).total == 3 * 64 + 64 + 64 * 10 + 10


def test_a_second_activation_on_one_layer_is_refused():
    with pytest.raises(ConfigError, match="'relu6' repeats the activation given by 'relu'"):
        stack_syntax.parse_stack("conv 8 relu relu6")


def test_the_stacks_activation_words_hold_the_engines():
    from convcli.engine.activations import ACTIVATIONS
    words = stack_syntax.ACTIVATION_WORDS
    assert set(ACTIVATIONS) <= words and words - set(ACTIVATIONS) == {"softmax"}


def test_a_models_fixed_channels_are_its_input_layers_or_its_first_convs():
    conv = ModelLayer("c", "conv", "Conv2D", kernel=(3, 3), in_channels=5, filters=2)
    free = ModelLayer("x", "input", "InputLayer", input_shape=(None, None, None))
    assert Listing("m", "keras", (ModelLayer("x", "input", "InputLayer", input_shape=(None, None, 3)), conv)
                   ).input_channels() == 3
    assert Listing("m", "onnx", (conv,)).input_channels() == 5
    assert Listing("m", "keras", (free, ModelLayer("c", "conv", "Conv2D", kernel=(3, 3), filters=2))
                   ).input_channels() is None
