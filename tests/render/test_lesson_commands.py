"""The lesson's last step prints commands to run: the test files it names must exist."""

from __future__ import annotations

import re

import pytest

from convcli.render import explain, explain_texts

from helpers import ROOT, draw


@pytest.mark.parametrize("lang", explain_texts.LANGS)
def test_the_test_files_the_lesson_names_exist(lang: str):
    text = draw(explain.lesson(lang, 5), 200)
    paths = re.findall(r"tests/\S+\.py", text)
    assert paths
    assert [p for p in paths if not (ROOT / p).is_file()] == []
