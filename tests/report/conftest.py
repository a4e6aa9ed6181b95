"""The browser the report's tests drive: Debian's chromium through Playwright's Python package.

No browser is downloaded: ``executable_path`` points at the system's chromium (``CHROMIUM`` names
another). Without either, the browser tests skip and say which is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the report's browser tests need Playwright's Python package: pip install playwright "
                    "(never `playwright install`: the tests drive the system's chromium)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"the report's browser tests need chromium at {CHROMIUM}: apt-get install chromium "
                    "(or CHROMIUM=/path/to/chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()
