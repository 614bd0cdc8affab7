"""Start-up recovery of the recordings a crashed daemon left behind.

Owns: finalising the ``.part`` files left open (renamed, playable up to the kill; empty ones
removed: ``record.segments.recover_parts``) and closing the store rows of those segments. The
recorder writes a ``writing`` row when ffmpeg opens a segment; the writer turns the rows still
``writing`` at start into ``orphaned`` (``store/writer.py``); here each orphaned row becomes
``closed`` with the real media duration (from the file's PTS, ``record.mpegts``), bytes, frame
size and codec of the recovered file, or is removed when no file is left, and the summary of
its (already closed) session is recomputed so the partial segment counts. Runs once, before the
watchlist starts; imports nothing of the daemon.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio

from dylived.record.mpegts import scan_file, sps_size
from dylived.record.segments import PART_SUFFIX, recover_parts
from dylived.store import ops
from dylived.store.db import Database, SegmentRecord


logger = logging.getLogger(__name__)

Submit = Callable[[ops.WriteOp], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What the start-up recovery did."""

    files: int  # .part files finalised
    rows_closed: int  # orphaned rows closed with their recovered file
    rows_removed: int  # orphaned rows without a file, removed


def recovered_file(row: SegmentRecord, finals: Mapping[Path, Path]) -> Path | None:
    """The file an orphaned row's segment ended up as, if any is left."""
    path = Path(row.path)
    final = finals.get(path)
    if final is not None:
        return final
    # renamed already (ffmpeg closed it, the daemon died before storing the closed row)
    candidate = path.with_name(path.name.removesuffix(PART_SUFFIX))
    for option in (candidate, path):
        if option.is_file() and option.stat().st_size > 0:
            return option
    return None


def closing_op(row: SegmentRecord, file: Path | None) -> ops.UpsertSegment | ops.DeleteSegment:
    """The write that settles one orphaned row: closed with the file's facts, or removed.

    Reads the file (call it off the event loop).
    """
    if file is None:
        return ops.DeleteSegment(row.session_id, row.seq)
    width = height = None
    codec = row.codec
    duration = 0.0
    if file.suffix == ".ts":
        info = scan_file(file)
        duration = info.duration_s or 0.0
        sps = info.keyframes[0].sps if info.keyframes else None
        size = sps_size(sps) if sps is not None else None
        if size is not None:
            width, height = size
            codec = codec or "h264"
    # ffmpeg wrote every packet through (flush_packets), so the file's mtime is when its last
    # one was written: the segment ends then at the latest, whatever its start says
    written_ms = file.stat().st_mtime_ns // 1_000_000
    ended = min(row.started_at_ms + round(duration * 1000), written_ms)
    return ops.UpsertSegment(
        session_id=row.session_id,
        seq=row.seq,
        path=str(file),
        state="closed",
        started_at_ms=row.started_at_ms,
        ended_at_ms=max(row.started_at_ms, ended),
        media_duration_s=round(duration, 3),
        bytes=file.stat().st_size,
        quality=row.quality,
        width=width if width is not None else row.width,
        height=height if height is not None else row.height,
        codec=codec,
    )


async def recover_recordings(
    recordings_dir: Path, database: Path, submit: Submit
) -> RecoveryReport:
    """Finalise leftover ``.part`` files and settle the orphaned rows (see the module doc).

    ``database`` must have been opened (migrated, recovered) by the writer that ``submit``
    feeds. Cancel safety: cancelled, the files renamed so far stay renamed and the rows not yet
    submitted stay orphaned; a later start finishes the job.
    """
    finals = await anyio.to_thread.run_sync(recover_parts, recordings_dir)
    async with Database.open(database) as db:
        orphans = await db.orphaned_segments()
    closed = removed = 0
    for row in orphans:
        file = recovered_file(row, finals)
        op = await anyio.to_thread.run_sync(closing_op, row, file)
        await submit(op)
        if isinstance(op, ops.DeleteSegment):
            removed += 1
            logger.warning("segment %s of session %d left no file", row.path, row.session_id)
        else:
            closed += 1
            logger.warning(
                "closed the segment %s of session %d, open when the daemon died (%.1f s)",
                file,
                row.session_id,
                op.media_duration_s or 0.0,
            )
    for session_id in sorted({row.session_id for row in orphans}):
        await submit(ops.RefreshSummary(session_id))
    return RecoveryReport(files=len(finals), rows_closed=closed, rows_removed=removed)
