"""The schema: migrations from the package, user_version, and the per-connection pragmas."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from dylived.errors import StoreError
from dylived.store import db
from dylived.store.ops import EventRecord, InsertEvents, OpenSession
from tests.store.support import database_at, query, running_writer


T0 = 1_700_000_000_000


pytestmark = pytest.mark.anyio

TABLES = {
    "broadcasters",
    "sessions",
    "events",
    "session_event_counts",
    "unknown_messages",
    "segments",
    "gaps",
    "status_checks",
}


def test_migrations_load_from_the_package_in_order() -> None:
    migrations = db.load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name.startswith("0001_")
    assert "CREATE TABLE events" in migrations[0].sql


async def test_fresh_database_is_migrated_and_configured(db_path: Path) -> None:
    conn = await db.connect(db_path)
    try:
        version = await db.migrate(conn)
        async with conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"  # type: ignore[index]
        async with conn.execute("PRAGMA synchronous") as cur:
            assert (await cur.fetchone())[0] == 1  # type: ignore[index]  # NORMAL
        async with conn.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1  # type: ignore[index]
        async with conn.execute("PRAGMA busy_timeout") as cur:
            assert (await cur.fetchone())[0] == db.BUSY_TIMEOUT_MS  # type: ignore[index]
    finally:
        await db.close_quietly(conn)
    assert version == len(db.load_migrations())
    assert query(db_path, "PRAGMA user_version") == [(version,)]
    names = {r[0] for r in query(db_path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert names >= TABLES


async def test_migrate_twice_changes_nothing(db_path: Path) -> None:
    for _ in range(2):
        conn = await db.connect(db_path)
        try:
            await db.migrate(conn)
            await conn.execute(
                "INSERT OR IGNORE INTO broadcasters (key, target, added_at_ms) VALUES ('a','a',1)"
            )
            await conn.commit()
        finally:
            await db.close_quietly(conn)
    assert query(db_path, "SELECT key FROM broadcasters") == [("a",)]


async def test_a_newer_schema_is_refused(db_path: Path) -> None:
    with closing(sqlite3.connect(db_path)) as raw:
        raw.execute("PRAGMA user_version = 999")
    conn = await db.connect(db_path)
    try:
        with pytest.raises(StoreError, match="newer"):
            await db.migrate(conn)
    finally:
        await db.close_quietly(conn)


async def test_duplicates_are_ignored_and_counted_once_per_batch(db_path: Path) -> None:
    """The counts are kept per batch by the writer (0007 dropped the per-row trigger): rows
    ignored as duplicates (within a batch or of an earlier one) are never counted."""

    def row(msg_id: int | None, kind: str = "chat") -> EventRecord:
        return EventRecord(kind, None if msg_id is None else str(msg_id), T0, {"type": kind})

    async with running_writer(db_path) as writer:
        one = await writer.request(OpenSession("b", T0, "douyin"))
        two = await writer.request(OpenSession("c", T0, "douyin"))
        # One transaction: two batches of `one` and one of `two` (the fast path: all stored).
        await writer.submit(InsertEvents(one, [row(1), row(2, "like"), row(None), row(None)]))
        await writer.submit(InsertEvents(one, [row(3, "like")]))
        await writer.submit(InsertEvents(two, [row(1), row(2)]))
        await writer.drain()
        # Duplicates within the batch and of stored rows (the counted-from-the-table path).
        await writer.submit(InsertEvents(one, [row(1), row(4), row(4), row(3, "like")]))
        await writer.submit(InsertEvents(two, [row(2), row(2)]))
        await writer.drain()
        stats = writer.statistics()
    assert (stats.rows_written, stats.rows_ignored) == (8, 5)
    assert query(db_path, "SELECT id, total_events FROM sessions ORDER BY id") == [
        (one, 6),
        (two, 2),
    ]
    assert query(
        db_path, "SELECT session_id, type, count FROM session_event_counts ORDER BY 1, 2"
    ) == [(one, "chat", 4), (one, "like", 2), (two, "chat", 2)]
    assert query(db_path, "SELECT session_id, type, count(*) FROM events GROUP BY 1, 2") == [
        (one, "chat", 4),
        (one, "like", 2),
        (two, "chat", 2),
    ]


async def test_counts_kept_by_the_old_trigger_carry_on_after_0007(db_path: Path) -> None:
    database_at(
        db_path,
        5,
        "INSERT INTO broadcasters (key, target, added_at_ms) VALUES ('b', 'b', 1)",
        "INSERT INTO sessions (id, broadcaster_key, started_at_ms) VALUES (1, 'b', 1)",
        # The version-5 trigger counts these two.
        "INSERT INTO events (session_id, type, msg_id, received_at_ms, payload)"
        " VALUES (1, 'chat', '1', 5, '{}'), (1, 'gift', '2', 5, '{}')",
    )
    assert query(db_path, "SELECT total_events FROM sessions") == [(2,)]
    async with running_writer(db_path) as writer:
        await writer.submit(
            InsertEvents(1, [EventRecord("chat", "3", T0, {}), EventRecord("chat", "4", T0, {})])
        )
        await writer.drain()
    assert query(db_path, "SELECT total_events FROM sessions") == [(4,)]
    assert query(db_path, "SELECT type, count FROM session_event_counts ORDER BY 1") == [
        ("chat", 3),
        ("gift", 1),
    ]
    triggers = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
    assert "events_count" not in {name for (name,) in query(db_path, triggers)}
