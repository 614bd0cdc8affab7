"""The recording filters through the real daemon (a subprocess) against the simulator.

A title filter keeps a live broadcaster unrecorded (no ffmpeg, ``dylivectl status`` says why)
until the title changes; a ``record_windows`` window that closes mid-broadcast ends the
recording cleanly and, without ``capture_outside_windows``, the events' capture; one that
opens while the broadcaster is live (unrecorded until then, ``status`` says why; events kept
with ``capture_outside_windows``) starts the recording in the same run. The window is
written relative to the daemon's wall clock (seconds allowed in a window), in its
``daemon.timezone``: no mocked clock.
"""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from tests.daemon_rig import broadcaster_table, query, simulator_config, wait_for
from tests.record.livesource import measure
from tests.record.test_daemon_recording import count, daemon, dylivectl, ffmpeg_pids, rids


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]
TZ = "Asia/Shanghai"
LEAD_S = 30  # a window opening this long after the daemon starts (it must be live by then)


def write_config(
    path: Path, sim: Simulator, state: Path, rid: str, filters: str, *, events: bool = False
) -> None:
    """One broadcaster ``b0`` with ``filters`` (its keys), 6 s ``md`` segments; ``events``:
    capture them."""
    text = simulator_config(
        sim,
        state,
        broadcasters=broadcaster_table(rid, "b0", filters),
        recording='record_video = true\nvideo_quality = "md"\nsegment_minutes = 0.1\n',
        extra=f"[capture]\ncapture_events = {'true' if events else 'false'}\n",
    )
    path.write_text(text.replace("[daemon]\n", f'[daemon]\ntimezone = "{TZ}"\n'), "utf-8")


async def test_a_title_filter_keeps_a_live_broadcaster_unrecorded_until_the_title_changes(
    tmp_path: Path,
) -> None:
    [rid] = rids(1)
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    db = state / "dylived.db"
    before = ffmpeg_pids(tmp_path)
    async with Simulator.running(Scenario(rooms=(RoomSpec(rid, nickname="主播"),))) as sim:
        write_config(config, sim, state, rid, 'title_exclude = ["rerun"]\n')
        room = sim.room(rid)
        room.go_live(title="Yesterday's RERUN")
        async with daemon(config, tmp_path / "daemon.log") as process:
            await wait_for(lambda: count(db, "SELECT COUNT(*) FROM sessions") == 1, 20, "a session")
            await anyio.sleep(3)
            assert ffmpeg_pids(tmp_path) - before == set()  # live, but no ffmpeg
            assert count(db, "SELECT COUNT(*) FROM segments") == 0
            code, out = await dylivectl(state, "status")
            assert code == 0, out
            [line] = [row for row in out.splitlines() if row.startswith("b0 ")]
            assert 'not recorded: title excludes "rerun"' in line
            code, out = await dylivectl(state, "--json", "show", "b0")
            shown = json.loads(out)
            assert shown["state"] == "live"
            assert shown["recording"]["state"] == "idle"
            assert shown["recording"]["not_recorded"] == 'title excludes "rerun"'
            room.title = "Live tonight"  # the status sampler sees the new title: recording on
            closed = "SELECT COUNT(*) FROM segments WHERE state = 'closed'"
            await wait_for(lambda: count(db, closed) >= 1, 30, "a segment after the new title")
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                assert await process.wait() == 0
    rows = query(db, "SELECT path, state FROM segments")
    assert {st for _, st in rows} == {"closed"}
    for path, _ in rows:
        assert measure(Path(path))[1] == ""


