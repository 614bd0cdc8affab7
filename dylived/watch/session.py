"""The LiveSession of one broadcast and the seam its components plug into.

See ``dylived/watch/broadcaster.py``'s docstring for the contract (``SessionComponent``: ``name``,
``run(ctx, *, task_status)``, ``health()``; ``SessionContext``: the latest status, the
hints and the end requests). This module owns running that contract: opening and closing the
store session (closing shielded and bounded, whatever ends it), starting every component in the
session's task group, keeping one component's crash from ending the others, and the first
component, ``StatusSampler``. Imports nothing of the daemon above it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import anyio.abc

from dylived.model import ExitReason, LiveStatus
from dylived.platforms import registry
from dylived.store import ops
from dylived.store.writer import Writer


logger = logging.getLogger(__name__)

SESSION_CLOSE_TIMEOUT = 5.0  # seconds a session may take to stop its components and close


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class SessionOwner(Protocol):
    """Who a session reports to (the Watch)."""

    def hint_stream_may_have_ended(self) -> None: ...

    def request_session_end(self, reason: ExitReason) -> None: ...


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """What one session component reports for ``status``; ``details`` is JSON-ready."""

    state: str  # e.g. "starting", "running", "reconnecting", "failed", "done"
    detail: str = ""
    details: Mapping[str, object] = field(default_factory=dict)


class SessionComponent(Protocol):
    name: str

    async def run(
        self, ctx: SessionContext, *, task_status: anyio.abc.TaskStatus[None]
    ) -> None: ...

    def health(self) -> ComponentHealth: ...


ComponentFactory = Callable[["SessionContext"], "SessionComponent | None"]


class SessionStore(Protocol):
    """The writes a watch needs from the store (the daemon adapts the writer)."""

    async def open_session(
        self, key: str, options: Any, status: LiveStatus, started_at_ms: int
    ) -> int: ...

    def take_stopped_session(self, key: str) -> ops.StoppedSession | None:
        """The broadcaster's newest session if the last daemon stop or crash ended it (once:
        only the first watch of ``key`` after start gets it)."""
        ...

    async def resume_session(
        self, key: str, room_id: str, not_before_ms: int
    ) -> ops.ResumedSession | None:
        """Reopen that session if it is of ``room_id`` and its last activity is at or after
        ``not_before_ms``; where it left off, or None."""
        ...

    async def close_session(self, session_id: int, reason: ExitReason, ended_at_ms: int) -> None:
        """Must be safe to call from a shielded scope; bounded by the caller."""
        ...

    async def record_status(
        self, key: str, session_id: int | None, status: LiveStatus | None, result: str, at_ms: int
    ) -> None: ...


class RecordingTimeline:
    """The session's recording as one timeline: where a wall-clock moment falls in it.

    A segment's offset is the media duration of the session's earlier segments; a moment inside
    the segment being written is that offset plus the wall time since the segment started. The
    recorder tells it, in order: ``resume`` (the media duration of segments recorded before it,
    e.g. by the daemon before a restart), ``segment_opened`` (ffmpeg opened a file; its wall
    start may be refined by ``segment_started`` once ffmpeg's progress anchors it),
    ``segment_closed`` (each finished segment; ffmpeg goes on into the next one from its end)
    and ``recording_paused`` (ffmpeg exited: a gap, or the end, until the next
    ``segment_opened``). Event capture asks ``offset_at`` for each event: None in a gap or
    while nothing is recorded. Plain synchronous state on the event loop; no I/O.
    """

    def __init__(self) -> None:
        self.recorded_s = 0.0  # media seconds of the session's finished segments
        self._open_seq: int | None = None  # the segment being written
        self._anchor: tuple[int, float] | None = None  # (wall ms, offset s) of one moment
        self._floor_ms = 0  # moments before this are not covered (the gap before this run)

    def resume(self, recorded_s: float) -> None:
        """Continue after ``recorded_s`` media seconds already recorded in this session."""
        self.recorded_s = max(self.recorded_s, round(recorded_s, 3))

    def segment_opened(self, seq: int, started_at_ms: int) -> float:
        """ffmpeg opened segment ``seq`` at wall ``started_at_ms``; returns its offset."""
        if self._anchor is None:  # after a gap: nothing before this moment is covered
            self._floor_ms = started_at_ms
        self._open_seq = seq
        self._anchor = (started_at_ms, self.recorded_s)
        return self.recorded_s

    def segment_started(self, seq: int, started_at_ms: int) -> None:
        """A better wall start of the segment being written (from ffmpeg's progress)."""
        if seq == self._open_seq and self._anchor is not None:
            self._floor_ms = min(self._floor_ms, started_at_ms)
            self._anchor = (started_at_ms, self._anchor[1])

    def segment_closed(self, duration_s: float, ended_at_ms: int) -> float:
        """A finished segment (in seq order) of ``duration_s``; returns its offset."""
        start = self.recorded_s
        self.recorded_s = round(start + max(0.0, duration_s), 3)
        if self._anchor is not None:  # the next segment of this ffmpeg run starts here
            self._open_seq = None
            self._anchor = (ended_at_ms, self.recorded_s)
        return start

    def recording_paused(self) -> None:
        """ffmpeg exited: moments from now on are in a gap until a segment opens."""
        self._open_seq = None
        self._anchor = None

    def offset_at(self, at_ms: int) -> float | None:
        """Seconds into the session's recording at wall ``at_ms``; None when not covered."""
        anchor = self._anchor
        if anchor is None or at_ms < self._floor_ms:
            return None
        wall_ms_, offset_s = anchor
        return round(max(0.0, offset_s + (at_ms - wall_ms_) / 1000), 3)


class SessionContext:
    """What a session component may read and say; one per LiveSession."""

    def __init__(
        self,
        key: str,
        options: Any,
        status: LiveStatus,
        store: SessionStore,
        started_at_ms: int,
        owner: SessionOwner,
        resumed: ops.ResumedSession | None = None,
    ) -> None:
        self.key = key
        # Set when this session continues one a daemon restart interrupted: components pick
        # up its numbering and record the downtime as gaps (cause ``daemon_restart``).
        self.resumed = resumed
        self.options = options  # the broadcaster's effective config (config.BroadcasterConfig)
        self.store = store
        self.started_at_ms = started_at_ms
        # Where the recording is (the recorder updates it; event capture reads stream_offset_s);
        # a session continued after a daemon restart goes on after the media it recorded then
        self.timeline = RecordingTimeline()
        if resumed is not None:
            self.timeline.resume(resumed.recorded_s)
        # set once the store session is open, before components start
        self.session_id = resumed.session_id if resumed is not None else 0
        self.latest_status = status
        self.status_version = 0
        self.record_override: bool | None = None  # set by `dylivectl record start|stop`
        self._status_changed = anyio.Event()
        self._owner = owner

    def publish_status(self, status: LiveStatus) -> None:
        self.latest_status = status
        self.status_version += 1
        self._status_changed.set()
        self._status_changed = anyio.Event()

    async def wait_status_after(self, version: int) -> LiveStatus:
        """The next status newer than ``version``. Cancel safe."""
        while self.status_version <= version:
            await self._status_changed.wait()
        return self.latest_status

    def stream_may_have_ended(self) -> None:
        self._owner.hint_stream_may_have_ended()

    def end_session(self, reason: ExitReason) -> None:
        self._owner.request_session_end(reason)


class StatusSampler:
    """Stores every status sample of the session (status_checks); the first component."""

    name = "status"

    def __init__(self) -> None:
        self._samples = 0

    async def run(self, ctx: SessionContext, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        version = ctx.status_version
        await ctx.store.record_status(ctx.key, ctx.session_id, ctx.latest_status, "live", wall_ms())
        self._samples += 1
        task_status.started()
        while True:
            status = await ctx.wait_status_after(version)
            version = ctx.status_version
            result = "live" if status.live else "offline"
            await ctx.store.record_status(ctx.key, ctx.session_id, status, result, wall_ms())
            self._samples += 1

    def health(self) -> ComponentHealth:
        return ComponentHealth("running", details={"samples": self._samples})


class LiveSession:
    """The task group of one broadcast: store session open → components → store session closed."""

    def __init__(self, ctx: SessionContext, factories: Sequence[ComponentFactory]) -> None:
        self.ctx = ctx
        self._factories = factories
        self.components: list[SessionComponent] = []
        self.failed: dict[str, str] = {}
        self.end_reason: ExitReason | None = None
        self.finished = anyio.Event()
        self._end = anyio.Event()

    def end(self, reason: ExitReason) -> None:
        if self.end_reason is None:
            self.end_reason = reason
        self._end.set()

    async def run(self, *, task_status: anyio.abc.TaskStatus[int]) -> None:
        """Open the store session (a resumed one is open already), start every component,
        wait for the end, close.

        Cancel safety: cancelled (watch removed, daemon stopping), it closes the store session
        with ``daemon_stopped`` in a shielded, bounded scope.
        """
        ctx = self.ctx
        try:
            if ctx.resumed is None:
                ctx.session_id = await ctx.store.open_session(
                    ctx.key, ctx.options, ctx.latest_status, ctx.started_at_ms
                )
            async with anyio.create_task_group() as tg:
                for factory in self._factories:
                    component = factory(ctx)
                    if component is not None:
                        self.components.append(component)
                        await tg.start(self._run_component, component)
                task_status.started(ctx.session_id)
                await self._end.wait()
                tg.cancel_scope.cancel()
        finally:
            reason = self.end_reason or ExitReason.DAEMON_STOPPED
            if ctx.session_id:
                with anyio.move_on_after(SESSION_CLOSE_TIMEOUT, shield=True):
                    await ctx.store.close_session(ctx.session_id, reason, wall_ms())
            self.finished.set()

    async def _run_component(
        self, component: SessionComponent, *, task_status: anyio.abc.TaskStatus[None]
    ) -> None:
        started = False

        class _Started:
            def started(self, value: None = None) -> None:
                nonlocal started
                started = True
                task_status.started()

        try:
            await component.run(self.ctx, task_status=_Started())
        except Exception as exc:
            logger.exception(
                "session component %s failed; the session goes on without it",
                component.name,
                extra={"broadcaster": self.ctx.key},
            )
            self.failed[component.name] = f"{type(exc).__name__}: {exc}"
            if not started:
                task_status.started()

    def health(self) -> dict[str, ComponentHealth]:
        out = {c.name: c.health() for c in self.components}
        for name, why in self.failed.items():
            out[name] = ComponentHealth("failed", why)
        return out


class WriterSessionStore:
    """Adapts the store writer to the writes a watch makes (watch.SessionStore).

    ``on_closed(session_id, broadcaster_key)``, if given, is called (sync, must not block)
    once a session's close is committed: the daemon's housekeeping queues its remux there.
    ``observer`` (``alerts.sources.SessionAlerts``), if given, hears ``opened(key, session_id,
    status, options)`` and ``closed(key, session_id, reason, summary)`` (sync, must not block).
    """

    def __init__(
        self,
        writer: Writer,
        on_closed: Callable[[int, str], None] | None = None,
        observer: Any = None,
    ) -> None:
        self._writer = writer
        self._on_closed = on_closed
        self._observer = observer
        self._keys: dict[int, str] = {}

    async def open_session(
        self, key: str, options: Any, status: LiveStatus, started_at_ms: int
    ) -> int:
        b = options  # config.BroadcasterConfig
        codec = registry.get(getattr(b, "platform", None) or registry.DEFAULT).codec
        op = ops.OpenSession(
            broadcaster_key=key,
            started_at_ms=started_at_ms,
            platform=b.platform,
            room_id=status.room_id,
            web_rid=status.handle,
            handle=status.handle,
            title=status.title,
            nickname=status.nickname,
            capture_events=b.capture_events,
            record_video_requested=b.record_video,
            video_quality=b.video_quality,
            room_info=codec.room_info_row(
                status, raw_url=b.target_text, received_at_ms=started_at_ms
            ),
            target=b.target_text,
        )
        session_id = await self._writer.request(op)
        self._keys[session_id] = key
        if self._observer is not None:
            self._observer.opened(key, session_id, status, options)
        return session_id

    def take_stopped_session(self, key: str) -> ops.StoppedSession | None:
        return self._writer.stopped_sessions.pop(key, None)

    async def resume_session(
        self, key: str, room_id: str, not_before_ms: int
    ) -> ops.ResumedSession | None:
        resumed = await self._writer.resume(ops.ResumeSession(key, room_id, not_before_ms))
        if resumed is not None:
            self._keys[resumed.session_id] = key
        return resumed

    async def close_session(self, session_id: int, reason: ExitReason, ended_at_ms: int) -> None:
        summary = await self._writer.close_session(
            ops.CloseSession(session_id, ended_at_ms, reason.value)
        )
        key = self._keys.pop(session_id, None)
        if self._observer is not None and key is not None:
            self._observer.closed(key, session_id, reason.value, summary)
        if self._on_closed is not None and key is not None:
            self._on_closed(session_id, key)

    async def record_status(
        self, key: str, session_id: int | None, status: LiveStatus | None, result: str, at_ms: int
    ) -> None:
        live = status is not None and status.live
        await self._writer.submit(
            ops.RecordStatusCheck(
                broadcaster_key=key,
                checked_at_ms=at_ms,
                live=live,
                room_id=None if status is None else status.room_id,
                viewers=None if status is None else status.viewers,
                error=None if result in ("live", "offline") else result,
            )
        )
