"""The database file: connecting (pragmas), migrating, and the read-only queries.

Owns how every dylived connection is configured (WAL, ``synchronous=NORMAL`` on each connection,
foreign keys, busy timeout), the forward-only migrations in ``store/migrations/NNNN_*.sql``
applied by ``PRAGMA user_version``, the summary computation shared by the writer (at session
close) and readers (export, the control API), and :class:`Database`, a separate *read*
connection for the control API and export. Writes belong to ``store/writer.py`` alone.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite
import anyio

from dylived.errors import StoreError
from dylived.store.totals import BroadcasterTotals, broadcaster_totals


BUSY_TIMEOUT_MS = 5000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_CLOSE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> tuple[Migration, ...]:
    """Every migration shipped in the package, in version order (read via importlib.resources)."""
    found: list[Migration] = []
    for entry in resources.files("dylived.store.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations are not numbered 1..n without holes: {versions}")
    return tuple(found)


async def configure(conn: aiosqlite.Connection, *, read_only: bool = False) -> None:
    """Apply the per-connection pragmas (synchronous resets to FULL on every new connection)."""
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if not read_only:
        await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA synchronous = NORMAL")
    await conn.execute("PRAGMA foreign_keys = ON")
    if read_only:
        await conn.execute("PRAGMA query_only = ON")


async def migrate(conn: aiosqlite.Connection) -> int:
    """Bring the schema to the newest version; returns that version.

    Each migration and its ``user_version`` bump run in one transaction, so a crash leaves the
    file at a whole version. A database newer than this code is refused (forward-only).
    """
    migrations = load_migrations()
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row is not None else 0
    newest = migrations[-1].version if migrations else 0
    if current > newest:
        raise StoreError(
            f"database schema version {current} is newer than this dylived knows ({newest})"
        )
    for migration in migrations:
        if migration.version <= current:
            continue
        script = f"BEGIN;\n{migration.sql}\nPRAGMA user_version = {migration.version};\nCOMMIT;"
        try:
            await conn.executescript(script)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                await conn.rollback()
            raise StoreError(f"migration {migration.name} failed: {exc}") from exc
    return max(current, newest)


async def connect(path: str | Path, *, read_only: bool = False) -> aiosqlite.Connection:
    """Open and configure one connection (the caller must close it: see :func:`close_quietly`)."""
    try:
        conn = await aiosqlite.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    try:
        conn.row_factory = sqlite3.Row
        await configure(conn, read_only=read_only)
    except BaseException:
        await close_quietly(conn)
        raise
    return conn


async def close_quietly(conn: aiosqlite.Connection) -> None:
    """Close a connection, shielded and bounded (an unclosed aiosqlite connection hangs exit)."""
    with anyio.move_on_after(_CLOSE_TIMEOUT_S, shield=True):
        with suppress(sqlite3.Error):
            await conn.close()


class SessionNotFound(StoreError, LookupError):
    """No session with that id (the control API answers 404)."""

    def __init__(self, session_id: int) -> None:
        super().__init__(f"no session {session_id}")
        self.session_id = session_id


# ---------------------------------------------------------------- records


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


# Session rows with the highest stored event seq (events_by_session makes the MAX cheap).
_SESSION_COLUMNS = (
    "sessions.*, (SELECT COALESCE(MAX(seq), 0) FROM events"
    " WHERE events.session_id = sessions.id) AS last_seq"
)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One row of ``sessions``; ``to_json()`` is the control API's representation."""

    id: int
    broadcaster_key: str
    platform: str
    room_id: str | None
    web_rid: str | None
    title: str
    nickname: str
    started_at_ms: int
    ended_at_ms: int | None
    reason_for_exit: str | None
    capture_events: bool
    record_video_requested: bool
    record_video_effective: bool
    video_quality: str | None
    connection_opened: bool
    reconnect_count: int
    total_events: int
    recording_stop_reason: str | None
    room_info: Mapping[str, Any] | None
    summary: Mapping[str, Any] | None
    last_seq: int = 0  # the highest event seq stored for the session (seq is global)
    handle: str | None = None  # the broadcaster's handle on its platform (Douyin: = web_rid)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> SessionRecord:
        return cls(
            id=row["id"],
            broadcaster_key=row["broadcaster_key"],
            platform=row["platform"],
            room_id=row["room_id"],
            web_rid=row["web_rid"],
            handle=row["handle"],
            title=row["title"],
            nickname=row["nickname"],
            started_at_ms=row["started_at_ms"],
            ended_at_ms=row["ended_at_ms"],
            reason_for_exit=row["reason_for_exit"],
            capture_events=bool(row["capture_events"]),
            record_video_requested=bool(row["record_video_requested"]),
            record_video_effective=bool(row["record_video_effective"]),
            video_quality=row["video_quality"],
            connection_opened=bool(row["connection_opened"]),
            reconnect_count=row["reconnect_count"],
            total_events=row["total_events"],
            recording_stop_reason=row["recording_stop_reason"],
            room_info=_loads(row["room_info"]),
            summary=_loads(row["summary"]),
            last_seq=row["last_seq"] if "last_seq" in row.keys() else 0,  # noqa: SIM118
        )

    @property
    def is_open(self) -> bool:
        return self.ended_at_ms is None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "broadcaster": self.broadcaster_key,
            "platform": self.platform,
            "room_id": self.room_id,
            "web_rid": self.web_rid,
            "handle": self.handle,
            "title": self.title,
            "nickname": self.nickname,
            "started_at_ms": self.started_at_ms,
            "ended_at_ms": self.ended_at_ms,
            "reason_for_exit": self.reason_for_exit,
            "total_events": self.total_events,
            "record_video_effective": self.record_video_effective,
        }


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    """One row of ``segments``."""

    session_id: int
    seq: int
    path: str
    state: str
    started_at_ms: int
    ended_at_ms: int | None
    media_duration_s: float | None
    bytes: int | None
    quality: str | None
    width: int | None
    height: int | None
    codec: str | None
    start_offset_s: float | None  # where it starts in the session's recording

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> SegmentRecord:
        return cls(*(row[name] for name in cls.__slots__))

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class RemuxRecord:
    """One row of ``remuxes``: an MP4 made from a finished session's segments."""

    session_id: int
    part: int
    path: str
    state: str
    segments: int
    duration_s: float | None
    bytes: int | None
    finished_at_ms: int
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class DueHookRun:
    """A ``hook_runs`` row still ``due``, with what its hook's placeholders need: ``path`` (the
    segment, the MP4, or a session's first segment), the wall times and media seconds."""

    hook: str
    session_id: int
    item: int
    broadcaster: str
    platform: str
    path: str | None
    start_ms: int | None
    end_ms: int | None
    duration_s: float | None

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.hook, self.session_id, self.item)


