"""The real daemon (a subprocess) recording and capturing one simulator room: every event's
``stream_offset_s`` lands on the recording's timeline, across segments, an ffmpeg crash, a
stalled stream (a media gap) and a ``record stop``/``record start``.

The truth is computed from the stored segment rows alone: an event received at wall ``r``
inside segment ``g`` (``g.started_at_ms <= r <= g.ended_at_ms``) is at
``g.start_offset_s + (r - g.started_at_ms) / 1000`` and within ``[g.start_offset_s,
g.start_offset_s + g.media_duration_s]``; ``start_offset_s`` itself must be the media duration
of the earlier segments. Segments are 0.1 minute (6 s), quality ``md``.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import anyio
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from tests.daemon_rig import broadcaster_table, query, simulator_config, wait_for
from tests.record.test_daemon_recording import daemon, dylivectl, ffmpeg_pids


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

RID = "200000000077"
TOLERANCE_S = 2.0
CLOSED = "SELECT COUNT(*) FROM segments WHERE state = 'closed'"


def count(db: Path, sql: str) -> int:
    rows = query(db, sql)
    return int(rows[0][0]) if rows else 0


def live_check(db: Path) -> list[tuple[int, int, float | None]]:
    """While a segment is ``writing``: (its seq, received, stored offset) of the events that
    came at least a second after ffmpeg opened it, in one snapshot: capture's own offsets,
    before the segment's close sets them again from its final row."""
    rows = query(
        db,
        "SELECT g.seq, e.received_at_ms, e.stream_offset_s "
        "FROM segments g JOIN events e ON e.session_id = g.session_id "
        "  AND e.received_at_ms >= g.started_at_ms + 1000 "
        "WHERE g.state = 'writing'",
    )
    return [(int(seq), int(r), o) for seq, r, o in rows]


