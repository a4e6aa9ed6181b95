"""A kernel file whose channels do not fit the input: the error names both, and the reading that fits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convcli.errors import ShapeError
from convcli.pipeline.build import build_layer
from convcli.pipeline.request import Request

from helpers import ROOT

TEXTBOOK = ROOT / "samples" / "textbook.npy"


def _refused(kernel: Path, **options: object) -> str:
    with pytest.raises(ShapeError) as caught:
        build_layer(Request(input=TEXTBOOK, kernel=kernel, **options))  # type: ignore[arg-type]
    return str(caught.value)


def test_a_torch_kernel_read_as_keras_suggests_the_torch_layout():
    message = _refused(ROOT / "samples" / "kernel_ones_2x2_torch.npy")
    assert "expects 2 input channels but" in message and "has 3 (c0 c1 c2)" in message
    assert message.endswith("; try --kernel-layout torch")


def test_a_keras_kernel_read_as_torch_suggests_the_keras_layout(tmp_path: Path):
    np.save(tmp_path / "k.npy", np.ones((2, 2, 3, 1), dtype=np.float32))
    assert _refused(tmp_path / "k.npy", kernel_layout="torch").endswith("; try --kernel-layout keras")


def test_no_layout_is_suggested_when_neither_reading_fits(tmp_path: Path):
    np.save(tmp_path / "k.npy", np.ones((2, 2, 5, 1), dtype=np.float32))
    message = _refused(tmp_path / "k.npy")
    assert "expects 5 input channels" in message and "--kernel-layout" not in message
