"""EventCapture: the live event stream of one session, from the push WebSocket into the store.

A LiveSession component (the seam in ``watch/broadcaster.py``) named ``"capture"``. It owns the
connection policy and the bookkeeping; the bytes are ``net/ws.py``'s, the protocol is
the platform's (its ``EventSource``) over ``wire.session``, and the SQL is the store writer's.

**Connection** (``EventSource``, ``platforms/base.py``): the platform says what each
connection opens (URL, handshake headers and cookie; ``host_index`` starts at 0 and moves to
the next host after a failed attempt, staying on a host that works) and makes the sans-I/O
session that decodes its frames; the platform's own rules (``platforms/<name>/push.py``) live
there. Then the platform's heartbeat frame at once and then every 10 s (or the server's
``heartbeat_duration``), a frame's ack sent once its rows are handed over (below), server
pings answered by websockets.
Each event becomes its dataset.md row with the server time, the receive wall-clock ms and
``stream_offset_s`` = where that moment falls in the session's recording
(``ctx.timeline.offset_at``: null in a gap or while nothing is recorded).

**Into the store**: the reader hands each frame's rows (one ``InsertEvents``) and operations
(``AddGap``, ``UpdateSession``, ``InsertUnknown``) to the writer's one bounded stream, in
order (``handover.StoreHandOver``), *before* it sends the frame's ack and reads the
next frame; the writer alone batches them into transactions. When the writer holds its
``max_pending_rows`` (a slow disk, the database locked by another process) the reader waits
(``store_waits``/``store_wait_s`` in health): the heartbeat task goes on, so the connection
stays open, but no frame is read or acked meanwhile — the server's frames wait in the TCP
buffers (flow control), nothing read is dropped; a server that gives up on the slow reader
closes the connection, which is a disconnect gap like any other. A frame is acked only once
its rows are in the writer's stream, and at stop (cancellation) what the reader holds is
handed over shielded and bounded (``FINAL_FLUSH_TIMEOUT``), with the events the last session
still holds (``EventSession.finish()``: TikTok's open gift streaks, marked interrupted); the
writer's own stop commits its stream: nothing acknowledged to the server is lost on SIGTERM.

``exclude_events`` types are dropped, and every event outside the broadcaster's
``record_windows`` unless ``capture_outside_windows`` (watch/filters.py, counted as
``outside_windows``); unknown/undecodable messages are kept raw (the whole
frame, so ``dylived decode`` can read it), the first ``unknown_per_method`` per method and
``unknown_total`` per session; more than ``undecodable_warn_share`` undecodable among the last
``undecodable_window`` messages logs a WARNING (at most once a minute).

**Reconnects**: 2, 4, 8, 16, 30 s, jittered (``wire.backoff``), back to 2 s only after a
connection stayed open ``healthy_after_s`` (60 s). The msg_id window is shared by every
connection of the session. Every disconnect of an open connection counts in
``reconnect_count`` and becomes an ``events`` gap (from the disconnect to the next open, or to
the session end) with its cause: ``connection_lost`` (no close frame), ``closed_<code>``,
``server_close_frame`` (a ``close`` payload frame), ``idle_timeout``; a session continued after
a daemon restart (``ctx.resumed``) starts with a ``daemon_restart`` gap from its last stored
event, and that restart counts as one reconnect.

**Signing** (a platform whose connection needs a signing server): a ``RateLimited`` from
``connection()`` (HTTP 429, a used-up daily budget) is waited out as asked, with the usual
backoff as the least, and never counts towards giving up; ``EventsUnavailable`` (no signing
server configured, a plan that cannot) turns capture ``off`` with the reason and makes no
further attempt; another ``RiskControl`` counts like a refused handshake. Events a session
holds before any frame (a signing server's first fetch result, ``opening_frame``) are taken as
soon as the connection opened.

**Ends**: a ControlMessage with status 3 ends the session with ``stream_ended``
(``ctx.end_session``) at once. After ``max_failed_attempts`` consecutive attempts without an
event (handshake refused — HTTP 200 = blocked, or 4xx — or connections that closed before
delivering a frame) capture gives up with ``disconnect_unrecoverable``: health says so, a gap
covers the rest of the session, and **the session goes on** (the recording is unaffected;
without a recorder the status checks end it). Network failures (refused, timeouts) are retried
for as long as the session lasts. ``connection_opened`` and ``reconnect_count`` are written
with ``UpdateSession`` as they change, before the session's ``CloseSession`` computes the
summary. Imports nothing of the daemon.
"""