_DUE_HOOK_RUNS = """
SELECT h.hook, h.session_id, h.item, s.broadcaster_key, s.platform,
    CASE h.hook WHEN 'on_segment_closed' THEN g.path WHEN 'on_remuxed' THEN r.path
        ELSE (SELECT path FROM segments WHERE session_id = s.id ORDER BY seq LIMIT 1) END,
    CASE h.hook WHEN 'on_segment_closed' THEN g.started_at_ms ELSE s.started_at_ms END,
    CASE h.hook WHEN 'on_segment_closed' THEN g.ended_at_ms ELSE s.ended_at_ms END,
    CASE h.hook WHEN 'on_segment_closed' THEN g.media_duration_s
        WHEN 'on_remuxed' THEN r.duration_s
        ELSE (s.ended_at_ms - s.started_at_ms) / 1000.0 END
FROM hook_runs h JOIN sessions s ON s.id = h.session_id
LEFT JOIN segments g ON h.hook = 'on_segment_closed' AND g.session_id = h.session_id
    AND g.seq = h.item
LEFT JOIN remuxes r ON h.hook = 'on_remuxed' AND r.session_id = h.session_id AND r.part = h.item
WHERE h.state = 'due' ORDER BY h.due_at_ms, h.session_id, h.item LIMIT ?
"""


