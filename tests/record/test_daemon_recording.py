"""The real daemon (a subprocess) recording the simulator's rooms: SIGTERM and SIGKILL.

Segments are 0.1 minute (6 s) and the quality ``md`` (426x240) to keep it quick.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.store.db import Database
from dylived.store.export import session_manifest
from tests.conftest import REPO_ROOT
from tests.daemon_rig import broadcaster_table, query, simulator_config, wait_for
from tests.record.livesource import FFMPEG, frame_sizes, measure


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]


def rids(n: int) -> list[str]:
    return [f"2000000000{i:02d}" for i in range(1, n + 1)]


def write_config(
    path: Path,
    sim: Simulator,
    state: Path,
    web_rids: list[str],
    *,
    record_video: bool = True,
    ffmpeg: str | None = None,
) -> None:
    """Short ``md`` segments, no event capture; one broadcaster ``b<i>`` per room; ``ffmpeg``:
    the daemon's ``daemon.ffmpeg`` (None: found on PATH)."""
    broadcasters = "".join(broadcaster_table(rid, f"b{i}") for i, rid in enumerate(web_rids))
    recording = (
        f"record_video = {'true' if record_video else 'false'}\n"
        'video_quality = "md"\nsegment_minutes = 0.1\n'
    )
    text = simulator_config(
        sim,
        state,
        broadcasters=broadcasters,
        recording=recording,
        extra="[capture]\ncapture_events = false\n",
        ffmpeg=ffmpeg,
    )
    path.write_text(text, encoding="utf-8")


async def manifest_of(db: Path, session_id: int) -> dict[str, Any]:
    async with Database.open(db) as database:
        return await session_manifest(database, session_id)


def count(db: Path, sql: str) -> int:
    rows = query(db, sql)
    return int(rows[0][0]) if rows else 0


