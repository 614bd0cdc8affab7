"""The Recorder against a real live FLV source (ffmpeg on 127.0.0.1) and real ffmpeg.

Short segments (2–3 s) and short broadcasts keep these fast; bench/record.py has the long form.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from dylived.record.disk import DiskGuard
from dylived.record.policy import RecorderState, RestartPolicy
from dylived.record.process import stop_process
from dylived.record.segments import GapRecord, SegmentAbandoned, SegmentOpened, SegmentRecord
from dylived.record.supervisor import Recorder, RecorderSettings
from tests.record.livesource import FFMPEG, LiveSource, live_source, measure


pytestmark = pytest.mark.anyio


def settings(tmp_path: Path, **overrides: object) -> RecorderSettings:
    values: dict[str, object] = {
        "ffmpeg": FFMPEG,
        "directory": tmp_path / "rec",
        "file_stem": "b_20260101-000000",
        "segment_seconds": 3.0,
        "stall_timeout": 3.0,
        "rw_timeout": 5.0,
        "stop_q_wait": 3.0,
        "stop_int_wait": 2.0,
        "stop_kill_wait": 3.0,
        "restart": RestartPolicy(start_secs=1.0, start_retries=8, delays=(0.0, 0.5, 1.0)),
    }
    values.update(overrides)
    return RecorderSettings(**values)  # type: ignore[arg-type]


class Collected:
    def __init__(self) -> None:
        self.segments: list[SegmentRecord] = []
        self.gaps: list[GapRecord] = []

    async def __call__(self, item: SegmentRecord | GapRecord) -> None:
        (self.segments if isinstance(item, SegmentRecord) else self.gaps).append(item)  # type: ignore[arg-type]


def assert_contiguous(segments: list[SegmentRecord]) -> None:
    for before, after in itertools.pairwise(segments):
        assert after.seq > before.seq
        assert after.started_at_ms >= before.ended_at_ms - 500, (before, after)


async def wait_until(predicate: Callable[[], object], within: float) -> None:
    """Poll a condition of another component (no event to wait on from outside)."""
    with anyio.fail_after(within):
        while not predicate():  # noqa: ASYNC110
            await anyio.sleep(0.1)


async def test_segments_cover_the_broadcast_and_decode(tmp_path: Path, ffmpeg_bin: str) -> None:
    sink = Collected()
    announced: list[SegmentOpened | SegmentAbandoned] = []
    records_at_announce: list[int] = []

    async def announce(item: SegmentOpened | SegmentAbandoned) -> None:
        if isinstance(item, SegmentOpened) and announced and announced[-1].seq == item.seq:
            # the open segment again, its start refined by ffmpeg's progress: never later
            previous = announced.pop()
            assert isinstance(previous, SegmentOpened)
            assert item.path == previous.path
            assert item.started_at_ms < previous.started_at_ms
            records_at_announce.pop()
        announced.append(item)
        records_at_announce.append(len(sink.segments))

    async with live_source() as source:
        recorder = Recorder(
            settings(tmp_path, ffmpeg=ffmpeg_bin), source.fetch_status, sink, announce=announce
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(recorder.run)
            await wait_until(lambda: recorder.state is RecorderState.RUNNING, 30)
            await anyio.sleep(9)
            await source.end()  # the broadcaster stops; ffmpeg sees EOF, status says offline
        assert recorder.stop_reason == "stream_ended"
    live_time = (recorder.records[-1].ended_at_ms - recorder.records[0].started_at_ms) / 1000
    assert live_time > 8
    assert len(sink.segments) >= 3
    assert sink.gaps == []
    assert_contiguous(sink.segments)
    decoded = 0.0
    for record in sink.segments:
        assert record.path.exists()
        assert not record.path.name.endswith(".part")
        assert (record.width, record.height, record.codec) == (320, 180, "h264")
        assert record.bytes == record.path.stat().st_size
        seconds, errors = measure(record.path, ffmpeg_bin)
        assert errors == "", (record.path, errors)
        assert abs(seconds - record.duration_s) < 0.3, (record, seconds)
        decoded += seconds
    assert decoded >= 0.995 * live_time, (decoded, live_time)
    assert not list((tmp_path / "rec").glob("*.part"))
    assert not list((tmp_path / "rec").glob(".*.csv"))
    # each segment was announced (its 'writing' row) with the seq and .part path it closed
    # under, after the segment before it was recorded
    assert all(isinstance(item, SegmentOpened) for item in announced)
    assert [a.seq for a in announced] == [r.seq for r in sink.segments]
    for item, record in zip(announced, sink.segments, strict=True):
        assert isinstance(item, SegmentOpened)
        assert item.path == record.path.with_name(record.path.name + ".part")
        assert abs(item.started_at_ms - record.started_at_ms) < 3000
    assert records_at_announce == list(range(len(sink.segments)))


async def test_sigkilled_ffmpeg_leaves_a_playable_segment_a_gap_and_resumes(
    tmp_path: Path, ffmpeg_bin: str
) -> None:
    sink = Collected()
    async with live_source() as source:
        recorder = Recorder(
            settings(tmp_path, segment_seconds=4.0, ffmpeg=ffmpeg_bin), source.fetch_status, sink
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(recorder.run)
            await wait_until(lambda: recorder.state is RecorderState.RUNNING, 30)
            await wait_until(lambda: len(sink.segments) == 1, 15)  # the first 4 s closed
            await anyio.sleep(2.0)  # mid-way into the second segment
            pid = recorder.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            killed_at = time.time()
            await wait_until(lambda: len(sink.gaps) == 1, 10)
            await anyio.sleep(3)
            recorder.stop()
    # the kill leaves one partial segment; the final stop may leave a second one, the last
    # segment, when a loaded machine makes ffmpeg miss the stop ladder's 'q'
    killed = [r for r in sink.segments if not r.complete]
    assert 1 <= len(killed) <= 2
    assert len(killed) == 1 or killed[1] == sink.segments[-1]
    seconds, _errors = measure(killed[0].path, ffmpeg_bin)  # a torn last packet may be reported
    assert seconds > 1.0
    assert abs(seconds - killed[0].duration_s) < 0.5
    gap = sink.gaps[0]
    assert gap.cause == "crash"
    # the run after the kill (by seq: its first frames may overlap the killed segment's last,
    # a zero-second gap, when the source sent its media faster than real time at the start)
    resumed = [r for r in sink.segments if r.seq > killed[0].seq]
    assert resumed, sink.segments
    assert resumed[0].started_at_ms / 1000 - killed_at < 5
    assert gap.from_ms == killed[0].ended_at_ms
    assert_contiguous(sink.segments)
    for record in sink.segments:
        if record.complete:
            assert measure(record.path, ffmpeg_bin)[1] == ""


async def test_stall_is_stopped_and_recording_resumes(tmp_path: Path, ffmpeg_bin: str) -> None:
    sink = Collected()
    async with live_source() as source:
        recorder = Recorder(settings(tmp_path, ffmpeg=ffmpeg_bin), source.fetch_status, sink)
        async with anyio.create_task_group() as tg:
            tg.start_soon(recorder.run)
            await wait_until(lambda: recorder.state is RecorderState.RUNNING, 30)
            await anyio.sleep(2)
            await source.stall(8)  # longer than stall_timeout (3 s)
            await wait_until(lambda: len(sink.gaps) == 1, 15)
            await anyio.sleep(2)
            recorder.stop()
    stall = sink.gaps[0]
    assert stall.cause == "stall"
    assert stall.seconds <= 20
    assert recorder.runs >= 2
    assert_contiguous(sink.segments)
    for record in sink.segments:
        seconds, _ = measure(record.path, ffmpeg_bin)
        assert seconds > 0


async def test_low_disk_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    space = {"free": 10 << 30}
    guard = DiskGuard(tmp_path, min_free=1 << 30, interval=0.5, free=lambda _p: space["free"])
    sink = Collected()
    async with live_source() as source:
        recorder = Recorder(settings(tmp_path, segment_seconds=10.0), source.fetch_status, sink,
                            disk=guard)  # fmt: skip
        async with anyio.create_task_group() as tg:
            tg.start_soon(recorder.run)
            await wait_until(lambda: recorder.state is RecorderState.RUNNING, 30)
            await anyio.sleep(2)
            space["free"] = 100 << 20
            await wait_until(lambda: recorder.disk_low, 5)
            runs_when_low = recorder.runs
            closed = list(sink.segments)
            assert len(closed) == 1
            assert closed[0].complete
            assert measure(closed[0].path)[1] == ""
            await anyio.sleep(1.5)
            assert recorder.statistics().disk_low
            assert recorder.runs == runs_when_low  # nothing new started
            assert recorder.pid is None
            space["free"] = 10 << 30
            await wait_until(lambda: recorder.state is RecorderState.RUNNING, 30)
            await anyio.sleep(1)
            recorder.stop()
    assert [g.cause for g in sink.gaps] == ["disk"]
    assert len(sink.segments) == 2
    assert not recorder.disk_low


async def test_cancelled_recorders_close_every_segment_playable(tmp_path: Path) -> None:
    """The daemon's stop: 5 recordings cancelled at once, all segments closed and playable."""
    sinks = [Collected() for _ in range(5)]
    recorders: list[Recorder] = []
    async with anyio.create_task_group() as sources_tg:
        sources = [LiveSource(port=p) for p in _ports(5)]
        for source in sources:
            sources_tg.start_soon(source.serve)
        async with anyio.create_task_group() as tg:
            for i, (source, sink) in enumerate(zip(sources, sinks, strict=True)):
                recorder = Recorder(
                    settings(tmp_path / str(i), segment_seconds=2.0), source.fetch_status, sink
                )
                recorders.append(recorder)
                tg.start_soon(recorder.run)
            await wait_until(lambda: all(r.state is RecorderState.RUNNING for r in recorders), 20)
            await anyio.sleep(3)
            started = time.monotonic()
            tg.cancel_scope.cancel()
        elapsed = time.monotonic() - started
        sources_tg.cancel_scope.cancel()
    assert elapsed < 20
    for recorder, sink in zip(recorders, sinks, strict=True):
        assert recorder.pid is None
        assert sink.segments
        assert all(r.complete for r in sink.segments)
        for record in sink.segments:
            assert measure(record.path)[1] == ""
        assert not list(recorder.settings.directory.glob("*.part"))


