"""The subtitle files: lanes that never overlap (a property), escaping of hostile user text
(read back by every real ffmpeg's libass), counts of skipped and dropped lines, SRT order, and
the segment window taken from stored segment rows."""

from __future__ import annotations

import re
import subprocess
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from dylived.control.api import BadRequest
from dylived.control.render import display_width
from dylived.control.routes import subtitle_options
from dylived.replay import subtitles
from dylived.replay.subtitles import Cue, Placed, clean, collect, layout, render_ass, render_srt
from dylived.store.db import SegmentRecord
from dylived.store.export import SegmentNotFound, subtitle_window
from tests.ffmpegs import every_ffmpeg


HOSTILE = [
    "{\\pos(0,0)}moved",
    "a\\Nb\\nc\\hd",
    "line one\nline two\r\nthree",
    "x" * 5000,
    "😀🎉👍🏽 emoji",
    "}{\\",
    "\ud800 lone surrogate",
    "\x00\x1b[31m\x9b2J\u2028tab\there",
    "{\\fs200\\c&H0000FF&}big",
]


def chat(seq: int, offset: Any, content: str, nick: str = "观众") -> tuple[int, dict[str, Any]]:
    row = {"type": "chat", "content": content, "stream_offset_s": offset}
    return seq, {**row, "user": {"nickname": nick}}


def left_at(p: Placed, t: float) -> float:
    return p.x1 + (p.x2 - p.x1) * (t - p.cue.start_cs) / (p.end_cs - p.cue.start_cs)


texts = st.text(alphabet=st.sampled_from("ab W汉字表情😀{}\\，。"), min_size=1, max_size=40).filter(
    lambda t: clean(t) != ""
)


@settings(max_examples=100, deadline=None)
@given(
    starts=st.lists(st.integers(0, 3000), min_size=1, max_size=50),
    words=st.lists(texts, min_size=50, max_size=50),
    size=st.sampled_from([(640, 360), (1280, 720), (1920, 1080), (720, 1280)]),
    scroll_s=st.floats(2, 15),
    font_size=st.one_of(st.none(), st.integers(12, 90)),
)
def test_no_two_lines_in_one_lane_ever_overlap(
    starts: list[int],
    words: list[str],
    size: tuple[int, int],
    scroll_s: float,
    font_size: int | None,
) -> None:
    cues = [Cue(i, s, "chat", clean(words[i]), "") for i, s in enumerate(starts)]
    lay = layout(cues, *size, font_size=font_size, scroll_s=scroll_s)
    assert len(lay.placed) + lay.dropped == len(cues)
    for p in lay.placed:
        assert 0 <= p.lane < lay.lanes
        assert p.y + lay.lane_height <= size[1]
        assert (p.x1, p.x2) == (size[0], -p.width)  # enters at the right, leaves fully left
    for a, b in combinations(lay.placed, 2):
        if a.lane != b.lane:
            continue
        first, second = (
            (a, b) if (a.cue.start_cs, a.cue.seq) < (b.cue.start_cs, b.cue.seq) else (b, a)
        )
        lo, hi = second.cue.start_cs, min(first.end_cs, second.end_cs)
        for t in (lo, hi) if lo < hi else ():  # both on screen: the later one stays behind
            assert left_at(second, t) >= left_at(first, t) + first.width, (first, second, t)


def test_a_full_screen_drops_lines_and_counts_them() -> None:
    cues = [Cue(i, 0, "chat", "同一时刻", "") for i in range(40)]
    lay = layout(cues, 1280, 720)
    assert lay.lanes == len(lay.placed) < 40  # one per lane, all at once
    assert lay.dropped == 40 - lay.lanes
    text = render_ass(lay)
    assert f"{lay.lanes} lines, {lay.dropped} dropped (every lane full)" in text
    assert text.count("\nDialogue: ") == lay.lanes


def test_a_lane_is_reused_once_the_line_before_has_moved_on() -> None:
    short = [Cue(1, 0, "chat", "hi", ""), Cue(2, 100, "chat", "hi", "")]
    lay = layout(short, 1920, 1080, scroll_s=8)
    assert [p.lane for p in lay.placed] == [0, 0]  # 1 s later the first is far from the edge
    at_once = layout([Cue(1, 0, "chat", "hi", ""), Cue(2, 1, "chat", "hi", "")], 1920, 1080)
    assert [p.lane for p in at_once.placed] == [0, 1]


def test_the_default_font_size_follows_the_video_height() -> None:
    assert subtitles.font_size_for(1080) == 43
    assert subtitles.font_size_for(720) == 29
    assert layout([], 1920, 1080).font_size == 43
    assert subtitles.text_width("ab汉字", 40) == 40 + 80  # CJK full width, ASCII half


