"""The precision view model: numbers taken from the emulation, parts that add up to the difference."""

from __future__ import annotations

import numpy as np
import pytest

from convcli.engine.precision import emulate
from convcli.present.precision import precision_window

TEXTBOOK = np.stack([np.full((3, 3), v, dtype=np.float32) for v in (1.0, 100.0, 10000.0)], axis=-1)


def test_textbook_window_in_bfloat16():
    view = precision_window(emulate(TEXTBOOK, np.ones((2, 2, 3, 1)), 0.0, "relu", "bf16"), 0, 1, 1, "RGB")
    b = view.channels[2]
    assert (b.name, b.value.given, b.value.stored, b.exact, b.rounded, b.error) == ("B", 10000, 9984, 40000, 39936, -64)
    assert not view.channels[0].value.changed and not b.weight.changed
    assert (view.exact, view.accumulated, view.emulated, view.difference) == (40404, 40340, 40448, 44)
    assert (view.accumulation, view.output_rounding, view.dominant) == (0, 108, "output rounding")
    assert (view.precision, view.storage, view.adder) == ("bfloat16", "bfloat16", "float32")


def test_parts_add_up_and_the_dominant_channel_is_named():
    rng = np.random.default_rng(9)
    x = rng.uniform(0, 255, (6, 7, 3))
    kernel = rng.standard_normal((3, 3, 3, 2))
    em = emulate(x, kernel, [0.1, -0.3], "relu", "bf16", padding="same")
    for row, col in ((0, 0), (3, 4), (5, 6)):
        view = precision_window(em, 1, row, col, ("red", "green", "blue"))
        total = sum(c.error for c in view.channels) + view.bias_error + view.accumulation + view.output_rounding
        assert total == pytest.approx(view.difference, rel=1e-9, abs=1e-9)
        assert view.emulated == em.preactivation[row, col, 1]
        assert view.bias.stored == em.bias[1] != view.bias.given
        assert view.dominant in {"channel red", "channel green", "channel blue", "bias", "output rounding"}
    tf32 = precision_window(emulate(TEXTBOOK, np.ones((2, 2, 3, 1)), precision="tf32"), 0, 0, 0)
    assert tf32.dominant is None and tf32.channels[2].name == "2" and tf32.storage == "float32"
