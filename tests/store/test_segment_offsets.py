"""segments.start_offset_s: migration 0003, the upsert that keeps it, recorded_so_far."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from dylived.store import db
from dylived.store.db import Database
from dylived.store.ops import OpenSession, UpsertSegment
from tests.store.support import query, running_writer


pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000


async def test_0003_adds_start_offset_s_to_a_version_2_database_keeping_its_rows(
    db_path: Path,
) -> None:
    first, second, *_ = db.load_migrations()
    with closing(sqlite3.connect(db_path)) as raw:
        raw.executescript(first.sql + second.sql)
        raw.execute("INSERT INTO broadcasters (key, target, added_at_ms) VALUES ('a', 'a', 1)")
        raw.execute("INSERT INTO sessions (broadcaster_key, started_at_ms) VALUES ('a', 1)")
        raw.execute(
            "INSERT INTO segments (session_id, seq, path, state, started_at_ms) "
            "VALUES (1, 1, '/r/a.ts', 'closed', 5)"
        )
        raw.execute("PRAGMA user_version = 2")
        raw.commit()
    conn = await db.connect(db_path)
    try:
        assert await db.migrate(conn) == len(db.load_migrations())
    finally:
        await db.close_quietly(conn)
    assert query(db_path, "SELECT seq, path, start_offset_s FROM segments") == [
        (1, "/r/a.ts", None)
    ]


async def test_closing_a_row_without_an_offset_keeps_the_writing_rows_offset(
    db_path: Path,
) -> None:
    async with running_writer(db_path) as writer:
        sid = await writer.request(OpenSession("alice", T0))
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
        async with Database.open(db_path) as database:
            recorded = await database.recorded_so_far(sid)
            nothing = await database.recorded_so_far(sid + 1)
    rows = query(db_path, "SELECT seq, path, state, start_offset_s FROM segments ORDER BY seq")
    assert rows == [(1, "/r/1.ts", "closed", 0.0), (2, "/r/2.ts", "closed", 6.0)]
    assert recorded == (9.5, 2)
    assert nothing == (0.0, 0)
