"""The contract between the control server and the daemon: the ``DaemonFacade`` and its shapes.

The control server (``control/server.py``) turns every route of ARCHITECTURE.md §4 into one
call on a ``DaemonFacade``; the daemon (``dylived/app/daemon.py``) implements it. Everything a
facade method returns is JSON-ready (dicts, lists, str, int, float, bool, None), except
``metrics()``, which returns the frozen ``MetricsSnapshot`` that ``control/metrics.py`` renders
in the Prometheus text format. ``dylivectl`` renders the shapes documented below, so keep the
key names stable; extra keys are allowed and ignored by ``dylivectl``.

Conventions in every shape: absolute times are integer milliseconds since the Unix epoch
(``*_ms``, UTC), durations are seconds (``*_s``), sizes are bytes (``*_bytes``), rates are
per second unless named otherwise. Broadcaster ids are the watchlist names (str); session ids
are integers.

A facade method reports a failure the client caused by raising an ``ApiError`` subclass
(``NotFound``, ``Conflict``, ``Invalid``); the server turns it into
``{"error": {"code": ..., "message": ...}}`` with the error's HTTP status. Any other
exception becomes a 500 ``internal`` error and is logged; it never stops the server.

This module imports nothing that does I/O.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from dylived.replay.subtitles import SubtitleFile, SubtitleOptions


JsonObject = dict[str, Any]
ExportFormat = Literal["jsonl", "csv", "manifest"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("jsonl", "csv", "manifest")
SubtitleFormat = Literal["ass", "srt"]
SUBTITLE_FORMATS: tuple[SubtitleFormat, ...] = ("ass", "srt")


class ApiError(Exception):
    """A request the daemon refuses; rendered as the JSON error body with ``status``."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: Mapping[str, Any] = details or {}

    def body(self) -> JsonObject:
        """The JSON error body: ``{"error": {"code", "message", **details}}``."""
        return {"error": {"code": self.code, "message": self.message, **self.details}}


class BadRequest(ApiError):
    """The request is malformed (bad JSON, missing field, wrong type)."""

    status = 400
    code = "bad_request"


class NotFound(ApiError):
    """The broadcaster, session or route does not exist."""

    status = 404
    code = "not_found"


class Forbidden(ApiError):
    """The thing exists but may not be served (a segment path outside ``recordings_dir``)."""

    status = 403
    code = "forbidden"


class Conflict(ApiError):
    """The request conflicts with the current state (name taken, already recording, ...)."""

    status = 409
    code = "conflict"


class Invalid(ApiError):
    """The request is well-formed but its values are refused (bad target, bad option, ...)."""

    status = 422
    code = "invalid"


class ConfigRejected(Invalid):
    """A reload was rejected: ``details["problems"]`` lists every problem (dotted paths)."""

    code = "config_invalid"

    def __init__(self, problems: Sequence[str], message: str = "") -> None:
        super().__init__(
            message or f"reload rejected: {len(problems)} problem(s)",
            details={"problems": list(problems)},
        )
        self.problems = tuple(problems)


class Unavailable(ApiError):
    """The daemon cannot do this now (shutting down, store not open)."""

    status = 503
    code = "unavailable"


@dataclass(frozen=True, slots=True)
class BroadcasterMetrics:
    """The counters and gauges of one broadcaster for ``/metrics``."""

    broadcaster: str
    live: bool
    recording: bool
    # events_by_type, segments, recorded_bytes and reconnects: everything the database holds
    # for the broadcaster (all sessions, carried over daemon restarts; rows are never deleted,
    # so they only grow): stored events by type, closed segments (retention's "deleted" rows
    # included) and their bytes, push-connection reconnects (store/totals.py).
    events_by_type: Mapping[str, int] = field(default_factory=dict)
    segments: int = 0
    recorded_bytes: int = 0
    reconnects: int = 0
    poll_errors: int = 0  # failed status polls since daemon start
    breaker: Literal["closed", "open", "half_open"] = "closed"  # its platform's breaker
    platform: str = ""  # the broadcaster's platform (a label of its breaker state)