def ffmpeg_pids(under: Path) -> set[int]:
    """ffmpeg processes recording into a ``.part`` pattern below ``under`` (this test's own,
    by their argv: other tests or engineers may be running ffmpeg at the same time)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            mine = any(a.endswith(b".part") and str(under).encode() in a for a in cmd)
            if cmd and b"ffmpeg" in cmd[0] and mine:
                found.add(int(entry.name))
    return found


@asynccontextmanager
async def daemon(config: Path, log: Path) -> AsyncIterator[anyio.abc.Process]:
    out = log.open("ab")
    process = await anyio.open_process(
        [sys.executable, "-m", "dylived", "run", "--config", str(config)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=out,
        stderr=out,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            with anyio.move_on_after(5, shield=True):
                await process.wait()
        out.close()


def assert_playable(sizes: dict[Path, int], ffmpeg: str = FFMPEG) -> None:
    for path, size in sizes.items():
        assert path.stat().st_size == size
        seconds, errors = measure(path, ffmpeg)
        assert errors == ""
        assert seconds > 0


def recorded_files(state: Path) -> list[Path]:
    return sorted(p for p in (state / "recordings").rglob("*") if p.is_file())


async def test_sigterm_with_5_recordings_closes_every_segment_within_20_s(tmp_path: Path) -> None:
    web_rids = rids(5)
    scenario = Scenario(rooms=tuple(RoomSpec(r, nickname=f"主播{r[-1]}") for r in web_rids))
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    db = state / "dylived.db"
    before = ffmpeg_pids(tmp_path)
    async with Simulator.running(scenario) as sim:
        write_config(config, sim, state, web_rids)
        for rid in web_rids:
            sim.room(rid).go_live()
        async with daemon(config, tmp_path / "daemon.log") as process:
            sql = "SELECT COUNT(DISTINCT session_id) FROM segments"
            await wait_for(lambda: count(db, sql) == 5, 40, "a segment from each room")
            ours = ffmpeg_pids(tmp_path) - before
            assert len(ours) == 5
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                returncode = await process.wait()
            elapsed = time.monotonic() - started
    assert returncode == 0
    assert elapsed < 20
    assert not (ffmpeg_pids(tmp_path) & ours)  # every ffmpeg reaped
    files = recorded_files(state)
    assert not [f for f in files if f.name.endswith(".part")]
    rows = query(db, "SELECT path, state, bytes FROM segments")
    assert {Path(p) for p, _, _ in rows} == {f for f in files if f.suffix == ".ts"}
    assert {s for _, s, _ in rows} == {"closed"}
    assert_playable({Path(p): size for p, _, size in rows})
    reasons = {r for (r,) in query(db, "SELECT reason_for_exit FROM sessions")}
    assert reasons == {"daemon_stopped"}


async def test_daemon_sigkilled_mid_recording_then_restarted(
    tmp_path: Path, ffmpeg_bin: str
) -> None:
    [rid] = rids(1)
    scenario = Scenario(rooms=(RoomSpec(rid, nickname="主播"),))
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    db = state / "dylived.db"
    before = ffmpeg_pids(tmp_path)
    async with Simulator.running(scenario) as sim:
        write_config(config, sim, state, [rid], ffmpeg=ffmpeg_bin)
        sim.room(rid).go_live()
        async with daemon(config, tmp_path / "daemon.log") as first:
            closed = "SELECT 1 FROM segments WHERE state = 'closed'"
            await wait_for(lambda: query(db, closed), 30, "a closed segment")
            await anyio.sleep(2)  # mid-way into the next segment
            orphans = ffmpeg_pids(tmp_path) - before
            first.kill()
            await first.wait()
        # ffmpeg learns of its parent's death (PR_SET_PDEATHSIG) and finishes its segment
        await wait_for(
            lambda: not (ffmpeg_pids(tmp_path) & orphans), 15, "ffmpeg gone with the daemon"
        )
        killed_at = time.time()
        finished_first = [r[0] for r in query(db, "SELECT path FROM segments WHERE state='closed'")]
        # the segment open at the kill has its 'writing' row (the .part, its start time)
        [(open_seq, open_part, open_started)] = query(
            db, "SELECT seq, path, started_at_ms FROM segments WHERE state = 'writing'"
        )
        assert open_part.endswith(".ts.part")
        async with daemon(config, tmp_path / "daemon.log") as second:
            sql = "SELECT COUNT(*) FROM sessions"
            await wait_for(lambda: count(db, sql) == 2, 20, "a new session")
            sql = (
                "SELECT path FROM segments WHERE state = 'closed' "
                "AND session_id = (SELECT MAX(id) FROM sessions)"
            )
            await wait_for(lambda: query(db, sql), 30, "a segment of the new session")
            second.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                assert await second.wait() == 0
            # the recordings manifest of the old session, as dylivectl gets it
            [(first_id,)] = query(db, "SELECT MIN(id) FROM sessions")
    sessions = query(db, "SELECT id, reason_for_exit, started_at_ms FROM sessions ORDER BY id")
    assert [r for _, r, _ in sessions] == ["daemon_stopped", "daemon_stopped"]
    assert sessions[1][2] / 1000 > killed_at - 1
    for path in finished_first:
        assert measure(Path(path), ffmpeg_bin)[1] == ""
    files = recorded_files(state)
    assert not [f for f in files if f.name.endswith(".part")]  # the partial one was finalised
    assert not [f for f in files if f.suffix == ".csv"]  # and the killed run's segment list
    assert {s for (s,) in query(db, "SELECT state FROM segments")} == {"closed"}
    rows = {Path(p) for (p,) in query(db, "SELECT path FROM segments")}
    assert rows == {f for f in files if f.suffix == ".ts"}  # every file has its row
    # the partial segment: closed at start-up with the real duration and size of its file
    [(path, started, ended, duration, size, width, height)] = query(
        db,
        "SELECT path, started_at_ms, ended_at_ms, media_duration_s, bytes, width, height "
        "FROM segments WHERE session_id = ? AND seq = ?",
        first_id,
        open_seq,
    )
    partial = Path(path)
    assert partial == Path(open_part.removesuffix(".part"))
    seconds, errors = measure(partial, ffmpeg_bin)
    assert errors == ""
    assert seconds > 1
    assert abs(duration - seconds) < 0.3
    assert size == (await anyio.Path(partial).stat()).st_size
    assert started == open_started
    assert ended == started + round(duration * 1000)
    assert (width, height) == (426, 240)
    # ... counted in the old session's summary and listed in its manifest
    [(summary_segments, total_bytes)] = query(
        db,
        "SELECT recording_segments, recording_total_bytes FROM sessions WHERE id = ?",
        first_id,
    )
    old_rows = query(db, "SELECT COUNT(*), SUM(bytes) FROM segments WHERE session_id = ?", first_id)
    assert (summary_segments, total_bytes) == old_rows[0]
    manifest = await manifest_of(db, first_id)
    assert partial.name in [entry["key"] for entry in manifest["recordings"]]


async def test_daemon_splits_a_resolution_change_into_clean_segments(
    tmp_path: Path, ffmpeg_bin: str
) -> None:
    """The demo's resolution change, through the daemon with ``daemon.ffmpeg`` set: the rows
    after it carry the new size, and every file holds one frame size and decodes clean."""
    [rid] = rids(1)
    scenario = Scenario(rooms=(RoomSpec(rid, nickname="主播"),))
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    db, log = state / "dylived.db", tmp_path / "daemon.log"
    async with Simulator.running(scenario) as sim:
        write_config(config, sim, state, [rid], ffmpeg=ffmpeg_bin)
        sim.room(rid).go_live()
        async with daemon(config, log) as process:
            closed = "SELECT width, height FROM segments WHERE state = 'closed'"
            await wait_for(lambda: query(db, closed), 40, "a closed segment")
            sim.room(rid).inject("resolution_change")  # from the next 4 s clip boundary
            portrait = f"{closed} AND width < height"
            await wait_for(lambda: query(db, portrait), 40, "a closed portrait segment")
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                assert await process.wait() == 0
    assert f"at {ffmpeg_bin}" in log.read_text(encoding="utf-8")  # the daemon used this one
    rows = query(db, "SELECT path, state, width, height, bytes FROM segments ORDER BY seq")
    assert {st for _, st, _, _, _ in rows} == {"closed"}
    assert {(w, h) for _, _, w, h, _ in rows} == {(426, 240), (240, 426)}
    for path, _, width, height, _ in rows:
        assert frame_sizes(Path(path), ffmpeg_bin) == {f"{width}x{height}"}, path
    assert_playable({Path(p): size for p, _, _, _, size in rows}, ffmpeg_bin)
    files = {f for f in recorded_files(state) if f.suffix == ".ts"}
    assert files == {Path(p) for p, _, _, _, _ in rows}


async def dylivectl(state: Path, *argv: str) -> tuple[int, str]:
    """The real ``dylivectl`` (a subprocess) against the daemon's control socket."""
    done = await anyio.run_process(
        [sys.executable, "-m", "dylived.ctl", "--socket", str(state / "control.sock"), *argv],
        check=False,
        cwd=REPO_ROOT,
    )
    return done.returncode, done.stdout.decode() + done.stderr.decode()


