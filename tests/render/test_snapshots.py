"""Every renderer at 80, 100 and 120 columns, compared byte for byte with tests/snapshots/NAME_WIDTH.txt.

The screens are drawn on a fixed-width console without colour (``helpers.draw``), from inputs made
here deterministically: the textbook example, a small seeded layer with stride, 'same' padding,
groups and a bias, fixed layer specs and stacks for ``params``, and a ``verify`` result list built
from the numpy adapter plus hand-made rows (versions fixed), so no snapshot depends on which
frameworks, or which versions of them, are installed.

When a screen changes on purpose, rewrite the files in one command and review the diff:

    pytest --update-snapshots tests/render/test_snapshots.py

(``--update-snapshots`` is the option in tests/conftest.py; without a path it rewrites every snapshot
the run reaches, tests/snapshots/textbook_*.txt included.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
from rich.cells import cell_len

from convcli import engine
from convcli.layer import counts
from convcli.layer import stack as stack_syntax
from convcli.layer.spec import ConvSpec
from convcli.present import describe
from convcli.render import explain, explain_texts, heatmap
from convcli.render import params as render_params
from convcli.render import run as render_run
from convcli.render import stack as render_stack
from convcli.render import trace as render_trace
from convcli.render import verify as render_verify
from convcli.sources import kernels
from convcli.verify import adapters, compare, schedule
from convcli.verify.problem import COMPUTED, MISSING, REFUSED, Checked, Outcome, Problem

from helpers import centred_window, check_snapshot, draw, textbook_result

WIDTHS = (80, 100, 120)


def strided_result() -> tuple[describe.InputInfo, engine.LayerResult]:
    """A seeded 7×9×4 float64 input through 3×3 kernels: stride 2, 'same', 2 groups, 4 filters, a bias."""
    rng = np.random.default_rng(20261201)
    x = np.round(rng.uniform(-2, 2, size=(7, 9, 4)), 2)
    k = np.round(rng.uniform(-1, 1, size=(3, 3, 2, 4)), 2)
    layer = engine.prepare(x, k, stride=2, padding="same", groups=2, dtype=np.float64)
    result = engine.run_layer(layer, np.array([0.5, -0.25, 0.0, 1.0]), "relu")
    info = describe.InputInfo("seeded.npy", ".npy array, float64", x.shape, "float64", ("c0", "c1", "c2", "c3"),
                            describe.value_range(x))
    return info, result


def heatmap_result() -> engine.LayerResult:
    """A 12×16 RGB pattern (a bowl, a saddle-like product, a tilt) through sobel-x, float64."""
    i, j = np.mgrid[0:12, 0:16].astype(np.float64)
    x = np.stack([(i - 6) ** 2 + (j - 8) ** 2, i * j, 3 * j - 2 * i], axis=-1)
    layer = engine.prepare(x, kernels.make_kernel("sobel-x", (3, 3), 3, 2), dtype=np.float64)
    return engine.run_layer(layer, np.array([0.5, -1.0]), "relu")


def verify_rows() -> tuple[describe.InputInfo, engine.LayerResult, list[Checked], float]:
    """The textbook layer checked by the numpy adapter (its version fixed) and four hand-made rows:
    one that agrees, one that differs in one value, one refusal and one missing framework."""
    info, result = textbook_result()
    layer = result.layer
    problem = Problem(layer, result.bias, "valid")
    numpy_adapter = next(a for a in adapters.ADAPTERS if a.module == "numpy")
    (computed,) = schedule.verify(problem, result.preactivation, adapters=(numpy_adapter,))
    computed = dataclasses.replace(computed, outcome=dataclasses.replace(computed.outcome, version="2.0.0"))
    n = compare.terms(layer)
    scale = compare.magnitude(layer, result.bias)
    off = result.preactivation.copy()
    off[0, 1, 0] += 1.0

    def row(outcome: Outcome) -> Checked:
        cmp = None
        if outcome.output is not None:
            cmp = compare.compare(outcome.output, result.preactivation, scale, n=n, dtype=layer.x.dtype)
        return Checked(outcome, cmp)

    checked = [
        row(Outcome("PyTorch", "2.0.0", COMPUTED, "x (H, W, C) → (1, C, H, W)",
                               "padding=0", result.preactivation.copy())),
        row(Outcome("JAX", "0.4.20", COMPUTED, "NHWC, HWIO", "[(0, 0), (0, 0)]", off)),
        row(Outcome("Keras", "3.0.0 (torch backend)", REFUSED,
                               note="Keras' Conv2D takes no stride > 1 with dilation > 1: it says so")),
        row(Outcome("SciPy", "", MISSING, note="not installed: pip install 'convcli[scipy]'")),
        computed,
    ]
    return info, result, checked, compare.rtol_for(layer.x.dtype, n)


STACK = "conv 32 k3 s2, dw k3 same, sep 128 k3 s2 same m2, tconv 64 k4 s2 same, conv 3 k3 same nobias"


def params_reports() -> tuple[counts.LayerReport, counts.LayerReport | None]:
    spec = ConvSpec("conv", 64, 128, (3, 3), padding="same")
    twin = counts.equivalent(spec)
    return counts.report(spec, (56, 56)), (counts.report(twin, (56, 56)) if twin is not None else None)


def run_screen(name: str) -> Callable[[int], object]:
    def make(width: int) -> object:
        info, result = textbook_result() if name.endswith("textbook") else strided_result()
        if name.startswith("run_header"):
            if name.endswith("textbook"):
                return render_run.header(info, result, "valid", "--init ones")
            return render_run.header(info, result, "same", "k.npy")
        if name.startswith("run_filter_panel"):
            return render_run.filter_panel(result, 0 if name.endswith("textbook") else 3, info.channel_names,
                                           window=centred_window(result))
        if name.startswith("run_summary_table"):
            return render_run.summary_table(result, info.channel_names)
        row, col, f = (1, 1, 0) if name.endswith("textbook") else (3, 0, 2)
        return render_trace.trace_panel(result, engine.trace_position(result.layer, row, col, f), row, col, f,
                                  info.channel_names)

    return make


def heatmaps(width: int) -> object:
    return [heatmap.filter_heatmaps(heatmap_result(), f, ("R", "G", "B"), width=width) for f in (0, 1)]


def params_panel(width: int) -> object:
    return render_params.params_panel(*params_reports())


def params_panel_depthwise(width: int) -> object:
    return render_params.params_panel(counts.report(ConvSpec("depthwise", 8, None, (5, 5), depth_multiplier=2,
                                                             use_bias=False)))


def stack_table(width: int) -> object:
    return render_stack.StackTable(stack_syntax.build_stack(stack_syntax.parse_stack(STACK), (224, 224, 3)))


def stack_totals(width: int) -> object:
    return render_stack.stack_totals(stack_syntax.build_stack(stack_syntax.parse_stack(STACK), (224, 224, 3)))


#: A stack with every kind that is not a conv: explicit pads, batch norm (a trainable column), pooling,
#: global pooling and a dense head; and VGG16 as one stack (its head: flatten and three dense layers).
NETWORK = ("pad 3, conv 64 k7 s2, bn, pad 1,0,1,0, maxpool 3 s2, conv 64 k3 same nobias, bn, avgpool 2 same, gap, "
           "dense 10")
VGG16 = ", ".join(["conv 64 same"] * 2 + ["maxpool 2"] + ["conv 128 same"] * 2 + ["maxpool 2"]
                  + (["conv 256 same"] * 3 + ["maxpool 2"]) + (["conv 512 same"] * 3 + ["maxpool 2"]) * 2
                  + ["flatten", "dense 4096", "dense 4096", "dense 1000"])


def stack_screen(text: str) -> Callable[[int], object]:
    def make(width: int) -> object:
        report = stack_syntax.build_stack(stack_syntax.parse_stack(text), (224, 224, 3))
        return [render_stack.StackTable(report), render_stack.stack_totals(report)]

    return make


def verify_header(width: int) -> object:
    info, result, _, rtol = verify_rows()
    return render_verify.header(info, result, "valid", "--init ones", semantics="keras",
                                n=compare.terms(result.layer), rtol=rtol)


def verify_table(width: int) -> object:
    return render_verify.table(verify_rows()[2])


def verify_how(width: int) -> object:
    return render_verify.how(verify_rows()[2])


def verify_summary(width: int) -> object:
    _, result, checked, rtol = verify_rows()
    return render_verify.summary(checked, rtol, result.layer.x.dtype.name, adapters.installable(checked))


def layers_table(sized: bool) -> Callable[[int], object]:
    """``convcli layers``: a listing made by hand (tests/models.py), without and with an input size."""
    from models import layer_block

    from convcli.layer.model import analyse
    from convcli.render import layers as render_layers

    def make(width: int) -> object:
        a = analyse(layer_block(), (32, 30, 3) if sized else None)
        return [render_layers.LayersTable(a), render_layers.layers_totals(a)]

    return make


def lesson(lang: str) -> Callable[[int], object]:
    return lambda width: explain.lesson(lang)


SCREENS: dict[str, Callable[[int], object]] = {
    **{f"{screen}_{example}": run_screen(f"{screen}_{example}")
       for screen in ("run_header", "run_filter_panel", "run_summary_table", "run_trace_panel")
       for example in ("textbook", "strided")},
    "heatmap_filters": heatmaps,
    "params_panel": params_panel,
    "params_panel_depthwise": params_panel_depthwise,
    "params_stack_table": stack_table,
    "params_stack_totals": stack_totals,
    "params_stack_network": stack_screen(NETWORK),
    "params_stack_vgg16": stack_screen(VGG16),
    "verify_header": verify_header,
    "verify_table": verify_table,
    "verify_how": verify_how,
    "verify_summary": verify_summary,
    "layers_table": layers_table(sized=False),
    "layers_table_sized": layers_table(sized=True),
    **{f"explain_lesson_{lang}": lesson(lang) for lang in explain_texts.LANGS},
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(SCREENS))
def test_screen_snapshot(name: str, width: int):
    text = draw(SCREENS[name](width), width)
    assert text.strip(), name
    check_snapshot(f"{name}_{width}.txt", text)
    assert max(cell_len(line) for line in text.splitlines()) <= width


def test_every_snapshot_file_has_a_test():
    """No stale files: every tests/snapshots/*.txt is written by a test here or by test_render.py."""
    from helpers import SNAPSHOTS

    expected = {f"{name}_{w}.txt" for name in SCREENS for w in WIDTHS} | {"textbook_80.txt", "textbook_100.txt"}
    assert {p.name for p in SNAPSHOTS.glob("*.txt")} == expected
