"""The recordings' housekeeping: retention and the MP4 remux of finished sessions.

Owns the daemon task that, over *finished* sessions only:

- applies retention (``recording.retention_max_bytes`` / ``retention_max_days`` of the
  ``[recording]`` section): at start, every ``retention_interval`` seconds, and as soon as a
  disk check (every ``disk_interval``) finds free space under the recorders' resume level
  (``min_free`` + 25 %, so files the policy lets go are gone before recording has to stop),
  then every ``low_pass_interval`` while it stays there. Oldest finished
  sessions go first (``record.disk.plan_retention``); a session still open, queued for a remux
  or being remuxed is never touched. Deleted files are logged and their rows become
  ``deleted`` (segments and MP4s; the rows stay as history and the summary still counts them);
- remuxes a session into faststart MP4s (``record.postprocess``) after it closes, when the
  broadcaster's ``remux_mp4`` is on: one at a time, bounded by ``remux_timeout``, written to a
  ``.part`` renamed when complete (a cancelled remux at shutdown leaves no half file), recorded
  as a ``remuxes`` row per MP4 (``done`` or ``failed`` with the error); the originals are
  deleted (rows ``deleted``) only when ``keep_originals`` is off and every MP4 was written;
  with ``remux_subtitles`` on, each MP4 gets ``<its stem>.ass`` beside it (the chat and gifts
  offset within that MP4, timed from its start: ``store.export.window_subtitles``), so mpv and
  VLC load it by name. A subtitle file that cannot be written is logged; the MP4 stands.

Files are found through the store (read connection) and changed rows go through the writer's
``submit``. Imports nothing of the daemon.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import anyio
import anyio.abc

from dylived.config.load import Config, RecordingConfig
from dylived.errors import DylivedError, RecorderError
from dylived.record.disk import (
    DiskGuard,
    FinishedSession,
    apply_retention,
    plan_retention,
)
from dylived.record.postprocess import remux
from dylived.replay.subtitles import SubtitleOptions
from dylived.store import ops
from dylived.store.db import Database, RecordedFile, SegmentRecord
from dylived.store.export import window_subtitles
from dylived.store.space import FreeSpace, free_bytes
from dylived.watch.session import wall_ms


logger = logging.getLogger(__name__)

Submit = Callable[[ops.WriteOp], Awaitable[None]]

RETENTION_INTERVAL = 3600.0  # seconds between retention passes
DISK_INTERVAL = 2.0  # seconds between free-space checks
LOW_PASS_INTERVAL = 30.0  # seconds between retention passes while free space stays low
REMUX_TIMEOUT = 3600.0  # seconds one session's remux may take


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How much finished recording to keep (None / 0: no limit)."""

    max_total_bytes: int | None = None
    max_age_days: float = 0.0

    @classmethod
    def from_recording(cls, recording: RecordingConfig) -> RetentionPolicy:
        return cls(recording.retention_max_bytes, recording.retention_max_days)

    @property
    def enabled(self) -> bool:
        return self.max_total_bytes is not None or self.max_age_days > 0


@dataclass(frozen=True, slots=True)
class RetentionResult:
    sessions: tuple[int, ...]  # whose files were deleted, oldest first
    bytes_freed: int


def retention_plan(
    files: Sequence[RecordedFile],
    policy: RetentionPolicy,
    *,
    now_ms: int,
    protected: Collection[int] = (),
) -> list[FinishedSession]:
    """Pure: the finished sessions whose files go, oldest first.

    Open sessions and ``protected`` ones (being remuxed) are never chosen; their bytes count
    towards the total all the same.
    """
    by_session: dict[int, list[RecordedFile]] = {}
    for f in files:
        by_session.setdefault(f.session_id, []).append(f)
    sessions = []
    in_progress = set()
    for session_id, entries in by_session.items():
        ended = entries[0].ended_at_ms
        if ended is None or session_id in protected:
            in_progress.add(str(session_id))
        sessions.append(
            FinishedSession(
                key=str(session_id),
                ended_at_ms=ended if ended is not None else now_ms,
                files=tuple(Path(f.path) for f in entries),
                bytes=sum(f.bytes for f in entries),
            )
        )
    return plan_retention(
        sessions,
        now_ms=now_ms,
        max_total_bytes=policy.max_total_bytes,
        max_age_s=policy.max_age_days * 86_400 if policy.max_age_days > 0 else None,
        in_progress=in_progress,
    )


