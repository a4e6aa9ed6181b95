"""Regenerate the explorer's screenshot: docs/img/explore.png, ``convcli explore samples/grace_hopper.png
-f 4 --activation relu`` at 160×50 on filter 1 at (74, 63) with channel G switched off, drawn by
Textual's own SVG export (headless, as the snapshot tests do) and turned into a PNG by Debian's chromium.

    python docs/explore_screenshot.py [--out docs/img/explore.png]

Needs ``pip install 'convcli[explore]'`` and ``apt-get install chromium`` (``CHROMIUM`` names another binary).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SIZE = (160, 50)


async def svg() -> str:
    import convcli
    from convcli.tui.app import ExploreApp

    ex = convcli.explore(ROOT / "samples" / "grace_hopper.png", filters=4, activation="relu")
    app = ExploreApp(ex.result, ex.built.loaded.channel_names, "grace_hopper.png", filter=1, at=(74, 63))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("full_stop", "space")
        await pilot.pause()
        return app.export_screenshot(title="convcli explore")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "explore.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "explore.svg"
        page.write_text(asyncio.run(svg()), encoding="utf-8")
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--screenshot={args.out.resolve()}", "--window-size=1700,1250", page.as_uri()],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