@dataclass(frozen=True, slots=True)
class PlatformMetrics:
    """One platform's gate (request budget and circuit breaker) for ``/metrics``."""

    platform: str
    breaker: Literal["closed", "open", "half_open"] = "closed"
    breaker_opened: int = 0  # times its breaker opened since daemon start
    in_flight: int = 0  # its status requests in flight now
    requests: int = 0  # its status requests made since daemon start
    risk_signals: int = 0  # risk-control answers since daemon start


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """Everything ``GET /metrics`` exposes, read at one moment."""

    version: str
    uptime_s: float
    free_disk_bytes: int
    database_bytes: int
    broadcasters: Sequence[BroadcasterMetrics] = ()
    platforms: Sequence[PlatformMetrics] = ()
    store_rows_rejected: int = 0  # event rows SQLite refused (the rest of their batch kept)
    store_values_out_of_range: int = 0  # integers beyond 64 bits, stored as NULL
    store_rows_truncated: int = 0  # event rows with a text cut at the stored-text cap
    # notifications by (event, result): result is "sent", "failed" or "dropped"
    notifications: Mapping[tuple[str, str], int] = field(default_factory=dict)
    # [hooks] runs by (hook, result): "done", "failed", "timeout" (killed) or "skipped"
    hook_runs: Mapping[tuple[str, str], int] = field(default_factory=dict)
    hooks_running: int = 0
    tasks: int = 0  # event-loop tasks alive now (a leak shows as a rising count)
    threads: int = 0  # Python threads alive now (the loop's worker threads included)


