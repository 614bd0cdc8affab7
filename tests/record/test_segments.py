"""Segment bookkeeping: stderr and CSV parsing, .part renames, PTS durations, crash recovery."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dylived.record.mpegts import scan_file, sps_size
from dylived.record.segments import (
    ListEntry,
    RunContext,
    RunSegments,
    SegmentListTail,
    VideoInfo,
    finalize_part,
    is_refused_line,
    mpegts_duration,
    parse_blocked_protocol,
    parse_list_line,
    parse_opening_line,
    parse_video_line,
    recover_leftover_parts,
)
from tests.record.livesource import FFMPEG, frame_sizes, measure


def test_video_line() -> None:
    line = (
        "  Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(progressive), 640x360 "
        "[SAR 1:1 DAR 16:9], 25 fps, 25 tbr, 1k tbn, start 0.023000"
    )
    assert parse_video_line(line) == VideoInfo("h264", 640, 360)
    hevc = "  Stream #0:0[0x100]: Video: hevc (Main) ([36][0][0][0] / 0x0024), yuv420p, 1080x1920"
    assert parse_video_line(hevc) == VideoInfo("h265", 1080, 1920)
    assert parse_video_line("  Stream #0:1: Audio: aac (LC), 44100 Hz, mono, fltp") is None
    # as -loglevel level+info prints it (ffmpeg 5.1 and 9)
    tagged = "[info]   Stream #0:0: Video: h264 (High), yuv420p(progressive), 426x240, 25 fps"
    assert parse_video_line(tagged) == VideoInfo("h264", 426, 240)


def test_opening_and_refused_lines() -> None:
    line = "[segment @ 0x55a955bf8600] Opening '/r/a b/x_0007.ts.part' for writing"
    assert parse_opening_line(line) == "/r/a b/x_0007.ts.part"
    tagged = "[segment @ 0x55a955bf8600] [info] Opening '/r/100%/x_0007.ts.part' for writing"
    assert parse_opening_line(tagged) == "/r/100%/x_0007.ts.part"
    assert parse_opening_line("[segment @ 0x1] Opening 'list.csv' for reading") is None
    assert is_refused_line("[http @ 0x5] HTTP error 403 Forbidden")
    assert is_refused_line("[https @ 0x5] [warning] HTTP error 404 Not Found")
    assert is_refused_line(
        "[tcp @ 0x55795095ef40] [error] Connection to tcp://127.0.0.1:9 failed: Connection refused"
    )
    assert not is_refused_line("[flv @ 0x1] Packet mismatch")
    assert not is_refused_line("[http @ 0x5] [warning] HTTP error 500 Internal Server Error")
    blocked = "[file @ 0x563d7df8f1c0] [error] Protocol 'file' not on whitelist 'http,tcp'!"
    assert parse_blocked_protocol(blocked) == "file"
    assert parse_blocked_protocol("[hls @ 0x1] [info] Opening 'file:///x' for reading") is None


# What ffmpeg prints for a stream whose title holds newlines (ffmpeg 5.1 and 9 alike, seen with
# `ffmpeg -loglevel level+info -i evil.flv`): a newline starts a line with the indent and
# "  <key>: " before the rest of the text, a carriage return becomes a space.
FORGED = [
    "[info]     title           : hi",
    "                    : [segment @ 0x55f56ee86000] Opening '/r/x_0099.ts.part' for writing",
    "                    : [segment @ 0x5] [info] Opening '/r/x_0098.ts.part' for writing",
    "                    : [http @ 0x1] HTTP error 403 Forbidden",
    "                    : [tcp @ 0x1] Connection to tcp://h:1 failed: Connection refused",
    "                    : [file @ 0x1] Protocol 'file' not on whitelist 'http'!",
    "                    :   Stream #0:0: Video: h264 (High), yuv420p, 9999x9999, 25 fps",
    "    title           : x [info]   Stream #0:0: Video: h264 (High), yuv420p, 9998x9998",
    "http://x/a.flv: Server returned 404 Not Found",  # begins with a URL the status gave
]


@pytest.mark.parametrize("line", FORGED)
def test_stream_text_cannot_pass_for_an_ffmpeg_line(line: str) -> None:
    assert parse_opening_line(line) is None
    assert parse_video_line(line) is None
    assert not is_refused_line(line)
    assert parse_blocked_protocol(line) is None


def test_only_our_own_segment_files_count_as_opened(tmp_path: Path) -> None:
    run = RunSegments(RunContext(tmp_path / "rec", "hd"), first_seq=1)
    for name in (f"{tmp_path}/elsewhere/s_0001.ts.part", f"{tmp_path}/rec/.s.1.csv"):
        run.on_stderr_line(f"[segment @ 0x1] [info] Opening '{name}' for writing")
        assert run.open_name is None
    run.on_stderr_line(
        f"[segment @ 0x1] [info] Opening '{tmp_path}/rec/s_0001.ts.part' for writing"
    )
    assert run.open_name == "s_0001.ts.part"


@pytest.mark.parametrize(
    ("line", "entry"),
    [
        ("seg_0007.ts.part,0.000000,4.023000\n", ListEntry("seg_0007.ts.part", 0.0, 4.023)),
        ('"a,""b"".ts.part",4.0,8.5', ListEntry('a,"b".ts.part', 4.0, 8.5)),
        ("", None),
        ("no-commas", None),
        ("x,1.0,abc", None),
    ],
)
def test_list_lines(line: str, entry: ListEntry | None) -> None:
    assert parse_list_line(line) == entry


def test_list_tail_returns_complete_lines_once(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    tail = SegmentListTail(path)
    assert tail.read_new() == []  # not created yet
    path.write_bytes(b"a.ts.part,0,2\nb.ts.pa")
    assert tail.read_new() == [ListEntry("a.ts.part", 0, 2)]
    with path.open("ab") as fh:
        fh.write(b"rt,2,4\n")
    assert tail.read_new() == [ListEntry("b.ts.part", 2, 4)]
    assert tail.read_new() == []


def test_finalize_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "x_0001.ts").write_bytes(b"old")
    part = tmp_path / "x_0001.ts.part"
    part.write_bytes(b"new")
    final = finalize_part(part)
    assert final.name == "x_0001-1.ts"
    assert final.read_bytes() == b"new"
    assert (tmp_path / "x_0001.ts").read_bytes() == b"old"


def encode_ts(path: Path, size: str = "160x90", seconds: float = 4, offset: float = 0) -> Path:
    subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine",
            "-t",
            f"{seconds:g}",
            "-output_ts_offset",
            f"{offset:g}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-c:a",
            "aac",
            "-f",
            "mpegts",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


@pytest.fixture(scope="module")
def four_second_ts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return encode_ts(tmp_path_factory.mktemp("ts") / "clip.ts")


def test_mpegts_duration_matches_decoding(four_second_ts: Path) -> None:
    duration = mpegts_duration(four_second_ts)
    assert duration is not None
    assert abs(duration - measure(four_second_ts)[0]) < 0.1
    assert abs(duration - 4.0) < 0.1


def test_truncated_mpegts_plays_up_to_the_cut_and_is_recovered(
    four_second_ts: Path, tmp_path: Path
) -> None:
    data = four_second_ts.read_bytes()
    root = tmp_path / "rec"
    part = root / "b" / "2026-01-01" / "b_x_0003.ts.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[: len(data) // 2 + 77])  # cut mid-packet, like a SIGKILL
    (root / "b" / "empty_0004.ts.part").write_bytes(b"")
    recovered = recover_leftover_parts(root)
    assert recovered == [part.with_name("b_x_0003.ts")]
    duration = mpegts_duration(recovered[0])
    assert duration is not None
    assert 1.0 < duration < 3.5
    assert abs(measure(recovered[0])[0] - duration) < 0.2
    assert not list(root.rglob("*.part"))


def test_run_segments_turns_lines_into_records(four_second_ts: Path, tmp_path: Path) -> None:
    run = RunSegments(RunContext(tmp_path, "hd"), first_seq=5)
    run.on_stderr_line("  Stream #0:0: Video: h264 (High), yuv420p, 1280x720, 25 fps")
    run.on_stderr_line(f"[segment @ 0x1] Opening '{tmp_path}/s_0005.ts.part' for writing")
    assert run.open_started_at_ms(10_300) == 10_300  # no progress yet: the moment it opened
    run.on_progress(now_ms=10_000, out_time_us=0)
    run.on_progress(now_ms=11_000, out_time_us=1_000_000)  # media 0 was live at wall 10 000
    assert run.open_started_at_ms(11_000) == 10_000  # the start its record will have
    (tmp_path / "s_0005.ts.part").write_bytes(four_second_ts.read_bytes())
    [record] = run.on_closed(ListEntry("s_0005.ts.part", 0.0, 4.0), now_ms=14_100)
    assert (record.seq, record.started_at_ms, record.ended_at_ms) == (5, 10_000, 14_000)
    # the size comes from the file's own SPS (160x90), the codec from ffmpeg's stderr line
    assert (record.width, record.height, record.codec, record.quality) == (160, 90, "h264", "hd")
    assert record.path == tmp_path / "s_0005.ts"
    assert record.complete
    run.on_stderr_line(f"[segment @ 0x1] Opening '{tmp_path}/s_0006.ts.part' for writing")
    assert run.open_started_at_ms(14_200) == 14_000  # where the closed one ended
    (tmp_path / "s_0006.ts.part").write_bytes(four_second_ts.read_bytes()[:60_000])
    [partial] = run.on_exit(now_ms=16_000)
    assert not partial.complete
    assert partial.seq == 6
    assert partial.started_at_ms == 14_000
    assert 0 < partial.duration_s < 4
    assert run.on_exit(now_ms=16_000) == []
    assert run.last_file_number == 6


def test_a_killed_part_without_a_picture_is_removed_not_recorded(tmp_path: Path) -> None:
    """A stall right after a reconnect: ffmpeg opened a segment, wrote its tables and a little
    audio, and was killed before the first video frame (a CI run recorded such a file)."""
    audio_only = tmp_path / "audio.ts"
    subprocess.run(
        [FFMPEG, "-v", "error", "-f", "lavfi", "-i", "sine=d=0.3", "-c:a", "aac", "-f", "mpegts",
         str(audio_only)],
        check=True,
    )  # fmt: skip
    assert scan_file(audio_only).frames == 0
    for video_line, kept in (("  Stream #0:0: Video: h264 (High), yuv420p, 320x180", False),
                             ("  Stream #0:0: Audio: aac (LC), 44100 Hz, mono", True)):  # fmt: skip
        run = RunSegments(RunContext(tmp_path, "hd"), first_seq=1)
        run.on_stderr_line(video_line)
        run.on_stderr_line(f"[segment @ 0x1] Opening '{tmp_path}/s_0001.ts.part' for writing")
        (tmp_path / "s_0001.ts.part").write_bytes(audio_only.read_bytes())
        records = run.on_exit(now_ms=5_000)
        assert [r.path.name for r in records] == (["s_0001.ts"] if kept else [])
        assert (tmp_path / "s_0001.ts").exists() is kept
        assert not (tmp_path / "s_0001.ts.part").exists()
        (tmp_path / "s_0001.ts").unlink(missing_ok=True)


def test_sps_sizes_of_real_encodes(tmp_path: Path) -> None:
    for size in ("160x90", "90x160", "426x240", "1280x720"):
        info = scan_file(encode_ts(tmp_path / f"{size}.ts", size, seconds=1))
        assert info.keyframes
        w, h = (int(n) for n in size.split("x"))
        assert sps_size(info.keyframes[0].sps) == (w, h)
    assert sps_size(b"\x67") is None
    assert sps_size(b"\x68\x00\x00\x00\x00") is None  # a PPS, not an SPS


def test_a_segment_that_changes_size_is_split(tmp_path: Path) -> None:
    landscape = encode_ts(tmp_path / "a.ts", "160x90", seconds=2)
    portrait = encode_ts(tmp_path / "b.ts", "90x160", seconds=2, offset=2)
    part = tmp_path / "s_0001.ts.part"
    part.write_bytes(landscape.read_bytes() + portrait.read_bytes())
    run = RunSegments(RunContext(tmp_path, "origin"), first_seq=1)
    run.on_progress(now_ms=1_000, out_time_us=1)
    first, second = run.on_closed(ListEntry(part.name, 0.0, 4.0), now_ms=5_000)
    assert (first.seq, first.width, first.height) == (1, 160, 90)
    assert (second.seq, second.width, second.height) == (2, 90, 160)
    assert second.path.name == "s_0001-1.ts"
    assert first.ended_at_ms == second.started_at_ms
    assert abs(first.duration_s - 2.0) < 0.05
    assert abs(second.duration_s - 2.0) < 0.05
    for record, size in ((first, "160x90"), (second, "90x160")):
        assert frame_sizes(record.path) == {size}
        seconds, errors = measure(record.path)
        assert errors == ""
        assert abs(seconds - record.duration_s) < 0.1


def test_segment_wall_times_never_lie_ahead_of_when_ffmpeg_wrote_them(
    four_second_ts: Path, tmp_path: Path
) -> None:
    """Measured against the simulator's HLS (a 6 s backlog at the start): ffmpeg 5.1 printed
    its first report with out_time 0.000023 at wall 173 and closed a 4 s segment at 258; the
    first report alone made that segment end at 4 173, 3.9 s in the future."""
    run = RunSegments(RunContext(tmp_path, "md"), first_seq=1)
    run.on_stderr_line(f"[segment @ 0x1] Opening '{tmp_path}/s_0001.ts.part' for writing")
    run.on_progress(now_ms=173, out_time_us=23)
    (tmp_path / "s_0001.ts.part").write_bytes(four_second_ts.read_bytes())
    [first] = run.on_closed(ListEntry("s_0001.ts.part", 0.0, 4.0), now_ms=258)
    assert (first.started_at_ms, first.ended_at_ms) == (-3_742, 258)
    # a later report proves media 0 was earlier still: later segments start from it, but
    # never before the previous one's end (no overlap)
    run.on_progress(now_ms=565, out_time_us=5_920_000)
    assert run.open_started_at_ms(600) == 258
    (tmp_path / "s_0002.ts.part").write_bytes(four_second_ts.read_bytes())
    [second] = run.on_closed(ListEntry("s_0002.ts.part", 4.0, 8.0), now_ms=4_291)
    assert (second.started_at_ms, second.ended_at_ms) == (258, 2_645)
    (tmp_path / "s_0003.ts.part").write_bytes(four_second_ts.read_bytes())
    [third] = run.on_closed(ListEntry("s_0003.ts.part", 8.0, 12.0), now_ms=8_319)
    assert (third.started_at_ms, third.ended_at_ms) == (2_645, 6_645)
    # the run's end: the open segment's end is at most the moment ffmpeg was reaped
    run.on_stderr_line(f"[segment @ 0x1] Opening '{tmp_path}/s_0004.ts.part' for writing")
    (tmp_path / "s_0004.ts.part").write_bytes(four_second_ts.read_bytes())
    [last] = run.on_exit(now_ms=9_000)
    assert last.started_at_ms == 6_645
    assert last.ended_at_ms <= 9_000
