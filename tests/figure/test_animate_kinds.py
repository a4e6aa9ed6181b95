"""--animate for the other kinds: a 1-D layer's window moving along the signal (each frame's numbers
those of `run --trace` at its position, from the CLI's JSON), and a transposed layer's input
positions scattering their scaled kernels (each frame's contributions by a naive loop, the last
frame's accumulated output plus the bias the run's pre-activation, from the CLI's --save)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli import engine
from convcli.engine.transpose import as_conv, bind_transpose
from convcli.figure import animate, animate_1d, animate_transpose, animate_transpose_1d
from convcli.layer.geometry import Geometry

from helpers import SAMPLES, invoke

SIGNAL = ("run", SAMPLES / "signal.npy", "--ndim", "1", "-k", "3", "--padding", "causal", "--dilation", "2", "-q")
TRANSPOSE = ("run", SAMPLES / "textbook.npy", "--kind", "Conv2DTranspose", "-k", "2", "--stride", "2", "--init",
             "ones", "-q")


def _signal_result() -> engine.LayerResult:
    """SIGNAL's layer as the CLI runs it: one row, causal pads (4, 0), the kernel of its JSON."""
    doc = json.loads(invoke(*SIGNAL, "--json").stdout)
    kernel = np.array(doc["filters"][0]["kernel"], dtype=np.float32)  # (C, 1, k)
    x = np.load(SAMPLES / "signal.npy")[None]  # (1, L, C)
    k = np.moveaxis(kernel, 0, -1)[..., None]  # (1, k, C, 1)
    geometry = Geometry((1, 24), (1, 3), (1, 1), (1, 2), ((0, 0), (4, 0)), (1, 24))  # causal: (k - 1)·d on the left
    return engine.run_layer(engine.Layer(x, k, 1, geometry), np.zeros(1), "linear")


def test_1d_every_position_against_the_trace(tmp_path: Path):
    result = _signal_result()
    positions = animate.choose_positions(result.layer.geometry.out_hw)
    assert positions == [(0, j) for j in range(24)]
    frames = list(animate_1d.iter_frames_1d(result, 0, ("c0", "c1"), positions))
    for j in (0, 1, 5, 23):
        frame = frames[j]
        trace = json.loads(invoke(*SIGNAL, "--trace", str(j), "--json").stdout)["filters"][0]["trace"]
        assert list(frame.data.cols) == trace["input_cols"] == [j - 4, j - 2, j]
        assert frame.data.partials == pytest.approx(trace["channel_sums"], abs=1e-6)
        assert frame.data.running[-1] == pytest.approx(sum(trace["channel_sums"]), abs=1e-6)
        assert frame.data.preactivation == pytest.approx(trace["preactivation"], abs=1e-6)
        assert frame.data.output == pytest.approx(trace["output"], abs=1e-6)
    # the window at 0 reads two padding taps: its sum is the one tap inside, x[0]·w[2] per channel
    x = np.load(SAMPLES / "signal.npy")
    w = result.layer.kernel[0, 2, :, 0]
    assert frames[0].data.partials == pytest.approx(tuple(x[0] * w), abs=1e-6)
    # the file: one frame a position, frames of the drawn size
    target = tmp_path / "a.gif"
    r = invoke(*SIGNAL, "--animate", target)
    assert r.exit_code == 0, r.output
    with Image.open(target) as im:
        assert im.n_frames == 24 and im.size == frames[0].image.size


