"""Parameter counts, MACs, output shapes and receptive fields (convcli.layer); `convcli params`
itself is tested in tests/cli/test_params_command.py.

Counts are checked against Keras 3 / PyTorch values committed in tests/golden/param_golden.json (made
by make_param_golden.py beside it), MACs against hand-worked cases and the engine's own products,
receptive fields against a 1-D impulse-response oracle written here without convcli.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli import engine
from convcli.errors import ConfigError, ShapeError
from convcli.layer import counts, geometry, receptive
from convcli.layer import stack as stack_syntax
from convcli.layer.spec import ConvSpec, LayerConfigError

from helpers import invoke

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "param_golden.json").read_text(encoding="utf-8"))


def spec_of(case: dict) -> ConvSpec:
    return ConvSpec(case["kind"], case["in_channels"], case["filters"], tuple(case["kernel"]),
                    groups=case["groups"], depth_multiplier=case["depth_multiplier"], use_bias=case["use_bias"])


# ------------------------------------------------------------------------------------------------
# against Keras and PyTorch


def test_golden_covers_every_kind_with_and_without_bias():
    seen = {(c["layer"], c["use_bias"]) for c in GOLDEN["params"]}
    for layer in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "Conv2d", "ConvTranspose2d"):
        assert (layer, True) in seen and (layer, False) in seen, layer
    assert any(c["groups"] > 1 and c["layer"] == "Conv2D" for c in GOLDEN["params"])
    assert any(c["depth_multiplier"] > 1 and c["layer"] == "DepthwiseConv2D" for c in GOLDEN["params"])


@pytest.mark.parametrize("case", GOLDEN["params"], ids=lambda c: f"{c['layer']}-{c['in_channels']}-{c['filters']}-"
                         f"{c['kernel']}-g{c['groups']}-m{c['depth_multiplier']}-{'b' if c['use_bias'] else 'nob'}")
def test_counts_equal_framework(case: dict):
    p = counts.param_count(spec_of(case))
    assert (p.weights, p.biases, p.total) == (case["weights"], case["biases"], case["total"])
    if case["framework"].startswith("keras"):
        # the weight arrays themselves, in Keras' names and layouts
        shapes = {name: list(s) for name, s in spec_of(case).kernel_shapes().items()}
        assert shapes == case["variables"]


@pytest.mark.parametrize("case", GOLDEN["output_shapes"], ids=lambda c: f"{c['layer']}-{c['input']}-k{c['kernel']}-"
                         f"s{c['stride']}-d{c['dilation']}-{c['padding']}")
def test_output_shapes_equal_keras(case: dict):
    h, w, c = case["input"]
    spec = ConvSpec(case["kind"], c, case["filters"], tuple(case["kernel"]), tuple(case["stride"]),
                    tuple(case["dilation"]), case["padding"], depth_multiplier=case["depth_multiplier"])
    assert list(counts.layer_shape(spec, (h, w)).out_shape) == case["output"]


def test_transpose_takes_pytorch_padding_and_dilation():
    # PyTorch's padding P cuts P from each end: (n - 1)·s - 2P + (k - 1)·d + 1
    assert counts.layer_shape(ConvSpec("transpose", 3, 8, (3, 3), padding=(1, 1)), (8, 8)).out_shape == (8, 8, 8)
    spec = ConvSpec("transpose", 3, 8, (3, 3), (2, 2), padding=(1, 1), dilation=(2, 2), output_padding=(1, 0))
    assert counts.layer_shape(spec, (5, 5)).out_shape == (12, 11, 8)
    with pytest.raises(ShapeError, match="transposed output"):
        counts.layer_shape(ConvSpec("transpose", 3, 8, (3, 3), padding=(5, 5)), (2, 2))


def test_transpose_output_size_rule():
    # Keras 3: valid -> (n - 1)·s + max(k, s); same -> n·s
    assert geometry.transpose_out_1d(5, 3, 2, "valid") == 11
    assert geometry.transpose_out_1d(3, 2, 3, "valid") == 9  # stride > kernel: (3 - 1)·3 + 3
    assert geometry.transpose_out_1d(5, 3, 2, "same") == 10


def test_engine_param_count_delegates():
    assert engine.param_count((2, 2, 3, 1)) == (12, 1)
    assert engine.param_count((3, 3, 2, 6), use_bias=False) == (108, 0)


def test_run_shows_the_count_through_the_one_function(monkeypatch, tmp_path: Path):
    calls = []
    real = counts.param_count

    def spy(spec):
        calls.append(spec)
        return real(spec)

    monkeypatch.setattr("convcli.layer.counts.param_count", spy)
    x = np.stack([np.full((3, 3), v, dtype=np.float32) for v in (1, 100, 10000)], axis=-1)
    np.save(tmp_path / "t.npy", x)
    r = invoke("run", tmp_path / "t.npy", "-k", "2", "--init", "ones")
    assert r.exit_code == 0, r.output
    assert "2·2·3·1 + 1 = 13" in r.stdout
    assert calls and calls[0].kernel == (2, 2) and calls[0].in_channels == 3


# ------------------------------------------------------------------------------------------------
# output shapes and pads: the same arithmetic as the engine


@settings(max_examples=150, deadline=None)
@given(
    h=st.integers(1, 40), w=st.integers(1, 40), kh=st.integers(1, 7), kw=st.integers(1, 7),
    sh=st.integers(1, 4), sw=st.integers(1, 4), dh=st.integers(1, 3), dw=st.integers(1, 3),
    padding=st.one_of(st.sampled_from(["valid", "same"]), st.tuples(st.integers(0, 3), st.integers(0, 3))),
    kind=st.sampled_from(["conv", "depthwise", "separable"]),
)
def test_output_shape_and_pads_match_engine(h, w, kh, kw, sh, sw, dh, dw, padding, kind):
    spec = ConvSpec(kind, 3, None if kind == "depthwise" else 4, (kh, kw), (sh, sw), (dh, dw), padding)
    kwargs = dict(stride=(sh, sw), padding=padding, dilation=(dh, dw))
    try:
        expected = engine.conv_geometry((h, w), (kh, kw), **kwargs)
    except ShapeError:
        with pytest.raises(ShapeError):
            counts.layer_shape(spec, (h, w))
        return
    got = counts.layer_shape(spec, (h, w))
    assert got.out_shape[:2] == expected.out_hw == engine.output_shape((h, w), (kh, kw), **kwargs)
    assert got.pads == expected.pads


# ------------------------------------------------------------------------------------------------
# MACs and FLOPs


@pytest.mark.parametrize(
    "spec, hw, macs",
    [
        # textbook: 2×2 outputs, each 2·2·3 products
        (ConvSpec("conv", 3, 1, (2, 2)), (3, 3), 2 * 2 * 12),
        # 3×3 conv 64 -> 128 on 56×56, 'same': 3136 positions × 73,728 products
        (ConvSpec("conv", 64, 128, (3, 3), padding="same"), (56, 56), 231_211_008),
        # grouped: 6×6 positions × 6 filters × 3·3·(4/2)
        (ConvSpec("conv", 4, 6, (3, 3), groups=2), (8, 8), 36 * 6 * 18),
        # depthwise M=2, stride 2 'same': 56·56 positions × 64 outputs × 9 taps
        (ConvSpec("depthwise", 32, None, (3, 3), (2, 2), padding="same", depth_multiplier=2), (112, 112), 1_806_336),
        # separable: the depthwise part (3136·9·64) plus the pointwise (3136·64·128)
        (ConvSpec("separable", 64, 128, (3, 3), padding="same"), (56, 56), 1_806_336 + 25_690_112),
        # transpose: every input value (16·16·64) meets every tap of every filter (4·4·32)
        (ConvSpec("transpose", 64, 32, (4, 4), (2, 2), padding="same"), (16, 16), 16 * 16 * 64 * 16 * 32),
    ],
)
def test_macs_hand_worked(spec: ConvSpec, hw, macs: int):
    shape = counts.layer_shape(spec, hw)
    assert shape.macs == macs
    assert shape.flops == 2 * macs
    assert sum(counts.term_value(t) for t in shape.mac_terms) == macs


@pytest.mark.parametrize("c, f, k, s, pad, groups", [(3, 2, 3, 1, "valid", 1), (4, 6, 2, 2, "same", 2),
                                                      (6, 3, 3, 1, 1, 3)])
def test_macs_equal_the_engines_products(c, f, k, s, pad, groups):
    """Every multiplication the engine's trace makes, counted: that is what a MAC is."""
    x = np.random.default_rng(3).normal(size=(5, 6, c))
    layer = engine.prepare(x, np.ones((k, k, c // groups, f)), stride=s, padding=pad, groups=groups)
    ho, wo = layer.geometry.out_hw
    products = sum(engine.trace_position(layer, i, j, ff).products.size
                   for i in range(ho) for j in range(wo) for ff in range(f))
    padding = pad if isinstance(pad, str) else (pad, pad)
    spec = ConvSpec("conv", c, f, (k, k), (s, s), padding=padding, groups=groups)
    assert counts.layer_shape(spec, (5, 6)).macs == products


# ------------------------------------------------------------------------------------------------
# receptive field


def rf_oracle_1d(layers: list[tuple[str, int, int, int]]) -> int:
    """Exact receptive field along one axis: push every unit impulse through the layers ('valid'
    conv, full transposed conv) and take the widest set of inputs one output depends on."""
    strides = int(np.prod([s for kind, _, s, _ in layers if kind != "transpose"]))
    n = strides * (16 + sum((k - 1) * d + 1 for _, k, _, d in layers))  # long enough for interior outputs
    deps = np.eye(n, dtype=bool)  # deps[i, o]: output o depends on input i

    for kind, k, s, d in layers:
        length = deps.shape[1]
        if kind == "transpose":
            out = np.zeros((n, (length - 1) * s + k), dtype=bool)
            for t in range(k):
                out[:, t : t + (length - 1) * s + 1 : s] |= deps
            deps = out
        else:
            count = (length - ((k - 1) * d + 1)) // s + 1
            index = np.arange(count)[:, None] * s + np.arange(k)[None, :] * d
            deps = deps[:, index].any(axis=-1)
    # outputs near the ends see a cut receptive field, the interior the whole one
    widths = [np.ptp(np.flatnonzero(deps[:, o])) + 1 for o in range(deps.shape[1]) if deps[:, o].any()]
    return max(widths)


def stack_specs(layers: list[tuple[str, int, int, int]]) -> list[ConvSpec]:
    return [ConvSpec(kind, 1, None if kind == "depthwise" else 1, (k, k), (s, s), (d, d)) for kind, k, s, d in layers]


@pytest.mark.parametrize(
    "layers, rf",
    [
        ([("conv", 3, 1, 1), ("conv", 3, 1, 1)], 5),  # two 3×3 stride 1
        ([("conv", 3, 2, 1), ("conv", 3, 1, 1)], 7),  # 3×3 stride 2 then 3×3
        ([("conv", 3, 1, 2)], 5),  # dilation 2
        ([("conv", 7, 2, 1), ("conv", 3, 2, 1), ("conv", 3, 1, 1)], 19),
        ([("transpose", 4, 2, 1)], 2),  # each output sees at most ceil(4 / 2) inputs
        ([("conv", 3, 2, 1), ("transpose", 3, 2, 1), ("conv", 3, 1, 1)], 7),
    ],
)
def test_receptive_field_hand_worked(layers, rf: int):
    assert receptive.receptive_field(stack_specs(layers)) == (rf, rf)
    assert rf_oracle_1d(layers) == rf


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["conv", "depthwise", "transpose"]), st.integers(1, 4),
                          st.integers(1, 3), st.integers(1, 2)), min_size=1, max_size=3))
