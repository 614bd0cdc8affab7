"""Screenshots of the web pages for ``docs/``, taken with the browser test rig.

``.venv/bin/python -m tools.screenshot [--out docs]`` starts the demo's simulator and the real
daemon with ``[web]`` on (``tests/web/conftest.py``), makes the demo's second broadcaster live,
waits until the dashboard shows both live broadcasters with their events per minute and
recording rates, and writes ``dashboard.png`` and ``broadcaster.png`` (room1's sessions) into
the output folder, using Debian's Chromium headless (the Chinese titles need a CJK font:
``apt-get install fonts-wqy-microhei``). Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.web.conftest import (
    CHROMIUM_ARGS,
    HELD_ROOM,
    chromium_path,
    held_demo_scenario,
    web_daemon,
)


def take(out: Path) -> list[Path]:
    executable = chromium_path()
    if executable is None:
        raise SystemExit("no Chromium: apt-get install chromium (or set DYLIVED_CHROMIUM)")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="dylived-shot-") as tmp:
        directory = Path(tmp)
        scenario = held_demo_scenario(directory)
        with web_daemon(directory / "demo", scenario=scenario) as daemon, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 520})
            page.goto(daemon.url)
            daemon.sim_post(f"/_sim/rooms/{HELD_ROOM}/live")
            for room in ("room1", "room2"):
                row = page.locator(f'tr[data-broadcaster="{room}"]')
                expect(row.locator("td.state")).to_have_text("live", timeout=60_000)
                rate = re.compile(r"Mbit/s$")
                expect(row.locator("td.record-rate")).to_have_text(rate, timeout=60_000)
                epm = re.compile(r"^[1-9]\d*$")
                expect(row.locator("td.events-per-minute")).to_have_text(epm, timeout=60_000)
            page.wait_for_timeout(3000)  # a few refreshes: the rates settle
            written.append(out / "dashboard.png")
            page.screenshot(path=written[-1], full_page=True)
            page.goto(daemon.url + "broadcasters/room1")
            expect(page.locator("#sessions tr[data-session]")).to_have_count(1, timeout=30_000)
            written.append(out / "broadcaster.png")
            page.screenshot(path=written[-1], full_page=True)
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"), help="folder (default docs)")
    args = parser.parse_args(argv)
    for path in take(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
