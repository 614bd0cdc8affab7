"""``Database.broadcaster_totals`` (what ``/metrics`` counts per broadcaster) against a real
SQLite file the real writer filled: stored events by type (duplicates not counted), closed
segments and their bytes (retention's ``deleted`` rows kept, ``writing``/``failed`` not),
reconnects summed over every session; retention never makes a total go down."""

from __future__ import annotations

from pathlib import Path

import pytest

from dylived.store.db import Database
from dylived.store.ops import (
    CloseSession,
    EventRecord,
    InsertEvents,
    MarkDeleted,
    OpenSession,
    SegmentState,
    UpdateSession,
    UpsertSegment,
)
from dylived.store.totals import BroadcasterTotals
from tests.store.support import chat_row, chats, database_at, migrate_file, running_writer


pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000


def likes(first: int, count: int) -> list[EventRecord]:
    return [
        EventRecord.from_row(chat_row(i, T0 + i, type="like")) for i in range(first, first + count)
    ]


async def totals(path: Path) -> dict[str, BroadcasterTotals]:
    async with Database.open(path) as db:
        return dict(await db.broadcaster_totals())


async def test_totals_sum_every_session_and_survive_retention(db_path: Path) -> None:
    async with running_writer(db_path) as writer:
        first = await writer.request(OpenSession("lee", T0, "douyin"))
        await writer.submit(InsertEvents(first, [*chats(0, 5), *likes(100, 2)]))
        states: tuple[tuple[int, SegmentState, int], ...] = (
            (1, "closed", 100),
            (2, "closed", 200),
            (3, "failed", 50),
        )
        for seq, state, size in states:
            path = f"/r/lee_{seq}.ts"
            await writer.submit(UpsertSegment(first, seq, path, state, T0, T0 + 6000, 6.0, size))
        await writer.submit(UpsertSegment(first, 4, "/r/lee_4.ts.part", "writing", T0 + 6000))
        await writer.submit(UpdateSession(first, reconnect_count=2))
        await writer.close_session(CloseSession(first, T0 + 20_000, "offline"))
        second = await writer.request(OpenSession("lee", T0 + 30_000, "douyin"))
        await writer.submit(InsertEvents(second, chats(0, 3)))
        await writer.submit(InsertEvents(second, chats(2, 2)))  # msg 2 again: not stored twice
        await writer.submit(UpsertSegment(second, 1, "/r/lee_b1.ts", "closed", T0, T0, 6.0, 300))
        await writer.submit(UpdateSession(second, reconnect_count=1))
        await writer.request(OpenSession("ann", T0, "douyin"))
        await writer.drain()
        before = await totals(db_path)
        assert before == {
            "lee": BroadcasterTotals({"chat": 5 + 4, "like": 2}, 3, 600, 3),
            "ann": BroadcasterTotals(),
        }
        await writer.submit(MarkDeleted(first, ("/r/lee_1.ts", "/r/lee_2.ts")))  # retention
        await writer.drain()
        assert await totals(db_path) == before


async def test_migration_0008_sums_what_an_older_daemon_stored(db_path: Path) -> None:
    database_at(
        db_path,
        7,
        "INSERT INTO broadcasters VALUES ('lee', 't', NULL, 'douyin', 0)",
        "INSERT INTO sessions (id, broadcaster_key, started_at_ms, reconnect_count) "
        "VALUES (1, 'lee', 0, 2), (2, 'lee', 0, 5)",
        "INSERT INTO session_event_counts VALUES (1, 'chat', 7), (2, 'chat', 3), (2, 'gift', 1)",
        "INSERT INTO segments (session_id, seq, path, state, started_at_ms, bytes) VALUES "
        "(1, 1, 'a', 'closed', 0, 10), (1, 2, 'b', 'deleted', 0, 20), (2, 1, 'c', 'failed', 0, 40)",
    )
    assert await migrate_file(db_path) >= 8
    assert await totals(db_path) == {"lee": BroadcasterTotals({"chat": 10, "gift": 1}, 2, 30, 7)}
    async with running_writer(db_path) as writer:  # the triggers carry on from the sums
        await writer.submit(InsertEvents(2, chats(0, 2)))
        await writer.submit(UpsertSegment(2, 1, "c", "closed", 0, 1, 1.0, 45))  # failed → closed
        await writer.submit(UpdateSession(2, reconnect_count=6))
        await writer.drain()
    assert await totals(db_path) == {"lee": BroadcasterTotals({"chat": 12, "gift": 1}, 3, 75, 8)}
