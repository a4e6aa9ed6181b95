"""--figure as SVG (parsed) and PDF (header and pages), --theme light|dark, and --width for the
screen and its --export."""

from __future__ import annotations

import base64
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli import engine
from convcli.figure import budget, svg, theme
from convcli.figure import draw as figure_draw
from convcli.figure import plan as figure_plan
from convcli.sources import kernels

from helpers import SAMPLES, decode, invoke

NS = {"s": "http://www.w3.org/2000/svg"}
TEXTBOOK = ("run", SAMPLES / "textbook.npy", "-k", "2", "--init", "ones", "--activation", "relu", "-q")


def textbook_plan() -> figure_plan.FigurePlan:
    x = np.load(SAMPLES / "textbook.npy")
    result = engine.run_layer(engine.prepare(x, kernels.make_kernel("ones", (2, 2), 3, 1)), None, "relu")
    return figure_plan.plan_figure(result, [0], ("c0", "c1", "c2"), title="textbook.npy",
                                   max_panel=budget.FIGURE_MAX_PANEL, width=1920)


def png_of(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))


@pytest.mark.parametrize("name", ["light", "dark"])
def test_svg_figure_is_the_plan_in_vector_text(tmp_path: Path, name: str):
    target = tmp_path / "t.svg"
    r = invoke(*TEXTBOOK, "--figure", target, "--theme", name)
    assert r.exit_code == 0, r.output
    root = ET.fromstring(target.read_text(encoding="utf-8"))
    plan = textbook_plan()
    assert (int(root.get("width")), int(root.get("height"))) == plan.size
    background = root.find("s:rect", NS)
    assert background is not None and background.get("fill") == theme.hex_colour(theme.THEMES[name].background)
    # a group per panel, in the plan's order; each map an embedded PNG of its values, one pixel each
    groups = root.findall(".//s:g[@class='panel']", NS)
    panels = plan.rows[0].panels
    assert [g.get("data-kind") for g in groups] == [p.kind for p in panels]
    for g, p in zip(groups, panels, strict=True):
        image = g.find("s:image", NS)
        assert image is not None
        assert [int(image.get(k)) for k in ("x", "y", "width", "height")] == [p.box.x0, p.box.y0, p.box.width,
                                                                           p.box.height]
        assert np.array_equal(png_of(image.get("href")), figure_draw.panel_pixels(p, p.values.shape))
        if p.kind != "dominant":
            assert np.array_equal(png_of(image.get("href")), p.scale.colours(p.values))
    # the numbers written in are text: 4 cells of 40404 in the pre-activation and 4 in the output
    in_cells = [t.text for g in groups for t in g.iter("{http://www.w3.org/2000/svg}text")]
    assert in_cells.count("40404") == 8 and in_cells.count("40000") == 4 and in_cells.count("400") == 4
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts.count("40404") == 9 and texts.count("40000") == 4 and texts.count("400") == 4
    assert "output = max(z, 0)" in texts and "relu" in texts and plan.title in texts


def test_pdf_figure_is_one_page(tmp_path: Path):
    target = tmp_path / "t.pdf"
    r = invoke(*TEXTBOOK, "--figure", target)
    assert r.exit_code == 0, r.output
    data = target.read_bytes()
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 1
    # the page is the picture at 144 dpi: points = pixels / 2
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert box is not None
    w, h = textbook_plan().size
    assert (float(box.group(1)), float(box.group(2))) == pytest.approx((w * 72 / 144, h * 72 / 144), abs=1)