def test_receptive_field_matches_impulse_oracle(layers):
    layers = [(kind, k, s, 1 if kind == "transpose" else d) for kind, k, s, d in layers]
    assert receptive.receptive_field(stack_specs(layers))[0] == rf_oracle_1d(layers)


def test_effective_stride():
    assert receptive.effective_stride(stack_specs([("conv", 3, 2, 1), ("conv", 3, 2, 1)])) == (4, 4)
    assert receptive.effective_stride(stack_specs([("transpose", 4, 2, 1)])) == (Fraction(1, 2), Fraction(1, 2))


def test_rectangular_receptive_field():
    specs = [ConvSpec("conv", 1, 1, (3, 1), (2, 1)), ConvSpec("conv", 1, 1, (3, 5))]
    assert receptive.receptive_field(specs) == (7, 5)


# ------------------------------------------------------------------------------------------------
# the stack syntax


def test_parse_stack():
    layers = stack_syntax.parse_stack("conv 32 k3 s2, dw k3x5 same m2; sep 64 p1x2 d2 nobias, tconv f8 k4 s2 same, conv 6 g3")
    assert [lay.kind for lay in layers] == ["conv", "depthwise", "separable", "transpose", "conv"]
    assert layers[0].settings == {"filters": 32, "kernel": (3, 3), "stride": (2, 2)}
    assert layers[1].settings == {"kernel": (3, 5), "padding": "same", "depth_multiplier": 2}
    assert layers[2].settings == {"filters": 64, "padding": (1, 2), "dilation": (2, 2), "use_bias": False}
    assert layers[3].settings["filters"] == 8 and layers[4].settings["groups"] == 3
    assert layers[1].text == "dw k3x5 same m2" and layers[1].index == 2


