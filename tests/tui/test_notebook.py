"""How an exploration shows itself: Jupyter's HTML, a terminal's rich screen, a short repr, the report file.

(That creating one prints nothing and imports no view: tests/pipeline/test_explore.py.)
"""

from __future__ import annotations

import re

from convcli.present.describe import fmt

import helpers


def test_the_notebook_html_holds_the_numbers_and_the_heatmaps_inline(explored):
    page = explored._repr_html_()
    assert "convcli run" in page
    assert fmt(float(explored.kernel[0, 0, 0, 0])) in page  # the first weight, as the screen writes it
    assert page.count("<img") == 1
    assert 'src="data:image/png;base64,' in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched over the network
    assert "http://" not in page and "https://" not in page


def test_printing_it_shows_the_run_screen(explored):
    text = helpers.draw(explored, width=100)
    assert text.startswith("╭─ convcli run")
    assert "filter 0 · bias" in text and "filter 0 · heatmaps" in text
    assert "min" in text


def test_its_repr_is_one_short_line(explored):
    text = repr(explored)
    assert "\n" not in text and len(text) < 200
    assert text.startswith("<Exploration ") and "4 filters" in text and "148×126" in text


def test_report_writes_the_html_page(explored, tmp_path):
    path = explored.report(tmp_path / "page.html", filters=[1], at=(74, 63))
    assert path == tmp_path / "page.html"
    page = path.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "convcli report" in page


def test_an_exploration_in_a_precision_writes_a_report_that_shows_it(tmp_path):
    import convcli

    ex = convcli.explore(helpers.ROOT / "samples" / "textbook.npy", kernel_size=2, init="ones", activation="relu",
                         precision="bf16")
    page = ex.report(tmp_path / "bf16.html").read_text()
    assert "bfloat16 − float64, whole layer" in page and '"precision":"bf16"' in page


def test_every_kind_and_rank_shows_itself_as_run_does(tmp_path):
    import numpy as np

    import convcli

    volume = np.random.default_rng(5).normal(size=(4, 6, 7, 2))
    signal = helpers.SAMPLES / "signal.npy"
    cases = [(signal, {"ndim": 1}, "Conv1D kernel 3, 2 channels → 1 filters, output 22×1 float32"),
             (volume, {"ndim": 3, "filters": 2}, "Conv3D 3×3×3, 2 channels → 2 filters, output 2×4×5×2 float32"),
             (volume, {"ndim": 3, "kind": "transpose"}, "Conv3DTranspose 3×3×3, 2 channels → 1 filters, output "
                                                         "6×8×9×1 float32")]
    for source, options, words in cases:
        ex = convcli.explore(source, **options)
        assert words in repr(ex)
        keras = words.split()[0]
        screen = helpers.draw(ex, width=120)
        assert f"{keras}(" in screen  # the header's layer row, as run's
        assert f"{keras}(" in ex._repr_html_()
        path = ex.report(tmp_path / "r.html")
        page = path.read_text(encoding="utf-8")
        assert f"{keras}(" in page
        if options["ndim"] == 3:  # the views show the middle output plane, as run does by default
            planes = int(words.split("output ")[1].split("×")[0])
            assert f"depth slice {planes // 2} of the output&#x27;s {planes} planes" in page


def test_a_trace_and_a_report_take_the_layers_own_axes_as_run_trace_does(tmp_path, cli):
    """``ex.trace(I)`` / ``ex.trace(D, ROW, COL)`` are ``run --trace I`` / ``--trace D,ROW,COL``'s numbers, and
    ``ex.report(at=...)`` opens a 3-D layer's page on plane ``D``; a position of another rank is one error."""
    import json

    import numpy as np
    import pytest

    import convcli
    from convcli.errors import ConfigError

    volume = tmp_path / "volume.npy"
    np.save(volume, np.random.default_rng(5).normal(size=(4, 6, 7, 2)).astype(np.float32))
    signal = helpers.SAMPLES / "signal.npy"
    for source, options, flags, at in [(signal, {"ndim": 1, "kernel_size": 5, "filters": 2}, ("--ndim", "1", "-k", "5",
                                                                                               "-f", "2"), (7,)),
                                       (volume, {"ndim": 3, "filters": 2}, ("--ndim", "3", "-f", "2"), (0, 2, 3))]:
        ex = convcli.explore(source, **options)
        r = cli("run", source, *flags, "--trace", ",".join(map(str, at)), "--filter", "1", "--json")
        assert r.exit_code == 0, r.output
        expected = json.loads(r.stdout)["filters"][0]["trace"]
        trace = ex.trace(*at, filter=1)
        assert trace.sums.tolist() == expected["channel_sums"]
        assert trace.products.transpose(2, 0, 1).tolist() == expected["products"]
        with pytest.raises(ConfigError, match="trace takes"):
            ex.trace(1, 2, 3, 4)
    assert ex.trace(1, 2, 3).sums.tolist() != trace.sums.tolist()  # another plane, other numbers
    page = ex.report(tmp_path / "r.html", at=(0, 2, 3)).read_text(encoding="utf-8")
    assert "depth slice 0 of the output&#x27;s 2 planes" in page
    assert '"rank":3,"plane":0' in page
    with pytest.raises(ConfigError, match="at takes D, ROW, COL for a 3-D layer"):
        ex.report(tmp_path / "r2.html", at=(2, 3))
