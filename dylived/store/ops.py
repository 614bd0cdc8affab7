"""The typed write operations the store writer accepts, and the reply each may carry.

Producers (watch, capture, recorder, scheduler) build these frozen values and hand them to
``Writer.submit``; only ``store/writer.py`` turns them into SQL. Pure: no I/O, no SQL here.
Times are Unix epoch milliseconds. Operations that answer (``OpenSession`` → the new session
id, ``CloseSession`` → the summary row, ``ResumeSession`` → the reopened session) carry a
:class:`Reply`: ``await op.reply.wait()``, or use ``Writer.request(op)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import anyio

from dylived.errors import StoreError


T = TypeVar("T")

SegmentState = Literal["writing", "closed", "failed", "orphaned", "deleted"]
RemuxState = Literal["done", "failed", "deleted"]
GapKind = Literal["media", "events"]


class Reply(Generic[T]):
    """A one-shot answer: the writer sets a value or an error once; any task may wait for it.

    Created without an event loop (the anyio Event is made lazily by the first waiter).
    """

    __slots__ = ("_error", "_event", "_has_value", "_value")

    def __init__(self) -> None:
        self._event: anyio.Event | None = None
        self._has_value = False
        self._value: T | None = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self._has_value or self._error is not None

    def set(self, value: T) -> None:
        if self.done:
            return
        self._value, self._has_value = value, True
        if self._event is not None:
            self._event.set()

    def fail(self, error: BaseException) -> None:
        if self.done:
            return
        self._error = error
        if self._event is not None:
            self._event.set()

    async def wait(self) -> T:
        """The value, or the error raised. Cancel-safe: waiting again later still works."""
        if not self.done:
            if self._event is None:
                self._event = anyio.Event()
            await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # _has_value is True here


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event row to store: indexed columns plus the full dataset.md row as ``payload``."""

    type: str
    msg_id: str | None
    received_at_ms: int
    payload: Mapping[str, Any]
    server_time_ms: int | None = None
    stream_offset_s: float | None = None
    user_id: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any], received_at_ms: int | None = None) -> EventRecord:
        """Index a dataset.md row (``type``, ``msg_id``, ``server_time_ms``, ``received_at_ms``,
        ``stream_offset_s``, ``user.user_id``); ``received_at_ms`` overrides the row's own."""
        received = received_at_ms if received_at_ms is not None else row.get("received_at_ms")
        if received is None:
            raise StoreError("an event row needs received_at_ms")
        msg_id = row.get("msg_id")
        user = row.get("user")
        user_id = user.get("user_id") if isinstance(user, Mapping) else None
        return cls(
            type=str(row["type"]),
            msg_id=None if msg_id in (None, "", 0) else str(msg_id),
            received_at_ms=int(received),
            payload=row,
            server_time_ms=row.get("server_time_ms"),
            stream_offset_s=row.get("stream_offset_s"),
            user_id=None if user_id in (None, "", 0) else str(user_id),
        )


def _reply_int() -> Reply[int]:
    return Reply()


def _reply_summary() -> Reply[dict[str, Any]]:
    return Reply()


def _reply_none() -> Reply[None]:
    return Reply()


@dataclass(frozen=True, slots=True)
class UpsertBroadcaster:
    """Insert a watched broadcaster, or update its target/name (``key`` is the stable id)."""

    key: str
    target: str
    added_at_ms: int
    platform: str  # the broadcaster's platform (config's name for it)
    name: str | None = None


@dataclass(frozen=True, slots=True)
class OpenSession:
    """Start a session (one broadcast); replies with its id. Creates the broadcaster if unknown.

    ``handle``: the broadcaster's handle on its platform (for Douyin the web_rid, which Douyin
    sessions keep in ``web_rid`` as well, for the dataset.md rows).
    """

    broadcaster_key: str
    started_at_ms: int
    platform: str  # the broadcaster's platform (config's name for it)
    room_id: str | None = None
    web_rid: str | None = None
    handle: str | None = None
    title: str = ""
    nickname: str = ""
    capture_events: bool = True
    record_video_requested: bool = True
    video_quality: str | None = None
    room_info: Mapping[str, Any] | None = None  # the dataset.md room_info row
    target: str | None = None  # for the broadcasters row when the key is new
    reply: Reply[int] = field(default_factory=_reply_int, compare=False)


@dataclass(frozen=True, slots=True)
class StoppedSession:
    """The newest session of a broadcaster, when the daemon's stop (or crash) ended it."""

    session_id: int
    broadcaster_key: str
    room_id: str | None
    ended_at_ms: int


@dataclass(frozen=True, slots=True)
class ResumedSession:
    """A session continued after a daemon restart: where its media and events left off."""

    session_id: int
    started_at_ms: int
    ended_at_ms: int  # its last activity: the stop, or its last event or segment end
    last_event_ms: int | None  # received_at_ms of its last stored event
    media_end_ms: int | None  # ended_at_ms of its last stored segment
    next_seq: int  # the next segment seq
    next_file: int  # the next ffmpeg file number (names never collide with the old ones)
    recorded_s: float  # media seconds of its closed segments (stream offsets continue there)
    connection_opened: bool
    reconnect_count: int


def _reply_resumed() -> Reply[ResumedSession | None]:
    return Reply()


