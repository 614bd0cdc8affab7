"""The recorder as a LiveSession component (the seam documented in ``watch/broadcaster.py``).

Owns the glue between one live session and its ``Recorder``: the settings from the
broadcaster's effective config (quality, segment length, container, stall and rw timeouts,
naming template and time zone), fresh statuses through the session context, the store writes
(a ``writing`` ``UpsertSegment`` when ffmpeg opens a segment, replaced by the ``closed`` one
when it is finished, ``DeleteSegment`` when it left no file, ``AddGap`` per hole),
``record start|stop`` overrides, a new ffmpeg run when the status reports another frame size
or codec, and ``health()``. It keeps the session's ``ctx.timeline`` (dylived/watch/session.py) told
where the recording is, for the events' ``stream_offset_s``, and stores each segment's
``start_offset_s`` on that timeline. A session continued after a daemon restart
(``ctx.resumed``) continues its seq and file numbers and its timeline (seeded by the session
context), with a ``daemon_restart`` media gap from its last segment; a later recorder of the
same session (record stop/start) continues its predecessor's. ffmpeg goes through the
broadcaster's proxy when it is an ``http://`` one; with any other proxy the media goes direct
(:func:`ffmpeg_proxy`; check-config and the daemon's start warn). The broadcaster's filters
(``record_windows``, ``title_include`` / ``title_exclude``: dylived/watch/filters.py) are
looked at with each status and every ``OVERRIDE_POLL``: a broadcast they keep out is not recorded
(idle, the reason in ``health()``); a window that closes stops ffmpeg cleanly (the stop ladder
closes the segment), and the time until recording resumes (or the session ends) is a media gap
(cause ``outside_window`` or ``title_filter``). ``record start|stop`` wins over the filters.
Imports nothing of the daemon.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import anyio.abc

from dylived.model import ExitReason, LiveStatus, select_stream
from dylived.net.proxy import ProxyUrl
from dylived.record.argv import argv_for_job
from dylived.record.disk import CHECK_INTERVAL, DiskGuard
from dylived.record.naming import NamingFields, contain, render_relative
from dylived.record.policy import ExitKind, RecorderState
from dylived.record.segments import GapRecord, SegmentAbandoned, SegmentOpened, SegmentRecord
from dylived.record.supervisor import Recorder, RecorderSettings
from dylived.store import ops
from dylived.watch.filters import Decision, FilterOptions, decide
from dylived.watch.session import ComponentHealth, SessionContext, wall_ms


logger = logging.getLogger(__name__)

OVERRIDE_POLL = 0.5  # seconds between looks at ctx.record_override
STATUS_WAIT = 20.0  # seconds to wait for the re-check a hint asks for


@dataclass(frozen=True, slots=True)
class RecordingEnvironment:
    """What every recording of the daemon shares."""

    ffmpeg: str
    recordings_dir: Path
    timezone: ZoneInfo
    submit: Callable[[ops.WriteOp], Awaitable[None]]  # the store writer's submit
    headers: Callable[[], tuple[tuple[str, str], ...]] = tuple  # User-Agent, Referer
    disk_interval: float = CHECK_INTERVAL  # seconds between free-space checks, at most


def ffmpeg_proxy(options: Any) -> ProxyUrl | None:
    """The proxy ffmpeg uses for a broadcaster (``options.proxy``): None unless ``http://``."""
    proxy: ProxyUrl | None = getattr(options, "proxy", None)
    return proxy if proxy is not None and proxy.ffmpeg_problem() is None else None


def session_files(
    env: RecordingEnvironment,
    template: str,
    key: str,
    status: LiveStatus,
    started_at_ms: int,
    container: str = "ts",
) -> tuple[Path, str]:
    """(directory, file stem) of a session's segments from the naming template.

    The template is rendered with seq 0; the stem is the file name before ``_0000.<ext>`` (the
    segment muxer appends ``_%04d``). A template whose name does not end in ``_{seq:04d}.<ext>``
    keeps its rendered name (without extension) as the stem.
    """
    start = datetime.fromtimestamp(started_at_ms / 1000, tz=UTC)
    fields = NamingFields(
        broadcaster=key,
        start=start,
        seq=0,
        room_id=status.room_id or "",
        title=status.title,
        nickname=status.nickname,
        ext=container,
    )
    relative = render_relative(template, fields, env.timezone)
    name = relative.name
    stem = name.rpartition(".")[0] or name
    stem = stem.removesuffix("_0000")
    path = contain(env.recordings_dir, relative.parent / PurePosixPath(f"{stem}.x"))
    return path.parent, stem


