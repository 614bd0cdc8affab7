"""A session resumed by a later daemon run continues its recording timeline.

The first run is a real LiveSession (store session opened, the recorder component, real ffmpeg
on a live FLV source, the real writer) stopped after two segments, as a daemon stop leaves it.
The second is a fresh RecorderComponent and SessionContext for the same store session (what
resuming a session after a restart hands the components): its timeline starts empty, so the
offsets can only continue from what the store's resume reports of the stored segments.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from dylived.config.load import loads_config
from dylived.model import ExitReason
from dylived.record.component import RecorderComponent, RecordingEnvironment, recorder_factory
from dylived.store.writer import Writer
from dylived.watch.session import LiveSession, SessionContext, WriterSessionStore, wall_ms
from tests.record.livesource import FFMPEG, LiveSource, live_source


pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CONFIG = """
[daemon]
state_dir = "{state}"
[recording]
record_video = true
segment_minutes = 0.05
[[broadcaster]]
target = "200000000001"
name = "alice"
"""


class Owner:
    """The watch side of the seam: a re-check asked for publishes the source's status."""

    def __init__(self, source: LiveSource) -> None:
        self.source = source
        self.ctx: SessionContext | None = None

    def hint_stream_may_have_ended(self) -> None:
        if self.ctx is not None:
            self.ctx.publish_status(self.source.status())

    def request_session_end(self, reason: ExitReason) -> None:
        return None


def closed(db: Path) -> list[tuple[int, float, float | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT seq, media_duration_s, start_offset_s FROM segments "
            "WHERE state = 'closed' ORDER BY seq"
        ).fetchall()


async def wait_until(predicate: object, within: float) -> None:
    with anyio.fail_after(within):
        while not predicate():  # type: ignore[operator]  # noqa: ASYNC110 (the file, polled)
            await anyio.sleep(0.1)


async def test_a_resumed_session_continues_the_offsets_and_seq_of_its_stored_segments(
    tmp_path: Path,
) -> None:
    db = tmp_path / "dylived.db"
    config = loads_config(CONFIG.format(state=tmp_path))
    [options] = config.broadcasters
    async with (
        live_source() as source,
        Writer.open(db) as writer,
        anyio.create_task_group() as tg,
    ):
        await tg.start(writer.run)
        env = RecordingEnvironment(FFMPEG, tmp_path / "rec", config.daemon.tzinfo, writer.submit)
        store = WriterSessionStore(writer)
        owner = Owner(source)
        first = SessionContext("alice", options, source.status(), store, wall_ms(), owner)
        owner.ctx = first
        session = LiveSession(first, [recorder_factory(env)])
        session_id = await tg.start(session.run)
        await wait_until(lambda: len(closed(db)) >= 2, 30)
        session.end(ExitReason.DAEMON_STOPPED)  # the first daemon run ends
        await session.finished.wait()
        await writer.drain()
        before = closed(db)
        recorded = sum(duration for _, duration, _ in before)

        # the next daemon run resumes the same store session (as the watch does at its first
        # check) with fresh components
        resumed = await store.resume_session("alice", source.status().room_id or "", 0)
        assert resumed is not None
        assert resumed.session_id == session_id
        again = SessionContext("alice", options, source.status(), store, wall_ms(), owner, resumed)
        owner.ctx = again
        component = RecorderComponent(env)
        async with anyio.create_task_group() as resumed_run:
            await resumed_run.start(component.run, again)
            await wait_until(lambda: len(closed(db)) > len(before), 30)
            live_offset = again.timeline.offset_at(wall_ms())
            resumed_run.cancel_scope.cancel()
        await writer.drain()
        tg.cancel_scope.cancel()
    after = closed(db)
    first_new = after[len(before)]
    assert first_new[0] == before[-1][0] + 1  # seq continues: no row replaced
    assert first_new[2] == pytest.approx(recorded, abs=0.01)  # the offset continues, not 0
    assert live_offset is not None
    assert live_offset >= recorded
    running = 0.0
    for _seq, duration, offset in after:
        assert offset == pytest.approx(running, abs=0.01)
        running += duration