async def run_retention(
    policy: RetentionPolicy,
    database: Path,
    submit: Submit,
    *,
    now_ms: int,
    protected: Collection[int] = (),
) -> RetentionResult:
    """One retention pass: plan, delete the files, mark their rows ``deleted``.

    Cancel safety: cancelled while deleting, the files gone so far may keep rows that are not
    ``deleted`` yet; the next pass finds them again (a missing file is skipped).
    """
    if not policy.enabled:
        return RetentionResult((), 0)
    async with Database.open(database) as db:
        files = await db.recorded_files()
    doomed = retention_plan(files, policy, now_ms=now_ms, protected=protected)
    if not doomed:
        return RetentionResult((), 0)
    freed = await anyio.to_thread.run_sync(apply_retention, doomed)
    for session in doomed:
        logger.warning(
            "retention: deleted %d file(s), %d bytes, of session %s (ended %d ms ago)",
            len(session.files),
            session.bytes,
            session.key,
            now_ms - session.ended_at_ms,
        )
        await submit(ops.MarkDeleted(int(session.key), tuple(str(p) for p in session.files)))
    return RetentionResult(tuple(int(s.key) for s in doomed), freed)


_SEQ_SUFFIX = re.compile(r"_\d+$")


def remux_stem(first_segment: Path) -> str:
    """The MP4 name stem of a session: its first segment's name without ``_<seq>.<ext>``."""
    stem = first_segment.name.rpartition(".")[0] or first_segment.name
    return _SEQ_SUFFIX.sub("", stem) or stem


def remux_groups(segments: Sequence[SegmentRecord]) -> list[list[SegmentRecord]]:
    """Consecutive segments with the same frame size and codec (one MP4 each); pure."""
    groups: list[list[SegmentRecord]] = []
    for segment in segments:
        key = (segment.width, segment.height, segment.codec)
        if not groups or (groups[-1][0].width, groups[-1][0].height, groups[-1][0].codec) != key:
            groups.append([])
        groups[-1].append(segment)
    return groups


async def write_subtitles_beside(
    database: Path,
    session_id: int,
    group: Sequence[SegmentRecord],
    until: float | None,
    mp4: Path,
) -> Path | None:
    """``<mp4 stem>.ass``: the events offset within the MP4 (from its first segment's start
    until ``until``, the next MP4's start), timed from its start; None (logged) when the
    segments have no offsets or the file cannot be written."""
    origin = group[0].start_offset_s
    if origin is None:
        logger.warning("no subtitles beside %s: its segments have no stream offsets", mp4)
        return None
    output = mp4.with_suffix(".ass")
    part = output.with_name(output.name + ".part")
    try:
        async with Database.open(database) as db:
            session = await db.get_session(session_id)
            if session is None:
                return None
            done = await window_subtitles(
                db, session, "ass", SubtitleOptions(), origin, until, group[0]
            )
        await anyio.Path(part).write_text(done.text, encoding="utf-8")
        await anyio.Path(part).replace(output)
    except (DylivedError, OSError) as exc:
        logger.error("subtitles beside %s not written: %s", mp4, exc)
        await anyio.Path(part).unlink(missing_ok=True)
        return None
    logger.info(
        "wrote %s: %d line(s), %d dropped (every lane full)", output, done.lines, done.dropped
    )
    return output


async def remux_finished(
    ffmpeg: str,
    database: Path,
    session_id: int,
    submit: Submit,
    *,
    keep_originals: bool = True,
    subtitles: bool = False,
) -> list[Path]:
    """Remux a finished session's closed segments into MP4s; the MP4s written.

    Each MP4 gets a ``remuxes`` row (``done``; ``failed`` with the error, and then the
    originals are kept whatever ``keep_originals`` says). Cancel safety: cancelled, ffmpeg is
    killed and reaped and its ``.part`` removed; MP4s completed before stay, with their rows.
    """
    async with Database.open(database) as db:
        segments = [s for s in await db.segments(session_id) if s.state == "closed"]
    if not segments:
        return []
    first = Path(segments[0].path)
    stem = remux_stem(first)
    outputs: list[Path] = []
    groups = remux_groups(segments)
    for part, group in enumerate(groups, start=1):
        output = first.parent / (f"{stem}.mp4" if part == 1 else f"{stem}-{part}.mp4")
        duration = round(sum(s.media_duration_s or 0.0 for s in group), 3)
        try:
            await remux(ffmpeg, [Path(s.path) for s in group], output)
        except RecorderError as exc:
            logger.error("remux of session %d failed: %s", session_id, exc)
            failed = ops.RecordRemux(
                session_id, part, str(output), "failed", len(group), wall_ms(), duration
            )
            await submit(replace(failed, error=str(exc)[-2000:]))
            return outputs
        # the MP4 is complete: its row is written even if we are being cancelled right now
        with anyio.move_on_after(5, shield=True):
            size = (await anyio.Path(output).stat()).st_size
            done = ops.RecordRemux(
                session_id, part, str(output), "done", len(group), wall_ms(), duration, size
            )
            await submit(done)
        logger.info("remuxed %d segment(s) of session %d into %s", len(group), session_id, output)
        outputs.append(output)
        if subtitles:
            until = groups[part][0].start_offset_s if part < len(groups) else None
            await write_subtitles_beside(database, session_id, group, until, output)
    if not keep_originals:
        paths = [Path(s.path) for s in segments]
        await anyio.to_thread.run_sync(_unlink_all, paths)
        await submit(ops.MarkDeleted(session_id, tuple(str(p) for p in paths)))
    return outputs


