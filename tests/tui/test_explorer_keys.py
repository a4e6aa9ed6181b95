"""``convcli explore``'s app driven as a user would: keys and clicks through Textual's Pilot, then the
app's state and the screen's text. The trace's numbers are those of ``convcli run --trace R,C --json``."""

from __future__ import annotations

import asyncio
import json

import pytest

import convcli
from convcli.present.describe import fmt

pytest.importorskip("textual")

from textual.geometry import Region  # noqa: E402

from convcli.tui.app import ExploreApp, HelpScreen, MapView  # noqa: E402

from helpers import ROOT  # noqa: E402


@pytest.fixture(autouse=True)
def _thread(in_thread):
    """Every test here drives its app in a thread of its own (conftest's ``in_thread``)."""
    global RUN
    RUN = in_thread


RUN = None


def make_app(explored, **kw) -> ExploreApp:
    return ExploreApp(explored.result, explored.built.loaded.channel_names, "grace_hopper.png", **kw)


def text_of(widget) -> str:
    """What ``widget`` shows, as plain text lines."""
    w, h = widget.size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, w, h)))


def drive(app: ExploreApp, *keys: str, size=(120, 40), then=None):
    """Run ``app``, press ``keys``, then call ``then(app, pilot)`` (a coroutine function) and return its value."""

    async def go():
        async with app.run_test(size=size) as pilot:
            await pilot.press(*keys)
            await pilot.pause()
            return await then(app, pilot) if then is not None else None

    return RUN(asyncio.run, go())


async def screen_texts(app: ExploreApp, pilot) -> dict[str, str]:
    return {"status": text_of(app.query_one("#status")), "trace": text_of(app.query_one("#trace")),
            "map": text_of(app.query_one(MapView))}


