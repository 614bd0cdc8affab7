"""Remux to MP4 with real ffmpeg: joined, faststart, nothing re-encoded, originals optional."""

from __future__ import annotations

from pathlib import Path

import pytest

from dylived.errors import RecorderError
from dylived.record.postprocess import RemuxInput, concat_list, group_segments, remux_session
from tests.record.livesource import FFMPEG, measure
from tests.record.test_segments import encode_ts


pytestmark = pytest.mark.anyio


def test_groups_follow_size_and_codec() -> None:
    a, b, c, d = (Path(f"/r/{n}.ts") for n in "abcd")
    groups = group_segments(
        [
            RemuxInput(a, 160, 90, "h264"),
            RemuxInput(b, 160, 90, "h264"),
            RemuxInput(c, 90, 160, "h264"),
            RemuxInput(d, 160, 90, "h264"),
        ]
    )
    assert groups == [[a, b], [c], [d]]
    assert group_segments([]) == []


def test_concat_list_quotes_paths() -> None:
    text = concat_list([Path("/r/it's here.ts")])
    assert text == "file '/r/it'\\''s here.ts'\n"


def leftovers(directory: Path) -> list[Path]:
    """Temporary files of a remux (``.part`` output, concat list)."""
    return [p for p in directory.iterdir() if p.suffix in (".part", ".txt")]


def _segments(tmp_path: Path) -> list[Path]:
    # three 2-s segments of one stream, as the recorder leaves them (timestamps from 0 each)
    return [encode_ts(tmp_path / f"odd 'name'_{i}.ts", seconds=2) for i in range(3)]


async def test_remux_joins_segments_into_one_faststart_mp4(tmp_path: Path) -> None:
    paths = _segments(tmp_path)
    inputs = [RemuxInput(p, 160, 90, "h264") for p in paths]
    [mp4] = await remux_session(FFMPEG, inputs, tmp_path, "session")
    assert mp4 == tmp_path / "session.mp4"
    seconds, errors = measure(mp4)
    assert errors == ""
    assert abs(seconds - 6.0) < 0.2
    head = mp4.read_bytes()[:200_000]
    assert 0 <= head.find(b"moov") < head.find(b"mdat")  # faststart: the index first
    assert all(p.exists() for p in paths)  # originals kept by default
    assert leftovers(tmp_path) == []


async def test_remux_can_drop_originals_and_splits_on_size_change(tmp_path: Path) -> None:
    a = encode_ts(tmp_path / "a.ts", "160x90", seconds=2)
    b = encode_ts(tmp_path / "b.ts", "90x160", seconds=2)
    inputs = [RemuxInput(a, 160, 90, "h264"), RemuxInput(b, 90, 160, "h264")]
    outputs = await remux_session(FFMPEG, inputs, tmp_path, "s", keep_originals=False)
    assert [p.name for p in outputs] == ["s.mp4", "s-2.mp4"]
    assert not a.exists()
    assert not b.exists()
    for mp4 in outputs:
        assert measure(mp4)[1] == ""


async def test_a_failed_remux_leaves_nothing_and_keeps_originals(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.ts"
    bogus.write_bytes(b"not a transport stream")
    with pytest.raises(RecorderError, match="failed"):
        await remux_session(FFMPEG, [RemuxInput(bogus)], tmp_path, "x", keep_originals=False)
    assert bogus.exists()
    assert not (tmp_path / "x.mp4").exists()
    assert leftovers(tmp_path) == []