def test_stack_report_hand_worked():
    report = stack_syntax.build_stack(stack_syntax.parse_stack("conv 32 k3 s2, dw k3 same, conv 64 k1"), (224, 224, 3))
    rows = [(r.shape.out_shape, r.params.total, r.shape.macs, r.receptive_field[0], r.effective_stride[0])
            for r in report.layers if r.shape is not None]
    assert rows == [
        ((111, 111, 32), 3 * 3 * 3 * 32 + 32, 111 * 111 * 27 * 32, 3, 2),
        ((111, 111, 32), 9 * 32 + 32, 111 * 111 * 9 * 32, 7, 2),
        ((111, 111, 64), 32 * 64 + 64, 111 * 111 * 32 * 64, 7, 2),
    ]
    assert report.total == 896 + 320 + 2112
    assert report.macs == sum(r[2] for r in rows) and report.flops == 2 * report.macs


@pytest.mark.parametrize(
    "stack, fragments",
    [
        ("conv 32 k3, dw k3 q4", ["layer 2", "'dw k3 q4'", "unknown word 'q4'"]),
        ("cnv 32", ["layer 1", "unknown layer kind 'cnv'"]),
        ("conv 8,, conv 8", ["layer 2 is empty"]),
        ("conv 8, conv k3", ["layer 2", "'conv k3'", "needs a filter count"]),
        ("conv 8 k3 k5", ["layer 1", "'k5' repeats the kernel given by 'k3'"]),
        ("conv 32, conv 64 g5", ["layer 2", "'g5'", "groups 5 does not divide the 32 input channels"]),
        ("conv 6 g4", ["layer 1", "'g4'", "does not divide the 3 input channels"]),
        ("dw 16", ["layer 1", "'16'", "no filter count"]),
        ("sep 8 g2", ["layer 1", "'g2'", "groups is for conv and transpose"]),
        ("conv 8 k0", ["layer 1", "'k0'", "≥ 1"]),
        ("conv 8 s2x", ["layer 1", "unknown word 's2x'"]),
        ("conv 8, conv 0", ["layer 2", "'0'", "≥ 1"]),
        ("", ["--stack is empty"]),
    ],
)
def test_stack_syntax_errors_name_layer_and_word(stack: str, fragments: list[str]):
    r = invoke("params", "--stack", stack, "--input-size", "8,8,3")
    assert r.exit_code == 2, r.output
    line = r.stderr.strip()
    assert line.count("\n") == 0 and line.startswith("Error: ")
    for fragment in fragments:
        assert fragment in line