@dataclass(frozen=True, slots=True)
class RecordedFile:
    """A recording file on disk as retention sees it (``ended_at_ms`` None: session open)."""

    session_id: int
    ended_at_ms: int | None
    path: str
    bytes: int


@dataclass(frozen=True, slots=True)
class GapRecord:
    """One row of ``gaps``: missing media or missing events between two wall times."""

    session_id: int
    kind: str
    from_ms: int
    to_ms: int
    cause: str

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One stored event: its arrival ``seq`` and the full dataset.md row."""

    seq: int
    session_id: int
    row: Mapping[str, Any]


def _stored_row(payload: str, deleted: int) -> dict[str, Any]:
    """The row as stored; one a moderator's deletion marked (migration 0006) gains
    ``"deleted": true`` at its end (unmarked rows are exactly as stored)."""
    row: dict[str, Any] = json.loads(payload)
    if deleted:
        row["deleted"] = True
    return row


# ---------------------------------------------------------------- shared queries


async def compute_summary(
    conn: aiosqlite.Connection, session_id: int, *, now_ms: int | None = None
) -> dict[str, Any] | None:
    """The dataset.md ``summary`` row of one session, computed from the stored rows.

    Counts equal the stored rows (events, closed segments, gaps); a segment whose file
    retention deleted later (state ``deleted``) still counts: the summary is what was recorded.
    For a session still open, ``duration_seconds`` runs to ``now_ms`` (default: now).
    """
    async with conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    async with conn.execute(
        "SELECT type, count FROM session_event_counts WHERE session_id = ? ORDER BY type",
        (session_id,),
    ) as cursor:
        event_counts = {r[0]: r[1] for r in await cursor.fetchall()}
    async with conn.execute(
        "SELECT count(*), coalesce(sum(bytes), 0), coalesce(sum(media_duration_s), 0) "
        "FROM segments WHERE session_id = ? AND state IN ('closed', 'deleted')",
        (session_id,),
    ) as cursor:
        seg = await cursor.fetchone()
    gaps: dict[str, dict[str, float | int]] = {
        "media": {"count": 0, "seconds": 0.0},
        "events": {"count": 0, "seconds": 0.0},
    }
    async with conn.execute(
        "SELECT kind, count(*), coalesce(sum(to_ms - from_ms), 0) FROM gaps "
        "WHERE session_id = ? GROUP BY kind",
        (session_id,),
    ) as cursor:
        for kind, count, millis in await cursor.fetchall():
            gaps[kind] = {"count": count, "seconds": round(millis / 1000, 3)}
    async with conn.execute(
        "SELECT count(*) FROM events WHERE session_id = ? "
        "AND json_extract(payload, '$.truncated') IS NOT NULL",
        (session_id,),
    ) as cursor:
        cut = await cursor.fetchone()
    ended = row["ended_at_ms"]
    end = ended if ended is not None else (now_ms if now_ms is not None else _now_ms())
    total_events = sum(event_counts.values())
    segments = int(seg[0]) if seg is not None else 0
    return {
        "type": "summary",
        "room_id": row["room_id"],
        "web_rid": row["web_rid"],
        "capture_events": bool(row["capture_events"]),
        "duration_seconds": round(max(0, end - row["started_at_ms"]) / 1000, 3),
        "produced_output": total_events > 0 or segments > 0,
        "connection_opened": bool(row["connection_opened"]),
        "reconnect_count": row["reconnect_count"],
        "total_events": total_events,
        "event_counts": event_counts,
        "truncated_events": int(cut[0]) if cut is not None else 0,  # rows with a text cut
        "recording_segments": segments,
        "recording_total_bytes": int(seg[1]) if seg is not None else 0,
        "recording_total_duration_s": round(float(seg[2]), 3) if seg is not None else 0.0,
        "recording_stop_reason": row["recording_stop_reason"],
        "reason_for_exit": row["reason_for_exit"],
        "record_video_requested": bool(row["record_video_requested"]),
        "record_video_effective": bool(row["record_video_effective"]),
        "video_quality": row["video_quality"],
        "gaps": gaps,
    }


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# ---------------------------------------------------------------- the read connection


class Database:
    """A read-only connection for the control API and export (the writer has its own).

    Use ``async with Database.open(path) as db``. Every method is a single query: cancel-safe
    (a cancelled call abandons its result; the connection stays usable).
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    @asynccontextmanager
    async def open(cls, path: str | Path) -> AsyncIterator[Database]:
        """Open a read connection to a database the writer has already migrated."""
        conn = await connect(path, read_only=True)
        try:
            yield cls(conn, Path(path))
        finally:
            await close_quietly(conn)

    async def list_sessions(
        self, broadcaster: str | None = None, *, limit: int = 100, before_id: int | None = None
    ) -> list[SessionRecord]:
        """Sessions, newest first; optionally of one broadcaster and older than ``before_id``."""
        clauses: list[str] = []
        params: list[str | int] = []
        if broadcaster is not None:
            clauses.append("broadcaster_key = ?")
            params.append(broadcaster)
        if before_id is not None:
            clauses.append("id < ?")
            params.append(before_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {_SESSION_COLUMNS} FROM sessions {where} ORDER BY id DESC LIMIT ?"
        async with self._conn.execute(sql, (*params, limit)) as cursor:
            return [SessionRecord.from_row(r) for r in await cursor.fetchall()]

    async def get_session(self, session_id: int) -> SessionRecord | None:
        sql = f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?"
        async with self._conn.execute(sql, (session_id,)) as c:
            row = await c.fetchone()
        return SessionRecord.from_row(row) if row is not None else None

    async def open_sessions(self) -> list[SessionRecord]:
        async with self._conn.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE ended_at_ms IS NULL ORDER BY id"
        ) as cursor:
            return [SessionRecord.from_row(r) for r in await cursor.fetchall()]

    async def segments(self, session_id: int) -> list[SegmentRecord]:
        """The segments of one session in ``seq`` order (every state)."""
        async with self._conn.execute(
            "SELECT * FROM segments WHERE session_id = ? ORDER BY seq", (session_id,)
        ) as cursor:
            return [SegmentRecord.from_row(r) for r in await cursor.fetchall()]

    async def orphaned_segments(self) -> list[SegmentRecord]:
        """Segments that were being written when the daemon died, for the recorder to fix up."""
        async with self._conn.execute(
            "SELECT * FROM segments WHERE state = 'orphaned' ORDER BY session_id, seq"
        ) as cursor:
            return [SegmentRecord.from_row(r) for r in await cursor.fetchall()]

    async def remuxes(self, session_id: int) -> list[RemuxRecord]:
        """The MP4s made from a session (every state), in part order."""
        async with self._conn.execute(
            "SELECT session_id, part, path, state, segments, duration_s, bytes, "
            "finished_at_ms, error FROM remuxes WHERE session_id = ? ORDER BY part",
            (session_id,),
        ) as cursor:
            return [RemuxRecord(*r) for r in await cursor.fetchall()]

    async def recorded_files(self) -> list[RecordedFile]:
        """Every recording file that should be on disk: segments not deleted, MP4s done."""
        async with self._conn.execute(
            "SELECT g.session_id, s.ended_at_ms, g.path, coalesce(g.bytes, 0) FROM segments g "
            "JOIN sessions s ON s.id = g.session_id "
            "WHERE g.state IN ('writing', 'closed', 'orphaned') "
            "UNION ALL "
            "SELECT r.session_id, s.ended_at_ms, r.path, coalesce(r.bytes, 0) FROM remuxes r "
            "JOIN sessions s ON s.id = r.session_id WHERE r.state = 'done'"
        ) as cursor:
            return [RecordedFile(*r) for r in await cursor.fetchall()]

    async def due_hook_runs(self, limit: int = 100) -> list[DueHookRun]:
        """The oldest ``hook_runs`` still ``due`` (migration 0005), at most ``limit``."""
        async with self._conn.execute(_DUE_HOOK_RUNS, (limit,)) as cursor:
            return [DueHookRun(*r) for r in await cursor.fetchall()]

    async def gaps(self, session_id: int) -> list[GapRecord]:
        async with self._conn.execute(
            "SELECT session_id, kind, from_ms, to_ms, cause FROM gaps "
            "WHERE session_id = ? ORDER BY from_ms, id",
            (session_id,),
        ) as cursor:
            return [GapRecord(*r) for r in await cursor.fetchall()]

    async def events_after(
        self, session_id: int, after_seq: int = 0, *, limit: int = 500
    ) -> list[StoredEvent]:
        """Up to ``limit`` events of a session with ``seq > after_seq``, in arrival order.

        Page with the last returned ``seq``; ``follow`` streaming polls this.
        """
        async with self._conn.execute(
            "SELECT seq, payload, deleted FROM events "
            "WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (session_id, after_seq, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [StoredEvent(r[0], session_id, _stored_row(r[1], r[2])) for r in rows]

    async def events_between(
        self,
        session_id: int,
        from_s: float,
        to_s: float,
        types: Sequence[str],
        *,
        limit: int = 1000,
    ) -> list[StoredEvent]:
        """Up to ``limit`` events of ``types`` whose ``stream_offset_s`` is in
        ``[from_s, to_s)``, in offset order (the replay page's window of chat)."""
        marks = ",".join("?" * len(types))
        async with self._conn.execute(
            "SELECT seq, payload FROM events WHERE session_id = ? AND stream_offset_s >= ? "
            f"AND stream_offset_s < ? AND type IN ({marks}) ORDER BY stream_offset_s, seq LIMIT ?",
            (session_id, from_s, to_s, *types, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [StoredEvent(r[0], session_id, json.loads(r[1])) for r in rows]

    async def offset_histogram(
        self, session_id: int, bucket_s: float
    ) -> list[tuple[int, str, int, int | None]]:
        """``(bucket, type, events, most viewers)`` per ``bucket_s`` of stream offset: the
        counts of each event type and the highest ``current_viewers`` a viewer count gave."""
        async with self._conn.execute(
            "SELECT CAST(stream_offset_s / ? AS INTEGER) AS bucket, type, count(*), "
            "max(CASE WHEN type = 'viewer_count' "
            "THEN json_extract(payload, '$.current_viewers') END) "
            "FROM events WHERE session_id = ? AND stream_offset_s >= 0 "
            "GROUP BY bucket, type ORDER BY bucket, type",
            (bucket_s, session_id),
        ) as cursor:
            return [(r[0], r[1], r[2], r[3]) for r in await cursor.fetchall()]

    async def summary(self, session_id: int) -> dict[str, Any] | None:
        """The dataset.md summary of a session, computed now from the stored rows."""
        return await compute_summary(self._conn, session_id)

    async def counts(self) -> dict[str, int]:
        """Row counts of the main tables, and how many sessions are open."""
        result: dict[str, int] = {}
        for table in ("broadcasters", "sessions", "events", "segments", "gaps", "status_checks"):
            async with self._conn.execute(f"SELECT count(*) FROM {table}") as cursor:
                row = await cursor.fetchone()
            result[table] = int(row[0]) if row is not None else 0
        async with self._conn.execute(
            "SELECT count(*) FROM sessions WHERE ended_at_ms IS NULL"
        ) as cursor:
            row = await cursor.fetchone()
        result["open_sessions"] = int(row[0]) if row is not None else 0
        return result

    async def broadcaster_totals(self) -> Mapping[str, BroadcasterTotals]:
        """Events by type, closed segments, their bytes and reconnects, per broadcaster."""
        try:
            return await broadcaster_totals(self._conn)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the broadcaster totals: {exc}") from exc

    async def database_size(self) -> int:
        """Bytes on disk: the main file plus its WAL (the -shm index is not counted)."""
        total = 0
        for suffix in ("", "-wal"):
            candidate = anyio.Path(f"{self.path}{suffix}")
            try:
                total += (await candidate.stat()).st_size
            except FileNotFoundError:
                continue
        return total
