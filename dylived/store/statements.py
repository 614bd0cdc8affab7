"""The SQL of each write operation: what ``store/writer.py`` runs inside its transactions.

Each function runs on the writer's connection inside a transaction the writer opened and will
commit or roll back; none commits. Only the writer imports this module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiosqlite

from dylived.errors import StoreError
from dylived.store import db
from dylived.store.ops import (
    AddGap,
    CloseSession,
    DeleteSegment,
    InsertEvents,
    InsertUnknown,
    MarkDeleted,
    OpenSession,
    RecordRemux,
    RecordStatusCheck,
    RefreshSummary,
    SetEventOffsets,
    UpdateSession,
    UpsertBroadcaster,
    UpsertSegment,
    WriteOp,
)


def dumps(value: Any) -> str:
    """JSON as stored: UTF-8 text (not \\u escapes), compact."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def insert_events(
    conn: aiosqlite.Connection, batches: Sequence[InsertEvents]
) -> tuple[int, int]:
    params = [
        (
            batch.session_id,
            ev.type,
            ev.msg_id,
            ev.server_time_ms,
            ev.received_at_ms,
            ev.stream_offset_s,
            ev.user_id,
            dumps(ev.payload),
        )
        for batch in batches
        for ev in batch.events
    ]
    if not params:
        return 0, 0
    cursor = await conn.executemany(
        "INSERT OR IGNORE INTO events (session_id, type, msg_id, server_time_ms, "
        "received_at_ms, stream_offset_s, user_id, payload) VALUES (?,?,?,?,?,?,?,?)",
        params,
    )
    return max(0, cursor.rowcount), len(params)


async def apply(conn: aiosqlite.Connection, op: WriteOp) -> Any:
    """Run one (non-event) operation; its answer for OpenSession/CloseSession, else None."""
    if isinstance(op, UpsertBroadcaster):
        await conn.execute(
            "INSERT INTO broadcasters (key, target, name, platform, added_at_ms) "
            "VALUES (?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET target = excluded.target, "
            "name = excluded.name, platform = excluded.platform",
            (op.key, op.target, op.name, op.platform, op.added_at_ms),
        )
    elif isinstance(op, OpenSession):
        await conn.execute(
            "INSERT OR IGNORE INTO broadcasters (key, target, platform, added_at_ms) "
            "VALUES (?,?,?,?)",
            (
                op.broadcaster_key,
                op.target or op.broadcaster_key,
                op.platform,
                op.started_at_ms,
            ),
        )
        cursor = await conn.execute(
            "INSERT INTO sessions (broadcaster_key, platform, room_id, web_rid, title, "
            "nickname, started_at_ms, capture_events, record_video_requested, video_quality, "
            "room_info) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                op.broadcaster_key,
                op.platform,
                op.room_id,
                op.web_rid,
                op.title,
                op.nickname,
                op.started_at_ms,
                op.capture_events,
                op.record_video_requested,
                op.video_quality,
                None if op.room_info is None else dumps(op.room_info),
            ),
        )
        return cursor.lastrowid
    elif isinstance(op, UpdateSession):
        await update_session(conn, op)
    elif isinstance(op, CloseSession):
        return await close_session(
            conn, op.session_id, op.ended_at_ms, op.reason_for_exit, op.recording_stop_reason
        )
    elif isinstance(op, InsertUnknown):
        await conn.execute(
            "INSERT INTO unknown_messages (session_id, method, msg_id, received_at_ms, raw) "
            "VALUES (?,?,?,?,?)",
            (op.session_id, op.method, op.msg_id, op.received_at_ms, op.raw),
        )
    elif isinstance(op, UpsertSegment):
        await conn.execute(
            # every column replaced, but a start_offset_s the op does not know (the start-up
            # recovery closing a row) keeps the one the 'writing' row had
            "INSERT INTO segments (session_id, seq, path, state, started_at_ms, ended_at_ms, "
            "media_duration_s, bytes, quality, width, height, codec, start_offset_s) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (session_id, seq) DO UPDATE SET "
            "path = excluded.path, state = excluded.state, "
            "started_at_ms = excluded.started_at_ms, ended_at_ms = excluded.ended_at_ms, "
            "media_duration_s = excluded.media_duration_s, bytes = excluded.bytes, "
            "quality = excluded.quality, width = excluded.width, height = excluded.height, "
            "codec = excluded.codec, "
            "start_offset_s = coalesce(excluded.start_offset_s, segments.start_offset_s)",
            (
                op.session_id,
                op.seq,
                op.path,
                op.state,
                op.started_at_ms,
                op.ended_at_ms,
                op.media_duration_s,
                op.bytes,
                op.quality,
                op.width,
                op.height,
                op.codec,
                op.start_offset_s,
            ),
        )
    elif isinstance(op, SetEventOffsets):
        await set_event_offsets(conn, op)
    elif isinstance(op, DeleteSegment):
        await conn.execute(
            "DELETE FROM segments WHERE session_id = ? AND seq = ? "
            "AND state IN ('writing', 'orphaned')",
            (op.session_id, op.seq),
        )
    elif isinstance(op, RefreshSummary):
        await refresh_summary(conn, op.session_id)
    elif isinstance(op, MarkDeleted):
        for path in op.paths:
            await conn.execute(
                "UPDATE segments SET state = 'deleted' "
                "WHERE session_id = ? AND path = ? AND state = 'closed'",
                (op.session_id, path),
            )
            await conn.execute(
                "UPDATE remuxes SET state = 'deleted' "
                "WHERE session_id = ? AND path = ? AND state = 'done'",
                (op.session_id, path),
            )
    elif isinstance(op, RecordRemux):
        await conn.execute(
            "INSERT OR REPLACE INTO remuxes (session_id, part, path, state, segments, "
            "duration_s, bytes, finished_at_ms, error) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                op.session_id,
                op.part,
                op.path,
                op.state,
                op.segments,
                op.duration_s,
                op.bytes,
                op.finished_at_ms,
                op.error,
            ),
        )
    elif isinstance(op, AddGap):
        await conn.execute(
            "INSERT INTO gaps (session_id, kind, from_ms, to_ms, cause) VALUES (?,?,?,?,?)",
            (op.session_id, op.kind, op.from_ms, op.to_ms, op.cause),
        )
    elif isinstance(op, RecordStatusCheck):
        await conn.execute(
            "INSERT INTO status_checks (broadcaster_key, checked_at_ms, live, room_id, "
            "viewers, error) VALUES (?,?,?,?,?,?)",
            (op.broadcaster_key, op.checked_at_ms, op.live, op.room_id, op.viewers, op.error),
        )
    # SetDatabaseLimit is applied on receipt (run); Drain needs no SQL: it is answered
    # when the batch it ends is committed.
    return None


