"""The real daemon on a real small file system: a 14 MiB tmpfs holding the state and recordings.

Mounted by the test (root only; skipped otherwise) and unmounted in teardown. Other data (a
filler file) leaves 2 MiB above ``min_free = 3 MiB``; the recording's own writes then cross
the threshold. The daemon must stop ffmpeg gracefully before that (ffmpeg never meets ENOSPC,
every segment decodes), keep storing events into the reserve, drop events under its floor
(half of min_free) and record them as an ``events`` gap, record the time without video as a
``disk`` media gap, resume when space returns, and exit 0 on SIGTERM with a sound database.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from tests.conftest import REPO_ROOT
from tests.daemon_rig import broadcaster_table, simulator_config, wait_for
from tests.record.livesource import FFMPEG
from tests.record.test_daemon_recording import REPLAY_MS, daemon, ffmpeg_pids
from tests.tmpfs import fill_to, free, mounted_tmpfs


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

MIB = 1 << 20
FS_SIZE = 14 * MIB
MIN_FREE = 3 * MIB
FLOOR = MIN_FREE // 2  # the daemon's database floor


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "fs", FS_SIZE) as mountpoint:
        yield mountpoint


def query(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (none before the file is migrated); the connection is closed at once,
    so nothing of this test keeps the file system busy at the unmount."""
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # not migrated yet
            return []


def count(db: Path, sql: str, *args: object) -> int:
    rows = query(db, sql, *args)
    return int(rows[0][0]) if rows else 0


async def ctl_json(state: Path, *argv: str) -> dict[str, object]:
    done = await anyio.run_process(
        [
            sys.executable,
            "-m",
            "dylived.app.ctl",
            "--socket",
            str(state / "control.sock"),
            "--json",
            *argv,
        ],
        check=False,
        cwd=REPO_ROOT,
    )
    return json.loads(done.stdout) if done.stdout.strip() else {}


