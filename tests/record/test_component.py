"""The recorder component's glue: file names from the template, store operations."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dylived.errors import RecorderError
from dylived.model import LiveStatus
from dylived.record.component import RecordingEnvironment, offsets_op, session_files, to_op
from dylived.record.segments import GapRecord, SegmentRecord
from dylived.store import ops


DEFAULT = "{broadcaster}/{date}/{broadcaster}_{start:%Y%m%d-%H%M%S}_{seq:04d}.ts"


async def _nowhere(op: ops.WriteOp) -> None:
    raise AssertionError(op)


def env(tmp_path: Path) -> RecordingEnvironment:
    return RecordingEnvironment("ffmpeg", tmp_path, ZoneInfo("Asia/Shanghai"), _nowhere)


def test_default_template_gives_a_dated_directory_and_stem(tmp_path: Path) -> None:
    status = LiveStatus(live=True, nickname="主播/../x", room_id="7")
    directory, stem = session_files(env(tmp_path), DEFAULT, "alice", status, 1_767_225_600_000)
    # 2026-01-01T00:00:00Z is 08:00 in Shanghai
    assert directory.parent.parent == tmp_path.resolve()
    assert directory.name == "2026-01-01"
    assert stem.endswith("_20260101-080000")
    assert "/" not in stem
    assert ".." not in directory.relative_to(tmp_path.resolve()).parts


def test_broadcaster_is_the_key_and_nickname_falls_back_to_it(tmp_path: Path) -> None:
    status = LiveStatus(live=True, nickname="主播A")
    directory, stem = session_files(env(tmp_path), DEFAULT, "alice", status, 0)
    assert directory.parent.name == "alice"  # stable when the streamer renames themselves
    assert stem.startswith("alice_")
    by_nick = "{nickname}/{title}_{seq:04d}.{ext}"
    status = LiveStatus(live=True, nickname="主播/../x", title="a/b")
    directory, stem = session_files(env(tmp_path), by_nick, "alice", status, 0, "mkv")
    assert directory.parent == tmp_path.resolve()
    assert "/" not in directory.name
    assert ".." not in directory.relative_to(tmp_path.resolve()).parts
    assert stem == "a_b"  # the .mkv extension came from {ext}
    directory, _ = session_files(env(tmp_path), by_nick, "alice", LiveStatus(live=True), 0)
    assert directory.name == "alice"


def test_a_symlink_out_of_the_recordings_dir_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    root.mkdir()
    (root / "evil").symlink_to(tmp_path)
    with pytest.raises(RecorderError):
        session_files(env(root), "{broadcaster}/x_{seq:04d}.ts", "evil", LiveStatus(live=True), 0)


def test_store_operations() -> None:
    segment = SegmentRecord(3, Path("/r/a.ts"), 1000, 7000, 6.0, 123, "hd", 960, 540, "h264", False)
    op = to_op(9, segment)
    assert isinstance(op, ops.UpsertSegment)
    assert (op.session_id, op.seq, op.path, op.state) == (9, 3, "/r/a.ts", "closed")
    assert (op.media_duration_s, op.bytes, op.width, op.height) == (6.0, 123, 960, 540)
    gap = to_op(9, GapRecord(7000, 9000, "crash"))
    assert gap == ops.AddGap(9, "media", 7000, 9000, "crash")


def test_a_finished_segment_and_a_gap_set_their_events_offsets() -> None:
    segment = SegmentRecord(3, Path("/r/a.ts"), 1000, 7000, 6.0, 123, "hd", 960, 540, "h264", True)
    op = to_op(9, segment, 42.5)
    assert isinstance(op, ops.UpsertSegment)
    assert op.start_offset_s == 42.5
    assert offsets_op(9, segment, 42.5) == ops.SetEventOffsets(9, 1000, 7000, 1000, 42.5)
    # the gap's ends belong to the segments on either side
    gap = GapRecord(7000, 9000, "crash")
    assert offsets_op(9, gap, None) == ops.SetEventOffsets(9, 7001, 8999, 7000, None)
    assert offsets_op(9, GapRecord(7000, 7000, "restart"), None) is None
