"""EventCapture against the simulator on 127.0.0.1, with a real store writer and SQLite file."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

import anyio
import pytest

from dylived.model import EVENT_TYPES, ExitReason
from dylived.platforms.douyin.push import USER_UNIQUE_ID_RANGE
from dylived.sim import RoomSpec, Scenario, Simulator
from tests.capture.rig import capture_rig


pytestmark = pytest.mark.anyio

WEB_RID = "200000000001"
COMMON = ("type", "msg_id", "room_id", "web_rid", "server_time_ms", "received_at_ms")
# Fields of dataset.md beyond the common ones, per type (what must be in every stored row).
TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "chat": ("user", "content"),
    "gift": (
        "user",
        "gift_id",
        "gift_name",
        "gift_diamond_count",
        "gift_describe",
        "combo_count",
        "repeat_count",
        "total_count",
        "send_type",
        "repeat_end",
        "streak_final",
    ),
    "like": ("user", "count", "total"),
    "member": ("user", "member_count", "enter_type", "action"),
    "social": ("user", "action", "follow_count"),
    "viewer_count": (
        "current_viewers",
        "total_users",
        "popularity",
        "current_viewers_text",
        "total_users_text",
    ),
    "fansclub": ("user", "content"),
    "emoji_chat": ("user", "emoji_id", "default_content"),
    "room_stats": ("display_short", "display_middle", "display_long", "display_value"),
    "room_rank": ("ranks",),
    "room_message": ("content", "biz_scene"),
    "stream_adaptation": (),
    "control": ("status",),
}
USER_FIELDS = (
    "user_id",
    "short_id",
    "sec_uid",
    "display_id",
    "nickname",
    "gender",
    "fans_club_name",
    "fans_club_level",
    "pay_grade_level",
)


def scenario(**options: object) -> Scenario:
    return Scenario(
        rooms=(RoomSpec(WEB_RID, nickname="测试主播"),),
        ping_interval=0.3,
        **options,  # type: ignore[arg-type]
    )


async def test_all_13_types_land_with_dataset_fields_and_the_server_saw_acks_heartbeats_pongs(
    tmp_path: Path,
) -> None:
    async with Simulator.running(scenario()) as sim:
        room = sim.room(WEB_RID)
        room.go_live()
        async with capture_rig(sim, WEB_RID, tmp_path / "db.sqlite") as rig:
            await sim.wait_until(lambda: rig.capture.connected, 5)
            pushed = {}
            for kind in EVENT_TYPES:
                fields = {"status": 1} if kind == "control" else {}
                pushed[kind] = room.push(kind, **fields).msg_id
            await sim.wait_until(lambda: rig.capture.total_events >= len(EVENT_TYPES) + 2, 5)
            await sim.wait_until(lambda: len(sim.observed.pongs()) >= 1, 5)
            rows = await rig.stored_events()
            summary = await rig.finish(ExitReason.STREAM_ENDED)

    by_msg = {msg_id: (kind, json.loads(payload)) for kind, msg_id, payload in rows}
    assert {kind for kind, _ in by_msg.values()} == set(EVENT_TYPES)
    for kind, msg_id in pushed.items():
        stored_kind, row = by_msg[str(msg_id)]
        assert stored_kind == kind == row["type"]
        for name in (*COMMON, *TYPE_FIELDS[kind]):
            assert name in row, (kind, name)
        assert row["web_rid"] == WEB_RID
        assert row["room_id"] == room.room_id
        assert row["server_time_ms"] > 0
        assert row["stream_offset_s"] is None  # nothing is recorded in this rig
        if "user" in TYPE_FIELDS[kind]:
            assert set(USER_FIELDS) <= set(row["user"])
    assert by_msg[str(pushed["chat"])][1]["content"]
    assert by_msg[str(pushed["control"])][1]["status"] == 1

    [conn] = sim.observed.push_for(WEB_RID)
    assert conn.acks
    assert all(ack.matched for ack in conn.acks)
    assert conn.exact_heartbeats >= 1
    assert conn.pongs
    query = conn.query
    assert len(query["signature"]) == 16
    low, high = USER_UNIQUE_ID_RANGE
    assert low <= int(query["user_unique_id"]) < high
    assert query["room_id"] == room.room_id
    for name in (
        "app_name",
        "version_code",
        "webcast_sdk_version",
        "compress",
        "cursor",
        "internal_ext",
        "identity",
        "did_rule",
        "live_id",
        "aid",
        "heartbeatDuration",
    ):
        assert name in query, name
    headers = {k.lower(): v for k, v in conn.headers.items()}
    assert headers["cookie"] == "ttwid=test-ttwid"
    assert headers["user-agent"].startswith("Mozilla/5.0")
    assert headers["origin"] == sim.web_base
    assert headers["referer"] == sim.web_base + "/"

    assert summary["connection_opened"] is True
    assert summary["reconnect_count"] == 0
    assert summary["total_events"] == len(rows)
    assert sum(summary["event_counts"].values()) == len(rows)
    assert summary["produced_output"] is True


async def test_ws_drop_repeatedly_no_duplicates_nothing_lost_gaps_and_reconnect_count(
    tmp_path: Path,
) -> None:
    drops = 4
    async with Simulator.running(scenario()) as sim:
        room = sim.room(WEB_RID)
        room.go_live()
        async with capture_rig(
            sim, WEB_RID, tmp_path / "db.sqlite", reconnect_scale=0.05, healthy_after_s=0.5
        ) as rig:
            for n in range(1, drops + 1):
                await sim.wait_until(lambda: len(sim.observed.push_for(WEB_RID)) >= n, 10)  # noqa: B023
                await sim.wait_until(lambda: rig.capture.connected, 10)
                for _ in range(20):
                    room.push("chat")
                    await anyio.sleep(0.01)
                await anyio.sleep(0.2)
                room.inject("ws_drop")
            await sim.wait_until(lambda: len(sim.observed.push_for(WEB_RID)) == drops + 1, 10)
            await sim.wait_until(lambda: rig.capture.connected, 10)
            room.push("chat")
            await anyio.sleep(0.3)
            summary = await rig.finish(ExitReason.STREAM_ENDED)
            rows = rig.query("SELECT msg_id FROM events WHERE session_id = ?", rig.session_id)
            gaps = rig.query(
                "SELECT from_ms, to_ms, cause FROM gaps WHERE session_id = ? AND kind = 'events'",
                rig.session_id,
            )

    stored = [msg_id for (msg_id,) in rows]
    assert len(stored) == len(set(stored))
    sent = {str(e.msg_id) for e in sim.observed.events_for(WEB_RID)}
    assert sent - set(stored) == set()
    assert len(sent) >= drops * 20
    assert [c.close_reason for c in sim.observed.push_for(WEB_RID)][:drops] == ["ws_drop"] * drops
    assert len(gaps) == drops
    for from_ms, to_ms, cause in gaps:
        assert from_ms <= to_ms
        assert cause == "connection_lost"
    assert summary["reconnect_count"] == drops
    assert summary["connection_opened"] is True


async def test_control_status_3_ends_the_session_within_5_s_with_stream_ended(
    tmp_path: Path,
) -> None:
    async with Simulator.running(scenario()) as sim:
        room = sim.room(WEB_RID)
        room.go_live()
        async with capture_rig(sim, WEB_RID, tmp_path / "db.sqlite") as rig:
            await sim.wait_until(lambda: rig.capture.connected, 5)
            started = time.monotonic()
            room.go_offline()
            with anyio.fail_after(5):
                await rig.owner.end_requested.wait()
            summary = await rig.finish(rig.owner.ended[0][1])
            controls = rig.query(
                "SELECT payload FROM events WHERE session_id = ? AND type = 'control'",
                rig.session_id,
            )

    at, reason = rig.owner.ended[0]
    assert reason is ExitReason.STREAM_ENDED
    assert at - started < 5
    assert [json.loads(p)["status"] for (p,) in controls] == [3]
    assert summary["reason_for_exit"] == "stream_ended"
    assert summary["reconnect_count"] == 0
    assert rig.capture.state == "ended"


async def test_ws_reject_for_the_whole_broadcast_gives_up_without_ending_the_session(
    tmp_path: Path,
) -> None:
    async with Simulator.running(scenario()) as sim:
        room = sim.room(WEB_RID)
        room.go_live()
        room.inject("ws_reject", duration=3600)
        async with capture_rig(
            sim, WEB_RID, tmp_path / "db.sqlite", reconnect_scale=0.01, max_failed_attempts=4
        ) as rig:
            await sim.wait_until(lambda: rig.capture.state == "gave_up", 10)
            await anyio.sleep(0.3)  # no further attempts after giving up
            assert len(sim.observed.rejected_upgrades) == 4
            assert not rig.owner.ended  # the session (and its recording) goes on
            health = rig.capture.health()
            assert health.state == "gave_up"
            assert "disconnect_unrecoverable" in health.detail
            assert health.details["connected"] is False
            summary = await rig.finish(ExitReason.STREAM_ENDED)
            gaps = rig.query("SELECT cause FROM gaps WHERE session_id = ?", rig.session_id)

    assert sim.observed.push_for(WEB_RID) == []
    assert gaps == [("disconnect_unrecoverable",)]
    assert summary["connection_opened"] is False
    assert summary["reconnect_count"] == 0
    assert summary["reason_for_exit"] == "stream_ended"


async def test_exclude_events_are_not_stored_and_health_reports_the_stream(
    tmp_path: Path,
) -> None:
    async with Simulator.running(scenario()) as sim:
        room = sim.room(WEB_RID)
        room.go_live()
        async with capture_rig(
            sim, WEB_RID, tmp_path / "db.sqlite", exclude_events=("like", "member")
        ) as rig:
            await sim.wait_until(lambda: rig.capture.connected, 5)
            for kind in ("like", "member", "chat", "like"):
                room.push(kind)
            await sim.wait_until(lambda: rig.capture.excluded == 3, 5)
            await sim.wait_until(lambda: rig.capture.event_counts["chat"] == 1, 5)
            health = rig.capture.health()
            rows = await rig.stored_events()
            await rig.finish()

    assert sorted(kind for kind, _, _ in rows) == ["chat", "room_stats", "viewer_count"]
    assert health.state == "running"
    assert health.details["connected"] is True
    assert health.details["events_per_minute"] == 3
    age = health.details["last_event_age_s"]
    assert isinstance(age, float)
    assert 0 <= age < 5
    assert health.details["reconnects"] == 0
    assert health.details["host"] == urllib.parse.urlsplit(sim.ws_base).netloc