async def test_dylivectl_record_start_and_stop_a_live_broadcaster(tmp_path: Path) -> None:
    """``record_video = false``: nothing is recorded until ``dylivectl record start``; ``record
    stop`` ends ffmpeg and its segment cleanly; ``record start`` again continues the numbering."""
    [rid] = rids(1)
    scenario = Scenario(rooms=(RoomSpec(rid, nickname="主播"),))
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    db = state / "dylived.db"
    closed = "SELECT COUNT(*) FROM segments WHERE state = 'closed'"
    before = ffmpeg_pids(tmp_path)
    async with Simulator.running(scenario) as sim:
        write_config(config, sim, state, [rid], record_video=False)
        sim.room(rid).go_live()
        async with daemon(config, tmp_path / "daemon.log") as process:
            sql = "SELECT COUNT(*) FROM sessions"
            await wait_for(lambda: count(db, sql) == 1, 20, "a session")
            await anyio.sleep(2)
            assert ffmpeg_pids(tmp_path) - before == set()  # live, but not recording
            assert count(db, "SELECT COUNT(*) FROM segments") == 0
            code, out = await dylivectl(state, "record", "start", "b0")
            assert code == 0, out
            await wait_for(lambda: count(db, closed) >= 1, 30, "a segment after record start")
            ours = ffmpeg_pids(tmp_path) - before
            assert len(ours) == 1
            code, _ = await dylivectl(state, "record", "stop", "b0")
            assert code == 0
            await wait_for(lambda: not (ffmpeg_pids(tmp_path) & ours), 15, "ffmpeg stopped")
            writing = "SELECT COUNT(*) FROM segments WHERE state = 'writing'"
            await wait_for(lambda: count(db, writing) == 0, 10, "the last segment closed")
            stopped_at = count(db, closed)
            code, out = await dylivectl(state, "--json", "show", "b0")
            assert code == 0
            shown = json.loads(out)
            assert shown["state"] == "live"
            assert shown["recording"]["state"] == "idle"
            await anyio.sleep(3)
            assert count(db, "SELECT COUNT(*) FROM segments") == stopped_at  # nothing new
            assert ffmpeg_pids(tmp_path) - before == set()
            code, _ = await dylivectl(state, "record", "start", "b0")
            assert code == 0
            await wait_for(lambda: count(db, closed) > stopped_at, 30, "recording again")
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                assert await process.wait() == 0
    assert count(db, "SELECT COUNT(*) FROM sessions") == 1
    rows = query(db, "SELECT seq, path, state FROM segments ORDER BY seq")
    assert [seq for seq, _, _ in rows] == list(range(1, len(rows) + 1))
    assert {st for _, _, st in rows} == {"closed"}
    for _, path, _ in rows:
        assert measure(Path(path))[1] == ""
