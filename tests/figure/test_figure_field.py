"""The receptive field on the image: `run IMG --model M --layer L --trace ROW,COL --figure` adds a panel
with the model's input picture and the rectangle of pixels that output position reads."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from convcli import engine
from convcli.figure import draw as figure_draw
from convcli.figure import plan as figure_plan
from convcli.figure.field import FIELD_COLOUR, display_rgb, with_field
from convcli.layer.field import Field
from convcli.sources import kernels

from helpers import SAMPLES, decode, invoke

DEEP = ("run", SAMPLES / "grace_hopper.png", "--model", SAMPLES / "edges.keras", "--layer", "mid", "--filter", "0", "-q")
SVG = "{http://www.w3.org/2000/svg}"


def small_plan() -> figure_plan.FigurePlan:
    x = np.load(SAMPLES / "textbook.npy")
    result = engine.run_layer(engine.prepare(x, kernels.make_kernel("ones", (2, 2), 3, 1)), None, "relu")
    return figure_plan.plan_figure(result, [0], ("R", "G", "B"))


def test_the_panel_draws_the_picture_and_outlines_the_field():
    rng = np.random.default_rng(1)
    picture = rng.integers(0, 200, (30, 40, 3), dtype=np.uint8)  # no pixel as yellow as the outline
    base = small_plan()
    plan = with_field(base, picture, Field((10, 16), (-2, 4), (30, 40)), "receptive field")
    f = plan.field
    assert f is not None and plan.size[1] > base.size[1] and plan.size[0] == base.size[0]
    z = f.box.width // 40
    assert z >= 1 and (f.box.width, f.box.height) == (40 * z, 30 * z)
    # the part on the image: rows 10-16, cols 0-4 (cols -2, -1 are padding)
    assert (f.rect.x0 - f.box.x0, f.rect.y0 - f.box.y0, f.rect.width, f.rect.height) == (0, 10 * z, 5 * z, 7 * z)
    assert "7×7 pixels, 14 of them padding" in f.note
    pixels = np.asarray(figure_draw.draw_figure(plan))
    inside = f.rect
    assert np.array_equal(pixels[inside.y0 + 2, inside.x0 + 2], picture[10 + 2 // z, 2 // z])
    assert tuple(pixels[inside.y0 - 1, (inside.x0 + inside.x1) // 2]) == FIELD_COLOUR  # the top edge
    assert tuple(pixels[(inside.y0 + inside.y1) // 2, inside.x1]) == FIELD_COLOUR  # the right edge


def test_display_stretches_values_that_are_not_bytes():
    x = np.array([[[-1.0], [1.0]]])
    assert display_rgb(x).tolist() == [[[0, 0, 0], [255, 255, 255]]]
    assert display_rgb(np.full((1, 1, 4), 7, np.uint8)).shape == (1, 1, 3)


def test_a_deep_layer_figure_outlines_the_field_the_layers_compose(tmp_path: Path):
    """'mid' (3×3 stride 2, no zeros before) after 'edges' (5×5, 2 zeros before): output (40, 30) reads
    rows 78-84 and cols 58-64 of the 150×128 picture."""
    target = tmp_path / "deep.svg"
    r = invoke(*DEEP, "--trace", "40,30", "--figure", target)
    assert r.exit_code == 0, r.output
    root = ET.fromstring(target.read_text(encoding="utf-8"))
    (group,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "field"]
    image = next(group.iter(f"{SVG}image"))
    (rect,) = [e for e in group.iter(f"{SVG}rect") if e.get("class") == "receptive-field"]
    z = float(image.get("width")) / 128
    assert z == int(z) and float(image.get("height")) == 150 * z
    assert float(rect.get("x")) - float(image.get("x")) == 58 * z
    assert float(rect.get("y")) - float(image.get("y")) == 78 * z
    assert float(rect.get("width")) == float(rect.get("height")) == 7 * z
    # the neighbourhood enlarged beside it: 21×21 pixels (three times the field) by a whole factor
    (zoom,) = [e for e in group.iter(f"{SVG}rect") if e.get("class") == "receptive-field-zoom"]
    images = list(group.iter(f"{SVG}image"))
    assert len(images) == 2
    k = float(images[1].get("width")) / 21
    assert k == int(k) and k >= 2 and float(images[1].get("height")) == 21 * k
    assert float(zoom.get("width")) == float(zoom.get("height")) == 7 * k
    assert float(zoom.get("x")) - float(images[1].get("x")) == 7 * k  # centred: 7 pixels either side
    texts = " ".join("".join(t.itertext()) for t in group.iter(f"{SVG}text"))
    assert "output (40, 30) of 'mid'" in texts and "rows 78–84, cols 58–64 of the 150×128 input" in texts


def test_the_png_shows_the_outline_and_no_panel_without_trace(tmp_path: Path):
    png, plain = tmp_path / "deep.png", tmp_path / "plain.png"
    assert invoke(*DEEP, "--trace", "0,0", "--figure", png).exit_code == 0
    assert invoke(*DEEP, "--figure", plain).exit_code == 0
    _, with_field_px = decode(png)
    _, without = decode(plain)
    assert with_field_px.shape[0] > without.shape[0]
    yellow = np.argwhere((with_field_px == FIELD_COLOUR).all(axis=2))
    assert len(yellow) and (yellow[:, 0] > without.shape[0] - 30).all()  # only in the new panel
    assert not (without == FIELD_COLOUR).all(axis=2).any()


@pytest.mark.parametrize("args", [("run", SAMPLES / "textbook.npy", "-k", "2", "--init", "ones", "-q")])
def test_a_layer_without_a_model_has_no_field_panel(args: tuple, tmp_path: Path):
    target = tmp_path / "t.svg"
    assert invoke(*args, "--trace", "0,0", "--figure", target).exit_code == 0
    assert 'class="field"' not in target.read_text(encoding="utf-8")


def test_a_transposed_layer_gets_its_field_drawn(tmp_path: Path):
    """'decode' (Conv2DTranspose 4×4 stride 2 'same') output (40, 30): it reads 'mid' rows and cols 20, 21
    (2i - 1 + t = 40, t < 4), which read rows 36-44, cols 26-34 of the picture (as tests/layer/test_field.py
    checks against the gradient)."""
    target = tmp_path / "decode.svg"
    r = invoke("run", SAMPLES / "grace_hopper.png", "--model", SAMPLES / "edges.keras", "--layer", "decode",
               "--filter", "0", "-q", "--trace", "40,30", "--figure", target)
    assert r.exit_code == 0, r.output
    root = ET.fromstring(target.read_text(encoding="utf-8"))
    (group,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "field"]
    image = next(group.iter(f"{SVG}image"))
    (rect,) = [e for e in group.iter(f"{SVG}rect") if e.get("class") == "receptive-field"]
    z = float(image.get("width")) / 128
    assert float(rect.get("x")) - float(image.get("x")) == 26 * z
    assert float(rect.get("y")) - float(image.get("y")) == 36 * z
    texts = " ".join("".join(t.itertext()) for t in group.iter(f"{SVG}text"))
    assert "output (40, 30) of 'decode'" in texts and "rows 36–44, cols 26–34 of the 150×128 input" in texts
    assert "bounding" not in texts and "gaps" not in texts


@pytest.mark.parametrize(("field", "words"), [
    (Field((4, 12), (2, 6), (30, 40), None, ("up",)), "a bounding rectangle: 'up' may not read all of it"),
    (Field((4, 8), (2, 6), (30, 40), ((4, 6, 8), (2, 3, 4, 5, 6))),
     "it reads 3 of its 5 rows and 5 of its 5 columns (gaps between)"),
])
def test_the_caption_says_when_the_rectangle_only_bounds_the_field(field: Field, words: str):
    picture = np.zeros((30, 40, 3), np.uint8)
    plan = with_field(small_plan(), picture, field, "receptive field")
    assert plan.field is not None and words in plan.field.note


def test_an_exact_field_has_no_such_words():
    plan = with_field(small_plan(), np.zeros((30, 40, 3), np.uint8), Field((4, 8), (2, 6), (30, 40), ((4, 5, 6, 7, 8),
                      (2, 3, 4, 5, 6))), "receptive field")
    assert plan.field is not None and "bounding" not in plan.field.note and "gaps" not in plan.field.note


def test_a_path_through_an_upsampling_a_resize_and_a_transpose_gets_its_field(tmp_path: Path):
    """A model of every kind of step: the panel's rectangle is the walk's (tests/layer/test_field.py checks
    the walk against the gradient)."""
    keras = pytest.importorskip("keras")
    from convcli.layer.field import field_at
    from convcli.layer.model import analyse
    from convcli.sources.models import read_model

    L = keras.layers
    i = keras.Input((24, 20, 3), name="image")
    x = L.Conv2D(4, 3, padding="same", name="a")(i)
    x = L.UpSampling2D(2, interpolation="bilinear", name="up")(x)
    x = L.Resizing(30, 25, name="rs")(L.Conv2D(4, 3, name="b")(x))
    x = L.Conv2D(1, 3, name="c")(L.Conv2DTranspose(2, 3, strides=2, name="t")(x))
    model = tmp_path / "mixed.keras"
    keras.Model(i, x).save(model)
    target = tmp_path / "m.svg"
    r = invoke("run", SAMPLES / "grace_hopper.png", "--resize", "24,20", "--model", model, "--layer", "c",
               "--filter", "0", "-q", "--trace", "30,20", "--figure", target)
    assert r.exit_code == 0, r.output
    field = field_at(analyse(read_model(str(model)), (24, 20, 3)), "c", (30, 20))
    assert field is not None and field.exact
    (r0, r1), (c0, c1) = field.clipped()
    root = ET.fromstring(target.read_text(encoding="utf-8"))
    (group,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "field"]
    image = next(group.iter(f"{SVG}image"))
    (rect,) = [e for e in group.iter(f"{SVG}rect") if e.get("class") == "receptive-field"]
    z = float(image.get("width")) / 20
    assert (float(rect.get("x")) - float(image.get("x")), float(rect.get("y")) - float(image.get("y"))) == (c0 * z, r0 * z)
    assert (float(rect.get("width")), float(rect.get("height"))) == ((c1 - c0 + 1) * z, (r1 - r0 + 1) * z)


def test_a_transposed_layer_as_run_places_the_field_by_its_own_settings(tmp_path: Path):
    """--stride 1 on 'decode' (the file's is 2): the panel draws the field of the layer as run, which the
    file's stride would put elsewhere."""
    from convcli.layer.field import Spread, field_at
    from convcli.layer.geometry import transpose_crop_1d
    from convcli.layer.model import analyse
    from convcli.sources.models import read_model

    target = tmp_path / "d1.svg"
    r = invoke("run", SAMPLES / "grace_hopper.png", "--model", SAMPLES / "edges.keras", "--layer", "decode",
               "--stride", "1", "--filter", "0", "-q", "--trace", "20,15", "--figure", target)
    assert r.exit_code == 0, r.output
    analysis = analyse(read_model(str(SAMPLES / "edges.keras")), (150, 128, 3))
    mid = analysis.layers[3].out_shape  # 'mid', the input 'decode' reads
    before = tuple(transpose_crop_1d(n, 4, 1, 1, "same")[0] for n in mid[:2])
    field = field_at(analysis, "decode", (20, 15), Spread((4, 4), (1, 1), (1, 1), before, (mid[0], mid[1])))
    filed = field_at(analysis, "decode", (20, 15))
    assert field is not None and filed is not None and (field.rows, field.cols) != (filed.rows, filed.cols)
    texts = " ".join("".join(t.itertext()) for t in ET.fromstring(target.read_text(encoding="utf-8")).iter(f"{SVG}text"))
    assert f"rows {field.rows[0]}–{field.rows[1]}, cols {field.cols[0]}–{field.cols[1]} of the 150×128 input" in texts