async def update_session(conn: aiosqlite.Connection, op: UpdateSession) -> None:
    changes: dict[str, Any] = {
        "title": op.title,
        "nickname": op.nickname,
        "room_id": op.room_id,
        "connection_opened": op.connection_opened,
        "reconnect_count": op.reconnect_count,
        "record_video_effective": op.record_video_effective,
        "video_quality": op.video_quality,
        "room_info": None if op.room_info is None else dumps(op.room_info),
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return
    assignments = ", ".join(f"{name} = ?" for name in changes)
    await conn.execute(
        f"UPDATE sessions SET {assignments} WHERE id = ?", (*changes.values(), op.session_id)
    )


async def close_session(
    conn: aiosqlite.Connection,
    session_id: int,
    ended_at_ms: int,
    reason: str,
    stop_reason: str | None,
) -> dict[str, Any]:
    async with conn.execute(
        "SELECT ended_at_ms, summary FROM sessions WHERE id = ?", (session_id,)
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise StoreError(f"no session {session_id}")
    if row[0] is not None and row[1]:
        stored: dict[str, Any] = json.loads(row[1])
        return stored
    await conn.execute(
        "UPDATE sessions SET ended_at_ms = ?, reason_for_exit = ?, "
        "recording_stop_reason = coalesce(?, recording_stop_reason) WHERE id = ?",
        (ended_at_ms, reason, stop_reason, session_id),
    )
    return await refresh_summary(conn, session_id)


async def refresh_summary(conn: aiosqlite.Connection, session_id: int) -> dict[str, Any]:
    """Compute a session's summary from its rows and store it (and its count columns)."""
    summary = await db.compute_summary(conn, session_id)
    if summary is None:
        raise StoreError(f"no session {session_id}")
    await conn.execute(
        "UPDATE sessions SET summary = ?, event_counts = ?, recording_segments = ?, "
        "recording_total_bytes = ?, recording_total_duration_s = ? WHERE id = ?",
        (
            dumps(summary),
            dumps(summary["event_counts"]),
            summary["recording_segments"],
            summary["recording_total_bytes"],
            summary["recording_total_duration_s"],
            session_id,
        ),
    )
    return summary


_OFFSET = "round(:offset + (received_at_ms - :start) / 1000.0, 3)"


async def set_event_offsets(conn: aiosqlite.Connection, op: SetEventOffsets) -> None:
    """Rewrite the offsets of the events in a wall range (see ``ops.SetEventOffsets``)."""
    await conn.execute(
        f"UPDATE events SET stream_offset_s = {_OFFSET}, "
        f"payload = json_set(payload, '$.stream_offset_s', {_OFFSET}) "
        "WHERE session_id = :session AND received_at_ms BETWEEN :low AND :high "
        f"AND coalesce(abs(stream_offset_s - {_OFFSET}) > 0.001, "
        f"stream_offset_s IS NOT {_OFFSET})",
        {
            "offset": op.start_offset_s,
            "start": op.started_at_ms,
            "session": op.session_id,
            "low": op.from_ms,
            "high": op.to_ms,
        },
    )