def test_hostile_text_stays_one_plain_line() -> None:
    got = collect([chat(i + 1, i * 0.5, t, nick=t) for i, t in enumerate(HOSTILE)])
    assert len(got.cues) == len(HOSTILE)
    text = render_ass(layout(got.cues, 1920, 1080))
    text.encode("utf-8")  # a lone surrogate would raise here
    dialogue = [ln for ln in text.splitlines() if ln.startswith("Dialogue: ")]
    assert len(dialogue) == len(HOSTILE)  # no user newline split a line
    for line in dialogue:
        body = line.split(",", 9)[9]
        match = re.fullmatch(r"\{\\move\(-?\d+,\d+,-?\d+,\d+\)\}(.*)", body)
        assert match, body
        user = match.group(1)
        assert not set(user) & set("{}\\\n\r\t\x00\x1b\x9b\u2028"), user
        assert display_width(user) <= subtitles.MAX_COLUMNS
    assert "｛＼pos(0,0)｝moved" in text
    assert "a＼Nb＼nc＼hd" in text
    assert "line one line two three" in text
    assert "😀🎉👍🏽 emoji" in text
    srt = render_srt(got.cues)
    blocks = srt.split("\n\n")
    assert len(blocks) == len(HOSTILE)  # no blank line inside a cue
    assert all(len(b.strip().splitlines()) == 3 for b in blocks)


@pytest.mark.parametrize("ffmpeg", every_ffmpeg())
@pytest.mark.parametrize("fmt", ["ass", "srt"])
def test_real_libass_reads_the_hostile_file_without_error(
    ffmpeg: str, fmt: str, tmp_path: Path
) -> None:
    got = collect([chat(i + 1, i * 0.2, t, nick=t) for i, t in enumerate(HOSTILE * 3)])
    path = tmp_path / f"hostile.{fmt}"
    lay = layout(got.cues, 640, 360)
    path.write_text(render_ass(lay) if fmt == "ass" else render_srt(got.cues), encoding="utf-8")
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi"]
    argv += ["-i", "color=c=black:s=640x360:r=5:d=4", "-vf", f"subtitles={path}", "-f", "null", "-"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr.lower(), done.stderr


def test_events_without_an_offset_are_skipped_and_counted() -> None:
    rows = [chat(1, None, "before recording"), chat(2, 1.234, "on"), chat(3, float("nan"), "x")]
    rows += [(4, {"type": "member", "stream_offset_s": 2.0, "user": {"nickname": "bob"}})]
    rows += [(5, {"type": "like", "stream_offset_s": 2.0})]
    got = collect(rows)
    assert [(c.seq, c.start_cs) for c in got.cues] == [(2, 123)]
    assert got.no_offset == 2
    with_joins = collect(rows, frozenset({"join"}))
    assert [(c.seq, c.text) for c in with_joins.cues] == [(4, "bob joined")]
    assert with_joins.no_offset == 0  # only included kinds are counted
    assert "; dylived: 1 lines, 0 dropped (every lane full), 2 skipped (no stream offset)" in (
        render_ass(layout(got.cues, 1920, 1080), no_offset=got.no_offset)
    )


def test_gifts_show_name_times_count_and_srt_is_time_ordered() -> None:
    gift = {"type": "gift", "gift_name": "小心心", "repeat_count": 10, "stream_offset_s": 3.0}
    rows = [chat(1, 5.0, "later"), (2, {**gift, "user": {"nickname": "阿强"}}), chat(3, 0.5, "a")]
    got = collect(rows)
    assert [c.text for c in got.cues] == ["a", "阿强 sent 小心心 ×10", "later"]
    srt = render_srt(got.cues, cue_s=4)
    assert srt.startswith("1\n00:00:00,500 --> 00:00:04,500\n观众: a\n\n2\n00:00:03,000 --> ")
    assert "3\n00:00:05,000 --> 00:00:09,000\n观众: later\n" in srt


def segment(seq: int, start: float | None, duration: float | None) -> SegmentRecord:
    return SegmentRecord(
        1, seq, f"/r/{seq}.ts", "closed", 0, None, duration, 1, "md", 1280, 720, "h264", start
    )


def test_a_segment_window_is_its_start_and_duration_or_the_next_start() -> None:
    segs = [segment(1, 0.0, 6.02), segment(2, 6.02, None), segment(3, 20.5, None)]
    assert subtitle_window(segs, 1) == (0.0, 6.02, segs[0])
    assert subtitle_window(segs, 2) == (6.02, 20.5, segs[1])
    assert subtitle_window(segs, 3) == (20.5, None, segs[2])
    assert subtitle_window(segs, None) == (0.0, None, segs[0])
    with pytest.raises(SegmentNotFound):
        subtitle_window(segs, 9)
    got = collect(
        [chat(1, 5.9, "a"), chat(2, 6.5, "b"), chat(3, 21.0, "c")], origin_s=6.02, until_s=20.5
    )
    assert [(c.seq, c.start_cs) for c in got.cues] == [(2, 48)]  # segment-relative


def test_the_query_options_are_checked() -> None:
    options = subtitle_options({"include": "chat,join", "segment": "3", "font_size": "30"})
    assert options.include == frozenset({"chat", "join"})
    assert (options.segment, options.font_size, options.scroll_s) == (3, 30, 8.0)
    assert subtitle_options({}).include == subtitles.DEFAULT_INCLUDE
    for bad in ({"include": "chat,likes"}, {"include": ""}, {"font_size": "2"}, {"segment": "x"}):
        with pytest.raises(BadRequest):
            subtitle_options(bad)