def test_it_opens_centred_on_the_first_filter(explored):
    app = make_app(explored)
    texts = drive(app, then=screen_texts)
    ho, wo = explored.output.shape[:2]
    assert (app.pointer.filter, app.pointer.row, app.pointer.col) == (0, ho // 2, wo // 2)
    assert f"({ho // 2}, {wo // 2})" in texts["status"]
    assert "filter 0 · output 148×126" in texts["map"]


def test_the_trace_shows_run_traces_numbers(explored, cli):
    result = cli("run", "samples/grace_hopper.png", "-f", "4", "--activation", "relu", "--trace", "74,63",
                 "--filter", "1", "--json")
    assert result.exit_code == 0, result.output
    expected = json.loads(result.stdout)["filters"][0]["trace"]
    app = make_app(explored, filter=1, at=(74, 63))
    texts = drive(app, then=screen_texts)
    trace = app.pointer.trace()
    # the same float32 numbers: the JSON writes them exactly
    assert trace.sums.tolist() == expected["channel_sums"]
    assert trace.patch.transpose(2, 0, 1).tolist() == expected["patch"]
    assert trace.products.transpose(2, 0, 1).tolist() == expected["products"]
    for s in expected["channel_sums"]:
        assert f"Σ {fmt(s)}" in texts["trace"]
    assert f"= {fmt(expected['preactivation'])}" in texts["trace"]
    assert f"relu → {fmt(expected['output'])}" in texts["trace"]


def test_arrows_move_a_cell_and_shift_arrows_one_position(explored):
    app = make_app(explored, at=(10, 10))

    async def moves(app, pilot):
        k = app.query_one(MapView).placed.k
        await pilot.press("down", "right", "right")
        after_cells = (app.pointer.row, app.pointer.col)
        await pilot.press("shift+up", "shift+left")
        return k, after_cells, (app.pointer.row, app.pointer.col)

    k, cells, steps = drive(app, then=moves)
    assert k > 1
    assert cells == (10 + k, 10 + 2 * k)
    assert steps == (10 + k - 1, 10 + 2 * k - 1)


def test_a_click_points_at_the_cell_under_the_mouse(explored):
    app = make_app(explored)

    async def click(app, pilot):
        view = app.query_one(MapView)
        placed = view.placed
        # the widget's padding column, then map column 3; the title line, then text line 2: map rows 4 and 5
        await pilot.click(MapView, offset=(1 + 3, 1 + 2))
        return placed, (app.pointer.row, app.pointer.col)

    placed, where = drive(app, then=click)
    assert where == (4 * placed.k + placed.k, 3 * placed.k + placed.k // 2)


def test_brackets_switch_filters(explored):
    app = make_app(explored)
    texts = drive(app, "right_square_bracket", "right_square_bracket", then=screen_texts)
    assert app.pointer.filter == 2
    assert "filter 2 · output" in texts["map"]
    drive(app2 := make_app(explored), "left_square_bracket")
    assert app2.pointer.filter == 3


def test_space_switches_the_channel_under_the_cursor_off(explored):
    app = make_app(explored, filter=1, at=(74, 63))
    texts = drive(app, "full_stop", "space", then=screen_texts)
    trace = explored.trace(74, 63, filter=1)
    assert app.pointer.off == {1}
    s = app.pointer.trace_sum()
    assert s.on.tolist() == [True, False, True]
    assert "(off)" in texts["trace"]
    assert f"Σ channels {fmt(trace.sums[0])} + {fmt(trace.sums[2])} + bias" in texts["trace"]
    assert f"with every channel {fmt(explored.preactivation[74, 63, 1])}" in texts["trace"]
    assert "1 channel off" in texts["status"]


def test_number_keys_switch_channels_off_and_on(explored):
    app = make_app(explored)
    drive(app, "1", "3", "3")
    assert app.pointer.off == {0}


def test_t_shows_the_numbers_around_the_position(explored):
    app = make_app(explored, filter=2, at=(20, 30))
    texts = drive(app, "t", then=screen_texts)
    assert app.pointer.numbers
    assert "cell =" not in texts["map"]
    assert fmt(explored.output[20, 30, 2]).strip() in texts["map"]
    drive(app2 := make_app(explored), "t", "t")
    assert not app2.pointer.numbers


def test_p_shows_the_pre_activation(explored):
    app = make_app(explored)
    texts = drive(app, "p", then=screen_texts)
    assert "pre-activation" in texts["map"]


def test_question_mark_opens_the_help_and_escape_closes_it(explored):
    async def help_open(app, pilot):
        opened = isinstance(app.screen, HelpScreen)
        text = text_of(app.screen.query_one("#help"))
        await pilot.press("escape")
        await pilot.pause()
        return opened, text, isinstance(app.screen, HelpScreen)

    opened, text, still = drive(make_app(explored), "question_mark", then=help_open)
    assert opened and not still
    assert "switch the channel under the cursor off" in text


def test_q_quits(explored):
    app = make_app(explored)

    async def quit_(app, pilot):
        await pilot.press("q")
        await pilot.pause()
        return app.is_running

    assert drive(app, then=quit_) is False


def test_the_footer_shows_the_keys(explored):
    async def footer(app, pilot):
        from textual.widgets import Footer

        return " ".join(text_of(key) for key in app.query_one(Footer).query("FooterKey"))

    text = drive(make_app(explored), then=footer)
    for words in ("move", "filter", "on/off", "numbers/heatmap", "help", "quit"):
        assert words in text


def test_with_precision_the_side_panel_shows_the_emulated_sum_where_the_trace_is():
    """``explore --precision bf16``: under the trace, the textbook's 10000 → 9984, its partial 39936 and the
    stored 40448, at the position pointed at, as ``run --precision bf16`` shows them."""
    ex = convcli.explore(ROOT / "samples/textbook.npy", kernel_size=2, init="ones", activation="relu",
                         precision="bf16")
    app = ExploreApp(ex.result, ex.built.loaded.channel_names, "textbook.npy", at=(1, 1), emulated=ex.emulated)
    texts = drive(app, "up", then=screen_texts)
    assert "bfloat16 at output (0, 1)" in texts["trace"]
    for number in ("9984", "39936", "40448"):
        assert number in texts["trace"]


def test_a_click_in_the_numbers_view_points_at_the_number_under_the_mouse(explored):
    app = make_app(explored, at=(56, 60))

    async def click(app, pilot):
        await pilot.press("t")
        await pilot.pause()
        placed = app.query_one(MapView).placed
        # the title and the column labels, then the window's third row (line 4); the widget's padding
        # column, the row labels and one number, then the second number
        await pilot.click(MapView, offset=(1 + placed.left + placed.cell_w + 1, 2 + 2))
        return placed, (app.pointer.row, app.pointer.col)

    placed, where = drive(app, then=click)
    assert placed.top == 2
    assert where == (placed.r0 + 2, placed.c0 + 1)
    texts = drive(make_app(explored, at=(56, 60)), "t", then=screen_texts)
    last = texts["map"].splitlines()[placed.rows + 1]  # the window's last row is on screen, labelled
    assert last.split()[0] == str(placed.r0 + placed.rows - 1)
