"""The replay page in a real browser: the real daemon recording the simulator for ~100 s, then
Debian's Chromium (Playwright, the rig of ``tests/web/conftest.py``) on ``/web/sessions/{id}``.

While the session is live the page shows its live tail; once it has ended the page plays the
VOD playlist through hls.js (the video's ``currentTime`` advances), a seek to 60 s shows exactly
the stored chat, gifts and joins of the 30 s before it (read from SQLite, not from the page's
own route), and a click on the chart seeks the video.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from dylived.web.pages import STATIC
from tests.web.conftest import WebDaemon, unix_get, web_daemon
from tests.web.test_dashboard import _raw_get


pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LIVE_S = 105  # the broadcast's length: a session of about 90 s once recording has started
SCENARIO = f"""time_scale = 1.0
seed = 11

[[room]]
web_rid = "200000000001"
nickname = "回放测试"
title = "replay page"
schedule = [{{state = "live", for = {LIVE_S}}}, {{state = "offline"}}]
rates = {{chat = 1.5, gift = 0.2, member = 0.3, like = 1.0, viewer_count = 0.5}}
"""
SHOW_S, MAX_LINES = 30, 80  # as replay.js shows them


@pytest.fixture
def recorded(tmp_path: Path) -> Any:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    with web_daemon(tmp_path / "replay", scenario=scenario) as daemon:
        yield daemon


def wait_until(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def session_of(daemon: WebDaemon) -> dict[str, Any]:
    sessions: list[dict[str, Any]] = unix_get(daemon.socket, "/v1/sessions")["sessions"]
    return sessions[0] if sessions else {}


def stored_lines(db: Path, session: int, after: float, until: float) -> list[int]:
    """The seqs the page must show at ``until``: chat, gifts and joins offset in (after, until]."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT seq FROM events WHERE session_id = ? AND type IN ('chat', 'emoji_chat', "
            "'gift', 'member') AND stream_offset_s > ? AND stream_offset_s <= ? "
            "ORDER BY stream_offset_s, seq",
            (session, after, until),
        ).fetchall()
    return [seq for (seq,) in rows][-MAX_LINES:]


def current_time(page: Page) -> float:
    """The video's ``currentTime`` (``evaluate``: the page's CSP forbids ``wait_for_function``'s
    string predicates)."""
    return float(page.evaluate("() => document.getElementById('video').currentTime"))


def shown(page: Page) -> list[tuple[int, float]]:
    items = page.locator("#lines li")
    return [
        (
            int(items.nth(i).get_attribute("data-seq") or 0),
            float(items.nth(i).get_attribute("data-t") or 0),
        )
        for i in range(items.count())
    ]