class RecorderComponent:
    """Runs a Recorder for one live session while recording is wanted."""

    name = "recorder"

    def __init__(self, env: RecordingEnvironment) -> None:
        self._env = env
        self.recorder: Recorder | None = None
        self._detail = ""
        self._idle = True
        self._not_recorded = ""  # why the filters keep the broadcast out ("" when they do not)
        self._filtered_from: tuple[int, str] | None = None  # (wall ms, cause) of a filter's gap

    # -- the seam

    async def run(self, ctx: SessionContext, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Record while wanted until the session ends. Cancel safety: cancelled, the recorder
        stops ffmpeg with its shielded ladder and stores the last segment before re-raising."""
        task_status.started()
        try:
            await self._record(ctx)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(OVERRIDE_POLL * 4):
                await self._end_filtered_gap(ctx)

    async def _record(self, ctx: SessionContext) -> None:
        while True:
            if not self._wanted(ctx):
                self._detail = "not recording (record_video off or record stop)"
                self._idle = True
                await self._wait_wanted(ctx, True)
                continue
            self._idle = False
            recorder = self._make_recorder(ctx)
            self.recorder = recorder
            self._detail = ""
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._follow_status, ctx, recorder)
                tg.start_soon(self._follow_override, ctx, recorder)
                reason = await recorder.run()
                tg.cancel_scope.cancel()
            if self._not_recorded and recorder.records:  # a filter stopped it: a gap from here
                cause = "outside_window" if self._not_recorded.startswith("outside") else ""
                self._filtered_from = (recorder.records[-1].ended_at_ms, cause or "title_filter")
            if reason == "recorder_failed":
                self._detail = "ffmpeg could not be kept running"
                ctx.end_session(ExitReason.RECORDER_FAILED)
                await anyio.sleep_forever()
            if reason == "stream_ended":
                self._detail = "the stream ended"
                ctx.stream_may_have_ended()
                # the watch re-checks; live again (a flap) means record on
                version = ctx.status_version
                status = await ctx.wait_status_after(version)
                if not status.live:
                    await anyio.sleep_forever()

    def health(self) -> ComponentHealth:
        recorder = self.recorder
        if recorder is None or self._idle:
            if self._not_recorded:  # a filter keeps it out: the reason as it is now
                why = self._not_recorded
                return ComponentHealth("idle", f"not recorded: {why}", {"not_recorded": why})
            return ComponentHealth("idle", self._detail)
        stats = recorder.statistics()
        details: dict[str, object] = {
            k: (v.value if isinstance(v, RecorderState) else v) for k, v in asdict(stats).items()
        }
        details["pid"] = recorder.pid
        current = recorder.current_segment
        details["current_segment"] = (
            None
            if current is None
            else {"path": str(current.path), "seq": current.seq, "since_ms": current.started_at_ms}
        )
        detail = "free space under min_free: recording paused" if stats.disk_low else self._detail
        return ComponentHealth(stats.state.value, detail, details)

    # -- helpers

    def _wanted(self, ctx: SessionContext) -> bool:
        if ctx.record_override is not None:
            self._not_recorded = ""
            return ctx.record_override
        if not ctx.options.record_video:
            self._not_recorded = ""
            return False
        decision = self.decision(ctx)
        if decision.reason != self._not_recorded:
            logger.info("recording filter of %s: %s", ctx.key, decision.reason or "record")
        self._not_recorded = decision.reason
        return decision.record

    def decision(self, ctx: SessionContext) -> Decision:
        """The broadcaster's filters now, on the latest status's title."""
        options = FilterOptions.of(ctx.options.recording)
        return decide(datetime.now(UTC), self._env.timezone, options, ctx.latest_status.title)

    async def _end_filtered_gap(self, ctx: SessionContext) -> None:
        """The session ends while a filter keeps it out: the gap up to now."""
        if self._filtered_from is not None:
            from_ms, cause = self._filtered_from
            self._filtered_from = None
            await self._env.submit(ops.AddGap(ctx.session_id, "media", from_ms, wall_ms(), cause))

    async def _wait_wanted(self, ctx: SessionContext, wanted: bool) -> None:
        while self._wanted(ctx) != wanted:  # noqa: ASYNC110 (a plain attribute, no event)
            await anyio.sleep(OVERRIDE_POLL)

    async def _follow_override(self, ctx: SessionContext, recorder: Recorder) -> None:
        await self._wait_wanted(ctx, False)
        logger.info("recording of %s stopped: %s", ctx.key, self._not_recorded or "record stop")
        recorder.stop()

    async def _follow_status(self, ctx: SessionContext, recorder: Recorder) -> None:
        """A status with another codec for our quality: a new ffmpeg run.

        A frame size change needs no restart: the segment is split where the SPS changes
        (record/mpegts.py), without a gap.
        """
        version = ctx.status_version
        while True:
            status = await ctx.wait_status_after(version)
            version = ctx.status_version
            source = recorder.source
            if not status.live or source is None or not status.streams:
                continue
            try:
                variant = select_stream(status, source.quality).variant
            except Exception:  # a status without streams says nothing about the size
                continue
            now, before = variant.codec, source.codec
            if now is not None and before is not None and now != before:
                logger.info("stream of %s changed %s → %s: new segment", ctx.key, before, now)
                recorder.restart(ExitKind.STREAM_CHANGE)

    def _make_recorder(self, ctx: SessionContext) -> Recorder:
        env = self._env
        previous = self.recorder  # record stop/start or a flap: continue its numbering
        rec: Any = ctx.options.recording
        directory, stem = session_files(
            env,
            rec.filename_template,
            ctx.key,
            ctx.latest_status,
            ctx.started_at_ms,
            rec.container,
        )
        settings = RecorderSettings(
            ffmpeg=env.ffmpeg,
            directory=directory,
            file_stem=stem,
            quality=rec.video_quality,
            segment_seconds=rec.segment_minutes * 60,
            container=rec.container,
            stall_timeout=rec.stall_timeout,
            rw_timeout=rec.rw_timeout,
            headers=env.headers(),
            http_proxy=ffmpeg_proxy(ctx.options),
        )
        session_id = ctx.session_id

        async def fresh_status() -> LiveStatus | None:
            version = ctx.status_version
            ctx.stream_may_have_ended()  # asks the watch for a re-check now
            with anyio.move_on_after(STATUS_WAIT):
                return await ctx.wait_status_after(version)
            return None

        timeline = ctx.timeline

        async def sink(item: SegmentRecord | GapRecord | SegmentOpened | SegmentAbandoned) -> None:
            # the timeline first (synchronously): events arriving meanwhile see the new segment
            offset: float | None = None
            if isinstance(item, SegmentOpened):
                offset = timeline.segment_opened(item.seq, item.started_at_ms)
            elif isinstance(item, SegmentRecord):
                offset = timeline.segment_closed(item.duration_s, item.ended_at_ms)
            elif isinstance(item, SegmentAbandoned):
                timeline.recording_paused()
            await env.submit(to_op(session_id, item, offset))
            fix = offsets_op(session_id, item, offset)
            if fix is not None:
                await env.submit(fix)

        disk = DiskGuard(env.recordings_dir, rec.min_free, env.disk_interval)
        resumed = ctx.resumed if previous is None else None  # a daemon restart: numbers go on
        hole_from_ms, hole_cause = resumed.media_end_ms if resumed else None, None
        if self._filtered_from is not None:  # recording again after a filter kept it out
            (hole_from_ms, hole_cause), self._filtered_from = self._filtered_from, None
        first_seq = previous.next_seq if previous else resumed.next_seq if resumed else 1
        first_file = previous.next_file if previous else resumed.next_file if resumed else 1
        return Recorder(
            settings,
            fresh_status,
            sink,
            disk=disk,
            build_argv=argv_for_job,
            initial_status=ctx.latest_status,
            first_seq=first_seq,
            first_file=first_file,
            announce=sink,
            hole_from_ms=hole_from_ms,
            hole_cause=hole_cause,
            observer=timeline,
        )


def to_op(
    session_id: int,
    item: SegmentRecord | GapRecord | SegmentOpened | SegmentAbandoned,
    start_offset_s: float | None = None,
) -> ops.WriteOp:
    """The store write for a gap, an opened, abandoned or finished segment (``start_offset_s``:
    where the segment starts in the session's recording)."""
    if isinstance(item, GapRecord):
        return ops.AddGap(session_id, "media", item.from_ms, item.to_ms, item.cause)
    if isinstance(item, SegmentOpened):
        return ops.UpsertSegment(
            session_id=session_id,
            seq=item.seq,
            path=str(item.path),
            state="writing",
            started_at_ms=item.started_at_ms,
            quality=item.quality,
            start_offset_s=start_offset_s,
        )
    if isinstance(item, SegmentAbandoned):
        return ops.DeleteSegment(session_id, item.seq)
    return ops.UpsertSegment(
        session_id=session_id,
        seq=item.seq,
        path=str(item.path),
        state="closed",
        started_at_ms=item.started_at_ms,
        ended_at_ms=item.ended_at_ms,
        media_duration_s=item.duration_s,
        bytes=item.bytes,
        quality=item.quality,
        width=item.width,
        height=item.height,
        codec=item.codec,
        start_offset_s=start_offset_s,
    )


def offsets_op(
    session_id: int,
    item: SegmentRecord | GapRecord | SegmentOpened | SegmentAbandoned,
    start_offset_s: float | None,
) -> ops.SetEventOffsets | None:
    """The events' offsets from a finished segment's or a gap's stored wall times.

    Capture stamped them as they arrived, from what the timeline knew then (before ffmpeg's
    progress anchored the segment's wall start, or during a stall not yet noticed); the rows
    now say exactly which moments the segment covers, and a gap that none does.
    """
    if isinstance(item, SegmentRecord):
        return ops.SetEventOffsets(
            session_id, item.started_at_ms, item.ended_at_ms, item.started_at_ms, start_offset_s
        )
    if isinstance(item, GapRecord) and item.to_ms - item.from_ms > 1:
        return ops.SetEventOffsets(session_id, item.from_ms + 1, item.to_ms - 1, item.from_ms, None)
    return None


def recorder_factory(env: RecordingEnvironment) -> Callable[[SessionContext], RecorderComponent]:
    """The ComponentFactory the daemon gives the watchlist."""
    return lambda ctx: RecorderComponent(env)
