"""The ffmpeg supervisor: one ffmpeg at a time per live session, kept running until the end.

Owns: the recorder states (STARTING, RUNNING, BACKOFF, STOPPING, EXITED, FATAL) and their pure
transition table; the pure restart policy and exit classification; spawning ffmpeg
(``anyio.open_process``, own session, scrubbed environment, stdin/stdout/stderr pipes); draining
stderr into a bounded ring buffer; reading ``-progress`` for the stall watchdog; the stop ladder
(``q`` on stdin → wait → SIGINT → wait → SIGKILL, always reaped, shielded, bounded); asking the
status source before deciding what an exit means; the disk guard during a recording (free
space sampled every ``DiskGuard.interval`` seconds at most and extrapolated by
``record.disk.SpaceWatch``: ffmpeg gets ``q`` while it can still finish its segment above
``min_free``; an ffmpeg that meets ENOSPC all the same is counted as a stop for space; no new run
starts until the space is back to ``DiskGuard.resume_after`` what the stopped run needed; the
time without recording is a ``disk`` gap,
also when the session ends before the space returns); asking once whether this ffmpeg keeps a
frame-size change inside FLV (``record.sizechange``: if not, the HLS URL is preferred).

Every restart asks the status source again (fresh stream URLs); FLV turns to HLS after
``hls_after_flv_failures`` failed starts, and after ``step_down_after_failures`` failed starts
in a row at one quality the recorder steps down to the next lower quality the status offers
(``model.lower_quality``; logged, ``quality_steps_down``), its failed starts counted afresh, so
a broken top quality costs a few restarts rather than the recording.

Segment files and rows are ``record.segments``' business; the argv is ``record.argv``'s; the
settings, statistics and per-run state are ``record.run_state``'s; the watch/session seam
adapter is ``record.component``.
"""

from __future__ import annotations

import collections
import logging
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import anyio
import anyio.abc

from dylived.app.notify import child_environment
from dylived.model import LiveStatus, lower_quality
from dylived.record.argv import (
    argv_for_job,
    ffmpeg_environment,
    output_pattern,
    shown_url,
    stream_url_problem,
)
from dylived.record.disk import DiskGuard, SpaceWatch
from dylived.record.policy import (
    ArgvBuilder,
    ExitKind,
    FfmpegJob,
    RecorderEvent,
    RecorderState,
    Source,
    choose_source,
    classify_exit,
    next_state,
)
from dylived.record.process import (
    lines_of,
    stop_process,
    with_parent_death_signal,
)
from dylived.record.run_state import (
    RecorderSettings,
    RecorderStatistics,
    RunState,
    parse_out_time_us,
)
from dylived.record.segments import (
    GapRecord,
    ListEntry,
    RunContext,
    RunObserver,
    RunSegments,
    SegmentAbandoned,
    SegmentListTail,
    SegmentOpened,
    SegmentRecord,
    is_disk_full_line,
    is_refused_line,
    parse_blocked_protocol,
    parse_opening_line,
)
from dylived.record.sizechange import follows_size_change


logger = logging.getLogger(__name__)

RecordSink = Callable[[SegmentRecord | GapRecord], Awaitable[None]]
AnnounceSink = Callable[[SegmentOpened | SegmentAbandoned], Awaitable[None]]
StatusSource = Callable[[], Awaitable[LiveStatus | None]]


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


# ---------------------------------------------------------------- the recorder


