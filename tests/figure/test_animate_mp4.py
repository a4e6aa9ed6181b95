"""--animate FILE.mp4: H.264 through imageio-ffmpeg (the mp4 extra), read back frame by frame; without
the extra, one line naming it before anything is computed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli.files import writers

from helpers import SAMPLES, invoke

TEXTBOOK = ("run", SAMPLES / "textbook.npy", "-k", "2", "--init", "ones", "--activation", "relu", "-q")


def read_back(path: Path) -> tuple[dict, list[np.ndarray]]:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    frames = imageio_ffmpeg.read_frames(str(path))
    meta = next(frames)
    w, h = meta["size"]
    return meta, [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in frames]


def test_an_mp4_holds_every_frame_at_its_size(tmp_path: Path):
    pytest.importorskip("imageio_ffmpeg", reason="MP4 needs the mp4 extra: pip install 'convcli[mp4]'")
    target = tmp_path / "t.mp4"
    r = invoke(*TEXTBOOK, "--animate", target, "--fps", "4")
    assert r.exit_code == 0, r.output
    gif = tmp_path / "t.gif"
    assert invoke(*TEXTBOOK, "--animate", gif, "--fps", "4").exit_code == 0
    meta, frames = read_back(target)
    with Image.open(gif) as im:
        w, h = im.size
        assert len(frames) == im.n_frames == 4
        im.seek(3)
        last = np.asarray(im.convert("RGB")).astype(int)
    assert meta["size"] == (w + w % 2, h + h % 2) and meta["fps"] == 4
    # H.264 blurs colour edges a little: the last frame is the GIF's up to that
    assert np.abs(frames[3][:h, :w].astype(int) - last).mean() < 4
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_frames_of_odd_sides_are_padded_to_even_ones(tmp_path: Path):
    pytest.importorskip("imageio_ffmpeg", reason="MP4 needs the mp4 extra: pip install 'convcli[mp4]'")
    rng = np.random.default_rng(0)
    pictures = [Image.fromarray(np.full((33, 45, 3), v, np.uint8)) for v in rng.integers(0, 255, 5)]
    target = tmp_path / "odd.mp4"
    writers.save_animation(iter(pictures), target, fps=10)
    meta, frames = read_back(target)
    assert meta["size"] == (46, 34) and len(frames) == 5
    for got, want in zip(frames, pictures, strict=True):
        assert np.abs(got.astype(int) - np.asarray(want).astype(int)[0, 0]).max() <= 3  # the edge repeated


def test_a_failed_mp4_leaves_nothing(tmp_path: Path):
    pytest.importorskip("imageio_ffmpeg", reason="MP4 needs the mp4 extra: pip install 'convcli[mp4]'")

    def frames():
        yield Image.new("RGB", (32, 32))
        raise RuntimeError("drawing failed")

    target = tmp_path / "x.mp4"
    with pytest.raises(RuntimeError):
        writers.save_animation(frames(), target, fps=2)
    assert list(tmp_path.iterdir()) == []


def test_without_the_extra_one_line_before_any_computing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The input is not even an array: the MP4's refusal comes first (usage, exit 2)."""
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if not installed: find_spec gives None
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not an array")
    r = invoke("run", bad, "-q", "--animate", "x.mp4")
    assert r.exit_code == 2, r.output
    assert r.stderr.strip() == "Error: --animate x.mp4: MP4 needs the mp4 extra: pip install 'convcli[mp4]'"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npy"]
    r = invoke("run", bad, "-q", "--animate", "x.gif")  # the same input without the MP4: its own error
    assert r.exit_code == 1 and "bad.npy" in r.stderr
