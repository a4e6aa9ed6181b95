"""Regenerate the report's screenshot: docs/img/report.png, the page for samples/grace_hopper.png -f 4
at 1280 px, in Debian's chromium driven by Playwright (no browser download).

    python docs/screenshots.py [--width 1280] [--dark]

Needs ``pip install playwright`` and ``apt-get install chromium`` (``CHROMIUM`` names another binary).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--dark", action="store_true", help="the dark theme (prefers-color-scheme: dark)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "report.png")
    parser.add_argument("--at", default="64,60", help="the traced output position")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "report.html"
        subprocess.run([sys.executable, "-m", "convcli", "report", "samples/grace_hopper.png",
                        "-f", "4", "-o", str(page_file)], check=True, cwd=ROOT)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": args.width, "height": 900},
                                    color_scheme="dark" if args.dark else "light")
            page.goto(f"{page_file.as_uri()}#filter=0&at={args.at}")
            page.wait_for_selector("body[data-ready='1']")
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