def _unlink_all(paths: Sequence[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


class Housekeeper:
    """The daemon's housekeeping task (see the module docstring).

    Args:
        config: the running config (read at each pass, so a reload applies).
        database: the store's file (read connections); ``submit`` feeds its writer.
        ffmpeg: the ffmpeg to remux with (None: no remux).
        retention_interval, disk_interval, low_pass_interval, remux_timeout: seconds (tests
            shorten them).
        free: the free-space source of the disk check (``statvfs`` by default).
    """

    def __init__(
        self,
        config: Callable[[], Config],
        database: Path,
        submit: Submit,
        ffmpeg: str | None,
        *,
        retention_interval: float = RETENTION_INTERVAL,
        disk_interval: float = DISK_INTERVAL,
        low_pass_interval: float = LOW_PASS_INTERVAL,
        remux_timeout: float = REMUX_TIMEOUT,
        free: FreeSpace = free_bytes,
    ) -> None:
        self._config = config
        self._database = database
        self._submit = submit
        self._ffmpeg = ffmpeg
        self._retention_interval = retention_interval
        self._disk_interval = disk_interval
        self._low_pass_interval = low_pass_interval
        self._remux_timeout = remux_timeout
        self._free = free
        self._send, self._receive = anyio.create_memory_object_stream[tuple[int, str]](math.inf)
        self.busy: set[int] = set()  # sessions queued for or in a remux (retention skips them)
        self.passes = 0
        self.remuxed = 0

    def session_closed(self, session_id: int, key: str) -> None:
        """A session closed (its rows are committed): queue its remux if wanted. Never blocks."""
        config = self._config()
        broadcaster = config.broadcaster(key)
        recording = broadcaster.recording if broadcaster is not None else config.recording
        if not recording.remux_mp4 or self._ffmpeg is None:
            return
        try:
            self._send.send_nowait((session_id, key))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            return  # stopping: the session stays as segments
        self.busy.add(session_id)

    async def run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Run until cancelled. Cancel safety: a remux in progress is killed, leaving no
        ``.part``; nothing else is left half done."""
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._retention_loop)
                tg.start_soon(self._remux_loop)
                task_status.started()
        finally:
            self._send.close()
            self._receive.close()

    async def retention_pass(self) -> RetentionResult:
        policy = RetentionPolicy.from_recording(self._config().recording)
        self.passes += 1
        return await run_retention(
            policy, self._database, self._submit, now_ms=wall_ms(), protected=set(self.busy)
        )

    async def _retention_loop(self) -> None:
        next_pass = 0.0  # at start, then every retention_interval
        was_low = False
        while True:
            config = self._config()
            policy = RetentionPolicy.from_recording(config.recording)
            if not policy.enabled:
                await anyio.sleep(self._disk_interval)
                continue
            guard = DiskGuard(
                config.daemon.recordings_dir, config.recording.min_free, free=self._free
            )
            low = guard.is_low(guard.resume_free)
            if low and not was_low:
                logger.warning("free space is nearly under min_free: running retention now")
                next_pass = 0.0
            was_low = low
            if anyio.current_time() >= next_pass:
                try:
                    await self.retention_pass()
                except (DylivedError, OSError):
                    logger.exception("retention pass failed; trying again later")
                every = self._low_pass_interval if low else self._retention_interval
                next_pass = anyio.current_time() + every
            wait = min(self._disk_interval, next_pass - anyio.current_time())
            await anyio.sleep(max(0.01, wait))

    async def _remux_loop(self) -> None:
        async for session_id, key in self._receive:
            try:
                with anyio.move_on_after(self._remux_timeout) as scope:
                    config = self._config()
                    broadcaster = config.broadcaster(key)
                    recording = broadcaster.recording if broadcaster else config.recording
                    assert self._ffmpeg is not None  # session_closed queues nothing without
                    await remux_finished(
                        self._ffmpeg,
                        self._database,
                        session_id,
                        self._submit,
                        keep_originals=recording.keep_originals,
                        subtitles=recording.remux_subtitles,
                    )
                    self.remuxed += 1
                if scope.cancelled_caught:
                    logger.error(
                        "remux of session %d took over %.0f s; abandoned",
                        session_id,
                        self._remux_timeout,
                    )
            except (DylivedError, OSError):
                logger.exception("remux of session %d failed", session_id)
            finally:
                self.busy.discard(session_id)