from __future__ import annotations

import collections
import logging
import random
import urllib.parse
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import anyio
import anyio.abc

from dylived.capture.handover import EventSink, StoreHandOver
from dylived.capture.policy import (
    CaptureSettings,
    EventRate,
    ReconnectPolicy,
    UndecodableMonitor,
    UnknownSampler,
)
from dylived.errors import (
    DylivedError,
    EventsUnavailable,
    RateLimited,
    RemoteProtocolError,
    RiskControl,
    TransportError,
    UpstreamError,
)
from dylived.model import ExitReason
from dylived.net.ws import (
    HandshakeRejected,
    PushClosed,
    PushConnection,
    PushConnectOptions,
    open_push_connection,
)
from dylived.platforms.base import EventSession, EventSource
from dylived.store.ops import (
    AddGap,
    EventRecord,
    InsertUnknown,
    UpdateSession,
)
from dylived.watch.filters import FilterOptions, decide
from dylived.watch.session import ComponentFactory, ComponentHealth, SessionContext, wall_ms
from dylived.wire.frames import UndecodableMessage, UnknownMessage
from dylived.wire.session import DedupWindow


logger = logging.getLogger(__name__)

FINAL_FLUSH_TIMEOUT = 3.0  # seconds the last rows/gaps may take to reach the writer
STREAM_ENDED = "stream_ended"


# ----------------------------------------------------------------------------- the component


class StreamEnded(Exception):
    """A ControlMessage said the broadcast ended (internal to this module)."""