def test_1d_output_fills_in(tmp_path: Path):
    """Frame k draws the output up to position k: the output plot's columns right of the window hold no line."""
    result = _signal_result()
    frames = list(animate_1d.iter_frames_1d(result, 0, ("c0", "c1"), animate.choose_positions((1, 24))))
    x0, y0, _ = frames[0].output_at
    blue = np.array(animate_1d.LINE)

    def line_columns(img: Image.Image) -> set[int]:
        px = np.asarray(img).astype(int)[y0 + 2:y0 + animate_1d.PLOT_H - 2, x0 + 2:x0 + animate_1d.PLOT_W - 2]
        return {int(c) + x0 + 2 for c in np.nonzero((np.abs(px - blue).sum(axis=2) < 30).any(axis=0))[0]}

    for k in (0, 10, 23):
        cols = line_columns(frames[k].image)
        right = animate_1d.plot_x(k, 24, x0) + 5
        assert cols and max(cols) <= right and min(cols) < animate_1d.plot_x(0, 24, x0) + 5, k
    assert len(line_columns(frames[23].image)) > len(line_columns(frames[10].image))


def test_1d_audio_path_within_budget(tmp_path: Path):
    target = tmp_path / "c.gif"
    r = invoke("run", SAMPLES / "chirp.wav", "--ndim", "1", "-q", "--animate", target)
    assert r.exit_code == 0, r.output
    assert target.stat().st_size <= animate.SIZE_BUDGET
    with Image.open(target) as im:
        assert im.n_frames == animate.PATH_FRAMES


def _naive_transpose(x: np.ndarray, kernel: np.ndarray, s: int, f: int) -> np.ndarray:
    """The scatter by loops: every input value's kernel copy added at ``i·s`` (valid, no dilation)."""
    h, w, c = x.shape
    kh, kw = kernel.shape[:2]
    out = np.zeros(((h - 1) * s + kh, (w - 1) * s + kw))
    for i in range(h):
        for j in range(w):
            for ch in range(c):
                for a in range(kh):
                    for b in range(kw):
                        out[i * s + a, j * s + b] += x[i, j, ch] * kernel[a, b, f, ch]
    return out


def test_transpose_frames_scatter_and_end_at_the_preactivation(tmp_path: Path):
    x = np.load(SAMPLES / "textbook.npy").astype(np.float32)
    layer = bind_transpose(x, np.ones((2, 2, 1, 3), dtype=np.float32), stride=2)
    positions = animate_transpose.scatter_positions(layer)
    assert positions == [(i, j) for i in range(3) for j in range(3)]
    data = list(animate_transpose.scatter_frames(layer, 0, positions))
    for d in data:
        i, j = d.position
        assert d.values == (1.0, 100.0, 10000.0)
        assert d.rows == (2 * i, 2 * i + 1) and d.cols == (2 * j, 2 * j + 1)
        assert d.contributions.shape == (3, 2, 2) and np.all(d.contributions[2] == 10000.0)
        # each frame adds 10101 on its own 2×2 window (stride 2 = kernel: no overlap), nothing elsewhere
        reached = np.zeros((6, 6), dtype=bool)
        for pi, pj in positions[: positions.index(d.position) + 1]:
            reached[2 * pi:2 * pi + 2, 2 * pj:2 * pj + 2] = True
        assert np.all(d.accumulated[reached] == 10101.0) and np.all(d.accumulated[~reached] == 0)
    # the CLI: its saved pre-activation is the last frame's accumulated output plus the bias
    target, saved = tmp_path / "t.gif", tmp_path / "run.npz"
    r = invoke(*TRANSPOSE, "--animate", target, "--save", saved)
    assert r.exit_code == 0, r.output
    with np.load(saved) as archive:
        pre = archive["preactivation"]
    assert np.array_equal(pre[..., 0], data[-1].accumulated + data[-1].bias)
    with Image.open(target) as im:
        assert im.n_frames == 9