@pytest.mark.timeout(420)  # ~105 s of broadcast, its end, then the page
def test_the_replay_page_plays_seeks_and_shows_the_chat_of_that_moment(
    recorded: WebDaemon, page: Page, tmp_path: Path
) -> None:
    page.on("console", lambda message: print("console:", message.text))  # shown on failure
    session = wait_until(lambda: session_of(recorded).get("id"), 60, "a session")
    url = f"{recorded.base}/web/sessions/{session}"
    # live: the same page shows the newest events as a live tail
    closed = f"/v1/sessions/{session}/segments"
    wait_until(
        lambda: any(s["state"] == "closed" for s in unix_get(recorded.socket, closed)["segments"]),
        90,
        "a closed segment",
    )
    page.goto(url)
    expect(page.locator("#live")).to_have_text("live", timeout=15_000)
    expect(page.locator("#tail li").first).to_be_visible(timeout=20_000)
    # ended: the VOD playlist of the whole session
    ended = wait_until(
        lambda: (s := session_of(recorded)).get("ended_at_ms") and s, LIVE_S + 90, "the end"
    )
    segments = unix_get(recorded.socket, closed)["segments"]
    duration = sum(s["media_duration_s"] or 0 for s in segments if s["state"] == "closed")
    assert duration >= 85, (duration, segments)
    page.goto(url)
    expect(page.locator("#live")).to_have_text("", timeout=15_000)
    expect(page.locator("#chart-svg rect.bar")).to_have_count(int(-(-duration // 60)))
    # it plays: currentTime advances in hls.js (H.264 + AAC through Media Source Extensions)
    playing = "the video playing (banner: {})"
    wait_until(lambda: current_time(page) > 2, 60, playing.format(page.text_content("#banner")))
    # a seek to 60 s shows the stored lines of the 30 s before it
    page.evaluate(
        """() => new Promise((done) => {
            const v = document.getElementById('video');
            v.pause();
            v.addEventListener('seeked', done, { once: true });
            v.currentTime = 60;
        })"""
    )
    expect(page.locator("#at")).to_have_text("1:00", timeout=10_000)
    at = current_time(page)
    assert 60 <= at < 60.5
    db = recorded.directory / "dylived.db"
    want = stored_lines(db, session, at - SHOW_S, at)
    assert len(want) >= 20  # about 2 a second of chat, gifts and joins
    wait_until(lambda: [seq for seq, _ in shown(page)] == want, 10, "the lines of 0:30-1:00")
    lines = shown(page)
    assert all(at - SHOW_S < t <= at for _, t in lines)
    assert lines[-1][1] > at - 5  # the newest line is near 60 s
    shots = Path(os.environ.get("DYLIVED_SCREENSHOTS") or tmp_path)  # docs/replay.png is one
    page.screenshot(path=str(shots / "replay.png"), full_page=True)
    # a click on the chart seeks there: a third of the way along is a third of the session
    box = page.locator("#chart-svg").bounding_box()
    assert box is not None
    span = max(duration, 60 * page.locator("#chart-svg rect.bar").count())
    page.mouse.click(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
    wait_until(lambda: abs(current_time(page) - span / 3) < 2, 10, "the seek of the click")
    expect(page.locator("#at")).not_to_have_text("1:00")
    assert ended["id"] == session


def test_the_replay_routes_check_their_input_and_serve_only_package_files(
    demo_web: WebDaemon,
) -> None:
    import httpx

    vendor = httpx.get(demo_web.base + "/web/static/vendor/hls.min.js", timeout=10)
    assert vendor.status_code == 200
    assert vendor.headers["content-type"].startswith("text/javascript")
    assert vendor.content == (STATIC / "vendor" / "hls.min.js").read_bytes()
    assert b'="1.7.4"' in vendor.content  # the pinned release (vendor/README.md)
    page = httpx.get(demo_web.base + "/web/sessions/1", timeout=10)
    assert page.status_code == 200
    assert 'src="/web/static/vendor/hls.min.js"' in page.text  # from the package, no CDN
    assert "http" not in "".join(re.findall(r'(?:src|href)="([^"]*)"', page.text))
    for query in (
        "from_s=abc",
        "from_s=nan",
        "from_s=-1",
        "from_s=10&to_s=5",
        "to_s=4000",
        "include=chat,bogus",
    ):
        reply = httpx.get(f"{demo_web.base}/v1/sessions/1/events/window?{query}", timeout=10)
        assert reply.status_code == 400, (query, reply.text)
    assert httpx.get(demo_web.base + "/v1/sessions/999/chart", timeout=10).status_code == 404
    for target in (
        "/web/static/vendor/../app.js",
        "/web/static/vendor/..%2F..%2Fpages.py",
        "/web/static/vendor/%2E%2E%2F%2E%2E%2Faccess.py",
        "/web/static/vendor/.hidden.js",
        "/web/static/vendor/README.md",  # not a served type
        "/web/static/vendor%2Fhls.min.js",
        "/v1/segments/..%2F..%2Fdylived.db",
    ):
        raw = _raw_get(demo_web, target)
        assert raw.split(b"\r\n", 1)[0] in (b"HTTP/1.1 404 ", b"HTTP/1.1 400 "), raw[:200]
        assert b"root:" not in raw
        assert b"import" not in raw
    # the page's id is only ever a name the page asks the JSON routes about
    raw = _raw_get(demo_web, "/web/sessions/..%2F..%2Fetc%2Fpasswd")
    assert raw.startswith(b"HTTP/1.1 200 ")
    assert b'<script src="/web/static/replay.js"' in raw
    assert b"root:" not in raw
    assert httpx.get(demo_web.base + "/v1/sessions/..%2F1/chart", timeout=10).status_code == 404
