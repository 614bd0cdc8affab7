"""The writer on a nearly full and on a really full disk: event rows dropped under its free
space floor, SQLITE_FULL on a real tmpfs, and the ``events`` gaps that say what was lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from dylived.store.ops import AddGap, CloseSession, EventRecord, InsertEvents, OpenSession
from tests.store.support import chat_row, chats, query, running_writer, wait_until
from tests.tmpfs import fill_to, mounted_tmpfs


pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000
MIB = 1 << 20


async def test_under_the_floor_events_are_dropped_then_an_events_gap_says_so(
    db_path: Path,
) -> None:
    space = {"free": 100 * MIB}
    async with running_writer(
        db_path, flush_interval=0.02, free_floor=lambda: 10 * MIB, free=lambda _p: space["free"]
    ) as writer:
        sid = await writer.request(OpenSession("liz", T0, "douyin"))
        await writer.submit(InsertEvents(sid, chats(0, 10, start_ms=T0)))
        await writer.drain()
        space["free"] = 10 * MIB - 1
        await writer.submit(InsertEvents(sid, chats(10, 10, start_ms=T0)))
        await writer.submit(AddGap(sid, "media", T0, T0 + 5000, "disk"))  # control rows go on
        await writer.drain()
        low = writer.statistics()
        assert query(db_path, "SELECT count(*) FROM events") == [(10,)]
        assert query(db_path, "SELECT kind, cause FROM gaps") == [("media", "disk")]
        space["free"] = 100 * MIB
        await writer.submit(InsertEvents(sid, chats(20, 10, start_ms=T0)))
        await writer.drain()
        back = writer.statistics()
    assert low.disk_full
    assert low.rows_dropped == 10
    assert not back.disk_full
    assert query(db_path, "SELECT count(*) FROM events") == [(20,)]
    assert query(db_path, "SELECT from_ms, to_ms, cause FROM gaps WHERE kind = 'events'") == [
        (T0 + 10, T0 + 19, "disk")
    ]
    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]


async def test_a_session_closed_under_the_floor_counts_its_events_gap(db_path: Path) -> None:
    space = {"free": 1 * MIB}
    async with running_writer(
        db_path, flush_interval=0.02, free_floor=lambda: 10 * MIB, free=lambda _p: space["free"]
    ) as writer:
        sid = await writer.request(OpenSession("max", T0, "douyin"))
        await writer.submit(InsertEvents(sid, chats(0, 5, start_ms=T0)))
        summary = await writer.close_session(CloseSession(sid, T0 + 10_000, "stream_ended"))
    assert summary["total_events"] == 0
    assert summary["gaps"]["events"] == {"count": 1, "seconds": 0.004}
    assert query(db_path, "SELECT count(*) FROM gaps WHERE kind = 'events'") == [(1,)]


async def test_a_really_full_disk_sheds_rows_into_a_gap_and_never_corrupts(
    tmp_path: Path,
) -> None:
    """No floor: SQLite itself meets ENOSPC on a real 4 MiB tmpfs. The writer stays alive, rows
    beyond its pending cap are dropped, and once space returns they are an ``events`` gap."""
    with mounted_tmpfs(tmp_path / "fs", 4 * MIB) as fs:
        db_path, filler = fs / "dylived.db", fs / "other"
        big = "x" * 2000
        async with running_writer(
            db_path, flush_interval=0.02, retry_interval=0.05, max_pending_rows=200
        ) as writer:
            sid = await writer.request(OpenSession("ned", T0, "douyin"))
            await writer.drain()
            fill_to(filler, fs, 0)  # other data takes every byte left
            for start in range(0, 1000, 50):
                rows = [
                    EventRecord.from_row(chat_row(i, T0 + i, content=big))
                    for i in range(start, start + 50)
                ]
                await writer.submit(InsertEvents(sid, rows))
            await wait_until(lambda: writer.statistics().rows_dropped > 0, 10)
            full = writer.statistics()
            filler.unlink()  # space returns
            await writer.drain()
            after = writer.statistics()
            summary = await writer.close_session(CloseSession(sid, T0 + 5000, "stream_ended"))
        assert full.disk_full
        assert full.disk_full_count >= 1
        assert not after.disk_full
        stored = query(db_path, "SELECT count(*) FROM events")[0][0]
        assert stored > 0
        assert stored + after.rows_dropped == 1000  # every row stored or counted in the gap
        [(from_ms, to_ms, cause)] = query(
            db_path, "SELECT from_ms, to_ms, cause FROM gaps WHERE kind = 'events'"
        )
        assert cause == "disk"
        assert T0 <= from_ms <= to_ms < T0 + 1000
        assert summary["gaps"]["events"]["count"] == 1
        assert summary["total_events"] == stored
        assert query(db_path, "PRAGMA integrity_check") == [("ok",)]