class EventCapture:
    """The ``capture`` component of one LiveSession (see the module docstring)."""

    name = "capture"

    def __init__(
        self,
        settings: CaptureSettings,
        sink: EventSink,
        source: EventSource,
        *,
        exclude_events: Sequence[str] = (),
        rng: random.Random | None = None,
    ) -> None:
        if not source.hosts:
            raise ValueError("no push hosts configured")
        self.settings = settings
        self.source = source
        self.handover = StoreHandOver(sink)
        self.exclude_events = frozenset(exclude_events)
        self._rng = rng or random.Random()
        self.policy = ReconnectPolicy(settings, self._rng)
        self.dedup = DedupWindow()
        self.state = "starting"
        self.detail = ""
        self.on_gave_up: Callable[[str], None] | None = None  # told the detail (alerts)
        self.host_index = 0
        self.connected = False
        self.connection_opened = False
        self.connections = 0
        self.reconnect_count = 0
        self.total_events = 0
        self.excluded = 0
        self.outside_windows = 0  # events dropped outside record_windows (watch/filters.py)
        self.bad_frames = 0
        self.gaps = 0
        self.event_counts: collections.Counter[str] = collections.Counter()
        self.last_event_at: float | None = None
        self.rate = EventRate()
        self.unknown = UnknownSampler(settings.unknown_per_method, settings.unknown_total)
        self.undecodable = UndecodableMonitor(
            settings.undecodable_window, settings.undecodable_warn_share
        )
        self.wire_totals: collections.Counter[str] = collections.Counter()
        self._ctx: SessionContext | None = None
        self._gap_from_ms: int | None = None
        self._session: EventSession | None = None
        self._last_session: EventSession | None = None  # its finish() runs at the end
        self._gap_cause = ""

    # ------------------------------------------------------------------ the seam

    async def run(self, ctx: SessionContext, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Capture until cancelled (the session ended). Cancel safety: rows received, the open
        gap and the counters reach the writer in a shielded, bounded final flush."""
        self._ctx = ctx
        resumed = ctx.resumed
        if resumed is not None:  # a daemon restart: the downtime is a gap, counters go on
            self._gap_from_ms = resumed.last_event_ms or resumed.ended_at_ms
            self._gap_cause = "daemon_restart"
            self.connection_opened = resumed.connection_opened
            self.reconnect_count = resumed.reconnect_count + int(resumed.connection_opened)
            self.handover.queue_op(
                UpdateSession(ctx.session_id, reconnect_count=self.reconnect_count)
            )
        try:
            task_status.started()
            await self.handover.deliver()
            await self._connect_loop(ctx)
            await anyio.sleep_forever()  # gave up or the stream ended: the session decides
        finally:
            self.connected = False
            with anyio.move_on_after(FINAL_FLUSH_TIMEOUT, shield=True):
                if self._last_session is not None:  # what the session still holds (streaks)
                    self._take_events(ctx, self._last_session.finish(), b"", wall_ms())
                self._close_gap(wall_ms(), final=True)
                await self.handover.deliver()

    def health(self) -> ComponentHealth:
        now = anyio.current_time()
        age = None if self.last_event_at is None else round(now - self.last_event_at, 3)
        host = self.source.hosts[self.host_index % len(self.source.hosts)]
        wire = self.wire_statistics()
        return ComponentHealth(
            self.state,
            self.detail,
            {
                "connected": self.connected,
                "events_per_minute": self.rate.per_minute(now),
                "last_event_age_s": age,
                "reconnects": self.reconnect_count,
                "total_events": self.total_events,
                "event_counts": dict(self.event_counts),
                "connections": self.connections,
                "gaps": self.gaps,
                "host": urllib.parse.urlsplit(host).netloc,
                "excluded": self.excluded,
                "outside_windows": self.outside_windows,
                "unknown_seen": self.unknown.seen,
                "undecodable_share": round(self.undecodable.current_share, 4),
                "duplicates_skipped": wire["duplicates_skipped"],
                "heartbeats_sent": wire["heartbeats_sent"],
                "acks_sent": wire["acks_sent"],
                "bad_frames": self.bad_frames,
                "store_waits": self.handover.waits,
                "store_wait_s": round(self.handover.waited_s, 3),
                **self.source.statistics(),  # e.g. a signing server's calls and budget left
            },
        )

    def wire_statistics(self) -> collections.Counter[str]:
        """The wire.session counters summed over every connection, the current one included."""
        totals = collections.Counter(self.wire_totals)
        if self._session is not None:
            totals.update(_stats(self._session))
        return totals

    # ------------------------------------------------------------------ connection loop

    async def _connect_loop(self, ctx: SessionContext) -> None:
        retry_after = 0.0
        while True:
            delay = self.policy.delay(retry_after)
            if delay > 0:
                self.state = "reconnecting"
                await anyio.sleep(delay)
            retry_after = 0.0
            self.state = "connecting" if not self.connection_opened else "reconnecting"
            failed_at = wall_ms()
            try:
                await self._one_connection(ctx)
            except StreamEnded:
                self.state, self.detail = "ended", "the broadcaster ended the stream"
                ctx.end_session(ExitReason.STREAM_ENDED)
                return
            except EventsUnavailable as exc:  # e.g. no signing server: nothing to retry
                self.state, self.detail = "off", str(exc)
                if self._gap_from_ms is None:
                    self._gap_from_ms, self._gap_cause = failed_at, "events_off"
                logger.info("no events for %s: %s", ctx.key, exc, extra={"broadcaster": ctx.key})
                return
            except RateLimited as exc:  # asked to wait (a 429): wait as asked, never give up
                self.policy.failed()
                retry_after = exc.retry_after or 0.0
                self._attempt_failed(failed_at, "rate_limited", exc)
            except RiskControl as exc:  # the push upgrade or a signing server refused
                self.policy.refused()
                retry_after = exc.retry_after or 0.0
                cause = "handshake_rejected" if isinstance(exc, HandshakeRejected) else "refused"
                self._attempt_failed(failed_at, cause, exc)
            except (TransportError, UpstreamError) as exc:
                self.policy.failed()
                self._attempt_failed(failed_at, "connect_failed", exc)
            if self.policy.should_give_up():
                self.state = "gave_up"
                self.detail = (
                    f"{ExitReason.DISCONNECT_UNRECOVERABLE.value}: "
                    f"{self.policy.failed_without_events} attempts without events ({self.detail})"
                )
                self._gap_cause = ExitReason.DISCONNECT_UNRECOVERABLE.value
                logger.warning(
                    "event capture of %s gave up (%s); the session goes on without events",
                    ctx.key,
                    self.detail,
                    extra={"broadcaster": ctx.key},
                )
                if self.on_gave_up is not None:
                    self.on_gave_up(self.detail)
                return

    def _attempt_failed(self, at_ms: int, cause: str, exc: DylivedError) -> None:
        self.detail = f"{cause}: {exc}"
        self.host_index += 1
        if self._gap_from_ms is None:
            self._gap_from_ms, self._gap_cause = at_ms, cause
        logger.info("push connection attempt failed (%s)", self.detail)

    async def _options(self, ctx: SessionContext) -> PushConnectOptions:
        connection = await self.source.connection(
            ctx.latest_status,
            host_index=self.host_index,
            number=self.connections + 1,
            rng=self._rng,
        )
        self.connections += 1
        return PushConnectOptions(
            url=connection.url,
            user_agent=connection.user_agent,
            headers=list(connection.headers),
            origin=connection.origin,
            open_timeout=self.settings.open_timeout_s,
            proxy=self.settings.proxy,
        )

    async def _one_connection(self, ctx: SessionContext) -> None:
        """One connection from open to close; returns after a disconnect (gap opened)."""
        options = await self._options(ctx)
        async with open_push_connection(options) as conn:
            opened = anyio.current_time()
            self.connected, self.state, self.detail = True, "running", ""
            self._close_gap(wall_ms())
            if not self.connection_opened:
                self.connection_opened = True
                self.handover.queue_op(UpdateSession(ctx.session_id, connection_opened=True))
            await self.handover.deliver()
            session = self._session = self._last_session = self.source.new_session(self.dedup)
            try:
                # events the session holds before any frame (a signing server's first result)
                opening = session.events_received()
                ended = self._take_events(ctx, opening, session.opening_frame, wall_ms())
                await self.handover.deliver()
                cause = STREAM_ENDED if ended else await self._serve_connection(ctx, conn, session)
            finally:
                self.connected = False
                self.wire_totals.update(_stats(session))
                self._session = None
        if cause == STREAM_ENDED:
            raise StreamEnded
        lasted = anyio.current_time() - opened
        self.policy.connection_ended(lasted, got_frames=session.statistics().frames > 0)
        self.reconnect_count += 1
        self._gap_from_ms, self._gap_cause = wall_ms(), cause
        self.detail = f"disconnected: {cause}"
        self.handover.queue_op(UpdateSession(ctx.session_id, reconnect_count=self.reconnect_count))
        await self.handover.deliver()
        logger.info("push connection of %s ended (%s) after %.1f s", ctx.key, cause, lasted)

    async def _serve_connection(
        self, ctx: SessionContext, conn: PushConnection, session: EventSession
    ) -> str:
        try:
            await self._heartbeat_now(conn, session)  # the browser's first frame
        except PushClosed as exc:  # closing already: still read what the server sent first
            return await self._read(ctx, conn, session, closing=exc)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._heartbeats, conn, session)
            cause = await self._read(ctx, conn, session)
            tg.cancel_scope.cancel()
        return cause

    async def _heartbeat_now(self, conn: PushConnection, session: EventSession) -> None:
        now = anyio.current_time()
        if session.heartbeat_due(now):
            session.heartbeat(now)
            for frame in session.data_to_send():
                await conn.send(frame)

    async def _heartbeats(self, conn: PushConnection, session: EventSession) -> None:
        try:
            while True:
                due = session.next_heartbeat_at
                now = anyio.current_time()
                await anyio.sleep(max(0.05, (due or now) - now))
                await self._heartbeat_now(conn, session)
        except PushClosed:
            return  # the reader sees the close too

    async def _read(
        self,
        ctx: SessionContext,
        conn: PushConnection,
        session: EventSession,
        *,
        closing: PushClosed | None = None,
    ) -> str:
        """Read until the connection ends; the cause (STREAM_ENDED after a control status 3).

        When sending fails because the connection is closing, the messages already received
        are still read to the end: the server's last frame before its close is typically the
        control message that ends the stream.
        """
        idle = self.settings.idle_timeout_s  # ``closing``: sending failed; read, send nothing
        while True:
            with anyio.move_on_after(idle) as scope:
                try:
                    data = await conn.receive()
                except PushClosed as exc:
                    return _closed_cause(closing or exc)
            if scope.cancelled_caught:
                return "idle_timeout"
            received_ms = wall_ms()
            try:
                session.receive_data(data)
            except RemoteProtocolError as exc:
                self.bad_frames += 1
                if self.bad_frames <= 10 or self.bad_frames % 1000 == 0:
                    logger.warning("bad push frame #%d skipped: %s", self.bad_frames, exc)
                continue
            outgoing = session.data_to_send()  # the ack: sent once the rows are handed over
            ended = self._take_events(ctx, session.events_received(), data, received_ms)
            await self.handover.deliver()  # back-pressure: waits while the writer is full
            if closing is None:
                try:
                    for frame in outgoing:
                        await conn.send(frame)
                except PushClosed as exc:
                    closing = exc
            if ended:
                return STREAM_ENDED
            if session.close_requested:
                return "server_close_frame"

    # ------------------------------------------------------------------ events → rows

    def _take_events(
        self, ctx: SessionContext, events: list[object], frame: bytes, received_ms: int
    ) -> bool:
        """Queue the rows of one frame's events; True when the stream ended."""
        if not events:
            return False
        status = ctx.latest_status
        offset = ctx.timeline.offset_at(received_ms)
        capturing = self._capturing(ctx)
        ended = False
        rows: list[EventRecord] = []
        kept_methods: set[str] = set()
        for event in events:
            if isinstance(event, _RAW_MESSAGES):
                self.undecodable.add(isinstance(event, UndecodableMessage))
                if event.method not in kept_methods and self.unknown.take(event.method):
                    kept_methods.add(event.method)
                    self.handover.queue_op(
                        InsertUnknown(
                            ctx.session_id,
                            event.method,
                            received_ms,
                            frame,
                            str(event.msg_id) if event.msg_id else None,
                        )
                    )
                continue
            self.undecodable.add(False)
            if self.source.ends_stream(event):
                ended = True
            if not capturing:
                self.outside_windows += 1
                continue
            row_type = self.source.row_type(event)
            if row_type in self.exclude_events:
                self.excluded += 1
                continue
            row = self.source.event_row(
                event, status, received_at_ms=received_ms, stream_offset_s=offset
            )
            rows.append(EventRecord.from_row(row, received_ms))
            self.event_counts[row_type] += 1
        now = anyio.current_time()
        self.policy.events_arrived()
        if rows:
            self.total_events += len(rows)
            self.last_event_at = now
            self.rate.add(now, len(rows))
            self.handover.queue_rows(ctx.session_id, rows)
        if self.undecodable.should_warn(now):
            logger.warning(
                "%.1f%% of the last %d push messages could not be decoded: the protocol may "
                "have changed (raw frames kept in unknown_messages; see `dylived decode`)",
                100 * self.undecodable.current_share,
                self.settings.undecodable_window,
            )
        return ended

    def _capturing(self, ctx: SessionContext) -> bool:
        """False outside the broadcaster's record_windows unless capture_outside_windows."""
        recording = getattr(ctx.options, "recording", None)
        if not getattr(recording, "record_windows", ()):
            return True
        now = datetime.now(UTC)
        options = FilterOptions.of(recording)
        return decide(now, self.settings.timezone, options, ctx.latest_status.title).capture

    # ------------------------------------------------------------------ gaps

    def _close_gap(self, to_ms: int, *, final: bool = False) -> None:
        ctx = self._ctx
        if self._gap_from_ms is None or ctx is None or not ctx.session_id:
            return
        cause = self._gap_cause if not final else self._gap_cause or "session_ended"
        self.handover.queue_op(AddGap(ctx.session_id, "events", self._gap_from_ms, to_ms, cause))
        self.gaps += 1
        self._gap_from_ms = None


_RAW_MESSAGES = (UnknownMessage, UndecodableMessage)  # a tuple: no union built per event


def _closed_cause(exc: PushClosed) -> str:
    return f"closed_{exc.code}" if exc.clean else "connection_lost"


def _stats(session: EventSession) -> dict[str, int]:
    stats = session.statistics()
    return {name: getattr(stats, name) for name in stats.__slots__}


def capture_factory(
    settings: CaptureSettings,
    sink: EventSink,
    source: EventSource,
    *,
    rng: random.Random | None = None,
) -> ComponentFactory:
    """The session factory: an EventCapture unless the broadcaster has capture_events off."""

    def make(ctx: SessionContext) -> EventCapture | None:
        options = ctx.options
        if not getattr(options, "capture_events", True):
            return None
        return EventCapture(
            settings,
            sink,
            source,
            exclude_events=tuple(getattr(options, "exclude_events", ())),
            rng=rng,
        )

    return make


__all__ = [
    "CaptureSettings",
    "EventCapture",
    "EventRate",
    "EventSink",
    "ReconnectPolicy",
    "UndecodableMonitor",
    "UnknownSampler",
    "capture_factory",
]
