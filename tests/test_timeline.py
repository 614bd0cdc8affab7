"""The session's RecordingTimeline: where a wall-clock moment falls in the session's recording.

Driven the way the recorder drives it (record/component.py, record/supervisor.py); the
daemon-level proof is tests/record/test_offsets_daemon.py.
"""

from __future__ import annotations

from dylived.watch.session import RecordingTimeline


def test_nothing_recorded_means_no_offset() -> None:
    timeline = RecordingTimeline()
    assert timeline.offset_at(5_000) is None


def test_offsets_run_on_through_segments_of_one_ffmpeg_run() -> None:
    timeline = RecordingTimeline()
    assert timeline.segment_opened(1, 10_000) == 0.0
    assert timeline.offset_at(9_999) is None  # before the recording began
    assert timeline.offset_at(12_500) == 2.5
    # the record of segment 1 (6 s of media, wall 10.0–16.0 s) before segment 2 is announced
    assert timeline.segment_closed(6.0, 16_000) == 0.0
    assert timeline.offset_at(16_100) == 6.1  # ffmpeg goes on into the next segment
    assert timeline.segment_opened(2, 16_000) == 6.0
    assert timeline.offset_at(17_000) == 7.0


def test_a_refined_wall_start_moves_the_open_segment_only() -> None:
    timeline = RecordingTimeline()
    timeline.segment_opened(1, 10_000)
    timeline.segment_started(1, 9_000)  # ffmpeg's progress: media time 0 was at 9.0 s
    assert timeline.offset_at(10_000) == 1.0
    timeline.segment_started(7, 1_000)  # not the open segment: ignored
    assert timeline.offset_at(10_000) == 1.0


def test_a_gap_has_no_offsets_and_the_next_run_continues_after_the_media_recorded() -> None:
    timeline = RecordingTimeline()
    timeline.segment_opened(1, 10_000)
    timeline.segment_closed(4.5, 14_600)  # killed: 4.5 s of media
    timeline.recording_paused()
    assert timeline.offset_at(15_000) is None
    assert timeline.offset_at(20_000) is None
    assert timeline.segment_opened(2, 21_000) == 4.5
    assert timeline.offset_at(20_999) is None  # still the gap
    assert timeline.offset_at(22_000) == 5.5


def test_a_resumed_session_continues_after_the_stored_segments() -> None:
    timeline = RecordingTimeline()
    timeline.resume(125.25)  # what the store says the session recorded before a restart
    assert timeline.offset_at(1_000) is None
    assert timeline.segment_opened(9, 50_000) == 125.25
    assert timeline.offset_at(52_000) == 127.25