async def test_event_offsets_follow_the_recording_across_segments_a_crash_and_record_stop(
    tmp_path: Path,
) -> None:
    scenario = Scenario(rooms=(RoomSpec(RID, nickname="主播", rates={"chat": 8, "like": 4}),))
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    db = state / "dylived.db"
    recording = (
        'record_video = true\nvideo_quality = "md"\nsegment_minutes = 0.1\n'
        "stall_timeout = 3\nrw_timeout = 2\n"
    )
    before = ffmpeg_pids(tmp_path)
    live: list[tuple[int, int, float | None]] = []
    async with Simulator.running(scenario) as sim:
        config.write_text(
            simulator_config(
                sim, state, broadcasters=broadcaster_table(RID, "b0"), recording=recording
            ),
            encoding="utf-8",
        )
        sim.room(RID).go_live()
        async with daemon(config, tmp_path / "daemon.log") as process:
            await wait_for(lambda: count(db, CLOSED) >= 1, 40, "a first closed segment")
            # mid-segment: capture's own offsets, before any close rewrites them
            await wait_for(lambda: len(live_check(db)) >= 10, 15, "events in a writing segment")
            live += live_check(db)
            await wait_for(lambda: count(db, CLOSED) >= 2, 20, "a second closed segment")
            # an ffmpeg crash: a media gap, then the same recorder starts a new run
            ours = ffmpeg_pids(tmp_path) - before
            assert len(ours) == 1
            for pid in ours:
                os.kill(pid, signal.SIGKILL)
            media_gap = "SELECT COUNT(*) FROM gaps WHERE kind = 'media'"
            await wait_for(lambda: count(db, media_gap) >= 1, 40, "the crash's gap")
            await wait_for(lambda: len(live_check(db)) >= 10, 15, "events after the crash")
            live += live_check(db)
            # a stall: no media for 9 s, ffmpeg's rw_timeout ends the run, a longer gap (longer
            # than what the reconnect brings back from before it: HLS, which the recorder
            # prefers with ffmpeg 5.1, starts three 2 s segments back from the live edge)
            sim.room(RID).inject("stream_stall", duration=9)
            await wait_for(lambda: count(db, media_gap) >= 2, 60, "the stall's gap")
            # record stop / start: a new recorder in the same session
            code, out = await dylivectl(state, "record", "stop", "b0")
            assert code == 0, out
            writing = "SELECT COUNT(*) FROM segments WHERE state = 'writing'"
            await wait_for(lambda: count(db, writing) == 0, 15, "the stopped segment closed")
            await anyio.sleep(3)  # events while nothing is recorded
            stopped = count(db, CLOSED)
            stop_end = count(db, "SELECT max(ended_at_ms) FROM segments")
            # the record-stopped seconds, as capture stamped them: no offsets (the segment after
            # `record start` may bring some of this media back: the source's replay)
            during_stop = query(
                db, "SELECT stream_offset_s FROM events WHERE received_at_ms > ?", stop_end + 1000
            )
            code, out = await dylivectl(state, "record", "start", "b0")
            assert code == 0, out
            await wait_for(lambda: count(db, CLOSED) > stopped, 40, "a segment after start")
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                assert await process.wait() == 0

    segments = query(
        db,
        "SELECT seq, started_at_ms, ended_at_ms, media_duration_s, start_offset_s "
        "FROM segments WHERE state = 'closed' ORDER BY seq",
    )
    assert count(db, "SELECT COUNT(*) FROM segments") == len(segments) >= 4
    recorded = 0.0
    for _seq, _start, _end, duration, offset in segments:
        assert offset == pytest.approx(recorded, abs=0.01)  # continues, never restarts at 0
        recorded += duration
    gaps = query(db, "SELECT from_ms, to_ms FROM gaps WHERE kind = 'media'")
    # the 9 s stall's gap, less what the reconnect brings back from before it (a GOP of FLV,
    # 6 s of HLS) and what the restart took
    assert max(t - f for f, t in gaps) >= 1500

    events = query(db, "SELECT received_at_ms, stream_offset_s FROM events")
    assert len(events) > 100
    inside = outside_null = 0
    deviation = 0.0
    late: list[int] = []
    for received, stored in events:
        covering = [g for g in segments if g[1] <= received <= g[2]]
        if covering:
            assert stored is not None, (received, covering[0])
            # after a restart the new run's first segment may hold media from before it (the
            # source's replay): a moment in two segments is at either offset, the later one's
            # as its close re-stamped it
            _seq, start, _end, duration, offset = min(
                covering, key=lambda g: abs(stored - g[4] - (received - g[1]) / 1000)
            )
            truth = offset + (received - start) / 1000
            deviation = max(deviation, abs(stored - truth))
            assert offset - TOLERANCE_S <= stored <= offset + duration + TOLERANCE_S
            inside += 1
        elif any(f < received < t for f, t in gaps) or received < segments[0][1]:
            assert stored is None, received  # a gap, or before the recording began
            outside_null += 1
        elif stored is not None:
            late.append(received)  # after a run's last packet, before ffmpeg's exit was seen
    assert deviation <= TOLERANCE_S
    assert inside > 50
    assert outside_null >= 10  # the stall's gap had events
    # the record-stopped seconds: no segment, no gap row, and no offsets while stopped (but
    # for the moment between ffmpeg's last packet and its exit)
    assert during_stop
    assert all(s is None for (s,) in during_stop)
    assert len(late) <= 5, late
    # capture's offsets while the segment was being written, against its final row
    assert len(live) >= 20
    by_seq = {g[0]: g for g in segments}
    live_deviation = 0.0
    for seq, received, stored in live:
        _seq, start, _end, _duration, offset = by_seq[seq]
        assert stored is not None, (seq, received)
        live_deviation = max(live_deviation, abs(stored - (offset + (received - start) / 1000)))
    assert live_deviation <= TOLERANCE_S
    print(
        f"events {len(events)}: {inside} inside segments (max deviation {deviation:.3f} s), "
        f"{outside_null} null in gaps or before, {len(late)} late; live max deviation "
        f"{live_deviation:.3f} s over {len(live)}; "
        f"media gaps {[(t - f) / 1000 for f, t in gaps]} s"
    )
