"""What a keypress repaints: the explorer keeps the map's lines and the trace's height, and what it
shows after any keys is exactly what a fresh app opened there shows.

A layout pass (Textual measures and repaints every widget) was most of a keypress on a 12 MP photo;
these tests hold that a move repaints two map lines and lays nothing out, and that the kept lines
are never stale.
"""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("textual")

from textual.geometry import Region  # noqa: E402

from convcli.tui.app import ExploreApp, MapView  # noqa: E402


def make_app(explored, **kw) -> ExploreApp:
    return ExploreApp(explored.result, explored.built.loaded.channel_names, "grace_hopper.png", **kw)


def picture(widget) -> list[list[tuple[str, str]]]:
    """Every line of ``widget`` as (text, style) segments: the colours as well as the characters."""
    w, h = widget.size
    return [[(seg.text, str(seg.style)) for seg in strip] for strip in widget.render_lines(Region(0, 0, w, h))]


def screens(app: ExploreApp, keys: list[str], size=(120, 40)):
    """The map's and the trace's pictures after ``keys``, and the map's lines repainted by the last key."""
    async def go():
        async with app.run_test(size=size) as pilot:
            await pilot.press(*keys[:-1])
            await pilot.pause()
            view = app.query_one(MapView)
            trace = app.query_one("#trace")
            before = list(view._strips)  # noqa: SLF001 - what this test is about
            shown_before = picture(view)
            layouts = []
            original = trace.refresh

            def spy(*regions, **kw):
                layouts.append(kw.get("layout", False))
                return original(*regions, **kw)

            trace.refresh = spy
            if keys:
                await pilot.press(keys[-1])
                await pilot.pause()
            changed = [y for y, (a, b) in enumerate(zip(before, view._strips, strict=True)) if a is not b]  # noqa: SLF001
            shown_after = picture(view)
            differ = [y for y, (a, b) in enumerate(zip(shown_before, shown_after, strict=True)) if a != b]
            return shown_after, picture(trace), changed, layouts, differ

    return asyncio.run(go())


def test_a_move_repaints_the_two_cursor_lines_and_lays_nothing_out(explored, in_thread):
    keys = ["down", "down", "down"]
    _, _, changed, layouts, differ = in_thread(screens, make_app(explored, filter=1, at=(70, 60)), keys)
    # the line the cursor left and the line it is on, and only lines whose picture changed
    assert len(changed) == 2 and changed[1] - changed[0] == 1
    assert changed == differ
    assert layouts and not any(layouts)


@pytest.mark.parametrize("keys", [
    ["down", "down", "right", "shift+right", "up"],
    ["right_square_bracket", "right_square_bracket", "left_square_bracket", "down", "left"],  # kept lines reused
    ["space", "down", "space", "full_stop", "space"],  # a channel off, the trace taller, then back
    ["t", "down", "t", "right"],  # through the numbers view and back to the kept heatmap
    ["p", "down", "p"],
])
def test_after_any_keys_the_screen_is_what_a_fresh_app_there_shows(explored, in_thread, keys):
    app = make_app(explored, filter=1, at=(70, 60))
    map_after, trace_after, _, _, _ = in_thread(screens, app, keys)
    p = app.pointer
    fresh = make_app(explored, filter=p.filter, at=(p.row, p.col))
    fresh.pointer.off, fresh.pointer.channel = set(p.off), p.channel
    fresh.pointer.numbers, fresh.pointer.pre = p.numbers, p.pre
    map_fresh, trace_fresh, _, _, _ = in_thread(screens, fresh, [])
    assert map_after == map_fresh
    # the trace may keep blank lines below a shorter text (its height never shrinks): the text is the same
    assert [line for line in trace_after if "".join(t for t, _ in line).strip()] == \
        [line for line in trace_fresh if "".join(t for t, _ in line).strip()]


def test_the_kept_lines_follow_a_change_of_theme(explored, in_thread):
    async def go(app: ExploreApp, theme: str | None):
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("down", "right_square_bracket", "left_square_bracket")
            await pilot.pause()
            if theme is not None:
                app.theme = theme
                await pilot.pause()
            return picture(app.query_one(MapView)), picture(app.query_one("#trace"))

    changed = in_thread(asyncio.run, go(make_app(explored, filter=1, at=(70, 60)), "textual-light"))
    fresh_app = make_app(explored, filter=1, at=(70, 60))
    fresh_app.theme = "textual-light"
    fresh = in_thread(asyncio.run, go(fresh_app, None))
    dark = in_thread(asyncio.run, go(make_app(explored, filter=1, at=(70, 60)), None))
    assert changed == fresh and changed != dark



def window_after(app: ExploreApp, keys: list[str]):
    """The numbers view's window (the map's layout) after ``keys``."""
    async def go():
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*keys)
            await pilot.pause()
            return app.query_one(MapView).placed

    return asyncio.run(go())


def test_a_move_in_the_numbers_view_repaints_the_two_cursor_lines(explored, in_thread):
    _, _, changed, layouts, differ = in_thread(screens, make_app(explored, filter=1, at=(70, 60)), ["t", "down", "down"])
    # the window stays while the cursor is inside it: the row it left and the row it is on
    assert changed == differ == [changed[0], changed[0] + 1]
    assert layouts and not any(layouts)


def test_the_numbers_window_stays_while_the_cursor_is_inside_and_centres_again_when_it_leaves(explored, in_thread):
    opened = in_thread(window_after, make_app(explored, filter=1, at=(70, 60)), ["t"])
    assert (opened.r0, opened.c0) == (70 - opened.rows // 2, 60 - opened.cols // 2)  # centred
    inside = in_thread(window_after, make_app(explored, filter=1, at=(70, 60)), ["t", "down", "shift+right"])
    assert inside == opened
    steps = opened.c0 + opened.cols - 60  # one column past the window's right edge
    app = make_app(explored, filter=1, at=(70, 60))
    left = in_thread(window_after, app, ["t", *["shift+right"] * steps])
    assert app.pointer.col == opened.c0 + opened.cols
    assert (left.r0, left.c0) == (70 - left.rows // 2, app.pointer.col - left.cols // 2)


def test_the_cursor_in_the_numbers_view_is_always_on_a_line_shown(explored, in_thread):
    async def go(app: ExploreApp):
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("t")
            view = app.query_one(MapView)
            seen = []
            for _ in range(30):  # down past the window's last row shown
                await pilot.press("down")
                await pilot.pause()
                lay = view.placed
                y = 2 + app.pointer.row - lay.r0  # below the title and the column labels
                seen.append(lay.r0)
                assert 0 <= y < view.content_size.height
                assert any(seg.style is not None and seg.style.reverse for seg in view._strips[y])  # noqa: SLF001
            return seen

    seen = in_thread(asyncio.run, go(make_app(explored, filter=1, at=(70, 60))))
    assert len(set(seen)) == 2  # the window stayed, then centred again once
