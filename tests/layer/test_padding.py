"""Padding and output shapes (the layer's geometry), checked by hand and against the oracle's 'same' pads."""

from __future__ import annotations

import pytest

from convcli import engine

from oracle import naive_same_pads

# --------------------------------------------------------------------------------------------
# Padding and output shapes, checked by hand

# n, k, s, d -> (before, after): out = ceil(n/s), total = max((out-1)s + (k-1)d + 1 - n, 0)
SAME_PADS = [
    (6, 3, 2, 1, (0, 1)),  # out 3, total 1: the odd row goes after
    (5, 3, 2, 1, (1, 1)),  # out 3, total 2
    (7, 4, 1, 1, (1, 2)),  # even kernel, stride 1: total 3
    (1, 3, 1, 1, (1, 1)),  # single pixel
    (3, 5, 1, 1, (2, 2)),  # kernel larger than the input
    (5, 3, 1, 2, (2, 2)),  # dilation 2: span 5, total 4
    (6, 2, 1, 3, (1, 2)),  # dilation 3: span 4, total 3
    (2, 3, 2, 2, (1, 2)),  # stride 2 and dilation 2: out 1, span 5, total 3
    (9, 3, 2, 2, (2, 2)),  # stride 2 and dilation 2: out 5, total 8 + 5 - 9
    (4, 1, 1, 1, (0, 0)),  # 1×1 kernel needs no padding
    (7, 1, 3, 1, (0, 0)),  # 1×1 kernel with stride
    (7, 2, 5, 1, (0, 0)),  # stride larger than kernel: out 2, total 5 + 2 - 7 = 0
    (8, 2, 5, 1, (0, 0)),  # ... total would be -1: clamped to 0
    (6, 2, 5, 1, (0, 1)),  # ... total 1
    (4, 4, 2, 1, (1, 1)),  # out 2, total 2
    (10, 3, 3, 1, (1, 1)),  # out 4, total 9 + 3 - 10
    (224, 7, 2, 1, (2, 3)),  # ResNet stem in TensorFlow
    (224, 3, 2, 1, (0, 1)),  # the classic TF stride-2 asymmetry
]


@pytest.mark.parametrize(("n", "k", "s", "d", "expected"), SAME_PADS)
def test_same_pads_table(n, k, s, d, expected):
    assert naive_same_pads(n, k, s, d) == expected  # the oracle agrees with the hand arithmetic
    assert engine.same_pads_1d(n, k, s, d) == expected
    # rows, then columns: the other axis is a 1-wide input with a 1×1 kernel (no padding)
    assert engine.pad_amounts((n, 1), (k, 1), stride=(s, 1), padding="same", dilation=(d, 1)) == (
        *expected,
        0,
        0,
    )
    assert engine.pad_amounts((1, n), (1, k), stride=(1, s), padding="SAME", dilation=(1, d)) == (
        0,
        0,
        *expected,
    )


def test_same_output_is_ceil_of_input_over_stride():
    for n in range(1, 30):
        for k in range(1, 6):
            for s in range(1, 5):
                for d in range(1, 4):
                    out = engine.output_shape((n, 1), (k, 1), stride=(s, 1), padding="same", dilation=(d, 1))
                    assert out == (-(-n // s), 1)


@pytest.mark.parametrize(
    ("padding", "expected_pads"),
    [
        ("valid", (0, 0, 0, 0)),
        ("same", (1, 2, 1, 1)),  # rows: n 7, k 4, s 1; cols: n 9, k 3, s 2 -> out 5, total 2
        (0, (0, 0, 0, 0)),
        (2, (2, 2, 2, 2)),
        ((1, 0), (1, 1, 0, 0)),
        ([0, 3], (0, 0, 3, 3)),
    ],
)
def test_pad_amounts_forms(padding, expected_pads):
    assert engine.pad_amounts((7, 9), (4, 3), stride=(1, 2), padding=padding) == expected_pads


@pytest.mark.parametrize(
    ("in_hw", "kernel_hw", "kwargs", "expected"),
    [
        ((7, 9), (3, 2), {"stride": (2, 1), "padding": "valid"}, (3, 8)),
        ((7, 9), (3, 2), {"stride": (2, 1), "padding": "same"}, (4, 9)),
        ((7, 9), (3, 2), {"stride": (2, 1), "padding": 1}, (4, 10)),
        ((7, 9), (3, 2), {"stride": (2, 1), "padding": (2, 0)}, (5, 8)),
        ((7, 9), (3, 3), {"dilation": 2}, (3, 5)),  # span 5
        ((7, 9), (3, 3), {"dilation": 2, "padding": "same"}, (7, 9)),
        ((7, 9), (3, 3), {"stride": 2, "dilation": 2, "padding": 1}, (3, 4)),  # (9-5)//2+1, (11-5)//2+1
        ((1, 1), (1, 1), {}, (1, 1)),
        ((5, 5), (5, 5), {}, (1, 1)),
        ((5, 4), (2, 2), {"stride": 5}, (1, 1)),
        ((224, 224), (7, 7), {"stride": 2, "padding": "same"}, (112, 112)),
        ((224, 224), (7, 7), {"stride": 2, "padding": 3}, (112, 112)),
    ],
)
def test_output_shape(in_hw, kernel_hw, kwargs, expected):
    assert engine.output_shape(in_hw, kernel_hw, **kwargs) == expected