@dataclass(frozen=True, slots=True)
class ResumeSession:
    """Reopen the newest session of ``broadcaster_key`` if a daemon stop ended it
    (``daemon_stopped``), it is of ``room_id`` and its last activity (end, last event, last
    segment end) is at or after ``not_before_ms``; replies with where it left off, or None
    (nothing reopened)."""

    broadcaster_key: str
    room_id: str
    not_before_ms: int
    reply: Reply[ResumedSession | None] = field(default_factory=_reply_resumed, compare=False)


@dataclass(frozen=True, slots=True)
class UpdateSession:
    """Change the fields of an open session that are not None."""

    session_id: int
    title: str | None = None
    nickname: str | None = None
    room_id: str | None = None
    connection_opened: bool | None = None
    reconnect_count: int | None = None
    record_video_effective: bool | None = None
    video_quality: str | None = None
    room_info: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CloseSession:
    """End a session; replies with its dataset.md summary (counts equal the stored rows).

    Closing an already closed session changes nothing and replies with the stored summary.
    """

    session_id: int
    ended_at_ms: int
    reason_for_exit: str
    recording_stop_reason: str | None = None
    reply: Reply[dict[str, Any]] = field(default_factory=_reply_summary, compare=False)


@dataclass(frozen=True, slots=True)
class InsertEvents:
    """A batch of event rows of one session; duplicates by msg_id are ignored (reconnects)."""

    session_id: int
    events: Sequence[EventRecord]


@dataclass(frozen=True, slots=True)
class InsertUnknown:
    """An undecoded message kept raw for diagnosis (capped per session by the writer)."""

    session_id: int
    method: str
    received_at_ms: int
    raw: bytes
    msg_id: str | None = None


@dataclass(frozen=True, slots=True)
class UpsertSegment:
    """Insert or replace the row of segment ``seq`` of a session (state changes re-send it)."""

    session_id: int
    seq: int
    path: str
    state: SegmentState
    started_at_ms: int
    ended_at_ms: int | None = None
    media_duration_s: float | None = None
    bytes: int | None = None
    quality: str | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    start_offset_s: float | None = None  # where it starts in the session's recording


@dataclass(frozen=True, slots=True)
class SetEventOffsets:
    """The ``stream_offset_s`` of a session's events received in [from_ms, to_ms]: the
    recording's ``start_offset_s`` at wall ``started_at_ms`` plus the time since (column and
    payload); ``start_offset_s`` None: null (a gap). Only differing rows are written."""

    session_id: int
    from_ms: int
    to_ms: int
    started_at_ms: int
    start_offset_s: float | None


@dataclass(frozen=True, slots=True)
class DeleteSegment:
    """Remove the row of segment ``seq`` while it is ``writing`` or ``orphaned`` (no file)."""

    session_id: int
    seq: int


@dataclass(frozen=True, slots=True)
class RefreshSummary:
    """Recompute the stored summary of a closed session (its segments changed after close).

    A ``daemon_stopped`` session's end moves to its last segment's end when that is later (a
    segment the start-up recovery closed after a crash)."""

    session_id: int


@dataclass(frozen=True, slots=True)
class MarkDeleted:
    """Files of a session removed (retention, or originals after a remux): the ``closed``
    segment rows and ``done`` remux rows with these paths become ``deleted`` (kept as history).
    """

    session_id: int
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RecordRemux:
    """An MP4 written (``done``) or not (``failed``) from a finished session's segments."""

    session_id: int
    part: int  # 1, 2, ...: one MP4 per run of segments with the same frame size and codec
    path: str
    state: RemuxState
    segments: int
    finished_at_ms: int
    duration_s: float | None = None
    bytes: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SetHookRun:
    """The outcome of a ``[hooks]`` run (migration 0005): ``done``, ``failed``, ``timeout`` or
    ``skipped``; only a row still ``due`` changes."""

    hook: str
    session_id: int
    item: int
    state: Literal["done", "failed", "timeout", "skipped"]
    finished_at_ms: int
    exit_code: int | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class AddGap:
    """A hole in the media or in the event stream, with both wall times and its cause."""

    session_id: int
    kind: GapKind
    from_ms: int
    to_ms: int
    cause: str


@dataclass(frozen=True, slots=True)
class RecordStatusCheck:
    """One (sampled) status check of a broadcaster; the caller decides the sampling."""

    broadcaster_key: str
    checked_at_ms: int
    live: bool
    room_id: str | None = None
    viewers: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SetDatabaseLimit:
    """Cap the database file at ``max_bytes`` (None = SQLite's default); applied on receipt.

    Exceeding the cap fails writes exactly like a full disk, so this is also the seam the
    tests use to produce a full disk for real.
    """

    max_bytes: int | None


@dataclass(frozen=True, slots=True)
class Drain:
    """Flush everything submitted before it; the reply is set once that is committed."""

    reply: Reply[None] = field(default_factory=_reply_none, compare=False)


WriteOp = (
    UpsertBroadcaster
    | OpenSession
    | ResumeSession
    | UpdateSession
    | CloseSession
    | InsertEvents
    | InsertUnknown
    | UpsertSegment
    | SetEventOffsets
    | DeleteSegment
    | RefreshSummary
    | MarkDeleted
    | RecordRemux
    | SetHookRun
    | AddGap
    | RecordStatusCheck
    | SetDatabaseLimit
    | Drain
)