def test_transpose_overlapping_copies_against_a_naive_loop():
    """Stride 1 under a 3×3 kernel: copies overlap; the last frame is the naive scatter, every frame its partial sum."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 5, 2)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 2, 2)).astype(np.float32)
    layer = bind_transpose(x, kernel, stride=1)
    positions = animate_transpose.scatter_positions(layer)
    data = list(animate_transpose.scatter_frames(layer, 1, positions))
    assert np.allclose(data[-1].accumulated, _naive_transpose(x, kernel, 1, 1), atol=1e-5)
    first = np.zeros((6, 7))
    first[0:3, 0:3] = sum(x[0, 0, c] * kernel[:, :, 1, c] for c in range(2))
    assert np.allclose(data[0].accumulated, first, atol=1e-6)
    result = engine.run_layer(as_conv(layer), None, "linear")
    pictures = list(animate_transpose.iter_scatter_frames(layer, result, 1, ("a", "b"), positions[:3]))
    assert [p.data.position for p in pictures] == positions[:3]


def test_transpose_1d_as_one_row(tmp_path: Path):
    target = tmp_path / "t1.gif"
    r = invoke("run", SAMPLES / "signal.npy", "--ndim", "1", "--kind", "transpose", "-k", "3", "--stride", "2",
               "-q", "--animate", target)
    assert r.exit_code == 0, r.output
    with Image.open(target) as im:
        assert im.n_frames == 24


TRANSPOSE_1D = ("run", SAMPLES / "signal.npy", "--ndim", "1", "--kind", "transpose", "-k", "3", "--stride", "2",
                "--padding", "same", "--bias", "0.25", "-q")


def test_transpose_1d_frames_against_the_scatter_traces(tmp_path: Path):
    """Every frame's copy is `run --trace`'s scatter numbers: for an output position, each input that lands
    on it (tap t) puts the trace's products there; the last frame's output plus the bias is the saved
    pre-activation."""
    x = np.load(SAMPLES / "signal.npy")
    saved = tmp_path / "t.npz"
    assert invoke(*TRANSPOSE_1D, "--save", saved).exit_code == 0
    with np.load(saved) as archive:
        pre = archive["preactivation"].reshape(-1)
        kernel = archive["kernel"]  # the layer's own weights, Keras layout (k, F, C)
    layer = bind_transpose(x, kernel, stride=2, padding="same")
    positions = animate_transpose.scatter_positions(layer)
    assert positions == [(0, i) for i in range(24)]
    data = list(animate_transpose.scatter_frames(layer, 0, positions, 0.25))
    for d, (_, i) in zip(data, positions, strict=True):
        assert d.values == tuple(float(v) for v in x[i])
        assert np.allclose(d.contributions[:, 0, :], (x[i][:, None] * kernel[:, 0, :].T))
    assert np.allclose(data[-1].accumulated[0] + 0.25, pre, atol=1e-5)
    for o in (0, 5, 21, 46):
        r = invoke(*TRANSPOSE_1D, "--trace", str(o), "--json")
        (trace,) = json.loads(r.stdout)["kind"]["scatter"]
        for landing, products in zip(trace["landings"], trace["products"], strict=True):
            (i,), (t,) = landing["input"], landing["tap"]
            frame = data[i]
            assert frame.cols[t] == o
            assert np.allclose(frame.contributions[:, 0, t], products, atol=1e-6)
        assert data[-1].accumulated[0, o] == pytest.approx(trace["total"], abs=1e-5)


def test_transpose_1d_frames_are_line_plots(tmp_path: Path):
    """Not strips one cell tall: each input signal a line plot with the position marked, the copy as stems
    where its taps land on the output's axis, the output accumulating as a line."""
    from convcli.figure.animate import WINDOW
    from convcli.figure.animate_1d import LINE, PLOT_H, plot_x

    target = tmp_path / "t1.gif"
    r = invoke(*TRANSPOSE_1D, "--animate", target)
    assert r.exit_code == 0, r.output
    x = np.load(SAMPLES / "signal.npy")
    with np.load(_save(tmp_path)) as archive:
        kernel = archive["kernel"]
    layer = bind_transpose(x, kernel, stride=2, padding="same")
    result = engine.run_layer(engine.one_row(as_conv(layer)), np.array([0.25]), "linear")
    positions = animate_transpose.scatter_positions(layer)
    frames = list(animate_transpose.iter_scatter_frames(layer, result, 0, ("c0", "c1"), positions))
    with Image.open(target) as im:
        assert im.n_frames == 24 and im.size == frames[0].image.size
    board_x0 = 14 + animate.MARGIN
    for n in (3, 10, 23):
        px = np.asarray(frames[n].image.convert("RGB")).astype(int)
        is_line = (np.abs(px - np.array(LINE)).sum(axis=2) < 30)
        is_green = (np.abs(px - np.array(WINDOW)).sum(axis=2) < 30)
        # c1, a ramp: its line climbs through most of a plot's height, not one strip of cells
        y1 = animate.HEAD + animate_1d.ROW
        rows = np.flatnonzero(is_line[y1:y1 + PLOT_H, board_x0:board_x0 + animate_1d.PLOT_W].any(axis=1))
        assert rows.size > PLOT_H // 2, n
        # the position marked on the input plots: a green column at plot_x(i)
        i = positions[n][1]
        col = round(plot_x(i, 24, board_x0))
        assert is_green[animate.HEAD + 5:animate.HEAD + PLOT_H - 5, col - 1:col + 2].any(axis=1).all(), n
        # the copy: a green stem at each output position a tap lands on, none elsewhere
        copy_y = animate.HEAD + 2 * animate_1d.ROW + 10
        band = is_green[copy_y:copy_y + PLOT_H]
        wo = layer.geometry.out_size[0]
        landed = [c for c in frames[n].data.cols if 0 <= c < wo]
        for c in landed:
            assert band[:, round(plot_x(c, wo, board_x0)) - 1:round(plot_x(c, wo, board_x0)) + 2].any(), (n, c)
        far = [c for c in range(wo) if min(abs(c - d) for d in landed) > 2]
        assert not any(band[:, round(plot_x(c, wo, board_x0))].any() for c in far), n