def _ports(n: int) -> list[int]:
    from tests.record.livesource import free_port

    return [free_port() for _ in range(n)]


async def test_stop_ladder_escalates_to_sigkill_and_reaps(tmp_path: Path) -> None:
    stubborn = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = await anyio.open_process(
        [sys.executable, "-c", stubborn], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    assert (await process.stdout.receive()).startswith(b"up")
    s = settings(tmp_path, stop_q_wait=0.3, stop_int_wait=0.3, stop_kill_wait=2.0)
    started = time.monotonic()
    code = await stop_process(process, s.ladder)
    assert code == -signal.SIGKILL
    assert time.monotonic() - started < 3
    await process.aclose()


async def test_stop_ladder_q_is_enough_for_a_polite_child(tmp_path: Path) -> None:
    polite = "import sys\nsys.exit(0 if sys.stdin.read(1) == 'q' else 3)\n"
    process = await anyio.open_process([sys.executable, "-c", polite], stdin=subprocess.PIPE)
    code = await stop_process(process, settings(tmp_path).ladder)
    assert code == 0
    await process.aclose()


async def test_stop_ladder_survives_cancellation(tmp_path: Path) -> None:
    process = await anyio.open_process(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    # a SIGINT during the interpreter's start-up exits 1, not -SIGINT: wait until it runs
    assert (await process.stdout.receive()).startswith(b"up")
    # a generous SIGINT wait: a loaded machine can take seconds to run Python's shutdown
    s = settings(tmp_path, stop_q_wait=0.2, stop_int_wait=15.0)
    with anyio.move_on_after(0.05):
        await stop_process(process, s.ladder)  # the caller's deadline cannot cut the ladder short
    assert process.returncode == -signal.SIGINT
    await process.aclose()


async def test_quick_ladder_for_a_stalled_child_kills_after_one_second(tmp_path: Path) -> None:
    process = await anyio.open_process(
        [sys.executable, "-c", "import signal, time; signal.signal(2, 1); time.sleep(60)"],
        stdin=subprocess.PIPE,
    )
    started = time.monotonic()
    code = await stop_process(process, settings(tmp_path).ladder, quick=True)
    assert code == -signal.SIGKILL
    assert time.monotonic() - started < 2.5
    await process.aclose()