def test_theme_sets_the_page_around_the_maps(tmp_path: Path):
    light, dark = tmp_path / "l.png", tmp_path / "d.png"
    assert invoke(*TEXTBOOK, "--figure", light).exit_code == 0  # light by default
    assert invoke(*TEXTBOOK, "--figure", dark, "--theme", "dark").exit_code == 0
    (_, pl), (_, pd) = decode(light), decode(dark)
    assert tuple(pl[2, 2]) == theme.LIGHT.background and tuple(pd[2, 2]) == theme.DARK.background
    # the maps keep their colours: the pre-activation's cell corner is the same red in both
    pre = textbook_plan().rows[0].of_kind("preactivation")[0]
    y, x = pre.box.y0 + 3, pre.box.x0 + 3
    assert tuple(pl[y, x]) == tuple(pd[y, x]) == tuple(pre.scale.colours(np.array([40404.0]))[0])
    assert invoke(*TEXTBOOK, "--figure", tmp_path / "x.png", "--theme", "sepia").exit_code == 2


def test_width_sets_the_screen_and_its_export(tmp_path: Path):
    for width in (60, 140):
        target = tmp_path / f"w{width}.txt"
        r = invoke(*TEXTBOOK, "--width", str(width), "--export", target)
        assert r.exit_code == 0, r.output
        lines = target.read_text(encoding="utf-8").splitlines()
        assert max(map(len, lines)) <= width
        assert max(map(len, lines)) > 50
    assert invoke(*TEXTBOOK, "--width", "10").exit_code == 2


def test_export_theme_light_by_default_dark_on_request(tmp_path: Path):
    from rich.terminal_theme import DEFAULT_TERMINAL_THEME, SVG_EXPORT_THEME

    for name, terminal in (("light", DEFAULT_TERMINAL_THEME), ("dark", SVG_EXPORT_THEME)):
        target = tmp_path / f"{name}.svg"
        extra = () if name == "light" else ("--theme", "dark")
        assert invoke(*TEXTBOOK, "--export", target, *extra).exit_code == 0
        text = target.read_text(encoding="utf-8")
        assert terminal.background_color.hex in text
        ET.fromstring(text)
        html = tmp_path / f"{name}.html"
        assert invoke(*TEXTBOOK, "--export", html, *extra).exit_code == 0
        assert terminal.background_color.hex in html.read_text(encoding="utf-8")


def test_svg_draws_in_a_browser_as_the_png(tmp_path: Path, page):
    """The SVG rendered by chromium: the pre-activation's cells are the PNG's red, the page white."""
    plan = textbook_plan()
    target = tmp_path / "t.svg"
    target.write_text(svg.figure_svg(plan), encoding="utf-8")
    w, h = plan.size
    page.set_viewport_size({"width": w, "height": h})
    page.goto(target.as_uri())
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB"))
    pre = plan.rows[0].of_kind("preactivation")[0]
    red = pre.scale.colours(np.array([40404.0]))[0].astype(int)
    assert np.abs(shot[pre.box.y0 + 4, pre.box.x0 + 4].astype(int) - red).max() <= 3
    assert tuple(shot[2, 2]) == theme.LIGHT.background


def test_png_figure_is_the_drawn_picture_on_threads_and_in_bands(tmp_path: Path, monkeypatch):
    """The PNG (convcli's own writer: rows filtered Up, deflated in bands on the engine's threads) reads
    back in Pillow as exactly the picture drawn, one band or one band every few rows; JPEG still goes through Pillow."""
    from convcli.figure.export import save_figure
    from convcli.files import png

    plan = textbook_plan()
    drawn = np.asarray(figure_draw.draw_figure(plan, theme.LIGHT))
    for band_bytes in (png.RGB_BAND_BYTES, 50_000):
        monkeypatch.setattr(png, "RGB_BAND_BYTES", band_bytes)
        target = tmp_path / f"f{band_bytes}.png"
        save_figure(plan, target, theme.LIGHT)
        with Image.open(target) as im:
            assert im.format == "PNG" and im.mode == "RGB"
            assert np.array_equal(np.asarray(im), drawn)
    save_figure(plan, tmp_path / "f.jpg", theme.LIGHT)
    with Image.open(tmp_path / "f.jpg") as im:
        assert im.format == "JPEG" and im.size == plan.size
