"""The store's part of one session per broadcast across restarts: which session a stop or
crash ended (``Writer.stopped_sessions``), and ``ResumeSession`` reopening it, against a real
SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dylived.store.ops import (
    CloseSession,
    InsertEvents,
    OpenSession,
    RecordStatusCheck,
    RefreshSummary,
    ResumeSession,
    UpsertSegment,
)
from dylived.store.writer import Writer
from tests.store.support import chats, query, running_writer


pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000
ROOM = "7300000000000000001"


async def crashed_session(db_path: Path) -> int:
    """A session with 4 events (T0..T0+3), two closed segments (the second split in two by a
    frame size change) and one being written, left open as a SIGKILL leaves it."""
    async with running_writer(db_path) as writer:
        sid = await writer.request(OpenSession("lee", T0, "douyin", room_id=ROOM))
        await writer.submit(InsertEvents(sid, chats(0, 4)))
        for seq, name, start in (
            (1, "lee_0001.ts", T0),
            (2, "lee_0002.ts", T0 + 6000),
            (3, "lee_0002-1.ts", T0 + 9000),
        ):
            await writer.submit(
                UpsertSegment(sid, seq, f"/r/{name}", "closed", start, start + 3000, 3.0, 100)
            )
        await writer.submit(UpsertSegment(sid, 4, "/r/lee_0003.ts.part", "writing", T0 + 12_000))
        await writer.drain()
    return sid


async def test_a_crashed_session_is_listed_and_reopened_where_it_left_off(db_path: Path) -> None:
    sid = await crashed_session(db_path)
    async with running_writer(db_path) as writer:
        [stopped] = writer.stopped_sessions.values()
        assert (stopped.session_id, stopped.broadcaster_key, stopped.room_id) == (sid, "lee", ROOM)
        assert stopped.ended_at_ms == T0 + 12_000  # its last activity: the open segment's start
        # the start-up recovery closes the segment the kill cut (its file lasted 2.5 s)
        await writer.submit(
            UpsertSegment(
                sid, 4, "/r/lee_0003.ts", "closed", T0 + 12_000, T0 + 14_500, 2.5, 50, "md"
            )
        )
        await writer.submit(RefreshSummary(sid))
        await writer.drain()
        assert query(db_path, "SELECT ended_at_ms FROM sessions") == [(T0 + 14_500,)]
        resumed = await writer.resume(ResumeSession("lee", ROOM, T0 + 14_500))
        assert resumed is not None
        assert resumed.session_id == sid
        assert resumed.started_at_ms == T0
        assert resumed.ended_at_ms == T0 + 14_500
        assert resumed.last_event_ms == T0 + 3
        assert resumed.media_end_ms == T0 + 14_500
        assert resumed.next_seq == 5
        assert resumed.next_file == 4  # after lee_0003 (lee_0002-1 is a piece of file 2)
        assert resumed.recorded_s == 11.5  # 3 x 3 s and the 2.5 s the kill cut
        assert query(db_path, "SELECT ended_at_ms, reason_for_exit, summary FROM sessions") == [
            (None, None, None)
        ]
        # the continued session gets more events and closes with one summary over all of them
        await writer.submit(InsertEvents(sid, chats(4, 6, start_ms=T0 + 20_000)))
        summary = await writer.close_session(CloseSession(sid, T0 + 30_000, "stream_ended"))
    assert summary["total_events"] == 10
    assert summary["recording_segments"] == 4
    assert summary["reason_for_exit"] == "stream_ended"
    assert summary["duration_seconds"] == 30.0
    assert query(db_path, "SELECT count(*) FROM sessions") == [(1,)]


async def test_a_session_is_not_reopened_for_another_room_or_after_the_bound(
    db_path: Path,
) -> None:
    sid = await crashed_session(db_path)
    async with running_writer(db_path) as writer:
        assert await writer.resume(ResumeSession("lee", "7300000000000000002", T0)) is None
        assert await writer.resume(ResumeSession("lee", ROOM, T0 + 12_001)) is None  # too long ago
        assert await writer.resume(ResumeSession("someone_else", ROOM, T0)) is None
    rows = query(db_path, "SELECT id, ended_at_ms, reason_for_exit FROM sessions")
    assert rows == [(sid, T0 + 12_000, "daemon_stopped")]


async def test_only_the_newest_session_ended_by_a_stop_is_listed(db_path: Path) -> None:
    async with running_writer(db_path) as writer:
        old = await writer.request(OpenSession("lee", T0, "douyin", room_id="1"))
        await writer.close_session(CloseSession(old, T0 + 10, "daemon_stopped"))
        ended = await writer.request(OpenSession("lee", T0 + 20, "douyin", room_id="2"))
        await writer.close_session(CloseSession(ended, T0 + 30, "stream_ended"))
        stopped = await writer.request(OpenSession("max", T0 + 40, "douyin", room_id="3"))
        await writer.close_session(CloseSession(stopped, T0 + 50, "daemon_stopped"))
    async with Writer.open(db_path) as writer:
        assert {k: s.session_id for k, s in writer.stopped_sessions.items()} == {"max": stopped}
    async with running_writer(db_path) as writer:
        # a broadcast that ended on its own is never reopened, nor an older one
        assert await writer.resume(ResumeSession("lee", "2", T0)) is None
        assert await writer.resume(ResumeSession("lee", "1", T0)) is None
        resumed = await writer.resume(ResumeSession("max", "3", T0 + 50))
    assert resumed is not None
    assert resumed.session_id == stopped
    assert (resumed.last_event_ms, resumed.media_end_ms, resumed.next_seq) == (None, None, 1)
    assert (resumed.next_file, resumed.recorded_s) == (1, 0.0)
    assert query(db_path, "SELECT id FROM sessions WHERE ended_at_ms IS NULL") == [(stopped,)]


async def test_refresh_moves_only_a_stopped_sessions_end_to_its_last_segment(
    db_path: Path,
) -> None:
    async with running_writer(db_path) as writer:
        ids = []
        for reason in ("daemon_stopped", "stream_ended"):
            sid = await writer.request(OpenSession("lee", T0, "douyin"))
            await writer.submit(UpsertSegment(sid, 1, f"/r/{sid}.ts", "closed", T0, T0 + 9000))
            await writer.close_session(CloseSession(sid, T0 + 5000, reason))
            await writer.submit(RefreshSummary(sid))
            ids.append(sid)
        await writer.drain()
    rows = query(db_path, "SELECT reason_for_exit, ended_at_ms FROM sessions ORDER BY id")
    assert rows == [("daemon_stopped", T0 + 9000), ("stream_ended", T0 + 5000)]


async def test_a_crashed_session_without_events_ends_at_its_last_live_check(
    db_path: Path,
) -> None:
    async with running_writer(db_path) as writer:
        sid = await writer.request(OpenSession("lee", T0, "douyin", room_id=ROOM))
        for at, live in ((T0 - 5000, True), (T0 + 60_000, True), (T0 + 90_000, False)):
            await writer.submit(RecordStatusCheck("lee", at, live, ROOM))
        await writer.submit(RecordStatusCheck("max", T0 + 99_000, True, "other"))
        await writer.drain()
    async with Writer.open(db_path) as writer:
        assert writer.stopped_sessions["lee"].ended_at_ms == T0 + 60_000
    assert query(db_path, "SELECT id, ended_at_ms FROM sessions") == [(sid, T0 + 60_000)]
