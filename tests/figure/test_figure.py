"""Pictures: the --figure image (decoded and checked pixel by pixel) and the --save-maps PNGs (writing
them to a file: tests/files/test_picture_files.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli import engine
from convcli.cli.app import FLAGS
from convcli.errors import ConfigError, ResourceError, SaveError, ShapeError
from convcli.figure import draw as figure_draw
from convcli.figure import maps
from convcli.figure import panels as figure_panels
from convcli.figure import plan as figure_plan
from convcli.files import targets, writers
from convcli.present.colour import lut_colours
from convcli.sources import kernels

from helpers import decode, sobel_gradient

H, W = 40, 60
RGB = ("R", "G", "B")


def run(x: np.ndarray, kernel: np.ndarray, bias=None, activation: str = "relu", **layer_opts) -> engine.LayerResult:
    layer = engine.prepare(x, kernel, dtype=np.float64, **layer_opts)
    return engine.run_layer(layer, bias, activation)


@pytest.fixture(scope="module")
def gradient() -> engine.LayerResult:
    """Sobel-x on three channels: rising left to right (+8), falling twice as fast (-16), flat (0)."""
    return sobel_gradient(H, W)


def has_ink(pixels: np.ndarray, box: figure_plan.Box) -> bool:
    return bool((box.crop(pixels) != figure_plan.BACKGROUND).any())


def only_colour(pixels: np.ndarray, box: figure_plan.Box) -> tuple[int, ...]:
    """The one colour filling ``box`` (fails if there are several)."""
    colours = np.unique(box.crop(pixels).reshape(-1, 3), axis=0)
    assert len(colours) == 1, colours[:5]
    return tuple(int(c) for c in colours[0])


def colour(scale: figure_plan.Scale, value: float) -> tuple[int, ...]:
    return tuple(int(c) for c in scale.colours(np.array([value]))[0])


# ------------------------------------------------------------------------------------------------
# the figure


def test_gradient_figure_size_panels_and_labels(gradient: engine.LayerResult, tmp_path: Path):
    # the layer itself: Keras cross-correlation of sobel-x with a rising ramp is positive
    partials = engine.filter_partials(gradient.layer, 0)
    assert np.allclose(partials[..., 0], 8) and np.allclose(partials[..., 1], -16) and np.allclose(partials[..., 2], 0)
    assert np.allclose(gradient.preactivation, -7.5) and np.all(gradient.output == 0)

    plan = figure_plan.plan_figure(gradient, [0], RGB)
    target = targets.check_target(tmp_path / "fig.png", force=False, suffix=targets.IMAGE_FORMATS)
    writers.save_image(figure_draw.figure_image(gradient, [0], RGB), target)
    fmt, px = decode(target)

    assert fmt == "PNG"
    assert (px.shape[1], px.shape[0]) == plan.size
    # a line per channel (input ⊛ kernel slice = partial), then bias, pre-activation, output (relu)
    kinds = [p.kind for p in plan.rows[0].panels]
    assert kinds == ["input", "kernel", "partial"] * 3 + ["bias", "preactivation", "dominant", "output"]
    assert px.shape[1] >= 4 * figure_plan.PANEL and px.shape[0] >= 3 * figure_plan.PANEL
    assert [p.channel for p in plan.rows[0].panels[:9]] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # the kernel slices are the filter's weights, written in; the bias its value
    for c, k in enumerate(plan.rows[0].of_kind("kernel")):
        assert np.array_equal(k.values, gradient.layer.kernel[:, :, c, 0]) and k.numbers
    assert plan.rows[0].of_kind("bias")[0].values.tolist() == [[float(gradient.bias[0])]]
    inputs, parts, (pre, out) = kinds_split(plan.rows[0].panels)
    # 40×60 input: 5× blocks (60·5 ≥ 256); 38×58 maps: 5× as well
    assert all((p.box.height, p.box.width) == (200, 300) for p in inputs)
    assert all((p.box.height, p.box.width) == (190, 290) for p in [*parts, pre, out])

    # inputs in black -> white: the ramp is dark on the left, the falling channel on the right
    def edge_means(box: figure_plan.Box) -> tuple[float, float]:
        a = box.crop(px).astype(float)
        return a[:, :20].mean(), a[:, -20:].mean()

    left, right = edge_means(inputs[0].box)
    assert right - left > 100
    left, right = edge_means(inputs[1].box)
    assert left - right > 200

    # partials on one diverging scale: +8 red, -16 the darkest blue, 0 the white middle
    red, blue, zero = (only_colour(px, p.box) for p in parts)
    assert red[0] > red[2] + 60 and blue[2] > blue[0] + 60 and min(zero) > 240
    assert red == colour(parts[0].scale, 8) and blue == tuple(figure_plan.DIVERGING[0])
    # the pre-activation -7.5 stands on the parts' scale (±16), so that they add up in colour; the relu
    # output, 0 everywhere while the pre-activation is below 0, has a scale of its own: white, as 0 is
    assert pre.scale is parts[0].scale and only_colour(px, pre.box) == colour(parts[0].scale, -7.5)
    assert out.scale is not pre.scale
    assert only_colour(px, out.box) == colour(out.scale, 0.0) == (255, 255, 255)

    # labels: figure title, row heading, each panel's title and range, the bars' numbers
    row = plan.rows[0]
    assert has_ink(px, plan.title_box) and has_ink(px, row.heading_box)
    assert all(has_ink(px, p.title_box) and has_ink(px, p.note_box) for p in row.panels)
    assert all(has_ink(px, b.label_box) for b in row.bars)
    # colour bars: inputs, kernel slices, the parts with their sum, and one under the output on its
    # own scale, each running from the palette's first colour to its last
    assert len(row.bars) == 4 and [b.scale for b in row.bars[2:]] == [pre.scale, out.scale]
    for bar in row.bars[:3]:
        strip = bar.box.crop(px)
        assert tuple(strip[0, 0]) == tuple(bar.scale.lut[0]) and tuple(strip[-1, -1]) == tuple(bar.scale.lut[-1])
    # the output's scale holds one value: its bar is that value's colour ("all 0")
    assert {tuple(c) for c in row.bars[3].box.crop(px).reshape(-1, 3).tolist()} == {(255, 255, 255)}
    assert tuple(row.bars[0].scale.lut[0]) == (0, 0, 0) and row.bars[1].scale.diverging


def kinds_split(panels: list[figure_plan.PanelPlan]):
    inputs = [p for p in panels if p.kind == "input"]
    parts = [p for p in panels if p.kind in ("partial", "others")]
    return inputs, parts, [p for p in panels if p.kind in ("preactivation", "output")]


def test_small_map_is_drawn_as_blocks_of_its_values(tmp_path: Path):
    x = np.random.default_rng(0).normal(size=(5, 5, 2))
    result = run(x, kernels.make_kernel("random", (3, 3), 2, 2, seed=1), activation="linear")
    plan = figure_plan.plan_figure(result, [1], ("a", "b"))
    px = np.asarray(figure_draw.figure_image(result, [1], ("a", "b")))
    pre = plan.rows[0].of_kind("preactivation")[0]
    assert not plan.rows[0].of_kind("output") and pre.numbers  # linear: no output panel
    k = 86  # the smallest whole factor taking 3 px to 256
    assert (pre.box.height, pre.box.width) == (3 * k, 3 * k)
    values = result.preactivation[..., 1]
    for i in range(3):
        for j in range(3):
            # the block's corner, clear of the grid line and of the value written in its middle
            block = figure_plan.Box(pre.box.x0 + j * k + 2, pre.box.y0 + i * k + 2, pre.box.x0 + j * k + 20,
                                    pre.box.y0 + i * k + 20)
            assert only_colour(px, block) == colour(pre.scale, values[i, j])
    # partial maps given by the caller draw the same picture as computed ones
    given = figure_draw.figure_image(result, [1], ("a", "b"), maps={1: engine.filter_partials(result.layer, 1)})
    assert np.array_equal(np.asarray(given), px)


@pytest.mark.parametrize(
    "hw, drawn",
    [
        ((3, 3), (258, 258)),
        ((40, 60), (200, 300)),
        ((255, 10), (510, 20)),
        ((256, 100), (256, 100)),
        ((600, 512), (600, 512)),  # a photo keeps its pixels
        ((3000, 4000), (750, 1000)),  # means of 4×4 blocks (whole blocks, not 3.9 × 3.9)
        ((1, 5000), (1, 1000)),
    ],
)
def test_display_size(hw, drawn):
    assert figure_panels.display_size(hw) == drawn


def test_reduction_averages_values_not_colours():
    checker = np.where((np.arange(64)[:, None] + np.arange(64)[None, :]) % 2, 1.0, -1.0)
    scale = figure_plan.Scale.fit([checker])
    tile = figure_draw.paint(checker, scale, (32, 32))
    # every 2×2 average is 0: the white middle of the palette, not a blend of red and blue
    assert tile.shape == (32, 32, 3) and np.all(tile == scale.colours(np.array(0.0)))


def test_many_channels_fold_into_others_and_nonfinite_is_green():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 7, 8))
    x[2, 3, 5] = np.nan
    result = run(x, kernels.make_kernel("random", (3, 3), 8, 1, seed=2), activation="linear")
    names = tuple(f"c{i}" for i in range(8))
    plan = figure_plan.plan_figure(result, [0], names)
    panels = plan.rows[0].panels
    assert [p.kind for p in panels] == ["input", "kernel", "partial"] * 4 + ["others", "bias", "preactivation",
                                                                            "dominant"]
    others = panels[12]
    assert others.title == "Σ 4 others"
    shown = [int(p.title.split("c")[-1]) for p in panels[:12:3]]
    rest = [c for c in range(8) if c not in shown]
    assert np.allclose(others.values, engine.filter_partials(result.layer, 0)[..., rest].sum(axis=2), equal_nan=True)
    # output (1, 2) reads input (2, 3): NaN there is drawn green and counted under the panel
    px = np.asarray(figure_draw.figure_image(result, [0], names))
    pre = panels[-2]
    k = pre.box.width // result.preactivation.shape[1]
    assert tuple(px[pre.box.y0 + k + 3, pre.box.x0 + 2 * k + 3]) == figure_plan.NONFINITE
    assert "non-finite" in pre.note


@pytest.mark.parametrize(
    "filters, names, opts, error",
    [
        ([], RGB, {}, ConfigError),
        ([1], RGB, {}, ShapeError),
        ([0], ("R",), {}, ShapeError),
        ([0], RGB, {"panel": 8}, ConfigError),
        ([0], RGB, {"panel": 512, "max_panel": 256}, ConfigError),
    ],
)
def test_figure_refuses_bad_requests(gradient, filters, names, opts, error):
    with pytest.raises(error):
        figure_plan.plan_figure(gradient, filters, names, **opts)


def test_figure_too_large_is_refused(gradient, monkeypatch):
    monkeypatch.setattr(figure_plan, "MAX_FIGURE_PIXELS", 1000)
    with pytest.raises(ResourceError, match="pixels"):
        figure_plan.plan_figure(gradient, [0], RGB)


# ------------------------------------------------------------------------------------------------
# --save-maps


def png_bit_depth(path: Path) -> int:
    return path.read_bytes()[24]  # IHDR: 8-byte signature, length, type, width, height, then depth


@pytest.mark.parametrize("bits", [16, 8])
def test_save_maps_round_trip(tmp_path: Path, bits: int):
    x = np.random.default_rng(4).uniform(0, 255, size=(20, 30, 3))
    result = run(x, kernels.make_kernel("random", (3, 3), 3, 3, seed=5), bias=[0, 1, -2], activation="relu")
    written = maps.save_maps(result, tmp_path / "maps", bits=bits, source="noise.npy", padding="valid")
    assert [p.name for p in written] == ["filter_0.png", "filter_1.png", "filter_2.png", "maps.json"]
    doc = json.loads((tmp_path / "maps" / "maps.json").read_text())
    assert doc["source"] == "noise.npy" and doc["bits"] == bits
    assert doc["layer"]["kernel_size"] == [3, 3] and doc["layer"]["activation"] == "relu"
    for entry in doc["maps"]:
        path = tmp_path / "maps" / entry["file"]
        with Image.open(path) as im:
            assert im.mode in (("I;16", "I") if bits == 16 else ("L",))
            pixels = np.asarray(im).astype(np.float64)
        assert png_bit_depth(path) == bits
        expected = result.output[..., entry["filter"]]
        assert pixels.shape == expected.shape == tuple(entry["shape"])
        assert pixels.min() == 0 and pixels.max() == 2**bits - 1  # the full range is used
        values = entry["offset"] + pixels * entry["scale"]
        assert entry["scale"] > 0 and np.abs(values - expected).max() <= entry["scale"] / 2 * (1 + 1e-9)
        assert entry["value_min"] == expected.min() and entry["value_max"] == expected.max()


def test_quantise_constant_and_nonfinite():
    q = maps.quantise(np.full((2, 3), 4.5))
    assert q.scale == 0 and q.offset == 4.5 and not q.pixels.any()
    q = maps.quantise(np.array([[0.0, np.nan], [np.inf, 2.0], [-np.inf, 1.0]]), bits=8)
    assert q.pixels.tolist() == [[0, 0], [255, 255], [0, 128]]
    assert (q.nan, q.posinf, q.neginf) == (1, 1, 1) and q.value_max == 2.0


def test_save_maps_folder_rules(gradient, tmp_path: Path):
    with pytest.raises(SaveError, match="parent"):
        maps.save_maps(gradient, tmp_path / "no" / "such")
    (tmp_path / "file").write_text("x")
    with pytest.raises(SaveError, match="is a file"):
        maps.save_maps(gradient, tmp_path / "file")

    out = tmp_path / "out"
    out.mkdir()
    (out / "filter_0.png").write_bytes(b"precious")
    with pytest.raises(SaveError) as info:
        maps.save_maps(gradient, out)
    assert info.value.worded(FLAGS) == f"{out / 'filter_0.png'} exists; pass --force to replace"
    assert info.value.field == "force" and str(info.value).endswith("exists; pass force to replace")
    assert sorted(p.name for p in out.iterdir()) == ["filter_0.png"] and (out / "filter_0.png").read_bytes() == b"precious"
    with pytest.raises(SaveError, match="input"):
        maps.save_maps(gradient, out, force=True, inputs=[out / "filter_0.png"])

    maps.save_maps(gradient, out, force=True)
    doc = json.loads((out / "maps.json").read_text())
    # relu of a constant -7.5 is a constant 0: all pixels 0, scale 0, said so
    assert doc["maps"][0]["constant"] is True and doc["maps"][0]["offset"] == 0
    with Image.open(out / "filter_0.png") as im:
        assert not np.asarray(im).any()


def test_strided_output_is_enlarged_to_the_input_panel():
    x = np.random.default_rng(6).uniform(size=(400, 300, 1))
    result = run(x, kernels.make_kernel("box", (4, 4), 1, 1), stride=4, activation="linear")
    panels = [p for p in figure_plan.plan_figure(result, [0], ("L",)).rows[0].panels if p.kind not in ("kernel", "bias")]
    assert result.preactivation.shape[:2] == (100, 75)
    # the input is drawn as is; the 100×75 maps 4× (3× would reach 256 px, the cell allows 4×)
    assert [(p.box.height, p.box.width) for p in panels] == [(400, 300)] * 3


@pytest.mark.parametrize("n", [1, 7, 99, 100, 101, 1000, 12345])
def test_scale_fit_clips_at_numpys_higher_percentile(n):
    """The partition that replaced np.percentile picks the very same element, NaN and ±Inf skipped."""
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n).astype(np.float32) * 100
    b = rng.standard_normal((3, 5))
    b[1, 2], b[0, 0] = np.nan, -np.inf
    scale = figure_plan.Scale.fit([a, b])
    values = np.concatenate([a.astype(np.float64), b[np.isfinite(b)]])
    m = float(np.percentile(np.abs(values), figure_plan.CLIP_PERCENTILE, method="higher"))
    assert (scale.lo, scale.hi, scale.diverging) == (-m, m, True)
    assert scale.clipped == (m < np.abs(values).max())
    assert figure_plan.Scale.fit([np.abs(a)]) == figure_plan.Scale(float(np.abs(a).min()), float(np.abs(a).max()), False)


def test_a_map_many_times_the_panel_is_reduced_by_block_means_first():
    """A smooth 1500×2000 map to 300×400 (k = 5 first): the colours of a direct BOX reduction, ±1 step."""
    y, x = np.mgrid[0:1500, 0:2000]
    values = (np.sin(x / 300.0) * np.cos(y / 250.0) * 50).astype(np.float32)
    values[700:705, 900:905] = np.nan  # a 5×5 block of NaN: one reduced pixel is mostly non-finite
    scale = figure_plan.Scale.fit([values])
    tile = figure_draw.paint(values, scale, (300, 400))
    from PIL import Image

    t = np.where(np.isnan(values), 0.5, scale.unit(values)).astype(np.float32)
    direct = np.asarray(Image.fromarray(t).resize((400, 300), Image.Resampling.BOX)).astype(np.float64)
    expected = lut_colours(direct, np.zeros((300, 400), bool), scale.lut)
    expected[140, 180] = figure_plan.NONFINITE
    assert tile.shape == (300, 400, 3)
    step = np.abs(tile.astype(int) - expected.astype(int)).max(axis=2)
    assert step.max() <= 8 and (step == 0).mean() > 0.95  # one LUT step is a few RGB units
    assert tuple(tile[140, 180]) == figure_plan.NONFINITE
