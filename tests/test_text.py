"""Text from files made safe and short enough to show."""

from __future__ import annotations

import pytest

from convcli.text import clipped


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("short", 10, "short"),
    ("an unsupported global was found", 20, "an unsupported …"),
    ("Please use `torch.serialization.add_safe_globals`", 30, "Please use …"),
    ("one two three", 9, "one two …"),
    ("abcdefghijklmnopqrstuvwxyz", 10, "abcdefgh …"),  # one long word: cut, and said to be
])
def test_clipped_cuts_where_a_word_ends(text: str, limit: int, expected: str) -> None:
    assert clipped(text, limit) == expected
    assert len(clipped(text, limit)) <= limit