def test_stack_shape_error_names_layer_and_input():
    r = invoke("params", "--stack", "conv 8 k3 s2, conv 8 k5", "--input-size", "8,8,3")
    assert r.exit_code == 1
    assert "layer 2 ('conv 8 k5'): 'k5': kernel 5×5 spans 5 rows but the padded input has 3" in r.stderr
    assert "its input is 3×3×8" in r.stderr


# ------------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize(
    "spec, field, fragment",
    [
        (ConvSpec("conv", 64, 128, (3, 3), groups=3), "groups", "groups 3 does not divide the 64 input channels"),
        (ConvSpec("conv", 6, 4, (3, 3), groups=3), "groups", "groups 3 does not divide the 4 filters"),
        (ConvSpec("conv", 0, 4, (3, 3)), "in_channels", "must be ≥ 1, got 0"),
        (ConvSpec("depthwise", 3, 4, (3, 3)), "filters", "no filter count"),
        (ConvSpec("conv", 3, None, (3, 3)), "filters", "needs a filter count"),
        (ConvSpec("transpose", 3, 4, (3, 3), (2, 2), output_padding=(2, 0)), "output_padding",
         "smaller than the stride"),
        (ConvSpec("conv", 3, 4, (3, 3), output_padding=(0, 0)), "output_padding", "for transpose layers"),
        (ConvSpec("conv", 3, 4, (3, 3), depth_multiplier=2), "depth_multiplier", "depthwise and separable"),
        (ConvSpec("pool", 3, 4, (3, 3)), "kind", "unknown layer kind"),
    ],
)
def test_bad_combinations(spec: ConvSpec, field: str, fragment: str):
    with pytest.raises(LayerConfigError) as info:
        counts.param_count(spec)
    assert info.value.field == field
    assert fragment in str(info.value)
    assert isinstance(info.value, ConfigError)


