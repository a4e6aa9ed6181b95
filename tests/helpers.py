"""What several test modules share: the in-process CLI, a fixed-width console and the snapshot check.

Imported as ``from helpers import ...`` (``tests/`` is on ``sys.path`` because ``tests/conftest.py``
sits there and pytest's default import mode prepends its folder). Test modules import this module,
never each other.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner, Result

from convcli import engine
from convcli.cli import app
from convcli.present.describe import InputInfo, value_range
from convcli.present.window import Window
from convcli.sources import kernels

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SNAPSHOTS = Path(__file__).parent / "snapshots"

#: Set by ``pytest --update-snapshots`` (tests/conftest.py): check_snapshot rewrites instead of comparing.
UPDATE_SNAPSHOTS = False

runner = CliRunner()


def invoke(*args: object, columns: int = 100, **kw: Any) -> Result:
    """``convcli ARGS...`` in-process, ``columns`` wide and without colour."""
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": str(columns), "NO_COLOR": "1"}, **kw)


def one_error(stderr: str, *fragments: str) -> str:
    """The single ``Error:`` line of ``stderr``, checked to hold every fragment and no traceback."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], stderr
    return lines[0]


def draw(renderable: Any, width: int = 100, **kwargs: Any) -> str:
    """What a ``width``-column console without colour prints for ``renderable`` (a list: each in turn)."""
    kwargs.setdefault("color_system", None)
    console = Console(file=io.StringIO(), width=width, legacy_windows=False, **kwargs)
    for r in renderable if isinstance(renderable, list) else [renderable]:
        console.print(r)
    return console.file.getvalue()  # type: ignore[attr-defined]


def check_snapshot(name: str, text: str) -> None:
    """Compare with tests/snapshots/NAME; ``pytest --update-snapshots`` (or CONVCLI_UPDATE_SNAPSHOTS=1)
    rewrites it instead (then review the diff)."""
    path = SNAPSHOTS / name
    if UPDATE_SNAPSHOTS or os.environ.get("CONVCLI_UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path}: run pytest --update-snapshots and review it"
    assert text == path.read_text(encoding="utf-8")


def textbook_result(activation: str = "relu") -> tuple[InputInfo, engine.LayerResult]:
    """The textbook example (a 3×3 RGB image of 1, 100 and 10000) through a 2×2 kernel of ones."""
    x = np.stack([np.full((3, 3), v, dtype=np.float32) for v in (1, 100, 10000)], axis=-1)
    layer = engine.prepare(x, kernels.make_kernel("ones", (2, 2), 3, 1))
    result = engine.run_layer(layer, None, activation)
    info = InputInfo("textbook.npy", ".npy array, float32", x.shape, "float32", ("R", "G", "B"), value_range(x))
    return info, result


def sobel_gradient(h: int, w: int) -> engine.LayerResult:
    """Sobel-x (bias 0.5, relu, float64) on an ``h×w`` image of three channels: rising left to right
    (+8), falling twice as fast (-16), flat (0)."""
    j = np.arange(w, dtype=np.float64)
    x = np.stack([np.tile(j, (h, 1)), np.tile(2.0 * (w - 1 - j), (h, 1)), np.full((h, w), 7.0)], axis=-1)
    layer = engine.prepare(x, kernels.make_kernel("sobel-x", (3, 3), 3, 1), dtype=np.float64)
    return engine.run_layer(layer, [0.5], "relu")


def centred_window(result: engine.LayerResult) -> Window:
    """The window ``convcli run`` shows without --at and --window: 3×3 (at most) in the middle."""
    return Window.choose(result.layer.geometry.out_hw)


def decode(path: Path) -> tuple[str, np.ndarray]:
    """A picture file's format and its pixels as RGB ``(H, W, 3)``."""
    with Image.open(path) as im:
        return str(im.format), np.asarray(im.convert("RGB"))


def page_trace(page: Any) -> dict[str, Any]:
    """The numbers the report's trace panel shows in a Playwright ``page``, as the page holds them (``data-v``:
    every digit): each channel's patch and products, the sums, the total, bias, pre-activation and output."""
    return page.evaluate("""() => {
        const grids = (cls) => [...document.querySelectorAll('#trace .channel')].map(ch =>
            [...ch.querySelectorAll('table.' + cls + ' tr')].map(tr => [...tr.cells].map(td => Number(td.dataset.v))));
        const one = (cls) => { const o = document.querySelector('#trace output.' + cls); return o ? Number(o.dataset.v) : null; };
        return {patch: grids('patch'), products: grids('products'),
                sums: [...document.querySelectorAll('#trace output.sum')].map(o => Number(o.dataset.v)),
                total: one('total'), bias: one('bias'), pre: one('pre'), out: one('out'), lost: one('lost'),
                position: document.getElementById('position').textContent, hash: location.hash};
    }""")
