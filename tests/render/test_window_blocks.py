"""A wide --window stays legible: the grids are split into column blocks that fit the line,
every number whole, instead of rich cutting each one to ``-2…``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from helpers import invoke


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_window_20_keeps_every_number_whole(tmp_path: Path, columns: int) -> None:
    x = np.random.default_rng(0).normal(size=(30, 30, 3)) * 50  # numbers like -61.27: 6 cells each
    np.save(tmp_path / "x.npy", x)
    r = invoke("run", tmp_path / "x.npy", "--window", "20", "--at", "5,5", "--init", "ones", "--view", "numbers", columns=columns)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert all(len(line) <= columns for line in lines)
    assert not re.search(r"\d…|-…", r.stdout)  # no number is cut
    # the pre-activation (sum of 3×3 ones over 3 channels) of window row 0 is all there, block after block
    blocks = re.findall(r"cols (\d+)–(\d+) \(of 5–24\)", r.stdout)
    assert len(blocks) >= 2  # split into blocks, each labelled with its columns, together all 20
    assert int(blocks[0][0]) == 5 and int(blocks[-1][1]) == 24
    assert all(int(b[0]) == int(a[1]) + 1 for a, b in zip(blocks, blocks[1:], strict=False))
    shown = [float(t) for t in re.findall(r"-?\d+\.\d+", r.stdout)]
    for c0 in range(5, 25):  # every pre-activation of window row 0, by hand, is on the screen
        v = x[5:8, c0:c0 + 3].sum()
        assert min(abs(t - v) for t in shown) < 0.051, (c0, v)


def test_window_3_is_one_block() -> None:
    root = Path(__file__).resolve().parents[2]
    r = invoke("run", root / "samples" / "textbook.npy", "-k", "2", "--init", "ones", columns=80)
    assert not re.search(r"cols \S+ \(of", r.stdout)
    assert "partial sums, output rows 0–1 × cols 0–1: one per channel, then summed" in r.stdout
