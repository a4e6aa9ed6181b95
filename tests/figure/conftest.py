"""Chromium through Playwright for the figure's SVG (as tests/report/conftest.py drives it: the
system's chromium, never a download). Without either, the browser test skips and says why."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def page() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the SVG's browser test needs Playwright's Python package: pip install playwright")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"the SVG's browser test needs chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()