def _save(tmp_path: Path) -> Path:
    saved = tmp_path / "w.npz"
    if not saved.exists():
        assert invoke(*TRANSPOSE_1D, "--save", saved).exit_code == 0
    return saved


def test_transpose_1d_long_output_enlarges_the_copys_neighbourhood():
    """An output longer than COPY_ALL positions: the copy's plot spans COPY_ALL positions around where it
    lands, so its taps stay apart (on the whole output 9 taps of 400 positions would share pixels)."""
    from convcli.figure.animate import WINDOW
    from convcli.figure.animate_1d import PLOT_H, plot_x

    assert animate_transpose_1d.copy_window([10, 11, 12], 49) == (0, 49)
    assert animate_transpose_1d.copy_window([390, 398], 399) == (399 - 64, 399)
    lo, hi = animate_transpose_1d.copy_window(list(range(100, 109)), 400)
    assert hi - lo == 64 and lo <= 100 and 108 < hi and abs((lo + hi) / 2 - 104.5) <= 1
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 1)).astype(np.float32)
    layer = bind_transpose(x, rng.normal(size=(9, 1, 1)).astype(np.float32), stride=2)
    result = engine.run_layer(engine.one_row(as_conv(layer)), None, "linear")
    (frame,) = animate_transpose.iter_scatter_frames(layer, result, 0, ("c0",), [(0, 60)])
    wo = layer.geometry.out_size[0]
    landed = [c for c in frame.data.cols if 0 <= c < wo]
    lo, hi = animate_transpose_1d.copy_window(landed, wo)
    px = np.asarray(frame.image.convert("RGB")).astype(int)
    x0, copy_y = animate.MARGIN + 14, animate.HEAD + animate_1d.ROW + 10
    band = (np.abs(px[copy_y:copy_y + PLOT_H] - np.array(WINDOW)).sum(axis=2) < 30)
    columns = [round(plot_x(c - lo, hi - lo, x0)) for c in landed]
    assert len(set(columns)) == 9 and all(band[:, c - 1:c + 2].any() for c in columns)
