"""`run --view/--figure/--save-maps/--export`, `explain/params --export`, and the progress bar."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli import cli, engine
from convcli.figure import plan as figure_plan
from convcli.sources import kernels

from helpers import invoke

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@pytest.fixture
def gradient(tmp_path: Path) -> Path:
    """A 20×30 image whose one channel rises by 3 per column: sobel-x gives 8·3 = 24 everywhere."""
    x = np.tile(np.arange(30, dtype=np.float32) * 3, (20, 1))[:, :, None]
    p = tmp_path / "gradient.npy"
    np.save(p, x)
    return p


def test_view_choices(gradient: Path):
    both = invoke("run", gradient, "--init", "sobel-x")
    assert both.exit_code == 0, both.output
    assert "heatmaps" in both.stdout and "partial sums" in both.stdout  # auto: maps larger than the window
    numbers = invoke("run", gradient, "--init", "sobel-x", "--view", "numbers")
    assert "heatmaps" not in numbers.stdout and "partial sums" in numbers.stdout
    heat = invoke("run", gradient, "--init", "sobel-x", "--view", "heatmap")
    assert "heatmaps" in heat.stdout and "partial sums" not in heat.stdout
    assert "18×28 maps" in heat.stdout and "24 … 24" in heat.stdout  # the constant sobel response
    textbook = invoke("run", SAMPLES / "textbook.npy", "-k", "2", "--init", "ones")
    assert "heatmaps" not in textbook.stdout  # the window shows the whole 2×2 output already
    assert invoke("run", gradient, "--view", "pictures").exit_code == 2


def test_figure_file(gradient: Path, tmp_path: Path):
    out = tmp_path / "fig.png"
    r = invoke("run", gradient, "--init", "sobel-x", "--filters", "2", "--figure", out)
    assert r.exit_code == 0, r.output
    assert f"saved {out}" in r.stderr  # every saved line on stderr, stdout the screen only
    assert "saved" not in r.stdout
    image = Image.open(out)
    image.load()
    layer = engine.prepare(np.load(gradient), kernels.make_kernel("sobel-x", (3, 3), 1, 2))
    result = engine.run_layer(layer, None, "linear")
    plan = figure_plan.plan_figure(result, [0, 1], ["ch 0"], title="gradient.npy")
    assert image.size == plan.size
    # again without --force: refused, the picture unchanged
    before = out.read_bytes()
    again = invoke("run", gradient, "--init", "sobel-x", "--figure", out)
    assert again.exit_code == 1 and "--force" in again.stderr
    assert out.read_bytes() == before
    assert invoke("run", gradient, "--figure", tmp_path / "fig.gif").exit_code == 2


def test_save_maps_folder(gradient: Path, tmp_path: Path):
    folder = tmp_path / "maps"
    r = invoke("run", gradient, "--init", "sobel-x", "--filters", "2", "--save-maps", folder, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert sorted(Path(p).name for p in doc["maps"]) == ["filter_0.png", "filter_1.png", "maps.json"]
    side = json.loads((folder / "maps.json").read_text())
    assert [m["filter"] for m in side["maps"]] == [0, 1]
    pixels = np.asarray(Image.open(folder / "filter_0.png"))
    assert pixels.shape == (18, 28)


@pytest.mark.parametrize("suffix", [".txt", ".svg", ".html"])
def test_export_holds_the_numbers_printed(tmp_path: Path, suffix: str):
    out = tmp_path / f"report{suffix}"
    args = ("run", SAMPLES / "textbook.npy", "-k", "2", "--init", "ones", "--activation", "relu")
    shown = invoke(*args)
    r = invoke(*args, "--export", out)
    assert r.exit_code == 0, r.output
    assert r.stdout == shown.stdout
    assert f"exported the screen to {out}" in r.stderr
    text = out.read_text(encoding="utf-8")
    if suffix == ".txt":
        assert text == shown.stdout
    else:  # markup between the characters: every number printed must be in the file, in order
        plain = html.unescape(re.sub(r"<[^>]+>", " ", text)).replace("\xa0", " ")
        printed = NUMBER.findall(shown.stdout)
        found = NUMBER.findall(plain)
        assert "40404" in printed
        it = iter(found)
        assert all(any(n == m for m in it) for n in printed)


def test_export_from_explain_and_params(tmp_path: Path):
    lesson = tmp_path / "lesson.txt"
    r = invoke("explain", "--step", "1", "--export", lesson)
    assert r.exit_code == 0, r.output
    assert lesson.read_text(encoding="utf-8") == r.stdout
    counts = tmp_path / "params.txt"
    r = invoke("params", "-c", "3", "-f", "1", "-k", "2", "--export", counts)
    assert r.exit_code == 0, r.output
    assert "13" in counts.read_text(encoding="utf-8")
    again = invoke("params", "-c", "3", "--export", counts)
    assert again.exit_code == 1 and "--force" in again.stderr
    assert invoke("params", "-c", "3", "--export", counts, "--force").exit_code == 0


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("--export", "r.svg", "--json"), 2, "--json"),
        (("--export", "r.pdf"), 2, ".svg, .html or .txt"),
        (("--figure", "x.npz"), 2, ".png, .jpg, .jpeg, .webp, .svg or .pdf"),
        (("--figure", "nowhere/fig.png"), 1, "does not exist"),
        (("--save-maps", "a-file.txt"), 1, "a-file.txt"),
        (("--save-maps", "nowhere/maps"), 1, "nowhere"),
    ],
)
def test_output_option_errors(tmp_path: Path, args, code, fragment, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file.txt").write_text("keep me")
    r = invoke("run", SAMPLES / "textbook.npy", "-k", "2", *args)
    assert r.exit_code == code, r.output
    assert fragment in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file.txt"]
    assert (tmp_path / "a-file.txt").read_text() == "keep me"


def test_progress_bar_only_on_a_terminal_after_a_delay(monkeypatch):
    times = iter([0.0, 0.5, 2.0, 3.0])
    monkeypatch.setattr("time.monotonic", lambda: next(times))
    monkeypatch.setattr(cli.output.sys.stderr, "isatty", lambda: True, raising=False)
    bar = cli.output.ProgressBar("convolving", enabled=True)
    bar(0.1)  # 0.5 s in: nothing yet
    assert bar._bar is None
    bar(0.6)  # 2 s in: the bar appears
    assert bar._bar is not None and bar._bar.tasks[0].completed == 0.6
    bar.close()
    assert bar._bar is None
    quiet = cli.output.ProgressBar("convolving", enabled=False)
    quiet(0.5)
    assert quiet._bar is None



def test_bars_keep_the_order_of_each_tasks_first_call_even_before_they_appear(monkeypatch):
    times = iter([0.0, 0.1, 0.2, 0.3, 2.0, 2.1])
    monkeypatch.setattr("time.monotonic", lambda: next(times))
    monkeypatch.setattr(cli.output.sys.stderr, "isatty", lambda: True, raising=False)
    bars = cli.output.Bars(enabled=True)
    for name in ("PyTorch", "Keras", "numpy einsum"):  # 0.1-0.3 s in: announced, nothing drawn
        bars(name, 0.0)
    assert bars._bar is None
    bars("numpy einsum", 0.5)  # 2 s in: the bars appear, in the order announced
    bars("SciPy", 0.25)
    try:
        assert [(t.description, t.completed) for t in bars._bar.tasks] == [
            ("PyTorch", 0.0), ("Keras", 0.0), ("numpy einsum", 0.5), ("SciPy", 0.25)]
    finally:
        bars.close()

def on_a_terminal(*args: object) -> tuple[int, str]:
    """``convcli ARGS...`` in a fresh interpreter whose stderr is a pseudo-terminal, with the bar's
    delay set to 0 so that even this tiny run would draw it: (exit code, what reached the terminal)."""
    import os
    import pty
    import subprocess
    import sys

    code = ("import sys\nfrom convcli import cli\ncli.output.ProgressBar.DELAY = 0.0\n"
            "sys.argv = ['convcli', *sys.argv[1:]]\ncli.app()\n")
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    primary, secondary = pty.openpty()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdin=subprocess.DEVNULL,
                                stdout=devnull, stderr=secondary, env=env)
    os.close(secondary)
    chunks = []
    try:
        while True:
            try:
                data = os.read(primary, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(primary)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_quiet_and_piped_runs_print_no_progress(gradient: Path):
    r = invoke("run", gradient, "--quiet", "--view", "numbers")
    assert r.exit_code == 0 and r.stderr == ""
    piped = invoke("run", gradient, "--view", "numbers")  # CliRunner's stderr is no terminal
    assert piped.exit_code == 0 and piped.stderr == ""
    # on a terminal the same run draws the bar, and --quiet is what takes it away
    code, shown = on_a_terminal("run", gradient, "--view", "numbers")
    assert code == 0 and "convolving" in shown, shown
    code, quiet = on_a_terminal("run", gradient, "--view", "numbers", "--quiet")
    assert code == 0 and quiet == "", quiet


def test_view_dominant_shows_and_jsons_the_channel_of_largest_partial():
    """The textbook example: B (10000) dominates every position, on the screen and in --json."""
    args = ("run", SAMPLES / "textbook.npy", "-k", "2", "--init", "ones", "--view", "dominant")
    r = invoke(*args)
    assert r.exit_code == 0, r.output
    assert "dominant channel" in r.stdout and "c2  100.0% of the positions" in r.stdout
    r = invoke(*args, "--json")
    assert r.exit_code == 0, r.output
    (doc,) = json.loads(r.stdout)["dominant"]
    assert doc["map"] == [[2, 2], [2, 2]] and doc["block"] == 1
    assert [(c["label"], c["share"]) for c in doc["channels"]] == [("c0", 0.0), ("c1", 0.0), ("c2", 100.0)]


SCREENS = {
    "explain": ("explain", "--step", "2"),
    "params": ("params", "-c", "3", "-f", "8", "--input-size", "32,32,3"),
    "params --stack": ("params", "--stack", "conv 8 k3 same, maxpool 2, gap, dense 10", "--input-size", "32,32,3"),
    "layers": ("layers", SAMPLES / "edges.keras", "--input-size", "64,64,3"),
}


@pytest.mark.parametrize("name", list(SCREENS))
def test_width_sets_explain_params_and_layers_screens_and_exports(name: str, tmp_path: Path):
    args = SCREENS[name]
    widths = {}
    for width in (60, 130):
        target = tmp_path / f"w{width}.txt"
        r = invoke(*args, "--width", str(width), "--export", target, columns=200)
        assert r.exit_code == 0, r.output
        for text in (r.stdout, target.read_text(encoding="utf-8")):
            assert max(map(len, text.splitlines())) <= width
        widths[width] = max(map(len, r.stdout.splitlines()))
    assert widths[60] < widths[130]  # the screen follows --width, not the terminal's 200 columns
    assert invoke(*args, "--width", "10").exit_code == 2


@pytest.mark.parametrize("name", ["explain", "params", "layers"])
def test_theme_sets_the_export_page_of_explain_params_and_layers(name: str, tmp_path: Path):
    from rich.terminal_theme import DEFAULT_TERMINAL_THEME, SVG_EXPORT_THEME

    # the page: the SVG's first filled rectangle (its window), the HTML's first background
    page = {".svg": re.compile(r'<rect fill="(#[0-9a-f]{6})"'), ".html": re.compile(r"background-color: (#[0-9a-f]{6})")}
    for theme_name, terminal in (("light", DEFAULT_TERMINAL_THEME), ("dark", SVG_EXPORT_THEME)):
        for suffix in (".svg", ".html"):
            target = tmp_path / f"{theme_name}{suffix}"
            extra = () if theme_name == "light" else ("--theme", "dark")  # light by default
            r = invoke(*SCREENS[name], "--export", target, *extra)
            assert r.exit_code == 0, r.output
            found = page[suffix].search(target.read_text(encoding="utf-8"))
            assert found is not None and found.group(1) == terminal.background_color.hex
    assert invoke(*SCREENS[name], "--theme", "sepia").exit_code == 2