async def poll(predicate: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    """``wait_for`` for a predicate that asks the daemon (dylivectl), every 0.5 s."""
    deadline = time.monotonic() + seconds
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await anyio.sleep(0.5)


def decode_errors(path: Path) -> str:
    done = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout + done.stderr


async def test_recording_stops_before_a_full_disk_and_resumes(
    small_fs: Path, tmp_path: Path
) -> None:
    rid = "200000000001"
    rates = {"chat": 10.0, "like": 5.0, "member": 5.0}
    scenario = Scenario(rooms=(RoomSpec(rid, nickname="主播", rates=rates),))
    state, db, filler = small_fs / "state", small_fs / "state" / "dylived.db", small_fs / "other"
    config, log = tmp_path / "dylived.toml", tmp_path / "daemon.log"
    recording = 'video_quality = "origin"\nsegment_minutes = 0.1\nmin_free = "3MiB"\n'
    samples: list[tuple[float, int, bool]] = []  # (time, free bytes, an ffmpeg is running)

    async def sample() -> None:
        while True:
            samples.append((time.monotonic(), free(small_fs), bool(ffmpeg_pids(small_fs))))
            await anyio.sleep(0.05)

    async def disk_low() -> bool:
        shown = await ctl_json(state, "show", "b0")
        block = shown.get("recording")
        return isinstance(block, dict) and bool(block.get("disk_low"))

    async def writer_dropping_events() -> bool:
        checks = (await ctl_json(state, "health")).get("checks", [])
        assert isinstance(checks, list)
        return any(c["name"] == "store_writer" and not c["ok"] for c in checks)

    async with Simulator.running(scenario) as sim:
        config.write_text(
            simulator_config(
                sim, state, broadcasters=broadcaster_table(rid, "b0"), recording=recording
            ),
            encoding="utf-8",
        )
        fill_to(filler, small_fs, MIN_FREE + 2 * MIB)  # other data: 2 MiB above
        sim.room(rid).go_live()
        async with daemon(config, log) as process:
            async with anyio.create_task_group() as tg:
                tg.start_soon(sample)
                closed = "SELECT COUNT(*) FROM segments WHERE state = 'closed'"
                await wait_for(lambda: count(db, closed) >= 1, 40, "a first segment")
                await poll(disk_low, 60, "recording stopped for space")
                stopped_at = time.monotonic()
                assert not ffmpeg_pids(small_fs)
                # events go on into the reserve under min_free
                events = "SELECT COUNT(*) FROM events"
                before = count(db, events)
                await wait_for(
                    lambda: count(db, events) >= before + 20, 20, "events under min_free"
                )
                # other data takes the disk under the database's floor: events are dropped
                fill_to(filler, small_fs, FLOOR - MIB // 4)
                await poll(writer_dropping_events, 15, "the writer under its floor")
                held = count(db, events)
                await anyio.sleep(3)
                assert count(db, events) == held
                # space returns: recording resumes, the gaps say what is missing and why
                filler.unlink()
                freed_at_ms = time.time() * 1000
                # the held stop's gap, written when recording resumes (an earlier, brief stop
                # may have its own)
                media_gap = (
                    "SELECT COUNT(*) FROM gaps WHERE kind = 'media' AND cause = 'disk' "
                    "AND to_ms >= ?"
                )
                await wait_for(
                    lambda: count(db, media_gap, freed_at_ms - REPLAY_MS) >= 1,
                    40,
                    "a media gap, cause disk, ended by the resumed recording",
                )
                events_gap = "SELECT COUNT(*) FROM gaps WHERE kind = 'events' AND cause = 'disk'"
                await wait_for(lambda: count(db, events_gap) == 1, 20, "an events gap, cause disk")
                await wait_for(lambda: count(db, events) > held, 10, "events stored again")
                tg.cancel_scope.cancel()
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                returncode = await process.wait()
    assert returncode == 0
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "No space left on device" not in text
    assert "stopping the recording before free space falls under min_free" in text
    before_stop = [(f, running) for t, f, running in samples if t < stopped_at]
    lowest = min(f for f, running in before_stop if running)
    last_running = max(i for i, (_, running) in enumerate(before_stop) if running)
    after = before_stop[last_running + 1][0]  # the first sample once ffmpeg had exited
    print(f"free while ffmpeg ran: lowest {lowest - MIN_FREE:+d} B vs min_free; ")
    print(f"free once it had stopped: {after} B, {after - MIN_FREE:+d} B vs min_free")
    assert lowest >= MIN_FREE
    assert after >= MIN_FREE
    files = sorted(p for p in (state / "recordings").rglob("*") if p.is_file())
    assert not [p for p in files if p.name.endswith(".part")]
    rows = query(db, "SELECT path, state FROM segments ORDER BY seq")
    assert {s for _, s in rows} == {"closed"}
    assert {Path(p) for p, _ in rows} == {p for p in files if p.suffix == ".ts"}
    for path, _ in rows:
        assert decode_errors(Path(path)) == "", path
    # the stops for space: the one the test held (the longest); on a disk this small, the WAL
    # cut back after a checkpoint can free enough for recording to resume briefly in between
    disk_gap = "SELECT from_ms, to_ms FROM gaps WHERE kind = ? AND cause = 'disk'"
    media_gaps = query(db, disk_gap, "media")
    from_ms, to_ms = max(media_gaps, key=lambda gap: gap[1] - gap[0])
    assert all(f <= t for f, t in media_gaps)
    ends = {e for (e,) in query(db, "SELECT ended_at_ms FROM segments")}
    starts = {s for (s,) in query(db, "SELECT started_at_ms FROM segments")}
    assert from_ms in ends  # from the end of the last segment before the stop
    assert to_ms in starts  # to the start of the first one after
    # recording resumed once the space was back; its first segment starts with what the source
    # sent on connecting: up to REPLAY_MS of media from before (the HLS the recorder prefers
    # with ffmpeg 5.1 starts three 2 s segments back), which shortens the media gap
    assert to_ms >= freed_at_ms - REPLAY_MS
    [(e_from, e_to)] = query(db, disk_gap, "events")
    # the events gap (writer held under its floor >= 3 s) starts after the last segment before
    # the stop ended, and ends before the media gap does, but for the media replayed
    assert from_ms <= e_from
    assert e_to - e_from >= 3000
    assert e_to <= to_ms + REPLAY_MS
    inside = "SELECT COUNT(*) FROM events WHERE received_at_ms BETWEEN ? AND ?"
    assert count(db, inside, e_from, e_to) == 0
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    print(f"media gap {to_ms - from_ms} ms, events gap {e_to - e_from} ms")