async def test_a_window_closing_mid_broadcast_closes_the_recording_cleanly(tmp_path: Path) -> None:
    [rid] = rids(1)
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    db = state / "dylived.db"
    before = ffmpeg_pids(tmp_path)
    now = datetime.now(UTC).astimezone(ZoneInfo(TZ))
    start, end = now - timedelta(minutes=1), now + timedelta(seconds=14)
    window = f"{start:%H:%M:%S}-{end:%H:%M:%S}"
    room = RoomSpec(rid, nickname="主播", rates={"chat": 10})
    async with Simulator.running(Scenario(rooms=(room,))) as sim:
        write_config(config, sim, state, rid, f'record_windows = ["{window}"]\n', events=True)
        sim.room(rid).go_live()
        async with daemon(config, tmp_path / "daemon.log") as process:
            writing = "SELECT COUNT(*) FROM segments"
            await wait_for(lambda: count(db, writing) >= 1, 14, "recording inside the window")
            ours = ffmpeg_pids(tmp_path) - before
            assert len(ours) == 1
            await wait_for(lambda: not (ffmpeg_pids(tmp_path) & ours), 20, "ffmpeg stopped")
            stopped_at = datetime.now(UTC).astimezone(ZoneInfo(TZ))
            assert stopped_at >= end - timedelta(seconds=1)  # by the window, not by a failure
            still = "SELECT COUNT(*) FROM segments WHERE state = 'writing'"
            await wait_for(lambda: count(db, still) == 0, 10, "the last segment closed")
            code, out = await dylivectl(state, "--json", "show", "b0")
            assert code == 0, out
            shown = json.loads(out)
            assert shown["state"] == "live"
            assert shown["recording"]["not_recorded"] == (
                f"outside record_windows (next {start:%H:%M:%S})"
            )
            # events: captured inside the window, dropped outside it (no capture_outside_windows)
            events = "SELECT COUNT(*) FROM events"
            stored = count(db, events)
            assert stored > 0
            await anyio.sleep(2)
            assert count(db, events) == stored
            code, out = await dylivectl(state, "--json", "show", "b0")
            assert json.loads(out)["capture"]["outside_windows"] > 0
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                assert await process.wait() == 0
    rows = query(db, "SELECT path, state, ended_at_ms FROM segments ORDER BY seq")
    assert rows
    assert {st for _, st, _ in rows} == {"closed"}
    for path, _, _ in rows:  # the last one too: ffmpeg was stopped with its clean ladder
        assert measure(Path(path))[1] == ""
    last_end = rows[-1][2]
    gaps = query(db, "SELECT from_ms, cause FROM gaps WHERE kind = 'media'")
    assert (last_end, "outside_window") in [(a, c) for a, c in gaps]


async def test_a_window_opening_mid_broadcast_starts_the_recording_in_the_same_run(
    tmp_path: Path,
) -> None:
    [rid] = rids(1)
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    db = state / "dylived.db"
    before = ffmpeg_pids(tmp_path)
    now = datetime.now(UTC).astimezone(ZoneInfo(TZ))
    start, end = now + timedelta(seconds=LEAD_S), now + timedelta(minutes=10)
    window = f"{start:%H:%M:%S}-{end:%H:%M:%S}"
    room = RoomSpec(rid, nickname="主播", rates={"chat": 10})
    async with Simulator.running(Scenario(rooms=(room,))) as sim:
        filters = f'record_windows = ["{window}"]\ncapture_outside_windows = true\n'
        write_config(config, sim, state, rid, filters, events=True)
        sim.room(rid).go_live()
        async with daemon(config, tmp_path / "daemon.log") as process:
            events = "SELECT COUNT(*) FROM events"
            await wait_for(lambda: count(db, events) > 0, LEAD_S, "events before the window")
            # live and outside its window: events captured (capture_outside_windows), no video
            ffmpegs = ffmpeg_pids(tmp_path) - before
            segments = count(db, "SELECT COUNT(*) FROM segments")
            code, out = await dylivectl(state, "status")
            assert datetime.now(UTC) < start  # all of that was seen before the window opened
            assert code == 0, out
            [line] = [row for row in out.splitlines() if row.startswith("b0 ")]
            assert f"not recorded: outside record_windows (next {start:%H:%M:%S})" in line
            assert (ffmpegs, segments) == (set(), 0)
            await wait_for(
                lambda: count(db, "SELECT COUNT(*) FROM segments") >= 1,
                LEAD_S + 20,
                "recording in the window",
            )
            opened_seen = datetime.now(UTC)  # the window opens on the second it names
            closed = "SELECT COUNT(*) FROM segments WHERE state = 'closed'"
            await wait_for(lambda: count(db, closed) >= 1, 20, "a segment in the window")
            code, out = await dylivectl(state, "--json", "show", "b0")
            shown = json.loads(out)
            assert not shown["recording"].get("not_recorded")
            assert shown["recording"]["state"] == "running"
            assert shown["capture"]["outside_windows"] == 0  # none dropped: all were kept
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                assert await process.wait() == 0
    [(sessions,)] = query(db, "SELECT COUNT(*) FROM sessions")
    assert sessions == 1  # the same session, the same daemon run
    assert opened_seen >= start.replace(microsecond=0)
    rows = query(db, "SELECT path, state FROM segments ORDER BY seq")
    assert {st for _, st in rows} == {"closed"}
    for path, _ in rows:
        assert measure(Path(path))[1] == ""
    first_event_ms = query(db, "SELECT MIN(received_at_ms) FROM events")[0][0]
    assert first_event_ms < start.timestamp() * 1000  # captured while outside the window
