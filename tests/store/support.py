"""Helpers for the store tests: a running writer, sample rows, raw reads of the file."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import anyio

from dylived.store import db
from dylived.store.ops import EventRecord
from dylived.store.writer import Writer


@asynccontextmanager
async def running_writer(path: Path, **options: Any) -> AsyncIterator[Writer]:
    """A writer whose run loop is going; stopped (and its connection closed) on exit."""
    async with Writer.open(path, **options) as writer, anyio.create_task_group() as tg:
        await tg.start(writer.run)
        try:
            yield writer
        finally:
            writer.stop()


def database_at(path: Path, version: int, *inserts: str) -> None:
    """A file of schema ``version`` (the first migrations only) holding the rows ``inserts``
    write: what an older dylived left behind."""
    with closing(sqlite3.connect(path)) as raw:
        for migration in db.load_migrations()[:version]:
            raw.executescript(migration.sql)
        for sql in inserts:
            raw.execute(sql)
        raw.execute(f"PRAGMA user_version = {version}")
        raw.commit()


async def migrate_file(path: Path) -> int:
    """Open the file as the writer does and migrate it; the version it ends at."""
    conn = await db.connect(path)
    try:
        return await db.migrate(conn)
    finally:
        await db.close_quietly(conn)


def chat_row(msg_id: int, received_at_ms: int = 1_700_000_000_000, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "type": "chat",
        "msg_id": msg_id,
        "room_id": "7300000000000000001",
        "web_rid": "123456",
        "server_time_ms": received_at_ms - 50,
        "received_at_ms": received_at_ms,
        "stream_offset_s": None,
        "user": {"user_id": f"u{msg_id % 7}", "nickname": f"观众{msg_id % 7}"},
        "content": f"你好 {msg_id}",
    }
    row.update(extra)
    return row


def chats(first: int, count: int, *, start_ms: int = 1_700_000_000_000) -> list[EventRecord]:
    return [EventRecord.from_row(chat_row(i, start_ms + i)) for i in range(first, first + count)]


def query(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the file with a fresh plain sqlite3 connection (what another process would see)."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


async def wait_until(predicate: Any, within: float = 5.0) -> None:
    """Poll a condition on state we do not own (statistics, the file) until it holds."""
    with anyio.fail_after(within):
        while not predicate():  # noqa: ASYNC110 - polling, there is no event to wait on
            await anyio.sleep(0.01)
