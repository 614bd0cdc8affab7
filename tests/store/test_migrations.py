"""The schema: migrations from the package, user_version, and the per-connection pragmas."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from dylived.errors import StoreError
from dylived.store import db
from tests.store.support import query


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


async def test_duplicate_msg_id_is_ignored_and_counted_once(db_path: Path) -> None:
    conn = await db.connect(db_path)
    try:
        await db.migrate(conn)
        await conn.executescript(
            "INSERT INTO broadcasters (key, target, added_at_ms) VALUES ('b', 'b', 1);"
            "INSERT INTO sessions (id, broadcaster_key, started_at_ms) VALUES (1, 'b', 1);"
        )
        for msg_id in ("10", "10", "11", None, None):
            await conn.execute(
                "INSERT OR IGNORE INTO events (session_id, type, msg_id, received_at_ms, payload)"
                " VALUES (1, 'chat', ?, 5, '{}')",
                (msg_id,),
            )
        await conn.commit()
    finally:
        await db.close_quietly(conn)
    # Two distinct ids and two rows without an id (NULLs never collide).
    assert query(db_path, "SELECT total_events FROM sessions") == [(4,)]
    assert query(db_path, "SELECT type, count FROM session_event_counts") == [("chat", 4)]
