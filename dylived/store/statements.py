"""The SQL of each write operation: what ``store/writer.py`` runs inside its transactions.

Each function runs on the writer's connection inside a transaction the writer opened and will
commit or roll back; none commits. Only the writer imports this module.

SQLite integers are signed 64-bit: a Python int outside that range makes the binding raise
``OverflowError``. Platform numbers (a ``server_time_ms``, a viewer count) are checked with
:func:`fit_int` first and stored as NULL when they do not fit, counted; the exact value stays
in the event's JSON ``payload`` (ids are decimal strings there already).

Text caps: every text field of a stored event row (chat ``content``, a ``nickname``, ...) and
of a session's ``room_info`` is cut at :data:`TEXT_CAP` characters; a cut row lists the cut
fields (dotted paths) in ``truncated``, e.g. ``["content"]``, a key absent from every other
row; the session summary counts such rows. Only a row whose JSON is longer than the cap is
looked into, so the check costs one ``len`` per row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any, NamedTuple

import aiosqlite
import msgspec

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
    ResumedSession,
    ResumeSession,
    SetEventOffsets,
    SetHookRun,
    StoppedSession,
    UpdateSession,
    UpsertBroadcaster,
    UpsertSegment,
    WriteOp,
)


SQLITE_INT_MIN, SQLITE_INT_MAX = -(2**63), 2**63 - 1


def fit_int(value: int | None) -> int | None:
    """``value`` when SQLite can store it as an INTEGER, else None."""
    if value is None or SQLITE_INT_MIN <= value <= SQLITE_INT_MAX:
        return value
    return None


def out_of_range(value: int | None) -> bool:
    return value is not None and fit_int(value) is None


_ENCODER = msgspec.json.Encoder()


def dumps(value: Any) -> str:
    """JSON as stored: UTF-8 text (not \\u escapes), compact.

    msgspec writes the same text as ``json.dumps(value, ensure_ascii=False, separators=(",",
    ":"))`` for every string, integer, bool, null, list and dict (key order kept; tests/store/
    test_dumps.py), at a fraction of its cost (bench/RESULTS.md "ingest"); a float in exponent
    form is written without the ``+`` (``1e16`` for ``1e+16``: the same number to every JSON
    reader, and readers parse the payload), a non-finite float as null (json.dumps wrote the
    non-JSON ``NaN``; rows never hold one, ``rows.py`` makes it null). What msgspec refuses (a
    lone surrogate, a str subclass) goes through ``json.dumps`` as before.
    """
    try:
        return _ENCODER.encode(value).decode()
    except (TypeError, ValueError, OverflowError, UnicodeError):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


TEXT_CAP = 4096  # characters of one stored text field (at most 16 KiB of UTF-8)


def cap_texts(value: Any, path: str, cut: list[str]) -> Any:
    """``value`` with every string in it cut at TEXT_CAP; the dotted path of each cut added
    to ``cut``. Dicts and lists are copied only where something was cut."""
    if isinstance(value, str):
        if len(value) > TEXT_CAP:
            cut.append(path)
            return value[:TEXT_CAP]
        return value
    if isinstance(value, dict):
        changed = {k: cap_texts(v, f"{path}.{k}" if path else k, cut) for k, v in value.items()}
        return changed if any(changed[k] is not value[k] for k in value) else value
    if isinstance(value, list):
        items = [cap_texts(v, f"{path}[{i}]", cut) for i, v in enumerate(value)]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


def dumps_capped(row: Mapping[str, Any]) -> tuple[str, bool]:
    """The stored JSON of a row, its texts capped (the cut fields listed in ``truncated``),
    and whether anything was cut."""
    text = dumps(row)
    if len(text) <= TEXT_CAP:  # no string inside can be longer than the whole
        return text, False
    cut: list[str] = []
    capped = cap_texts(dict(row), "", cut)
    if not cut:
        return text, False
    capped["truncated"] = cut
    return dumps(capped), True


class InsertCounts(NamedTuple):
    """What one insert of event rows did."""

    inserted: int  # rows stored (duplicates by msg_id ignored)
    rows: int  # rows given
    unfit: int  # integers beyond SQLite's range, stored as NULL
    cut: int  # rows with a text cut at TEXT_CAP


_INSERT_EVENT = (
    "INSERT OR IGNORE INTO events (session_id, type, msg_id, server_time_ms, "
    "received_at_ms, stream_offset_s, user_id, payload) VALUES (?,?,?,?,?,?,?,?)"
)
_COUNT_TYPE = (
    "INSERT INTO session_event_counts (session_id, type, count) VALUES (?,?,?) "
    "ON CONFLICT(session_id, type) DO UPDATE SET count = count + excluded.count"
)
_COUNT_SESSION = "UPDATE sessions SET total_events = total_events + ? WHERE id = ?"


async def insert_events(
    conn: aiosqlite.Connection, batches: Sequence[InsertEvents]
) -> InsertCounts:
    """Insert the rows (duplicates by msg_id ignored) and add them to the session counts.

    ``session_event_counts`` and ``sessions.total_events`` count the rows stored, once per
    batch (migration 0007 dropped the per-row trigger): when every row was stored the counts
    are taken from the rows given; when some were ignored as duplicates, from the rows the
    insert added (``seq`` above the largest before it), so an ignored row is never counted.
    """
    params = []
    unfit = cut = 0
    for batch in batches:
        for ev in batch.events:
            payload, was_cut = dumps_capped(ev.payload)
            cut += was_cut
            unfit += out_of_range(ev.server_time_ms)
            params.append(
                (
                    batch.session_id,
                    ev.type,
                    ev.msg_id,
                    fit_int(ev.server_time_ms),
                    ev.received_at_ms,
                    ev.stream_offset_s,
                    ev.user_id,
                    payload,
                )
            )
    if not params:
        return InsertCounts(0, 0, 0, 0)
    async with conn.execute("SELECT coalesce(max(seq), 0) FROM events") as cursor:
        row = await cursor.fetchone()
    before = int(row[0]) if row is not None else 0
    cursor = await conn.executemany(_INSERT_EVENT, params)
    inserted = max(0, cursor.rowcount)
    counts: dict[tuple[int, str], int] = {}
    if inserted == len(params):
        for p in params:
            key = (p[0], p[1])
            counts[key] = counts.get(key, 0) + 1
    elif inserted:
        async with conn.execute(
            "SELECT session_id, type, count(*) FROM events WHERE seq > ? GROUP BY 1, 2",
            (before,),
        ) as cursor:
            counts = {(r[0], r[1]): r[2] for r in await cursor.fetchall()}
    await add_counts(conn, counts)
    return InsertCounts(inserted, len(params), unfit, cut)


async def add_counts(conn: aiosqlite.Connection, counts: Mapping[tuple[int, str], int]) -> None:
    """Add stored rows, by (session id, type), to ``session_event_counts`` and the sessions'
    ``total_events``."""
    if not counts:
        return
    await conn.executemany(_COUNT_TYPE, [(s, t, n) for (s, t), n in counts.items()])
    totals: dict[int, int] = {}
    for (session_id, _), n in counts.items():
        totals[session_id] = totals.get(session_id, 0) + n
    await conn.executemany(_COUNT_SESSION, [(n, s) for s, n in totals.items()])


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
            "INSERT INTO sessions (broadcaster_key, platform, room_id, web_rid, handle, title, "
            "nickname, started_at_ms, capture_events, record_video_requested, video_quality, "
            "room_info) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                op.broadcaster_key,
                op.platform,
                op.room_id,
                op.web_rid,
                op.handle,
                op.title,
                op.nickname,
                op.started_at_ms,
                op.capture_events,
                op.record_video_requested,
                op.video_quality,
                None if op.room_info is None else dumps_capped(op.room_info)[0],
            ),
        )
        return cursor.lastrowid
    elif isinstance(op, ResumeSession):
        return await resume_session(conn, op)
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
        # A session a crash ended: its last activity may be a segment recovered since.
        await conn.execute(
            "UPDATE sessions SET ended_at_ms = max(ended_at_ms, coalesce((SELECT "
            "max(ended_at_ms) FROM segments WHERE session_id = ?), 0)) "
            "WHERE id = ? AND reason_for_exit = 'daemon_stopped'",
            (op.session_id, op.session_id),
        )
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
    elif isinstance(op, SetHookRun):
        await conn.execute(
            "UPDATE hook_runs SET state = ?, finished_at_ms = ?, exit_code = ?, detail = ? "
            "WHERE hook = ? AND session_id = ? AND item = ? AND state = 'due'",
            (op.state, op.finished_at_ms, op.exit_code, op.detail, op.hook, op.session_id, op.item),
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
            (
                op.broadcaster_key,
                op.checked_at_ms,
                op.live,
                op.room_id,
                fit_int(op.viewers),
                op.error,
            ),
        )
    # SetDatabaseLimit is applied on receipt (run); Drain needs no SQL: it is answered
    # when the batch it ends is committed.
    return None


async def close_crashed_sessions(conn: aiosqlite.Connection) -> tuple[int, ...]:
    """At start: close the sessions a crash left open as ``daemon_stopped`` at their last
    activity (last event, segment, or check that found the room live) and orphan the
    ``writing`` segments; the ids closed."""
    async with conn.execute(
        "SELECT s.id, max(s.started_at_ms, "
        " coalesce((SELECT max(received_at_ms) FROM events e WHERE e.session_id = s.id), 0),"
        " coalesce((SELECT max(coalesce(ended_at_ms, started_at_ms)) FROM segments g"
        "           WHERE g.session_id = s.id), 0),"
        " coalesce((SELECT max(checked_at_ms) FROM status_checks c"
        "           WHERE c.broadcaster_key = s.broadcaster_key AND c.live"
        "           AND c.checked_at_ms >= s.started_at_ms), 0)) "
        "FROM sessions s WHERE s.ended_at_ms IS NULL ORDER BY s.id"
    ) as cursor:
        stale = [(int(r[0]), int(r[1])) for r in await cursor.fetchall()]
    await conn.execute("UPDATE segments SET state = 'orphaned' WHERE state = 'writing'")
    for session_id, last_ms in stale:
        await close_session(conn, session_id, last_ms, "daemon_stopped", None)
    return tuple(session_id for session_id, _ in stale)


async def stopped_sessions(conn: aiosqlite.Connection) -> list[StoppedSession]:
    """The newest session of each broadcaster, when a daemon stop or crash ended it."""
    async with conn.execute(
        "SELECT s.id, s.broadcaster_key, s.room_id, s.ended_at_ms FROM sessions s "
        "WHERE s.reason_for_exit = 'daemon_stopped' AND s.id = "
        "(SELECT max(id) FROM sessions t WHERE t.broadcaster_key = s.broadcaster_key)"
    ) as cursor:
        return [StoppedSession(int(r[0]), r[1], r[2], int(r[3])) for r in await cursor.fetchall()]


# ffmpeg's file number in a segment name: <stem>_0007.ts, or a split-off piece <stem>_0007-1.ts
_FILE_NUMBER = re.compile(r"_(\d+)(?:-\d+)?\.[^.]+$")


async def resume_session(conn: aiosqlite.Connection, op: ResumeSession) -> ResumedSession | None:
    """Reopen the broadcaster's newest session if it qualifies (see ``ResumeSession``)."""
    async with conn.execute(
        "SELECT id, started_at_ms, ended_at_ms, reason_for_exit, room_id, connection_opened, "
        "reconnect_count FROM sessions WHERE broadcaster_key = ? ORDER BY id DESC LIMIT 1",
        (op.broadcaster_key,),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None or row[2] is None or row[3] != "daemon_stopped" or row[4] != op.room_id:
        return None
    session_id = int(row[0])
    async with conn.execute(
        "SELECT max(received_at_ms) FROM events WHERE session_id = ?", (session_id,)
    ) as cursor:
        last_event = (await cursor.fetchone() or (None,))[0]
    async with conn.execute(
        "SELECT max(coalesce(ended_at_ms, started_at_ms)), coalesce(max(seq), 0), "
        "coalesce(sum(CASE WHEN state IN ('closed', 'deleted') THEN media_duration_s END), 0) "
        "FROM segments WHERE session_id = ?",
        (session_id,),
    ) as cursor:
        media_end, last_seq, recorded = await cursor.fetchone() or (None, 0, 0.0)
    last_activity = max(int(row[2]), last_event or 0, media_end or 0)
    if last_activity < op.not_before_ms:
        return None
    last_file = 0
    async with conn.execute("SELECT path FROM segments WHERE session_id = ?", (session_id,)) as c:
        for (path,) in await c.fetchall():
            match = _FILE_NUMBER.search(PurePath(str(path).removesuffix(".part")).name)
            if match is not None:
                last_file = max(last_file, int(match.group(1)))
    await conn.execute(
        "UPDATE sessions SET ended_at_ms = NULL, reason_for_exit = NULL, summary = NULL, "
        "recording_stop_reason = NULL WHERE id = ?",
        (session_id,),
    )
    return ResumedSession(
        session_id=session_id,
        started_at_ms=int(row[1]),
        ended_at_ms=last_activity,
        last_event_ms=None if last_event is None else int(last_event),
        media_end_ms=None if media_end is None else int(media_end),
        next_seq=int(last_seq) + 1,
        next_file=last_file + 1,
        recorded_s=round(float(recorded), 3),
        connection_opened=bool(row[5]),
        reconnect_count=int(row[6]),
    )


async def update_session(conn: aiosqlite.Connection, op: UpdateSession) -> None:
    changes: dict[str, Any] = {
        "title": op.title,
        "nickname": op.nickname,
        "room_id": op.room_id,
        "connection_opened": op.connection_opened,
        "reconnect_count": op.reconnect_count,
        "record_video_effective": op.record_video_effective,
        "video_quality": op.video_quality,
        "room_info": None if op.room_info is None else dumps_capped(op.room_info)[0],
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
