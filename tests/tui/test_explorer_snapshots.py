"""The explorer's look, as SVG screenshots at two terminal sizes (``pytest-textual-snapshot``).

After a change meant to alter the look, rewrite them with ``pytest tests/tui --snapshot-update`` and
look at the SVG files under ``tests/tui/__snapshots__/`` before committing them.
"""

from __future__ import annotations

import pytest

pytest.importorskip("textual")
pytest.importorskip("pytest_textual_snapshot")


from convcli.tui.app import ExploreApp  # noqa: E402


def make_app(explored) -> ExploreApp:
    return ExploreApp(explored.result, explored.built.loaded.channel_names, "grace_hopper.png", filter=1,
                      at=(74, 63))


def test_explorer_at_80_by_24(explored, snap_compare, in_thread):
    assert in_thread(snap_compare, make_app(explored), terminal_size=(80, 24))


def test_explorer_at_160_by_50_with_a_channel_off(explored, snap_compare, in_thread):
    assert in_thread(snap_compare, make_app(explored), press=["full_stop", "space"], terminal_size=(160, 50))


def test_explorer_numbers_at_160_by_50(explored, snap_compare, in_thread):
    assert in_thread(snap_compare, make_app(explored), press=["t"], terminal_size=(160, 50))
