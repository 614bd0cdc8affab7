"""A TikTok broadcaster watched and recorded by the real daemon, against the simulator.

One real daemon (``python -m dylived run``, a subprocess) and the simulator's TikTok personality
on 127.0.0.1. ``tt`` (``@sim.creator``) goes live and is recorded (real ffmpeg, 6 s ``ld``
segments); the broadcaster pauses (status 3) and resumes: the same session and recording go
on; a WAF page answers every status request: the TikTok breaker opens, the broadcaster is not
marked offline and the session stays open, then it recovers; ``user_not_found`` about the live
user is "uncertain" and ends nothing. The status bodies are the simulator's real-size ones (its
default). ``locked`` (``@locked.room``) is
live in a restricted room: ``dylivectl show`` says "restricted" and names the ``sessionid``
cookie. The configured ``tt_target_idc`` cookie reaches the status requests only: never a
media request, never the log. At the end the broadcast ends (status 4), the session closes
once, and every segment decodes.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.sim.scenario import FaultSpec
from dylived.sim.tiktok import PERSONALITY
from tests.conftest import REPO_ROOT
from tests.daemon_rig import QUICK_POLL, broadcaster_table, query, simulator_config
from tests.record.test_daemon_disk_full import decode_errors


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

SECRET_IDC = "useast2a-secret-cookie-value"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def ctl_text(state: Path, *argv: str) -> str:
    """What ``dylivectl ARGV…`` printed (a real process on the daemon's socket)."""
    done = await anyio.run_process(
        [sys.executable, "-m", "dylived.app.ctl", "--socket", str(state / "control.sock"), *argv],
        check=False,
        cwd=REPO_ROOT,
    )
    return done.stdout.decode()


async def show(state: Path, name: str) -> Any:
    text = await ctl_text(state, "--json", "show", name)
    return json.loads(text) if text.strip() else {}


def row_of(table: str, name: str) -> str:
    return next((line for line in table.splitlines() if line.startswith(name + " ")), "")


async def until(predicate: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await anyio.sleep(0.5)


async def test_a_tiktok_broadcaster_is_recorded_through_pause_and_a_blocked_status_page(
    tmp_path: Path,
) -> None:
    scenario = Scenario(
        rooms=(
            RoomSpec("sim.creator", platform="tiktok", nickname="Sim Creator", title="late talk"),
            RoomSpec("locked.room", platform="tiktok", nickname="Locked"),
        )
    )
    state, config, log = tmp_path / "state", tmp_path / "dylived.toml", tmp_path / "daemon.log"
    db = state / "dylived.db"
    async with Simulator.running(scenario) as sim:
        tiktok = PERSONALITY.daemon_config(sim.web_base, sim.ws_base)
        tiktok += f'tt_target_idc = "{SECRET_IDC}"\n'
        config.write_text(
            simulator_config(
                sim,
                state,
                broadcasters=broadcaster_table("@sim.creator", "tt", "record_video = true\n")
                + broadcaster_table("https://www.tiktok.com/@locked.room/live", "locked"),
                recording='record_video = false\nvideo_quality = "ld"\nsegment_minutes = 0.1\n',
                # grace 2 s: a pause or a block taken for "offline" would close the session
                poll=QUICK_POLL.replace("grace = 30", "grace = 2")
                + "breaker_pause = 2\nbreaker_pause_max = 4\n",
                extra=tiktok,
            ),
            encoding="utf-8",
        )
        room, locked = sim.room("sim.creator"), sim.room("locked.room")
        room.go_live()
        locked.modes.add("restricted")
        locked.go_live()
        out = log.open("ab")
        process = await anyio.open_process(
            [sys.executable, "-m", "dylived", "run", "--config", str(config)],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=out,
        )
        try:
            # live and recorded: a session, a segment being written, bytes flowing
            async def recording() -> bool:
                b = await show(state, "tt")
                rec = b.get("recording") or {}
                return bool(rec.get("current_segment") and rec.get("bytes_per_second"))

            await until(recording, 60, "tt recorded")
            first = await show(state, "tt")
            session = first["session_id"]
            assert (first["platform"], first["state"], first["last_check_result"]) == (
                "tiktok",
                "live",
                "live",
            )

            # paused by the broadcaster (status 3): the same session, still recording
            room.modes.add("paused")

            async def paused() -> bool:
                return bool((await show(state, "tt")).get("last_check_result") == "live_paused")

            await until(paused, 20, "the paused status seen")
            await anyio.sleep(3)  # longer than grace
            during = await show(state, "tt")
            assert (during["state"], during["session_id"]) == ("live", session)
            assert during["recording"]["state"] == "running"
            assert "live (paused)" in row_of(await ctl_text(state, "status"), "tt")
            room.modes.discard("paused")

            async def resumed() -> bool:
                return bool((await show(state, "tt")).get("last_check_result") == "live")

            await until(resumed, 20, "the resumed status seen")

            # blocked: every status request gets a WAF page; the breaker opens, nothing closes
            room.apply_fault(FaultSpec("waf_page", duration=3600))

            async def breaker_open() -> bool:
                return bool((await show(state, "tt")).get("breaker") == "open")

            await until(breaker_open, 20, "the TikTok breaker open")
            await anyio.sleep(4)  # checks keep failing or being skipped meanwhile
            blocked = await show(state, "tt")
            assert blocked["state"] == "live"
            assert blocked["session_id"] == session
            assert blocked["last_check_result"] in ("risk_control", "paused")
            assert blocked["recording"]["state"] == "running"
            assert query(db, "SELECT ended_at_ms FROM sessions WHERE id = ?", session) == [(None,)]
            room.faults.clear()

            async def recovered() -> bool:
                b = await show(state, "tt")
                return bool(b.get("breaker") == "closed" and b.get("last_check_result") == "live")

            await until(recovered, 30, "the breaker closed again")

            # user_not_found about a live user: uncertain, not the end of the session
            room.modes.add("user_not_found")

            async def uncertain() -> bool:
                return bool((await show(state, "tt")).get("last_check_result") == "uncertain")

            await until(uncertain, 20, "the uncertain answer seen")
            await anyio.sleep(3)  # longer than grace
            doubt = await show(state, "tt")
            assert (doubt["state"], doubt["session_id"]) == ("live", session)
            room.modes.discard("user_not_found")
            await until(resumed, 20, "live again")

            # a restricted room: a state of its own, naming the cookie to configure
            text = await ctl_text(state, "show", "locked")
            assert "(restricted)" in text  # the last check's result
            assert "[tiktok] sessionid" in text
            locked_row = row_of(await ctl_text(state, "status"), "locked")
            assert "restricted" in locked_row.split()[1]  # the STATE column
            assert "configure [tiktok] sessionid" in locked_row
            assert (await show(state, "locked"))["session_id"] is None

            # the end: status 4; the one session closes, its segments decode
            room.go_offline()

            async def ended() -> bool:
                rows = query(db, "SELECT ended_at_ms FROM sessions WHERE id = ?", session)
                return bool(rows and rows[0][0])

            await until(ended, 60, "the session closed")
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                with anyio.move_on_after(20, shield=True):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            out.close()
        assert process.returncode == 0

        status_requests = [r for r in sim.observed.requests if r.endpoint.startswith("tt_")]
        media = [r for r in sim.observed.requests if r.endpoint in ("flv", "hls_playlist")]
    sessions = query(db, "SELECT id, platform, handle, room_info FROM sessions")
    assert [(s[0], s[1], s[2]) for s in sessions] == [(session, "tiktok", "sim.creator")]
    info = json.loads(sessions[0][3])
    assert info["broadcaster"]["user_id"] == str(room.uid)  # the stable numeric id
    segments = query(
        db, "SELECT path, codec FROM segments WHERE session_id = ? AND state = 'closed'", session
    )
    assert len(segments) >= 3
    for path, codec in segments:
        assert codec == "h264"
        assert decode_errors(Path(path)) == ""
    assert status_requests
    # the default: status bodies of the real size and shape (sim/tiktok/bulk.py), parsed by
    # typed decoding; the live user's api-live answers are ~25 KB each
    assert scenario.status_body == "real"
    answers = [r.body_bytes for r in status_requests if r.endpoint == "tt_user_room"]
    assert max(answers) > 18_000
    assert all(r.cookies.get("tt-target-idc") == SECRET_IDC for r in status_requests)
    assert media
    assert all("cookie" not in {k.lower() for k in r.headers} for r in media)
    assert SECRET_IDC not in log.read_text(encoding="utf-8", errors="replace")