class DaemonFacade(Protocol):
    """What the control server needs from the running daemon, one method per route.

    Cancel safety: every async method may be cancelled (the client went away or the per-request
    time ran out). A cancelled read has no effect. A cancelled command (add, remove, pause,
    resume, record, reload) either took effect fully or not at all: implementations shield the
    part that must not be interrupted.
    """

    async def status(self) -> JsonObject:
        """``GET /v1/status``: the daemon and every broadcaster, as one snapshot.

        Shape::

            {"daemon": {"version": str, "pid": int, "started_at_ms": int, "uptime_s": float,
                        "config_path": str, "free_disk_bytes": int, "database_bytes": int,
                        "status_line": str,
                        "web_url": str|None,  # the web pages ([web]) once listening
                        "hooks": {"running": int, "due_at_start": int|None,
                                  "runs": {<hook>: {<result>: int}}}|None,  # [hooks]
                        "platforms": {<platform name>: <gate>, ...},
                        "cookies": {<platform name>: {"since_ms": int, "broadcaster": str,
                                    "detail": str}},  # login cookie refused (cookie_invalid)
                        "counts": {"broadcasters": int, "live": int, "recording": int,
                                   "paused": int, "sessions": int, "events": int,
                                   "segments": int}},
             "broadcasters": [<broadcaster>, ...]}

        where ``<gate>`` is one platform's request budget and circuit breaker (one per
        platform that has watched broadcasters; a breaker opened by one platform's risk
        control never pauses another's polls)::

            {"broadcasters": int,        # watched broadcasters on this platform
             "in_flight": int, "max_in_flight": int, "max_in_flight_seen": int,
             "waiting": int,             # checks waiting for a budget slot now
             "requests": int,            # status requests made since start
             "risk_signals": int,        # risk-control answers since start
             "breaker": {"state": "closed"|"open"|"half_open",
                         "open_until_ms": int|None,  # when open: the next probe
                         "times_opened": int, "last_reason": str}}

        where ``<broadcaster>`` is::

            {"id": str, "target": str, "platform": "douyin"|"tiktok", "paused": bool,
             "state": "offline"|"live"|"grace"|"paused", "state_since_ms": int,
             "last_check_ms": int|None, "last_check_result": str|None,  # "live", "offline",
                                                                        # or an error code
             "last_error": {"message": str, "at_ms": int}|None,
             "breaker": "closed"|"open"|"half_open",   # its platform's breaker
             "session_id": int|None, "title": str, "viewers": int|None,
             "capture": {"connected": bool, "events_per_minute": float,
                         "last_event_age_s": float|None, "reconnects": int}|None,
             "recording": {"state": str,          # RecorderState value, or "idle"
                           "detail": str, "segments": int, "bytes": int,  # closed so far
                           "duration_s": float, "gaps": int, "pid": int|None, ...,
                           "current_segment": {"path": str, "seq": int, "since_ms": int,
                                               "bytes": int|None}|None,
                           "bytes_per_second": float|None}|None,
             "options": {<effective per-broadcaster options>}}

        ``capture`` and ``recording`` are None while the broadcaster is not live.
        """
        ...

    async def list_broadcasters(self) -> list[JsonObject]:
        """``GET /v1/broadcasters``: every ``<broadcaster>`` as in ``status()``."""
        ...

    async def get_broadcaster(self, broadcaster: str) -> JsonObject:
        """``GET /v1/broadcasters/{id}``: one ``<broadcaster>``. Raises ``NotFound``."""
        ...

    async def add_broadcaster(
        self, target: str, name: str | None, overrides: Mapping[str, Any]
    ) -> JsonObject:
        """``POST /v1/broadcasters`` ``{"target", "name"?, "options"?}``; returns the new one.

        Persisted by the daemon (it survives restarts). ``name`` defaults to one derived from
        the target. Raises ``Conflict`` (name or target already watched) or ``Invalid`` (bad
        target or option; ``details={"problems": [...]}``).
        """
        ...

    async def remove_broadcaster(self, broadcaster: str) -> JsonObject:
        """``DELETE /v1/broadcasters/{id}``: stop watching (ends a live session). Persisted.

        Returns ``{"id": str, "removed": true}``. Raises ``NotFound``.
        """
        ...

    async def pause_broadcaster(self, broadcaster: str) -> JsonObject:
        """``PATCH /v1/broadcasters/{id}`` ``{"paused": true}``: stop polling, end any session.

        Persisted. Returns the updated ``<broadcaster>``. Raises ``NotFound``.
        """
        ...

    async def resume_broadcaster(self, broadcaster: str) -> JsonObject:
        """``PATCH /v1/broadcasters/{id}`` ``{"paused": false}``: poll again. Persisted.

        Returns the updated ``<broadcaster>``. Raises ``NotFound``.
        """
        ...

    async def record(self, broadcaster: str, action: Literal["start", "stop"]) -> JsonObject:
        """``POST /v1/broadcasters/{id}/record`` ``{"action": "start"|"stop"}``.

        ``start`` records the current live session now (even if ``record_video`` is off);
        ``stop`` ends the recording of the current session (capture continues). Returns the
        updated ``<broadcaster>``. Raises ``NotFound``, or ``Conflict`` when not live.
        """
        ...

    async def reload(self) -> JsonObject:
        """``POST /v1/reload``: re-read the config; returns once applied or rejected.

        Applied: ``{"applied": true, "added": [str], "removed": [str], "changed": [str]}``.
        Rejected: raises ``ConfigRejected(problems)``; the old config stays in force.
        """
        ...

    async def list_sessions(
        self, broadcaster: str | None, *, active_only: bool, limit: int
    ) -> list[JsonObject]:
        """``GET /v1/sessions?broadcaster=B&active=1&limit=N``: newest first.

        Each::

            {"id": int, "broadcaster": str, "room_id": str, "web_rid": str|None,
             "title": str, "started_at_ms": int, "ended_at_ms": int|None,
             "reason_for_exit": str|None, "total_events": int, "last_seq": int,
             "segments": int, "recording_total_bytes": int}

        ``last_seq`` is the highest event ``seq`` stored for the session (0 when none).
        Raises ``NotFound`` for an unknown broadcaster.
        """
        ...

    async def list_segments(self, session_id: int) -> list[JsonObject]:
        """``GET /v1/sessions/{id}/segments``: in ``seq`` order.

        Each: ``{"session_id": int, "seq": int, "path": str, "state": "writing"|"closed"|...,
        "started_at_ms": int, "ended_at_ms": int|None, "media_duration_s": float|None,
        "bytes": int|None, "quality": str|None, "width", "height", "codec",
        "start_offset_s": float|None}`` (``start_offset_s``: where the segment starts in the
        session's recording, the timeline of the events' ``stream_offset_s``).
        Raises ``NotFound``.
        """
        ...

    async def events(
        self, session_id: int, *, after_seq: int, follow: bool
    ) -> AsyncIterator[JsonObject]:
        """``GET /v1/sessions/{id}/events?after=SEQ&follow=1``: NDJSON, one event per line.

        Awaiting it checks the session and raises ``NotFound`` for an unknown one; it then
        returns an async iterator (typically an async generator) that yields the stored events
        with ``seq > after_seq`` in order; with ``follow`` it then keeps yielding new ones as
        they are stored, and ends when the session ends (at once if it already has). Each item
        is the dataset.md event row (``type``, ``msg_id``, ``room_id``, ``web_rid``,
        ``server_time_ms``, ``received_at_ms``, ``stream_offset_s``, ``user``, and the type's
        fields) plus ``"seq": int`` and ``"session_id": int``.

        The server closes the iterator (``aclose()``) when the client goes away; cancellation
        reaches it at an await.
        """
        ...

    async def export(self, session_id: int, fmt: ExportFormat) -> AsyncIterator[bytes]:
        """``GET /v1/sessions/{id}/export?format=jsonl|csv|manifest``: the dataset, streamed.

        Awaiting it raises ``NotFound`` for an unknown session, then returns an async iterator
        of byte chunks (any size): ``jsonl``/``csv`` give ``room_info`` first, one row per
        event, ``summary`` last (dataset.md); ``manifest`` gives the recordings manifest JSON.
        Memory must not grow with the size of the session.
        """
        ...

    async def subtitles(
        self, session_id: int, fmt: SubtitleFormat, options: SubtitleOptions
    ) -> SubtitleFile:
        """``GET /v1/sessions/{id}/export?format=ass|srt&include=chat,gift&segment=N``.

        The session's chat, gifts and joins as subtitles (``dylived.replay.subtitles``), timed
        from the session's start or, with ``segment``, from that segment's start. Raises
        ``NotFound`` for an unknown session or segment. Built in memory from compact cues.
        """
        ...

    async def playlist(self, session_id: int) -> str:
        """``GET /v1/sessions/{id}/playlist.m3u8``: the HLS playlist of the session's closed
        segments (``dylived.replay.playlist.render``). Raises ``NotFound``."""
        ...

    async def events_window(
        self, session_id: int, from_s: float, to_s: float, include: frozenset[str]
    ) -> JsonObject:
        """``GET /v1/sessions/{id}/events/window?from_s=&to_s=&include=chat,gift,join``: the
        events of those kinds offset in ``[from_s, to_s)``, in offset order, as the replay
        page shows them (``dylived.replay.timeline.window``), ``truncated`` past its limit.
        Raises ``NotFound``."""
        ...

    async def chart(self, session_id: int) -> JsonObject:
        """``GET /v1/sessions/{id}/chart``: the session, its recorded duration and, per minute
        of stream offset, its chat, gifts, joins, all events and most viewers
        (``dylived.replay.timeline.chart``). Raises ``NotFound``."""
        ...

    async def segment_file(self, session_id: int, seq: int) -> Path:
        """The real path of a segment's file for ``GET /v1/segments/{session}-{seq}``.

        Raises ``NotFound`` (no such row, not on disk) or ``Forbidden`` (its path resolves
        outside ``recordings_dir``; logged).
        """
        ...

    async def health(self) -> JsonObject:
        """``GET /v1/health`` (200 when ok, 503 when not, same body).

        ``{"ok": bool, "checks": [{"name": str, "ok": bool, "detail": str}, ...]}`` with at
        least the store writer, the scheduler, free disk and the ffmpeg probe.
        """
        ...

    async def metrics(self) -> MetricsSnapshot:
        """``GET /metrics``: the numbers; ``control/metrics.py`` renders the text."""
        ...

    async def notify_test(self, url: str | None) -> JsonObject:
        """``POST /v1/notify/test`` (body ``{"url": str}`` optional): one test message to that
        URL or to every ``[[notify]]`` target, at once; ``{"results": [{"target", "ok",
        "error"}, ...]}`` (``target`` is the URL's scheme and host only)."""
        ...
