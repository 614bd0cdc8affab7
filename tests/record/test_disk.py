"""Disk guard, free-space watch and retention: a free-space source the test controls, real
files deleted. (The guard against a real full file system: test_daemon_disk_full.py.)"""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from dylived.record.disk import (
    DiskGuard,
    FinishedSession,
    SpaceWatch,
    apply_retention,
    plan_retention,
)
from dylived.record.policy import ExitKind, RecorderState
from dylived.record.supervisor import Recorder
from dylived.store.space import free_bytes
from tests.record.livesource import live_source
from tests.record.test_supervisor import Collected, settings, wait_until
from tests.tmpfs import fill_to, mounted_tmpfs


DAY_MS = 86_400_000


def test_guard_with_the_real_file_system(tmp_path: Path) -> None:
    real = free_bytes(tmp_path / "not" / "yet" / "there")  # nearest existing parent
    assert real > 0
    assert DiskGuard(tmp_path, min_free=real * 2).is_low()  # a threshold above the real space
    assert not DiskGuard(tmp_path, min_free=1).is_low()


def test_guard_with_a_given_source(tmp_path: Path) -> None:
    free = {"n": 5}
    guard = DiskGuard(tmp_path, min_free=10, free=lambda _p: free["n"])
    assert guard.is_low()
    free["n"] = 10
    assert not guard.is_low()


MIB = 1 << 20


def test_resume_needs_a_quarter_more_than_min_free(tmp_path: Path) -> None:
    free = {"n": 4 * MIB}
    guard = DiskGuard(tmp_path, min_free=4 * MIB, free=lambda _p: free["n"])
    assert guard.resume_free == 5 * MIB
    assert not guard.is_low()
    assert guard.is_low(guard.resume_free)


def test_a_run_stopped_for_space_resumes_only_with_the_room_it_needed(tmp_path: Path) -> None:
    """The next run may start once free space is back to what the stopped run asked for, its
    start-up burst again included; a quarter of min_free is only the least of it."""
    space = {"free": 100 * MIB}
    guard = DiskGuard(tmp_path, min_free=10 * MIB, interval=2.0, free=lambda _p: space["free"])
    watch = SpaceWatch(guard)
    watch.check(0.0)
    space["free"] -= 3 * MIB  # the start-up burst: 3 MiB at once
    assert not watch.check(0.25).stop
    now = 0.25
    while not (check := watch.check(now)).stop:  # then 1 MiB/s
        now += check.next_in
        space["free"] -= int(1 * MIB * check.next_in)
    headroom = check.free - guard.min_free
    # the room it stopped with, and the start-up burst again (within that room once more)
    assert watch.needed_at_stop == headroom + min(3 * MIB, headroom)
    resume = guard.resume_after(watch.needed_at_stop)
    assert resume == guard.min_free + watch.needed_at_stop > guard.resume_free
    assert guard.is_low(resume)  # the space it stopped at is not enough to start again
    assert guard.resume_after(0) == guard.resume_free


@pytest.mark.parametrize("rate", [10_000, 1 * MIB, 50 * MIB])
def test_watch_stops_a_steady_writer_before_min_free(tmp_path: Path, rate: int) -> None:
    """Disk filling at a steady rate, checked when the watch asks: it stops while at least
    ``stop_lead`` seconds of writing remain above min_free (less the quickest re-check), and
    never checks later than ``interval``."""
    now, space = 0.0, {"free": 100 * MIB}
    guard = DiskGuard(tmp_path, min_free=10 * MIB, interval=2.0, free=lambda _p: space["free"])
    watch = SpaceWatch(guard)
    while not (check := watch.check(now)).stop:
        assert check.free == space["free"]
        assert 0.25 <= check.next_in <= 2.0
        now += check.next_in
        space["free"] -= int(rate * check.next_in)
        assert space["free"] > guard.min_free  # never crossed between two checks
    left = space["free"] - guard.min_free
    assert left >= min(rate * (guard.stop_lead - 0.25), 90 * MIB - rate * 0.25) - 1
    # plus the largest drop between two checks (at most ``interval`` of writing): the burst
    # allowance that keeps HLS's segment-at-once writes above min_free
    assert left <= rate * guard.stop_lead + rate * guard.interval


def test_watch_counts_a_burst_at_once_and_a_lull_slowly(tmp_path: Path) -> None:
    free = {"n": 20 * MIB}
    guard = DiskGuard(tmp_path, min_free=10 * MIB, interval=2.0, free=lambda _p: free["n"])
    watch = SpaceWatch(guard)
    assert watch.check(0.0).next_in == 0.25  # no rate yet: look again soon
    assert watch.check(0.25).next_in == 2.0  # nothing written: the full interval
    free["n"] -= 6 * MIB  # 6 MiB in 0.75 s (something copies a big file)
    burst = watch.check(1.0)
    assert burst.rate == 8 * MIB
    assert burst.stop  # 4 MiB left would be gone within stop_lead
    quiet = watch.check(3.0)  # nothing written since
    assert 0 < quiet.rate < burst.rate  # the average remembers the burst for a while
    assert quiet.stop  # and so does the burst allowance: 4 MiB left is not more than 6 MiB
    for now in (5.0, 10.0, 15.0, 20.0, 25.0):  # a lull: both fade
        watch.check(now)
    assert not watch.check(30.0).stop


def test_watch_does_not_stop_on_an_unreadable_file_system(tmp_path: Path) -> None:
    def broken(_path: Path) -> int:
        raise PermissionError("statvfs refused")

    check = SpaceWatch(DiskGuard(tmp_path, min_free=1, free=broken)).check(0.0)
    assert (check.stop, check.free) == (False, -1)


