"""TikTok events captured by the real daemon through the simulator's signing server and push.

One real daemon (``python -m dylived run``, a subprocess) records ``@sim.creator`` (real ffmpeg)
and captures its events: the signing server answers the first two calls with 429 (``Retry-After:
2``) and the daemon waits as asked (three calls in all, spaced); the first fetch result's
messages become rows; the WebSocket is entered before any heartbeat and every frame is acked;
at least 10 kinds of events land with stream offsets and the handle; a five-tap gift streak is
one row with the full count; a gift whose message lacks its value gets name and diamonds from
the simulator's gift list (fetched once through the signing server's gift route, cached in the
state directory); an ImDelete marks the chat it names (``dylivectl export``: ``"deleted":
true``); a dropped connection resumes from the cursor it reached (a new signing call with that
cursor); ``status`` shows the day's signing budget; ControlMessage 3 ends the session before
any status check could, and a streak still open then is written, ``streak_interrupted``. A
second daemon without a ``sign_server`` records nothing of events, asks no signing server, and
says why in ``dylivectl status``. The status answers are the simulator's real-size ones.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.sim.room import SimRoom
from dylived.sim.script import ScriptedEvent, SimUser
from dylived.sim.tiktok import PERSONALITY
from dylived.sim.tiktok.signer import signer_of
from tests.daemon.helpers import control, running_daemon
from tests.daemon_rig import broadcaster_table, ctl, query, simulator_config, wait_for
from tests.record.livesource import FFMPEG


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

HANDLE = "sim.creator"
KEY = "test-key-0123456789abcdef"
KINDS = (
    "chat",
    "like",
    "member",
    "social",
    "subscribe",
    "question",
    "envelope",
    "room_pin",
    "emote_chat",
    "goal",
    "poll",
    "caption",
    "barrage",
    "rank_update",
    "unauthorized_member",
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _config(sim: Simulator, state: Path, tiktok: str, recording: str) -> str:
    return simulator_config(
        sim,
        state,
        broadcasters=broadcaster_table(f"@{HANDLE}", "tt", recording),
        recording='record_video = false\nvideo_quality = "ld"\nsegment_minutes = 0.1\n',
        extra=PERSONALITY.daemon_config(sim.web_base, sim.ws_base) + tiktok,
        ffmpeg=FFMPEG,
    )


@asynccontextmanager
async def daemon(tmp_path: Path, text: str) -> AsyncIterator[subprocess.Popen[bytes]]:
    """The daemon on ``text``, stopped with SIGTERM at the end (``running_daemon`` reaps it)."""
    config = tmp_path / "dylived.toml"
    config.write_text(text, encoding="utf-8")
    with running_daemon(config, {"PYTHONUNBUFFERED": "1"}, tmp_path / "daemon.log") as process:
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            with anyio.move_on_after(20, shield=True):
                await anyio.to_thread.run_sync(process.wait)


def show(state: Path) -> dict[str, Any]:
    """``dylivectl show tt``'s JSON, read on the control socket (no process per poll)."""
    if not (state / "control.sock").exists():
        return {}
    with control(state) as client:
        reply = client.get("/v1/broadcasters/tt")
    body: dict[str, Any] = reply.json() if reply.status_code == 200 else {}
    return body


def log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


async def until(predicate: Any, seconds: float, what: str, log: Path) -> None:
    try:
        await wait_for(predicate, seconds, what, interval=0.25)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; daemon log ends:\n{log_tail(log)}") from None


def streak(
    room: SimRoom,
    user: SimUser | None,
    gift: tuple[int, str, int],
    group_id: int,
    taps: int,
    *,
    closed: bool,
) -> list[ScriptedEvent]:
    """``taps`` taps of one streakable gift (id, name, diamonds); ``closed``: the last closes it."""
    gift_id, name, diamonds = gift
    return [
        room.push(
            "gift",
            user=user,
            gift_id=gift_id,
            gift_name=name,
            gift_diamond_count=diamonds,
            gift_type=1,
            group_id=group_id,
            repeat_count=n,
            combo_count=n,
            repeat_end=int(closed and n == taps),
        )
        for n in range(1, taps + 1)
    ]


def _last_cursor(frames: list[bytes]) -> str:
    """The cursor of the last msg frame the simulator sent on a connection."""
    import gzip

    for data in reversed(frames):
        frame = pb.PushFrame.FromString(data)
        if frame.payload_type == "msg":
            return pb.Response.FromString(gzip.decompress(frame.payload)).cursor
    return ""