# the receptive field without loops or sets as large as the layer: the closed forms
# against the exact set-by-set definition they replace, written here as it was


def rf_by_sets(layers: list[tuple[str, int, int, int]]) -> int:
    """The old algorithm: every output of one period of the transpose strides, its input set followed exactly."""
    period = int(np.prod([s for kind, _, s, _ in layers if kind == "transpose"]))
    largest = 0
    for o in range(period):
        positions = {o}
        for kind, k, s, d in reversed(layers):
            if kind == "transpose":
                positions = {i for p in positions for i in range(-(-(p - k + 1) // s), p // s + 1)}
            else:
                positions = {p * s + t * d for p in positions for t in range(k)}
        if positions:
            largest = max(largest, max(positions) - min(positions) + 1)
    return largest


_layer = st.tuples(st.sampled_from(["conv", "transpose"]), st.integers(1, 7), st.integers(1, 6), st.integers(1, 3))


@settings(max_examples=300, deadline=None)
@given(st.lists(_layer, min_size=1, max_size=4))
def test_receptive_field_closed_forms_equal_the_set_definition(layers):
    layers = [(kind, k, s, 1 if kind == "transpose" else d) for kind, k, s, d in layers]
    try:
        rf = receptive.receptive_field(stack_specs(layers))[0]
    except ConfigError as exc:  # refused only beyond the step budget: several gapped transposes
        period = math.prod(s for kind, _, s, _ in layers if kind == "transpose")
        assert period * math.prod(k for _, k, _, _ in layers) > receptive.EXACT_BUDGET, exc
        return
    assert rf == rf_by_sets(layers)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["conv"]), st.integers(1, 7), st.integers(1, 6), st.integers(1, 3)),
                max_size=2),
       st.integers(1, 9), st.integers(1, 9),
       st.lists(st.tuples(st.sampled_from(["conv"]), st.integers(1, 7), st.integers(1, 6), st.integers(1, 3)),
                max_size=2))
def test_one_transpose_closed_form_equals_the_set_definition(before, k, s, after):
    """One transpose between convs: the closed form (k ≥ s, or nothing after it) is the exact answer."""
    layers = [*before, ("transpose", k, s, 1), *after]
    assert receptive.receptive_field(stack_specs(layers))[0] == rf_by_sets(layers)


@pytest.mark.parametrize("k, s, rf", [(10**8, 3, 33333334), (3, 10**8, 1), (2**31 - 1, 2**31 - 1, 1),
                                      (2**31 - 1, 2, 2**30)])
def test_huge_transpose_receptive_field_is_immediate(k, s, rf):
    """One transpose sees at most ⌈k/s⌉ inputs per output; no loop over the stride, no set of k elements."""
    assert receptive.receptive_field([ConvSpec("transpose", 1, 1, (k, k), (s, s))]) == (rf, rf)
    assert rf == -(-k // s)


def test_receptive_field_of_gapped_transposes_is_bounded():
    """Several transposes whose kernels leave gaps (k < s) and whose strides multiply past the budget: refused
    with the numbers, at once."""
    specs = stack_specs([("transpose", 1, 2000, 1), ("transpose", 1, 1000, 1)])
    with pytest.raises(ConfigError, match=r"multiply to 2000000 and a kernel narrower .* about 2000000 steps \(at most 1048576\)"):
        receptive.receptive_field(specs)
