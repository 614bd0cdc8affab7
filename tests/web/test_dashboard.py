"""The dashboard and a broadcaster's page in a real browser, on the real daemon and simulator."""

from __future__ import annotations

import re
import socket

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import HELD_ROOM, WebDaemon


# a daemon start and a browser on a loaded 2-core machine: well over the default 120 s at worst
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

DEMO_ROOMS = ("room1", "room2", "room3", "room4")  # room4 is the TikTok one


def _raw_get(daemon: WebDaemon, target: str, host: str = "127.0.0.1") -> bytes:
    """One request exactly as written (no client normalises ``..`` or ``%2F`` away)."""
    port = int(daemon.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return data


def test_dashboard_lists_the_demo_and_follows_a_broadcaster_going_live(
    demo_web: WebDaemon, page: Page
) -> None:
    page.goto(demo_web.url)
    rows = page.locator("#broadcasters tbody tr[data-broadcaster]")
    expect(rows).to_have_count(len(DEMO_ROOMS), timeout=20_000)
    shown = [rows.nth(i).get_attribute("data-broadcaster") for i in range(len(DEMO_ROOMS))]
    assert shown == list(DEMO_ROOMS)
    room1 = page.locator('tr[data-broadcaster="room1"]')
    room2 = page.locator('tr[data-broadcaster="room2"]')
    # room1 is live from the first second: state, viewers, its session and events per minute
    expect(room1.locator("td.state")).to_have_text("live", timeout=30_000)
    expect(room1.locator("td.viewers")).to_have_text(re.compile(r"^\d+$"))
    session = demo_web.status()["broadcasters"][0]["session_id"]
    expect(room1.locator("td.session a")).to_have_attribute("href", f"/web/sessions/{session}")
    expect(room1.locator("td.events-per-minute")).to_have_text(
        re.compile(r"^[1-9]\d*$"), timeout=30_000
    )
    expect(page.locator("#free-disk")).to_have_text(re.compile(r"\d.* (KiB|MiB|GiB|TiB)$"))
    # room2 is offline, then goes live (the simulator's control route): the page, never
    # reloaded, shows it from its own polling
    expect(room2.locator("td.state")).to_have_text("offline")
    demo_web.sim_post(f"/_sim/rooms/{HELD_ROOM}/live")
    expect(room2.locator("td.state")).to_have_text("live", timeout=45_000)
    expect(room2).to_have_attribute("data-state", "live")
    # room1 and room4 (TikTok) are live from the start; room3 stays offline
    expect(page.locator("#live")).to_have_text("3 / 4", timeout=10_000)
    # the broadcaster's page lists its session, linked to the replay page
    room1.locator("td.name a").click()
    expect(page).to_have_url(demo_web.url + "broadcasters/room1")
    first = page.locator(f'#sessions tr[data-session="{session}"] a')
    expect(first).to_have_attribute("href", f"/web/sessions/{session}", timeout=15_000)
    expect(page.locator("#state")).to_have_text("live")


def test_without_a_token_tcp_is_read_only_and_serves_only_the_package_files(
    demo_web: WebDaemon,
) -> None:
    import httpx

    assert httpx.get(demo_web.base + "/v1/status", timeout=10).status_code == 200
    for method, path in (("POST", "/v1/reload"), ("PATCH", "/v1/broadcasters/room1")):
        reply = httpx.request(method, demo_web.base + path, json={"paused": True}, timeout=10)
        assert reply.status_code == 403, (method, path, reply.text)
    # nothing was paused: the refusal came before the route
    assert demo_web.status()["daemon"]["counts"]["paused"] == 0
    # another site's name resolved to 127.0.0.1 (DNS rebinding) is refused
    assert _raw_get(demo_web, "/v1/status", host="attacker.example").startswith(b"HTTP/1.1 403")
    assert _raw_get(demo_web, "/web/static/app.css").startswith(b"HTTP/1.1 200")
    for target in (
        "/web/static/../pages.py",
        "/web/static/..%2Fpages.py",
        "/web/static/%2E%2E%2Faccess.py",
        "/web/static/.hidden.css",
        "/web/static/pages.py",
    ):
        assert _raw_get(demo_web, target).startswith(b"HTTP/1.1 404"), target