@pytest.mark.parametrize("free", [0, 10 * MIB - 1, 10 * MIB])
def test_watch_stops_at_once_when_already_at_min_free(tmp_path: Path, free: int) -> None:
    guard = DiskGuard(tmp_path, min_free=10 * MIB, free=lambda _p: free)
    assert SpaceWatch(guard).check(0.0).stop


def _session(key: str, day: int, size: int, files: tuple[Path, ...] = ()) -> FinishedSession:
    return FinishedSession(key, ended_at_ms=day * DAY_MS, files=files, bytes=size)


def test_retention_by_age_and_size_oldest_first_never_in_progress() -> None:
    sessions = [_session("a", 1, 100), _session("b", 2, 100), _session("c", 3, 100)]
    now = 10 * DAY_MS
    by_age = plan_retention(sessions, now_ms=now, max_age_s=7.5 * 86_400)
    assert [s.key for s in by_age] == ["a", "b"]
    by_size = plan_retention(sessions, now_ms=now, max_total_bytes=150)
    assert [s.key for s in by_size] == ["a", "b"]
    assert [s.key for s in plan_retention(sessions, now_ms=now, max_total_bytes=300)] == []
    protected = plan_retention(sessions, now_ms=now, max_total_bytes=0, in_progress={"a"})
    assert [s.key for s in protected] == ["b", "c"]
    with_live = plan_retention(sessions, now_ms=now, max_total_bytes=250, other_bytes=100)
    assert [s.key for s in with_live] == ["a", "b"]
    assert plan_retention(sessions, now_ms=now) == []


def test_apply_retention_deletes_files_and_empty_directories(tmp_path: Path) -> None:
    day = tmp_path / "b" / "2026-01-01"
    day.mkdir(parents=True)
    files = tuple(day / f"s_{i}.ts" for i in range(2))
    for f in files:
        f.write_bytes(b"x" * 10)
    keep = tmp_path / "b" / "2026-01-02" / "s.ts"
    keep.parent.mkdir()
    keep.write_bytes(b"y")
    freed = apply_retention([_session("old", 1, 20, (*files, day / "gone.ts"))])
    assert freed == 20
    assert not day.exists()
    assert keep.exists()


# ---------------------------------------------------------------- the guard in a recording


@pytest.mark.anyio
async def test_a_recording_that_ends_while_stopped_for_space_keeps_its_disk_gap(
    tmp_path: Path,
) -> None:
    space = {"free": 10 << 30}
    guard = DiskGuard(tmp_path, min_free=1 << 30, interval=0.5, free=lambda _p: space["free"])
    sink = Collected()
    async with live_source() as source:
        recorder = Recorder(settings(tmp_path), source.fetch_status, sink, disk=guard)
        async with anyio.create_task_group() as tg:
            tg.start_soon(recorder.run)
            await wait_until(lambda: recorder.state is RecorderState.RUNNING, 10)
            await anyio.sleep(1.5)
            space["free"] = (1 << 30) - 1
            await wait_until(lambda: recorder.disk_low, 5)
            await anyio.sleep(1.5)
            stopped_ms = time.time_ns() // 1_000_000
            recorder.stop()  # the session ends before space returns
    [gap] = sink.gaps
    assert (gap.cause, gap.from_ms) == ("disk", sink.segments[-1].ended_at_ms)
    assert gap.to_ms >= stopped_ms  # up to the end of the recording


@pytest.mark.anyio
async def test_ffmpeg_meeting_enospc_on_a_real_tmpfs_is_a_stop_for_space(tmp_path: Path) -> None:
    """A guard that sees plenty of space (as when something else fills the disk between two
    checks): ffmpeg meets ENOSPC on a real 2 MiB tmpfs; that run counts as a stop for space,
    a ``disk`` gap is recorded, and recording goes on once space returns."""
    with mounted_tmpfs(tmp_path / "fs", 2 << 20) as fs:
        filler = fs / "other"
        fill_to(filler, fs, 256 << 10)
        blind = DiskGuard(fs, min_free=1, free=lambda _p: 1 << 40)
        sink = Collected()
        async with live_source() as source:
            recorder = Recorder(settings(fs, segment_seconds=2.0), source.fetch_status, sink,
                                disk=blind)  # fmt: skip
            async with anyio.create_task_group() as tg:
                tg.start_soon(recorder.run)
                await wait_until(lambda: recorder.last_exit is ExitKind.DISK, 30)
                filler.unlink()
                runs = recorder.runs
                await wait_until(lambda: recorder.runs > runs and len(sink.segments) >= 2, 20)
                recorder.stop()
        assert "disk" in [g.cause for g in sink.gaps]
        assert recorder.pid is None


@pytest.mark.anyio
async def test_a_session_that_starts_on_a_full_disk_has_a_disk_gap_from_the_start(
    tmp_path: Path,
) -> None:
    guard = DiskGuard(tmp_path, min_free=1 << 30, interval=0.2, free=lambda _p: 1 << 20)
    sink = Collected()
    async with live_source() as source:
        recorder = Recorder(settings(tmp_path), source.fetch_status, sink, disk=guard)
        async with anyio.create_task_group() as tg:
            started_ms = time.time_ns() // 1_000_000
            tg.start_soon(recorder.run)
            await wait_until(lambda: recorder.disk_low, 10)
            await anyio.sleep(1)
            recorder.stop()
    assert recorder.runs == 0
    assert sink.segments == []
    [gap] = sink.gaps
    assert gap.cause == "disk"
    assert started_ms <= gap.from_ms <= gap.to_ms - 900
