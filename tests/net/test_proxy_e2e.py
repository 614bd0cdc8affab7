"""The real daemon behind a proxy: status, the event WebSocket and ffmpeg all go through it.

A counting HTTP proxy on 127.0.0.1 (tests/net/proxy_server.py) that asks for credentials is
``[douyin] proxy``; broadcaster ``alice`` uses it, ``bob`` overrides it with ``proxy = ""``
(direct), ``carol`` with a SOCKS5 proxy (also counting, also with credentials). The three rooms
of the simulator broadcast; the daemon records video (ffmpeg) and captures events. The proxies'
own accounts are compared with the simulator's: every status request and push connection of
alice went through the HTTP proxy, and her media; none of bob's; carol's status and push
connection through the SOCKS proxy, her media directly (ffmpeg has no SOCKS), which the daemon
logged once. Alice's stored session has events and closed segments.
"""

from __future__ import annotations

import signal
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs

import anyio
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.sim.douyin.routes import PUSH_PATH
from dylived.sim.server import endpoint_of
from tests.daemon_rig import broadcaster_table, query, simulator_config, wait_for
from tests.net.proxy_server import CountingProxy, Seen
from tests.record.test_daemon_recording import daemon


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

ALICE, BOB, CAROL = "200000000001", "200000000002", "200000000003"
CREDENTIALS = ("dylived", "p@ss word")  # percent-encoded in the config
MEDIA = {"flv", "hls_playlist", "hls_segment"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def kind_of(seen: Seen) -> str:
    """status (web/enter, and the home page for the ttwid), websocket, media, or the endpoint."""
    if seen.method == "CONNECT":
        return "websocket" if seen.upgrade and seen.path == PUSH_PATH else "tunnel"
    endpoint = endpoint_of(seen.path)
    if endpoint in ("web_enter", "home"):
        return "status"
    return "media" if endpoint in MEDIA else endpoint


def count(db: Path, sql: str, *args: object) -> int:
    rows = query(db, sql, *args)
    return int(rows[0][0]) if rows else 0


async def test_status_websocket_and_ffmpeg_go_through_each_broadcaster_s_proxy(
    tmp_path: Path,
) -> None:
    scenario = Scenario(
        rooms=(
            RoomSpec(ALICE, nickname="甲", rates={"chat": 10}),
            RoomSpec(BOB, nickname="乙", rates={"chat": 10}),
            RoomSpec(CAROL, nickname="丙", rates={"chat": 10}),
        )
    )
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    db = state / "dylived.db"
    async with (
        Simulator.running(scenario) as sim,
        CountingProxy.running(credentials=CREDENTIALS) as proxy,
        CountingProxy.running(socks=True, credentials=("carol", "s0cks")) as socks,
    ):
        proxy_url = proxy.url.replace("p@ss word", "p%40ss%20word")
        text = simulator_config(
            sim,
            state,
            broadcasters=broadcaster_table(ALICE, "alice")
            + broadcaster_table(BOB, "bob", 'proxy = ""\n')
            + broadcaster_table(CAROL, "carol", f'proxy = "{socks.url}"\n'),
            recording='record_video = true\nvideo_quality = "md"\nsegment_minutes = 0.1\n',
            extra=f'proxy = "{proxy_url}"\n',  # in [douyin]: the platform default
        )
        config.write_text(text, encoding="utf-8")
        sim.room(ALICE).go_live()
        sim.room(BOB).go_live()
        sim.room(CAROL).go_live()
        log_path = tmp_path / "daemon.log"
        closed = (
            "SELECT COUNT(DISTINCT s.broadcaster_key) FROM segments g "
            "JOIN sessions s ON s.id = g.session_id WHERE g.state = 'closed'"
        )
        async with daemon(config, log_path) as process:
            try:
                await wait_for(lambda: count(db, closed) == 3, 60, "a closed segment of each")
                await wait_for(lambda: count(db, "SELECT COUNT(*) FROM events") > 0, 20, "events")
            except AssertionError as exc:  # say why: the daemon's own account of it
                tail = log_path.read_text(errors="replace")[-3000:]
                raise AssertionError(f"{exc}; proxy saw {proxy.seen[-5:]}; log:\n{tail}") from None
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                returncode = await process.wait()
        enters = [r.query.get("web_rid") for r in sim.observed.requests_to("web_enter")]
        pushes = {rid: len(sim.observed.push_for(rid)) for rid in (ALICE, BOB, CAROL)}
        media_paths = {
            r.target.partition("?")[0] for r in sim.observed.requests if r.endpoint in MEDIA
        }

    assert returncode == 0
    assert proxy.refused == socks.refused == []
    kinds = proxy.kinds(kind_of)
    assert kinds["status"] >= 2
    assert kinds["websocket"] >= 1
    assert kinds["media"] >= 1
    assert set(kinds) <= {"status", "websocket", "media"}
    # every status request of alice went through the proxy, none of bob's (proxy = "")
    proxied_enters = [
        parse_qs(s.query).get("web_rid", [""])[0]
        for s in proxy.seen
        if endpoint_of(s.path) == "web_enter"
    ]
    assert proxied_enters.count(ALICE) == enters.count(ALICE) >= 1
    assert BOB not in proxied_enters
    assert CAROL not in proxied_enters
    assert enters.count(BOB) >= 1
    # alice's push connections all were tunnels through the proxy; bob's went direct
    assert kinds["websocket"] == pushes[ALICE] >= 1
    assert pushes[BOB] >= 1
    # carol's status requests and push connection went through the SOCKS proxy (one tunnel
    # per connection: the first request of each is what it saw), her media directly
    socks_kinds = socks.kinds(lambda seen: kind_of(replace(seen, method="GET")))
    assert socks_kinds["status"] >= 1
    assert socks_kinds["media"] == 0
    upgrades = [s for s in socks.seen if s.upgrade and s.path == PUSH_PATH]
    assert len(upgrades) == pushes[CAROL] >= 1
    # ffmpeg fetched alice's media through the proxy (what it asked for, the simulator served)
    proxied_media = {s.path for s in proxy.seen if kind_of(s) == "media"}
    assert proxied_media <= media_paths
    assert media_paths - proxied_media  # bob's and carol's streams, fetched directly
    # alice's stored session: events and closed segments
    [(session_id,)] = query(db, "SELECT id FROM sessions WHERE broadcaster_key = 'alice'")
    assert count(db, "SELECT COUNT(*) FROM events WHERE session_id = ?", session_id) > 0
    segments = "SELECT COUNT(*) FROM segments WHERE session_id = ? AND state = 'closed'"
    assert count(db, segments, session_id) >= 1
    # the SOCKS limit was logged once; no password in any log line
    log = log_path.read_text(errors="replace")
    assert log.count("ffmpeg cannot use a socks5h:// proxy") == 1
    assert "broadcaster 'carol' proxy" in log
    for secret in ("p@ss", "p%40ss", "s0cks"):
        assert secret not in log
