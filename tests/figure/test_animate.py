"""--animate: each frame's numbers are those of `run --trace` at its position (FrameData, read from
the plan of the frames, not from the pixels), the output map fills in, and the file keeps its size
budget; the positions: all of a small output, a path through a large one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli import engine
from convcli.figure import animate
from convcli.sources import kernels

from helpers import SAMPLES, invoke

TEXTBOOK = ("run", SAMPLES / "textbook.npy", "-k", "2", "--init", "ones", "--activation", "relu", "-q")


def test_positions_all_of_a_small_output_else_a_path():
    assert animate.choose_positions((2, 2)) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert len(animate.choose_positions((8, 8))) == 64  # 64 positions: all of them
    path = animate.choose_positions((598, 510))
    assert len(path) == animate.PATH_FRAMES and {i for i, _ in path} == {299}
    assert path[0] == (299, 0) and path[-1] == (299, 509) and path == sorted(path)
    assert animate.choose_positions((598, 510), 5) == [(299, 0), (299, 127), (299, 254), (299, 382), (299, 509)]
    # a row shorter than the path: evenly spaced rows, whole
    narrow = animate.choose_positions((100, 7), 20)
    assert len(narrow) == 20 and [j for _, j in narrow[:7]] == list(range(7)) and narrow[0] == (0, 0)


def test_textbook_every_position_against_the_trace(tmp_path: Path):
    """Every frame's partial sums, running total, pre-activation and output are `run --trace`'s
    numbers at its position (the CLI's JSON), and 4, 404, 40404 as the textbook says."""
    x = np.load(SAMPLES / "textbook.npy")
    result = engine.run_layer(engine.prepare(x, kernels.make_kernel("ones", (2, 2), 3, 1)), None, "relu")
    positions = animate.choose_positions(result.layer.geometry.out_hw)
    frames = animate.animation_frames(result, 0, ("c0", "c1", "c2"), positions)
    assert [f.data.position for f in frames] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for frame in frames:
        i, j = frame.data.position
        r = invoke(*TEXTBOOK, "--trace", f"{i},{j}", "--json")
        trace = json.loads(r.stdout)["filters"][0]["trace"]
        assert list(frame.data.partials) == trace["channel_sums"] == [4.0, 400.0, 40000.0]
        assert list(frame.data.running) == [4.0, 404.0, 40404.0]
        assert frame.data.preactivation == trace["preactivation"] == 40404.0
        assert frame.data.output == trace["output"] == 40404.0
        assert list(frame.data.rows) == trace["input_rows"] and list(frame.data.cols) == trace["input_cols"]
    # the file: 4 frames of the frames' size, the output map filling in (frame k: k + 1 cells coloured)
    target = tmp_path / "t.gif"
    r = invoke(*TEXTBOOK, "--animate", target, "--fps", "4")
    assert r.exit_code == 0, r.output
    assert f"saved {target}" in r.stderr
    with Image.open(target) as im:
        assert im.n_frames == 4 and im.size == frames[0].image.size
        assert im.info["duration"] == 250
        ox, oy, z = frames[0].output_at
        for k in range(4):
            im.seek(k)
            px = np.asarray(im.convert("RGB")).astype(int)
            coloured = []
            for (i, j) in positions:
                y, x = oy + i * z + 4, ox + j * z + 4  # a cell's corner, clear of its number
                coloured.append(px[y, x].sum() < 600)  # red, not the white page
            assert coloured == [n <= k for n in range(4)], k


def test_photo_path_against_the_engine_and_within_budget(tmp_path: Path):
    """The sample photo under tanh: 60 frames along the middle row; each frame's pre-activation is
    the engine's own map there (not the trace's path), its output tanh of it; the GIF under 5 MB."""
    target = tmp_path / "p.gif"
    r = invoke("run", SAMPLES / "grace_hopper.jpg", "--activation", "tanh", "-q", "--animate", target)
    assert r.exit_code == 0, r.output
    assert target.stat().st_size <= animate.SIZE_BUDGET
    with Image.open(target) as im:
        assert im.n_frames == animate.PATH_FRAMES
    x = np.asarray(Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB"), dtype=np.float32)
    rng = np.random.default_rng(0)
    result = engine.run_layer(engine.prepare(x, rng.normal(size=(3, 3, 3, 1))), np.zeros(1), "tanh")
    positions = animate.choose_positions(result.layer.geometry.out_hw, 8)
    for frame in animate.animation_frames(result, 0, ("R", "G", "B"), positions):
        i, j = frame.data.position
        assert frame.data.preactivation == pytest.approx(float(result.preactivation[i, j, 0]), rel=1e-5, abs=1e-3)
        assert frame.data.output == pytest.approx(np.tanh(frame.data.preactivation), abs=1e-6)
        assert frame.data.running[-1] + frame.data.bias == pytest.approx(frame.data.preactivation)


@pytest.mark.parametrize("suffix", [".webp", ".png"])
def test_other_formats_and_frames(tmp_path: Path, suffix: str):
    target = tmp_path / f"a{suffix}"
    r = invoke("run", SAMPLES / "grace_hopper.jpg", "-q", "--animate", target, "--frames", "6", "--fps", "5")
    assert r.exit_code == 0, r.output
    with Image.open(target) as im:
        assert im.n_frames == 6 and getattr(im, "is_animated", False)


@pytest.mark.parametrize("args", [("--animate", "a.txt"), ("--animate", "f.png", "--figure", "f.png"),
                                  ("--animate", "a.gif", "--frames", "0"), ("--animate", "a.gif", "--fps", "0")])
def test_animate_usage_errors(tmp_path: Path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    r = invoke(*TEXTBOOK, *args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.stderr and list(tmp_path.iterdir()) == []


def test_gif_frames_decode_to_the_frames_drawn(tmp_path: Path):
    """One palette and transparent unchanged pixels: every decoded frame is the frame drawn, up to
    the palette's rounding of a photo's greys (the page exactly white, the maps' colours close)."""
    from convcli.files import writers

    x = np.asarray(Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB"), dtype=np.float32)
    result = engine.run_layer(engine.prepare(x, np.random.default_rng(1).normal(size=(3, 3, 3, 1))), None, "relu")
    positions = animate.choose_positions(result.layer.geometry.out_hw, 12)
    frames = [f.image for f in animate.iter_frames(result, 0, ("R", "G", "B"), positions)]
    target = tmp_path / "d.gif"
    writers.save_animation(iter(frames), target, fps=10)
    with Image.open(target) as im:
        assert im.n_frames == 12 and im.info["duration"] == 100
        for k in range(12):
            im.seek(k)
            got = np.asarray(im.convert("RGB")).astype(int)
            want = np.asarray(frames[k]).astype(int)
            assert tuple(got[1, 1]) == (255, 255, 255)
            assert np.abs(got - want).mean() < 2.0 and (np.abs(got - want).max(axis=2) > 40).mean() < 0.01, k


def test_the_estimate_holds_what_an_animation_allocates(tmp_path: Path):
    """numpy's allocations while a GIF of a photo is drawn and written (frames streamed) stay within
    animate.animation_bytes, which the run's memory check adds."""
    import tracemalloc

    from convcli.files import writers

    x = np.random.default_rng(24).uniform(0, 255, size=(1200, 1600, 3)).astype(np.float32)
    layer = engine.prepare(x, kernels.make_kernel("random", (3, 3), 3, 1, seed=1), padding="same")
    result = engine.run_layer(layer, None, "relu", ranges=True)
    _ = result.output_stats, result.preactivation_stats
    positions = animate.choose_positions(layer.geometry.out_hw, 10)
    tracemalloc.start()
    try:
        frames = animate.iter_frames(result, 0, ("R", "G", "B"), positions)
        writers.save_animation((f.image for f in frames), tmp_path / "a.gif", fps=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= animate.animation_bytes(layer, ".gif", 10), peak
    assert animate.animation_bytes(layer, ".webp", 10) > animate.animation_bytes(layer, ".gif", 10)