class Recorder:
    """Records one live session with successive ffmpeg runs until the session ends.

    Args:
        settings: see RecorderSettings.
        fetch_status: a fresh status of the broadcaster (None: could not tell); asked before
            every (re)start and after every exit that was not ours.
        sink: receives each finished segment and each gap, in order.
        announce: receives each segment ffmpeg opens (before its SegmentRecord reaches
            ``sink``) and each announced one that left no file (None: not told).
        disk: the disk guard (None: no check).
        build_argv: the argv builder (``record.argv`` in the daemon).
        first_seq, first_file: where numbering starts (a later recorder of the same session
            continues its predecessor's numbers, so rows and files never collide).
        hole_from_ms: the media already recorded ended then (a session continued after a
            daemon restart): the first segment is preceded by a ``daemon_restart`` gap
            (``hole_cause``: another cause, e.g. ``outside_window`` after a filter's pause).
        observer: told when a segment's wall start is learnt and when a run ends (None: not).
    """

    def __init__(
        self,
        settings: RecorderSettings,
        fetch_status: StatusSource,
        sink: RecordSink,
        *,
        disk: DiskGuard | None = None,
        build_argv: ArgvBuilder = argv_for_job,
        initial_status: LiveStatus | None = None,
        first_seq: int = 1,
        first_file: int = 1,
        announce: AnnounceSink | None = None,
        hole_from_ms: int | None = None,
        hole_cause: str | None = None,
        observer: RunObserver | None = None,
    ) -> None:
        self.settings = settings
        self._observer = observer
        self._fetch_status = fetch_status
        self._sink = sink
        self._announce = announce
        self._disk = disk
        self._build_argv = build_argv
        self._status = initial_status
        self.state = RecorderState.EXITED
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=settings.stderr_lines)
        self.records: list[SegmentRecord] = []
        self.gaps: list[GapRecord] = []
        self.next_seq = first_seq  # seq of the next segment record
        self.next_file = first_file  # ffmpeg's number of the next segment file
        self.runs = 0
        self.disk_low = False
        self.source: Source | None = None
        self.last_exit: ExitKind | None = None
        self._space_needed = 0  # bytes above min_free the last stop for space asked for
        self.stop_reason: str | None = None  # recording_stop_reason once finished
        self._run: RunState | None = None
        self._process: anyio.abc.Process | None = None
        self._stopping = False
        self._stop_event = anyio.Event()
        self._hole_from_ms = hole_from_ms
        self._hole_cause = hole_cause or ("restart" if hole_from_ms is None else "daemon_restart")
        self._flv_failures = 0
        self._quality = settings.quality  # lowered one step after repeated failed starts
        self.quality_steps_down = 0
        self._list_counter = 0
        self.rejected_urls = 0  # stream URLs (or URLs a stream named) that were not http(s)
        self._prefer_hls: bool | None = None  # None: not asked yet (record.sizechange)

    # -- control

    def _to(self, event: RecorderEvent) -> None:
        self.state = next_state(self.state, event)

    def stop(self) -> None:
        """Stop recording for good (the run loop returns after a clean stop)."""
        self._stopping = True
        self._stop_event.set()
        self._request_run_stop(ExitKind.STOPPED)

    def restart(self, cause: ExitKind = ExitKind.STREAM_CHANGE) -> None:
        """End the current segment and start a new ffmpeg run (e.g. the resolution changed)."""
        self._request_run_stop(cause)

    def _request_run_stop(self, reason: ExitKind) -> None:
        run = self._run
        if run is not None and run.stop_reason is None:
            run.stop_reason = reason
            run.stop_requested.set()

    @property
    def current_segment(self) -> SegmentOpened | None:
        """The segment ffmpeg is writing now (announced, not finished yet), if any."""
        return self._run.announced if self._run is not None else None

    @property
    def pid(self) -> int | None:
        """The process id of the running ffmpeg, if one is running."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def statistics(self) -> RecorderStatistics:
        return RecorderStatistics(
            state=self.state,
            runs=self.runs,
            segments=len(self.records),
            bytes=sum(r.bytes for r in self.records),
            duration_s=round(sum(r.duration_s for r in self.records), 3),
            gaps=len(self.gaps),
            gap_seconds=round(sum(g.seconds for g in self.gaps), 3),
            disk_low=self.disk_low,
            quality=self.source.quality if self.source else None,
            source_kind=self.source.kind if self.source else None,
            last_exit=self.last_exit.value if self.last_exit else None,
            stop_reason=self.stop_reason,
            rejected_urls=self.rejected_urls,
        )

    # -- the loop

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> str:
        """Record until stopped, the stream ends, or restarts are exhausted.

        Returns the recording stop reason: ``stopped``, ``stream_ended`` or ``recorder_failed``.
        Cancel safety: cancelled, it stops ffmpeg with the shielded stop ladder, finalises the
        open segment and hands its record to the sink (bounded) before re-raising; a time
        without recording for space is handed to the sink as a ``disk`` gap (bounded).
        """
        task_status.started()
        try:
            return await self._record()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(self.settings.stop_kill_wait):
                await self._end_disk_hole()

    async def _end_disk_hole(self) -> None:
        """Recording ends while stopped for space: the gap up to now (no segment will end it)."""
        if self._hole_from_ms is not None and self._hole_cause == ExitKind.DISK.value:
            to_ms = max(self._hole_from_ms, wall_ms())
            gap = GapRecord(self._hole_from_ms, to_ms, ExitKind.DISK.value)
            self._hole_from_ms = None
            self.gaps.append(gap)
            await self._sink(gap)

    async def _record(self) -> str:
        failed_starts = 0
        status = self._status
        while not self._stopping:
            if status is None:
                status = await self._fresh_status()
            if status is None or not status.live:
                self.stop_reason = "stream_ended"
                break
            await self._wait_for_disk()
            if self._stop_event.is_set():
                break
            if self._prefer_hls is None:
                self._prefer_hls = not await follows_size_change(self.settings.ffmpeg)
            try:
                source = choose_source(
                    status,
                    self._quality,
                    self._flv_failures,
                    self.settings.hls_after_flv_failures,
                    prefer_hls=self._prefer_hls,
                )
            except ValueError:
                logger.warning("no recordable stream in the status; asking again")
                source = None
            if source is not None and not self._acceptable(source):
                source = None
            if source is not None:
                self._log_source(source)
                self._to(
                    RecorderEvent.RETRY
                    if self.state is RecorderState.BACKOFF
                    else RecorderEvent.START
                )
                kind, progressed = await self._run_ffmpeg(source)
                self.last_exit = kind
                self._to(RecorderEvent.PROCESS_EXIT)
                if kind is ExitKind.STOPPED:
                    break
                failed = self.settings.restart.is_failed_start(progressed)
                failed_starts = failed_starts + 1 if failed else 0
                if source.kind == "flv":
                    self._flv_failures = self._flv_failures + 1 if failed else 0
                if failed and failed_starts >= self.settings.step_down_after_failures:
                    failed_starts = self._step_down(status, source, failed_starts)
                if kind is ExitKind.ENDED:
                    logger.info("ffmpeg exited 0: the stream ended or dropped; asking the status")
            else:
                failed_starts += 1
            delay = self.settings.restart.delay(failed_starts)
            if delay is None:
                self._to(RecorderEvent.GIVE_UP)
                self.stop_reason = "recorder_failed"
                logger.error(
                    "ffmpeg failed %d times in a row; giving up. Last stderr:\n%s",
                    failed_starts,
                    "\n".join(self.stderr_tail),
                )
                return self.stop_reason
            with anyio.move_on_after(delay):
                await self._stop_event.wait()
            status = None
        if self.state is RecorderState.BACKOFF:
            self._to(RecorderEvent.FINISH)
        self.stop_reason = self.stop_reason or "stopped"
        return self.stop_reason

    def _step_down(self, status: LiveStatus, source: Source, failed_starts: int) -> int:
        """After repeated failed starts at ``source``'s quality, the next lower one the status
        offers (its failed starts and FLV failures counted afresh); the count to go on with."""
        lower = lower_quality(status, source.quality)
        if lower is None:
            return failed_starts  # nothing lower: the restart policy decides
        logger.warning(
            "ffmpeg failed %d times in a row at quality %s: stepping down to %s",
            failed_starts,
            source.quality,
            lower,
        )
        self._quality, self._flv_failures = lower, 0
        self.quality_steps_down += 1
        return 0

    def _acceptable(self, source: Source) -> bool:
        """Whether ffmpeg may be given the source's URL (http or https only); logged, counted
        and treated as a failed start when not (a refused FLV URL counts towards HLS)."""
        problem = stream_url_problem(source.url)
        if problem is None:
            return True
        self.rejected_urls += 1
        if source.kind == "flv":
            self._flv_failures += 1
        logger.error(
            "refusing the %s stream URL %s from the status: %s",
            source.kind,
            shown_url(source.url),
            problem,
        )
        return False

    def _log_source(self, source: Source) -> None:
        if self._prefer_hls and source.kind == "flv" and self.source is None:
            logger.warning(
                "quality %s has no HLS URL: recording FLV with an ffmpeg that loses a "
                "frame-size change inside FLV (frames after one will not decode)",
                source.quality,
            )
        if source.fell_back:
            logger.info(
                "quality %s is not offered; recording the nearest, %s",
                self.settings.quality,
                source.quality,
            )
        self.source = source

    async def _fresh_status(self) -> LiveStatus | None:
        with anyio.move_on_after(self.settings.status_timeout):
            return await self._fetch_status()
        logger.warning("no status within %.0f s", self.settings.status_timeout)
        return None

    async def _wait_for_disk(self) -> None:
        """Before a run: wait while free space is under ``min_free`` (after a stop for space,
        under what the stopped run needed: ``DiskGuard.resume_after``, so recording does not
        flap at the threshold)."""
        disk = self._disk
        if disk is None:
            return
        threshold = (
            disk.resume_after(self._space_needed)
            if self.last_exit is ExitKind.DISK
            else disk.min_free
        )
        if not disk.is_low(threshold):
            return
        self.disk_low = True
        if self._hole_from_ms is None:  # also before a first segment: video was wanted
            self._hole_from_ms, self._hole_cause = wall_ms(), ExitKind.DISK.value
        logger.error(
            "free space on %s is %d bytes (min_free %d): not recording until %d bytes are free",
            disk.path,
            disk.available(),
            disk.min_free,
            threshold,
        )
        while disk.is_low(threshold) and not self._stopping:
            with anyio.move_on_after(disk.interval):
                await self._stop_event.wait()
        self.disk_low = False
        logger.info("free space on %s is back; recording resumes", disk.path)

    def _job(self, source: Source) -> FfmpegJob:
        s = self.settings
        self._list_counter += 1
        s.directory.mkdir(parents=True, exist_ok=True)
        return FfmpegJob(
            url=source.url,
            kind=source.kind,
            output_pattern=output_pattern(s.directory, s.file_stem, s.container),
            segment_list=s.directory / f".{s.file_stem}.{self._list_counter}.csv",
            start_number=self.next_file,
            segment_seconds=s.segment_seconds,
            rw_timeout_s=s.rw_timeout,
            headers=s.headers,
            http_proxy=s.http_proxy,
        )

    async def _run_ffmpeg(self, source: Source) -> tuple[ExitKind, float]:
        """One ffmpeg run, start to reaped; (how it ended, seconds of media progress)."""
        job = self._job(source)
        argv = self._build_argv(self.settings.ffmpeg, job)
        if self.settings.die_with_parent:
            argv = with_parent_death_signal(argv)
        tail = SegmentListTail(job.segment_list)
        segments = RunSegments(RunContext(self.settings.directory, source.quality), self.next_seq)
        run = RunState(segments, time.monotonic())
        self._run = run
        self.runs += 1
        process = await anyio.open_process(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=ffmpeg_environment(child_environment(), job.http_proxy),
        )
        self._process = process
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._drain_stderr, process, run, tail)
                tg.start_soon(self._read_progress, process, run)
                tg.start_soon(self._watch, process, run, tail)
                await process.wait()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                if process.returncode is None:
                    if run.stop_reason is None:  # cancelled: the session is over
                        run.stop_reason = ExitKind.STOPPED
                    self._to(RecorderEvent.STOP)
                    await stop_process(process, self.settings.ladder)
                with anyio.move_on_after(self.settings.stop_kill_wait):
                    await process.aclose()
                code = process.returncode if process.returncode is not None else -9
                await self._finish_run(run, tail, code)
            self._run = None
            self._process = None
        progressed = run.progressed_s
        final_code = process.returncode if process.returncode is not None else -9
        return classify_exit(final_code, run.stop_reason, run.refused), progressed

    async def _finish_run(self, run: RunState, tail: SegmentListTail, returncode: int) -> None:
        """Close the books of a reaped run: last CSV lines, the open segment, the gap after."""
        now = wall_ms()
        quiet_for = time.monotonic() - run.last_advance
        if run.stop_reason is None and quiet_for >= 0.9 * self.settings.rw_timeout:
            run.stop_reason = ExitKind.STALL  # ffmpeg's own rw_timeout ended a stalled input
        with anyio.move_on_after(self.settings.stop_kill_wait):
            async with run.books:
                for entry in tail.read_new():
                    await self._closed(run, entry)
                media_s = run.out_time_us / 1e6
                records = await anyio.to_thread.run_sync(run.segments.on_exit, now, media_s)
                for record in records:
                    await self._segment(record)
                self._settle_announced(run, records)
        abandoned = run.announced
        if abandoned is not None and self._announce is not None:
            run.announced = None
            with anyio.move_on_after(self.settings.stop_kill_wait):
                await self._announce(SegmentAbandoned(abandoned.seq, abandoned.path))
        self.next_file = max(self.next_file, run.segments.last_file_number + 1)
        tail.path.unlink(missing_ok=True)
        if self._observer is not None:
            self._observer.recording_paused()
        kind = classify_exit(returncode, run.stop_reason, run.refused)
        if kind is not ExitKind.STOPPED:
            logger.warning(
                "ffmpeg run ended (%s, exit %s) after %.1f s",
                kind.value,
                returncode,
                time.monotonic() - run.spawned,
            )
            if kind is ExitKind.CRASHED:
                logger.warning("ffmpeg stderr tail:\n%s", "\n".join(list(self.stderr_tail)[-20:]))
        if self._hole_from_ms is None and self.records:  # before the first segment: no hole
            self._hole_from_ms, self._hole_cause = self.records[-1].ended_at_ms, kind.value

    async def _closed(self, run: RunState, entry: ListEntry) -> None:
        """Records of a segment the list says is closed (call with ``run.books`` held)."""
        records = await anyio.to_thread.run_sync(run.segments.on_closed, entry, wall_ms())
        for record in records:
            await self._segment(record)
        self._settle_announced(run, records)

    @staticmethod
    def _settle_announced(run: RunState, records: list[SegmentRecord]) -> None:
        announced = run.announced
        if announced is not None and any(r.seq >= announced.seq for r in records):
            run.announced = None  # its record replaced the writing row

    async def _opened(self, run: RunState, tail: SegmentListTail, name: str) -> None:
        """ffmpeg opened a segment: the previous one's records first, then the announcement.

        ffmpeg appends the closed segment to the list before it opens the next one
        (segment.c: segment_end, then segment_start), so the list is read first.
        """
        if self._announce is None:
            return
        async with run.books:
            for entry in tail.read_new():
                await self._closed(run, entry)
            opened = SegmentOpened(
                seq=run.segments.next_seq,
                path=self.settings.directory / Path(name).name,
                started_at_ms=run.segments.open_started_at_ms(wall_ms()),
                quality=run.segments.context.quality,
            )
            run.announced = opened
            await self._announce(opened)

    async def _segment(self, record: SegmentRecord) -> None:
        if self._hole_from_ms is not None:
            # A restart whose first frames overlap the last ones (a CDN's GOP burst) still
            # marks a discontinuity: a gap of zero seconds.
            gap = GapRecord(
                self._hole_from_ms,
                max(self._hole_from_ms, record.started_at_ms),
                self._hole_cause,
            )
            self.gaps.append(gap)
            await self._sink(gap)
        self._hole_from_ms = None
        self.records.append(record)
        self.next_seq = max(self.next_seq, record.seq + 1)
        await self._sink(record)

    # -- the tasks of one run

    async def _drain_stderr(
        self, process: anyio.abc.Process, run: RunState, tail: SegmentListTail
    ) -> None:
        assert process.stderr is not None
        async for line in lines_of(process.stderr):
            self.stderr_tail.append(line)
            run.segments.on_stderr_line(line)
            opened = parse_opening_line(line)
            if opened is not None and run.segments.context.is_ours(opened):
                await self._opened(run, tail, opened)
            if is_refused_line(line):
                run.refused = True
            blocked = parse_blocked_protocol(line)
            if blocked is not None:
                self.rejected_urls += 1
                logger.error(
                    "the stream named a %r URL; ffmpeg may open only http(s): %s", blocked, line
                )
            if is_disk_full_line(line) and run.stop_reason is None:
                logger.error("ffmpeg ran out of disk space (%s): stopping it", line)
                run.stop_reason = ExitKind.DISK  # something else filled the disk faster
                run.stop_requested.set()
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("ffmpeg: %s", line)

    async def _read_progress(self, process: anyio.abc.Process, run: RunState) -> None:
        assert process.stdout is not None
        async for line in lines_of(process.stdout):
            out_time = parse_out_time_us(line)
            if out_time is None or out_time <= run.out_time_us:
                continue
            first = run.advance(out_time, time.monotonic(), wall_ms())
            if first and self.state is RecorderState.STARTING:
                self._to(RecorderEvent.PROGRESS)
            await self._refine_announced(run)

    async def _refine_announced(self, run: RunState) -> None:
        """The open segment's wall start, learnt better from ffmpeg's progress (the first
        report, or a later one proving the media began earlier): told to the observer, and its
        ``writing`` row rewritten, so a daemon killed now leaves that start to the recovery."""
        announced = run.announced
        if announced is None:
            return
        start = run.segments.open_started_at_ms(wall_ms())
        if start >= announced.started_at_ms:
            return
        if self._observer is not None:
            self._observer.segment_started(announced.seq, start)
        if self._announce is not None:
            async with run.books:
                if run.announced is announced:  # not closed meanwhile
                    run.announced = replace(announced, started_at_ms=start)
                    await self._announce(run.announced)

    async def _watch(
        self, process: anyio.abc.Process, run: RunState, tail: SegmentListTail
    ) -> None:
        """The run's watch: the loop below, and the free-space watch in a task of its own (so
        closing a segment, which reads the whole file, never delays a disk check)."""
        async with anyio.create_task_group() as tg:
            if self._disk is not None:
                tg.start_soon(self._watch_space, run, SpaceWatch(self._disk))
            await self._watch_run(process, run, tail)
            tg.cancel_scope.cancel()

    async def _watch_space(self, run: RunState, space: SpaceWatch) -> None:
        """Check free space when the watch says; at a stop, set the run's reason and wake it."""
        while run.stop_reason is None:
            check = space.check(time.monotonic())
            if check.stop:
                logger.warning(
                    "%d bytes free on %s, filling at %.0f B/s: stopping the recording "
                    "before free space falls under min_free (%d)",
                    check.free,
                    space.guard.path,
                    check.rate,
                    space.guard.min_free,
                )
                self._space_needed = space.needed_at_stop
                run.stop_reason = ExitKind.DISK
                run.stop_requested.set()
                return
            await anyio.sleep(check.next_in)

    async def _watch_run(
        self, process: anyio.abc.Process, run: RunState, tail: SegmentListTail
    ) -> None:
        """Every 0.25 s: closed segments; stall and stop checks (stop ladder when due)."""
        while True:
            with anyio.move_on_after(0.25):
                await run.stop_requested.wait()
            async with run.books:
                for entry in tail.read_new():
                    await self._closed(run, entry)
            now = time.monotonic()
            if run.stop_reason is None and now - run.last_advance > self.settings.stall_timeout:
                logger.warning(
                    "no media progress for %.0f s: restarting ffmpeg with a fresh URL",
                    now - run.last_advance,
                )
                run.stop_reason = ExitKind.STALL
            if run.stop_reason is not None:
                self._to(RecorderEvent.STOP)
                # A stalled ffmpeg is blocked in a read and ignores 'q' and SIGINT until its
                # rw_timeout (ecosystem.md §7.3): give 'q' a second, then SIGKILL (mpegts
                # written packet by packet stays playable up to the kill).
                stalled = run.stop_reason is ExitKind.STALL
                await stop_process(process, self.settings.ladder, quick=stalled)
                return


__all__ = ["Recorder", "RecorderSettings", "RecorderStatistics", "wall_ms"]
