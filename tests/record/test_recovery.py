"""Start-up recovery: a crashed daemon's open segments get closed rows from their real files.

A real SQLite file written by the real writer, a real mpegts file from ffmpeg; the crash is a
writer closed with the session still open and a segment still ``writing``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import anyio
import pytest

from dylived.record.recovery import recover_recordings
from dylived.store import ops
from dylived.store.db import Database
from dylived.store.export import session_manifest
from dylived.store.writer import Writer
from tests.record.livesource import measure
from tests.record.test_segments import encode_ts


pytestmark = pytest.mark.anyio

T0 = 1_767_225_600_000


async def crashed_session(database: Path, parts: list[Path]) -> int:
    """A session with one closed segment and ``parts`` announced as 'writing'; never closed."""
    async with Writer.open(database) as writer, anyio.create_task_group() as tg:
        await tg.start(writer.run)
        session_id = await writer.request(ops.OpenSession("alice", T0, "douyin"))
        await writer.submit(
            ops.UpsertSegment(
                session_id, 1, "/r/a_0001.ts", "closed", T0, T0 + 6000, 6.0, 1000, "md"
            )
        )
        for seq, part in enumerate(parts, start=2):
            await writer.submit(
                ops.UpsertSegment(session_id, seq, str(part), "writing", T0 + seq * 6000)
            )
        await writer.drain()
        tg.cancel_scope.cancel()
    return session_id


def rows(database: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(
            "SELECT seq, path, state, started_at_ms, ended_at_ms, media_duration_s, bytes, "
            "width, height, codec FROM segments ORDER BY seq"
        ).fetchall()


async def test_orphaned_rows_are_closed_from_their_recovered_files(tmp_path: Path) -> None:
    recordings = tmp_path / "rec"
    recordings.mkdir()
    source = encode_ts(tmp_path / "src.ts", "160x90", seconds=3)
    part = recordings / "a_0002.ts.part"
    part.write_bytes(source.read_bytes()[: 188 * 400])  # cut mid-stream, as a SIGKILL leaves it
    empty = recordings / "a_0003.ts.part"
    empty.write_bytes(b"")  # ffmpeg died before its first packet
    database = tmp_path / "dylived.db"
    session_id = await crashed_session(database, [part, empty])

    async with Writer.open(database) as writer:  # the restart: 'writing' → 'orphaned'
        assert writer.recovered_sessions == (session_id,)
        assert {r[2] for r in rows(database)} == {"closed", "orphaned"}
        async with anyio.create_task_group() as tg:
            await tg.start(writer.run)
            report = await recover_recordings(recordings, database, writer.submit)
            await writer.drain()
            tg.cancel_scope.cancel()

    assert (report.files, report.rows_closed, report.rows_removed) == (1, 1, 1)
    final = recordings / "a_0002.ts"
    assert not part.exists()
    assert not empty.exists()
    seconds, _ = measure(final)  # plays up to the cut (its last frame is incomplete)
    assert 0 < seconds < 3
    [first, second] = rows(database)  # the empty one's row is gone
    assert first[0] == 1
    seq, path, state, started, ended, duration, size, width, height, codec = second
    assert (seq, path, state) == (2, str(final), "closed")
    assert started == T0 + 12_000
    assert isinstance(duration, float)
    assert abs(duration - seconds) < 0.2
    assert ended == started + round(duration * 1000)
    assert size == final.stat().st_size
    assert (width, height, codec) == (160, 90, "h264")
    async with Database.open(database) as db:
        session = await db.get_session(session_id)
        manifest = await session_manifest(db, session_id)
    assert session is not None
    assert session.reason_for_exit == "daemon_stopped"
    assert session.summary is not None
    assert session.summary["recording_segments"] == 2  # the refreshed stored summary
    assert session.summary["recording_total_bytes"] == 1000 + final.stat().st_size
    assert [r["key"] for r in manifest["recordings"]] == ["a_0001.ts", "a_0002.ts"]


async def test_nothing_to_recover_changes_nothing(tmp_path: Path) -> None:
    database = tmp_path / "dylived.db"
    async with Writer.open(database) as writer, anyio.create_task_group() as tg:
        await tg.start(writer.run)
        report = await recover_recordings(tmp_path / "missing", database, writer.submit)
        tg.cancel_scope.cancel()
    assert (report.files, report.rows_closed, report.rows_removed) == (0, 0, 0)


async def test_a_recovered_segment_ends_no_later_than_its_file_was_last_written(
    tmp_path: Path,
) -> None:
    """A writing row whose start was only known roughly (the moment ffmpeg opened the file,
    before a burst of older media): start + duration would end it after the kill; the file's
    mtime (every packet is flushed) bounds it."""
    recordings = tmp_path / "rec"
    recordings.mkdir()
    source = encode_ts(tmp_path / "src.ts", "160x90", seconds=3)
    part = recordings / "a_0002.ts.part"
    part.write_bytes(source.read_bytes())
    last_write_ms = T0 + 12_000 + 800  # the row starts at T0 + 12 000; 3 s of media
    os.utime(part, ns=(last_write_ms * 1_000_000, last_write_ms * 1_000_000))
    database = tmp_path / "dylived.db"
    await crashed_session(database, [part])
    async with Writer.open(database) as writer, anyio.create_task_group() as tg:
        await tg.start(writer.run)
        await recover_recordings(recordings, database, writer.submit)
        await writer.drain()
        tg.cancel_scope.cancel()
    [_, (_seq, _path, state, started, ended, duration, *_)] = rows(database)
    assert state == "closed"
    assert isinstance(duration, float)
    assert duration > 2.5
    assert (started, ended) == (T0 + 12_000, last_write_ms)
