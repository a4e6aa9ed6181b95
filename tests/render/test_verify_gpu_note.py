"""Under verify's table: the frameworks' GPU defaults and whether a measured difference is within TF32's."""

from __future__ import annotations

from convcli.render.verify import gpu_note

from helpers import draw


def test_gpu_note_names_each_framework_switch_in_a_few_lines():
    text = draw(gpu_note({"tf32": 2.5e-3, "bf16": 3.1e-2}, 1.2e-6), width=80)
    for switch in ("torch.backends.cudnn.allow_tf32", "enable_tensor_float_32_execution",
                   "jax.default_matmul_precision", "mixed_float16", "mixed_bfloat16"):
        assert switch in text
    assert 3 <= len(text.strip().splitlines()) <= 6
    flat = " ".join(text.split())
    assert "TF32 2.5e-03, bfloat16 3.1e-02" in flat
    assert "1.2e-06, is within what TF32 explains" in flat


def test_a_difference_beyond_tf32_is_said():
    flat = " ".join(draw(gpu_note({"tf32": 1e-6, "bf16": 1e-4}, 5e-3), width=100).split())
    assert "5.0e-03, is more than TF32 explains" in flat


def test_without_emulation_only_the_defaults():
    text = draw(gpu_note({}, None), width=100)
    assert "allow_tf32" in text and "Emulated" not in text


def test_a_band_of_rows_is_named():
    flat = " ".join(draw(gpu_note({"tf32": 1e-3, "bf16": 1e-2}, 1e-6, (10, 20)), width=100).split())
    assert "Emulated on output rows 10–19 of this layer" in flat