async def test_tiktok_events_land_through_the_signing_server_and_control_3_ends_the_session(
    tmp_path: Path,
) -> None:
    scenario = Scenario(
        rooms=(RoomSpec(HANDLE, platform="tiktok", nickname="Sim Creator", rates={}),)
    )
    state, log = tmp_path / "state", tmp_path / "daemon.log"
    db = state / "dylived.db"
    async with Simulator.running(scenario) as sim:
        signer = signer_of(sim)
        signer.api_key, signer.rate_limited, signer.retry_after = KEY, 2, 2
        tiktok = f'sign_api_key = "{KEY}"\nsign_budget_per_day = 50\n'
        room = sim.room(HANDLE)
        room.go_live()
        async with daemon(tmp_path, _config(sim, state, tiktok, "record_video = true\n")) as run:
            await until(lambda: sim.observed.push_for(HANDLE), 60, "a push connection", log)
            calls = list(signer.calls)

            def recording() -> bool:
                rec = show(state).get("recording") or {}
                return bool(rec.get("current_segment") and rec.get("bytes_per_second"))

            await until(recording, 60, "tt recorded", log)
            await anyio.sleep(1)  # the timeline has media: offsets are known
            pushed = {kind: room.push(kind).msg_id for kind in KINDS}
            user = room.script.random_user() if room.script else None
            taps = streak(room, user, (5655, "Rose", 1), 777_000_111, 5, closed=True)
            # a gift whose message has no name or value: the catalogue's (Lion, 29999)
            lion = room.push("gift", gift_id=6369, gift_name="", gift_diamond_count=0, gift_type=0)
            deleted_chat = room.push("chat", content="to be deleted")
            room.push("im_delete", delete_msg_ids=[deleted_chat.msg_id], delete_user_ids=[])
            ids = [str(m) for m in (*pushed.values(), lion.msg_id, deleted_chat.msg_id)]
            sql = f"SELECT msg_id FROM events WHERE msg_id IN ({','.join('?' * len(ids))})"
            await until(lambda: len(query(db, sql, *ids)) == len(ids), 20, "every kind", log)
            await until(
                lambda: query(db, "SELECT 1 FROM events WHERE msg_id = ?", str(taps[-1].msg_id)),
                10,
                "the streak's row",
                log,
            )
            captured = show(state)["capture"]
            shown = ctl(state / "control.sock", "status").stdout

            # a dropped connection: a new signing call that resumes where the first one was
            [first] = sim.observed.push_for(HANDLE)
            cursor = _last_cursor(first.frames_sent)
            room.inject("ws_drop")
            await until(lambda: len(sim.observed.push_for(HANDLE)) == 2, 30, "a reconnect", log)
            resumed = sim.observed.requests_to("sign_connect")[-1].query

            # a streak whose closer never comes, open when the broadcast ends
            open_taps = streak(room, user, (5879, "Doughnut", 30), 888_000_222, 2, closed=False)
            await anyio.sleep(1)  # the taps reached the daemon (held: no row yet)
            # the broadcaster ends: ControlMessage 3, then the socket closes
            offline_at = time.monotonic()
            room.go_offline()
            await until(
                lambda: query(db, "SELECT 1 FROM sessions WHERE ended_at_ms IS NOT NULL"),
                15,
                "the session closed",
                log,
            )
            closed_after = time.monotonic() - offline_at
            interrupted = str(open_taps[-1].msg_id)
            await until(
                lambda: query(db, "SELECT 1 FROM events WHERE msg_id = ?", interrupted),
                10,
                "the open streak's row",
                log,
            )
            rows = query(db, "SELECT type, msg_id, stream_offset_s, payload FROM events")
            [(session_id, reason)] = query(db, "SELECT id, reason_for_exit FROM sessions")
            exported = ctl(state / "control.sock", "export", str(session_id))
        connections = sim.observed.push_for(HANDLE)
        first_events = list(signer.first_events)
        gift_lists = sim.observed.requests_to("gift_list")
        status_answers = [r.body_bytes for r in sim.observed.requests_to("tt_user_room")]

    assert run.returncode == 0  # SIGTERM: a clean stop
    # the live room was found through real-size api-live answers (the simulator's default)
    assert scenario.status_body == "real"
    assert min(status_answers) > 18_000
    # 429 twice: three calls in all, each after at least the 2 s asked (no storm)
    assert len(calls) == 3, calls
    assert calls[1] - calls[0] >= 1.9
    assert calls[2] - calls[1] >= 1.9
    assert captured["sign_rate_limited"] == 2
    assert captured["sign_budget_left"] == 50 - 4  # three connect calls and the gift list
    assert captured["sign_api_key"] == "****cdef"
    assert "signing 46/50 left today, 2x 429" in shown
    assert KEY not in (tmp_path / "daemon.log").read_text(errors="replace")
    # ≥ 10 kinds with stream offsets and the broadcaster's handle
    by_id = {msg_id: (kind, offset, json.loads(payload)) for kind, msg_id, offset, payload in rows}
    for kind, msg_id in pushed.items():
        stored_kind, offset, payload = by_id[str(msg_id)]
        assert stored_kind == kind
        assert offset is not None, kind
        assert offset > 0, kind
        assert (payload["platform"], payload["unique_id"]) == ("tiktok", HANDLE)
    assert len({kind for kind, *_ in rows}) >= 10
    # the first fetch result's messages are rows too
    assert {str(e.msg_id) for e in first_events[:2]} <= set(by_id)
    # one gift row for the five taps, with the full count
    gifts = [p for kind, _, p in by_id.values() if kind == "gift" and p["group_id"] == "777000111"]
    assert len(gifts) == 1
    assert (gifts[0]["repeat_count"], gifts[0]["streak_interrupted"]) == (5, False)
    assert gifts[0]["msg_id"] == str(taps[-1].msg_id)
    # the gift list: fetched once (the reconnect reused it), cached, put on the bare gift row
    assert [r.target.split("?")[0] for r in gift_lists] == [f"/webcast/rooms/{room.room_id}/gifts"]
    assert gift_lists[0].headers.get("x-api-key") == KEY
    assert captured["gift_catalogue_gifts"] >= 9
    assert captured["gift_catalogue_error"] is None
    assert (state / "tiktok-gifts.json").is_file()
    bare = by_id[str(lion.msg_id)][2]
    assert (bare["gift_name"], bare["gift_diamond_count"]) == ("Lion", 29999)
    assert bare["gift_value_source"] == "catalogue"
    assert gifts[0]["gift_value_source"] == "message"
    # the streak open at the end: written with its last count, marked interrupted
    [tail] = [p for kind, _, p in by_id.values() if kind == "gift" and p["group_id"] == "888000222"]
    assert (tail["msg_id"], tail["repeat_count"]) == (interrupted, 2)
    assert (tail["streak_interrupted"], tail["diamond_total"]) == (True, 60)
    # ImDelete: the chat it named is marked deleted in the export, the others are not
    assert exported.returncode == 0, exported.stderr
    export = {r.get("msg_id"): r for r in map(json.loads, exported.stdout.splitlines())}
    assert export[str(deleted_chat.msg_id)]["deleted"] is True
    assert "deleted" not in export[str(pushed["chat"])]
    # TikTok's rules: enter first, heartbeats naming the room, every ack matching a frame
    conn = connections[0]
    assert conn.entered_at is not None
    assert conn.heartbeats_before_enter == 0
    assert conn.exact_heartbeats >= 1
    assert conn.acks
    assert all(ack.matched for ack in conn.acks)
    # the reconnect resumed from the cursor it had reached
    assert cursor
    assert resumed["cursor"] == cursor
    # ControlMessage 3 ended it, long before a status check could (grace is 30 s)
    assert reason == "stream_ended"
    assert closed_after < 5


async def test_without_a_signing_server_events_are_off_and_the_broadcaster_still_watched(
    tmp_path: Path,
) -> None:
    scenario = Scenario(rooms=(RoomSpec(HANDLE, platform="tiktok", nickname="Sim Creator"),))
    state, log = tmp_path / "state", tmp_path / "daemon.log"
    async with Simulator.running(scenario) as sim:
        sim.room(HANDLE).go_live()
        text = _config(sim, state, "", "").replace(f'sign_server = "{sim.web_base}"\n', "")
        async with daemon(tmp_path, text):
            await until(
                lambda: (show(state).get("capture") or {}).get("state") == "off",
                60,
                "capture off",
                log,
            )
            await anyio.sleep(2)  # time for attempts, were there any
            captured = show(state)["capture"]
            shown = ctl(state / "control.sock", "status").stdout
        signing = [r for r in sim.observed.requests if r.endpoint.startswith("sign_")]
        pushes = sim.observed.push_for(HANDLE)
    assert "no [tiktok] sign_server" in captured["detail"]
    assert captured["connections"] == 0
    assert signing == []
    assert pushes == []
    assert "events off: no [tiktok] sign_server" in shown
