"""segments.start_offset_s: migration 0003, the upsert that keeps it, and
SetEventOffsets (a finished segment rewriting the offsets of the events it covers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dylived.store import db
from dylived.store.ops import (
    EventRecord,
    InsertEvents,
    OpenSession,
    SetEventOffsets,
    UpsertSegment,
)
from tests.store.support import chat_row, database_at, migrate_file, query, running_writer


pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000


async def test_0003_adds_start_offset_s_to_a_version_2_database_keeping_its_rows(
    db_path: Path,
) -> None:
    database_at(
        db_path,
        2,
        "INSERT INTO broadcasters (key, target, added_at_ms) VALUES ('a', 'a', 1)",
        "INSERT INTO sessions (broadcaster_key, started_at_ms) VALUES ('a', 1)",
        "INSERT INTO segments (session_id, seq, path, state, started_at_ms) "
        "VALUES (1, 1, '/r/a.ts', 'closed', 5)",
    )
    assert await migrate_file(db_path) == len(db.load_migrations())
    assert query(db_path, "SELECT seq, path, start_offset_s FROM segments") == [
        (1, "/r/a.ts", None)
    ]


async def test_closing_a_row_without_an_offset_keeps_the_writing_rows_offset(
    db_path: Path,
) -> None:
    async with running_writer(db_path) as writer:
        sid = await writer.request(OpenSession("alice", T0, "douyin"))
        for seq, offset in ((1, 0.0), (2, 6.0)):
            await writer.submit(
                UpsertSegment(sid, seq, f"/r/{seq}.ts.part", "writing", T0, start_offset_s=offset)
            )
        # segment 1 closed by the recorder (its offset known), segment 2 by the start-up
        # recovery (record/recovery.py), which does not know it
        await writer.submit(
            UpsertSegment(sid, 1, "/r/1.ts", "closed", T0, T0 + 6_000, 6.0, start_offset_s=0.0)
        )
        await writer.submit(UpsertSegment(sid, 2, "/r/2.ts", "closed", T0, T0 + 9_000, 3.5))
        await writer.drain()
    rows = query(db_path, "SELECT seq, path, state, start_offset_s FROM segments ORDER BY seq")
    assert rows == [(1, "/r/1.ts", "closed", 0.0), (2, "/r/2.ts", "closed", 6.0)]


async def test_set_event_offsets_rewrites_column_and_payload_inside_the_range_only(
    db_path: Path,
) -> None:
    # events every second from T0 to T0 + 9 s, stamped 99.0 (wrong) or null as they came in
    received = [T0 + i * 1000 for i in range(10)]
    rows = [
        EventRecord.from_row(chat_row(i, at, stream_offset_s=None if i < 2 else 99.0))
        for i, at in enumerate(received)
    ]
    async with running_writer(db_path) as writer:
        sid = await writer.request(OpenSession("alice", T0, "douyin"))
        await writer.submit(InsertEvents(sid, rows))
        # a segment covering T0 + 1 s .. T0 + 5 s that starts 30 s into the recording
        await writer.submit(SetEventOffsets(sid, T0 + 1000, T0 + 5000, T0 + 1000, 30.0))
        # a gap after it, to T0 + 8 s (its ends belong to the segments around it)
        await writer.submit(SetEventOffsets(sid, T0 + 5001, T0 + 7999, T0 + 5000, None))
        await writer.drain()
    stored = query(db_path, "SELECT received_at_ms, stream_offset_s, payload FROM events")
    by_time = {
        at: (offset, json.loads(payload)["stream_offset_s"]) for at, offset, payload in stored
    }
    expected = {
        T0: None,  # before the segment: untouched
        T0 + 1000: 30.0,
        T0 + 2000: 31.0,
        T0 + 3000: 32.0,
        T0 + 4000: 33.0,
        T0 + 5000: 34.0,
        T0 + 6000: None,  # the gap
        T0 + 7000: None,
        T0 + 8000: 99.0,  # after both: untouched
        T0 + 9000: 99.0,
    }
    assert by_time == {at: (offset, offset) for at, offset in expected.items()}
