"""``[web] token`` on the real daemon: refused without it (401), served with it, the login page
and its cookie in a real browser, and the cookie never enough to change anything."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import web_daemon


# a daemon start and a browser on a loaded 2-core machine: well over the default 120 s at worst
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

TOKEN = "s3cret-web-token-for-tests"


def test_a_token_guards_every_route_over_tcp(tmp_path: Path, page: Page) -> None:
    with web_daemon(tmp_path / "demo", token=TOKEN) as daemon:
        bearer = {"authorization": f"Bearer {TOKEN}"}
        for path in ("/v1/status", "/v1/sessions", "/web/static/app.js", "/metrics"):
            refused = httpx.get(daemon.base + path, timeout=10)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert httpx.get(daemon.base + path, headers=bearer, timeout=10).status_code == 200
        wrong = httpx.get(daemon.base + "/v1/status", headers={"authorization": "Bearer no"})
        assert wrong.status_code == 401
        assert b"room1" not in wrong.content
        status = httpx.get(daemon.base + "/v1/status", headers=bearer, timeout=10).json()
        assert [b["id"] for b in status["broadcasters"]] == ["room1", "room2", "room3", "room4"]

        # a browser without the cookie gets the login form (401), a wrong token is refused,
        # the right one sets the cookie and the dashboard then loads its data with it
        reply = page.goto(daemon.url)
        assert reply is not None
        assert reply.status == 401
        page.fill("#token", "not-the-token-at-all")
        page.click("button[type=submit]")
        expect(page.locator(".bad")).to_have_text("That is not the token.")
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        expect(page).to_have_url(daemon.url)
        expect(page.locator('tr[data-broadcaster="room1"] td.state')).to_have_text(
            "live", timeout=30_000
        )
        cookies = {c["name"]: c for c in page.context.cookies()}
        session = cookies["dylived_session"]
        assert session["httpOnly"]
        assert session["sameSite"] == "Strict"
        assert TOKEN not in session["value"]

        # the cookie reads but never changes: a state-changing request needs the header
        jar = {"dylived_session": session["value"]}
        assert httpx.get(daemon.base + "/v1/status", cookies=jar).status_code == 200
        pause = {"paused": True}
        by_cookie = httpx.patch(daemon.base + "/v1/broadcasters/room3", json=pause, cookies=jar)
        assert by_cookie.status_code == 401
        assert daemon.status()["daemon"]["counts"]["paused"] == 0
        by_token = httpx.patch(daemon.base + "/v1/broadcasters/room3", json=pause, headers=bearer)
        assert by_token.status_code == 200, by_token.text
        assert daemon.status()["daemon"]["counts"]["paused"] == 1
        # the Unix socket stays as it was: no token asked
        assert daemon.status()["broadcasters"][2]["paused"] is True
    log = (tmp_path / "demo" / "dylived.log").read_text()
    assert "login with a wrong token was refused" in log
    assert "PATCH /v1/broadcasters/room3 from tcp" in log
    assert TOKEN not in log
