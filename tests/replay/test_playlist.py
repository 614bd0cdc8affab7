"""The session playlist's pure parts: the playlist text, segment ids, byte ranges, confinement.

The routes through the real daemon (the playlist playing in ffprobe, ranges, refusals) are
``tests/control/test_ctl_real.py::test_session_playlist_plays_in_ffprobe_and_serves_only_recordings``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dylived.replay import playlist as hls
from dylived.replay.playlist import PlaylistSegment


def seg(seq: int, state: str = "closed", duration: float | None = 6.0) -> PlaylistSegment:
    return PlaylistSegment(7, seq, f"/rec/a_{seq:04d}.ts", state, duration)


def test_an_ended_session_is_a_vod_playlist_of_its_closed_segments_in_order() -> None:
    segments = [
        seg(2, duration=4.5),
        seg(0),
        seg(1, "failed"),
        seg(3, "writing"),
        seg(4, "deleted"),
    ]
    text = hls.render([*segments, seg(5, duration=None), seg(6, duration=6.2)], ended=True)
    assert text.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:7",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-DISCONTINUITY-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXTINF:6.000,",
        "../../segments/7-0.ts",
        "#EXT-X-DISCONTINUITY",
        "#EXTINF:4.500,",
        "../../segments/7-2.ts",
        "#EXT-X-DISCONTINUITY",
        "#EXTINF:6.200,",
        "../../segments/7-6.ts",
        "#EXT-X-ENDLIST",
    ]


def test_a_live_session_is_an_event_playlist_without_endlist() -> None:
    text = hls.render([seg(0), seg(1, "writing")], ended=False)
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in text
    assert "#EXT-X-ENDLIST" not in text
    assert text.count("#EXTINF:") == 1
    assert hls.render([], ended=False).count("#EXTINF") == 0


def test_each_segment_carries_its_wall_clock_start_in_utc() -> None:
    first = PlaylistSegment(7, 0, "/rec/a_0000.ts", "closed", 6.0, 1_796_181_864_123)
    second = PlaylistSegment(7, 1, "/rec/a_0001.ts", "closed", 6.0, 1_796_181_870_005)
    lines = hls.render([second, first, seg(2)], ended=False).splitlines()
    dates = [line for line in lines if line.startswith("#EXT-X-PROGRAM-DATE-TIME:")]
    assert dates == [
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-02T03:24:24.123Z",
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-02T03:24:30.005Z",
    ]  # seg(2) has no stored start: no date rather than a wrong one
    # the date follows the discontinuity and precedes the segment's EXTINF
    at = lines.index(dates[1])
    assert lines[at - 1 : at + 2] == ["#EXT-X-DISCONTINUITY", dates[1], "#EXTINF:6.000,"]


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("7-0", (7, 0, None)),
        ("7-12.ts", (7, 12, ".ts")),
        ("7-1.mp4", (7, 1, ".mp4")),
        ("../../etc/passwd", None),
        ("1/..", None),
        ("7-1/../x", None),
        ("7-1.ts/..", None),
        ("..", None),
        ("7", None),
        ("-1-2", None),
        ("7-1.TS", None),
    ],
)
def test_segment_ids_are_session_dash_seq_and_nothing_else(
    raw: str, parsed: tuple[int, int, str | None] | None
) -> None:
    assert hls.parse_segment_id(raw) == parsed


@pytest.mark.parametrize(
    ("header", "wanted"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=999-999", (999, 999)),
        ("bytes=5-3", None),  # invalid: ignored, the whole file
        ("bytes=0-1,5-9", None),  # several ranges: the whole file
        ("items=0-1", None),
        ("bytes=-", None),
    ],
)
def test_single_byte_ranges(header: str | None, wanted: tuple[int, int] | None) -> None:
    assert hls.parse_range(header, 1000) == wanted


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-2000", "bytes=-0"])
def test_a_range_past_the_end_is_not_satisfiable(header: str) -> None:
    with pytest.raises(hls.RangeNotSatisfiable):
        hls.parse_range(header, 1000)


def test_confine_refuses_dotdot_symlinks_out_and_the_root_itself(tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    (root / "alice").mkdir(parents=True)
    inside = root / "alice" / "a.ts"
    inside.write_bytes(b"x")
    outside = tmp_path / "secret.ts"
    outside.write_bytes(b"s")
    (root / "alice" / "out.ts").symlink_to(outside)
    (root / "alice" / "in.ts").symlink_to(inside)
    (root / "up").symlink_to(tmp_path)
    assert hls.confine(root, str(inside)) == inside
    assert hls.confine(root, "alice/a.ts") == inside
    assert hls.confine(root, str(root / "alice" / "in.ts")) == inside
    for stored in (
        "../secret.ts",
        str(outside),
        str(root / "alice" / "out.ts"),
        "alice/../../secret.ts",
        "up/secret.ts",
        str(root),
        "/etc/passwd",
    ):
        assert hls.confine(root, stored) is None, stored
    # recordings_dir itself behind a symlink: still confined to where it really is
    link_root = tmp_path / "rec-link"
    os.symlink(root, link_root)
    assert hls.confine(link_root, str(inside)) == inside
    assert hls.confine(link_root, "../secret.ts") is None


@pytest.mark.anyio
async def test_file_chunks_give_the_exact_range_in_bounded_chunks(tmp_path: Path) -> None:
    data = os.urandom(3 * hls.CHUNK_BYTES + 17)
    path = tmp_path / "a.ts"
    path.write_bytes(data)
    chunks = [c async for c in hls.file_chunks(path, 5, len(data) - 3)]
    assert b"".join(chunks) == data[5:-2]
    assert max(len(c) for c in chunks) == hls.CHUNK_BYTES
    assert [c async for c in hls.file_chunks(path, 10, 10)] == [data[10:11]]


def test_content_types_by_extension() -> None:
    assert hls.content_type(Path("a.ts")) == "video/mp2t"
    assert hls.content_type(Path("a.MP4")) == "video/mp4"
    assert hls.content_type(Path("a.mkv")) == "video/x-matroska"
    assert hls.content_type(Path("a.bin")) == "application/octet-stream"
