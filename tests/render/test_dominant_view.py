"""`run --view dominant`'s terminal map: the cells are the view model's channels, the legend names each
channel and its share, without colour each cell is its channel's letter."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

from convcli import engine
from convcli.render.dominant import DominantPanel
from convcli.sources import kernels

from helpers import SAMPLES


def plain(renderable: object, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_the_textbook_example_draws_b_everywhere_with_its_share():
    x = np.load(SAMPLES / "textbook.npy")
    result = engine.run_layer(engine.prepare(x, kernels.make_kernel("ones", (2, 2), 3, 1)), None, "relu")
    text = plain(DominantPanel(result, 0, ("R", "G", "B")))
    rows = [line.strip("│ ") for line in text.splitlines() if set(line.strip("│ ")) == {"B"}]
    assert rows and all(r == "B" * len(r) for r in rows)  # the 2×2 map, zoomed
    assert "B  100.0% of the positions" in text and "R  0.0% of the positions" in text
    assert "filter 0 · dominant channel" in text


def test_the_cells_are_the_channels_of_a_small_map_one_per_position():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(10, 12, 3)).astype(np.float32)
    w = rng.normal(size=(1, 1, 3, 1)).astype(np.float32)
    result = engine.run_layer(engine.prepare(x, w), None, "linear")
    oracle = np.abs(x * w[0, 0, :, 0]).argmax(axis=2)  # a 1×1 kernel: the partials are x · w
    text = plain(DominantPanel(result, 0, ("R", "G", "B")))
    rows = [line.strip("│ ") for line in text.splitlines()]
    drawn = [r for r in rows if len(r) == 12 and set(r) <= set("RGB")]
    assert drawn == ["".join("RGB"[c] for c in row) for row in oracle[::2]]  # every other row without colour


def test_a_large_map_is_drawn_in_blocks_within_the_width():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 400, 2)).astype(np.float32)
    w = rng.normal(size=(3, 3, 2, 1)).astype(np.float32)
    result = engine.run_layer(engine.prepare(x, w), None, "linear", ranges=True)
    for width in (60, 120):
        text = plain(DominantPanel(result, 0, ("a", "b")), width)
        assert max(len(line) for line in text.splitlines()) <= width
        assert "block means of" in text and "a  a  " in text and "b  b  " in text
        cells = [line.strip("│ ") for line in text.splitlines() if set(line.strip("│ ")) == {"a", "b"}]
        assert len(cells) >= 10 and all(len(c) <= width - 4 for c in cells)


def test_a_grouped_filter_names_its_group_and_chooses_among_its_channels():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(6, 6, 4)).astype(np.float32)
    w = rng.normal(size=(1, 1, 2, 2)).astype(np.float32)
    result = engine.run_layer(engine.prepare(x, w, groups=2), None, "linear")
    text = plain(DominantPanel(result, 1, ("c0", "c1", "c2", "c3")))
    assert "group 1 (channels 2–3)" in text and "c2  " in text and "c0  " not in text


def test_a_1d_map_counts_positions():
    x = np.load(SAMPLES / "signal.npy")[None, :, :]
    result = engine.run_layer(engine.prepare(x, np.ones((1, 3, 2, 1), np.float32)), None, "linear")
    text = plain(DominantPanel(result, 0, ("c0", "c1")))
    assert "22 positions · " in text
