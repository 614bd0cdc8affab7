"""Real media: ffmpeg reads every quality over FLV and HLS; URLs expire; frame sizes change.

The tests that read media run once per ffmpeg on the machine (``ffmpeg_bin``)."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import httpx
import pytest

from dylived.record.probe import find_ffmpeg
from dylived.record.sizechange import follows_size_change
from dylived.sim import QUALITY_LADDER, Simulator
from dylived.sim.media import CLIP_MS, parse_flv, rewrite_ts, segment_bytes
from tests.sim.conftest import WEB_RID


pytestmark = pytest.mark.anyio

VIDEO_SIZE = re.compile(r"Stream #\d+:\d+.*Video: h264.*?, (\d{2,5})x(\d{2,5})")
SHOWINFO_SIZE = re.compile(r" s:(\d+)x(\d+) ")


async def ffmpeg(*args: str, exe: str | None = None) -> tuple[int, str]:
    result = await anyio.run_process([exe or find_ffmpeg(), "-hide_banner", *args], check=False)
    return result.returncode, result.stderr.decode(errors="replace")


async def probe_size(url: str, exe: str) -> tuple[int, int]:
    code, err = await ffmpeg("-i", url, "-t", "1", "-f", "null", "-", exe=exe)
    assert code == 0, err[-2000:]
    match = VIDEO_SIZE.search(err)
    assert match, err[-2000:]
    assert "Audio: aac" in err
    return int(match[1]), int(match[2])


async def test_ffmpeg_reads_every_quality_over_flv_and_hls(sim: Simulator, ffmpeg_bin: str) -> None:
    room = sim.room(WEB_RID)
    room.go_live()
    links = room.view().links
    sizes: dict[tuple[str, str], tuple[int, int]] = {}

    async def one(quality: str, kind: str, url: str) -> None:
        sizes[quality, kind] = await probe_size(url, ffmpeg_bin)

    async with anyio.create_task_group() as tg:
        for quality in QUALITY_LADDER:
            tg.start_soon(one, quality.sdk_key, "flv", links[quality.sdk_key].flv)
            tg.start_soon(one, quality.sdk_key, "hls", links[quality.sdk_key].hls)
    for quality in QUALITY_LADDER:
        expected = (quality.width, quality.height)
        assert sizes[quality.sdk_key, "flv"] == expected
        assert sizes[quality.sdk_key, "hls"] == expected
    assert len({q.width for q in QUALITY_LADDER}) == len(QUALITY_LADDER)
    counts = sim.observed.request_counts()
    assert counts["flv"] == 6
    assert counts["hls_playlist"] >= 6
    assert counts["hls_segment"] >= 6


@pytest.mark.slow
async def test_continuous_copy_across_loops_and_a_resolution_change(
    sim: Simulator, tmp_path: Path, ffmpeg_bin: str
) -> None:
    """What the recorder does (-c copy for longer than a clip) stays clean, and the size changes.

    An ffmpeg that loses a size change inside FLV when writing mpegts (5.1: record.sizechange)
    copies the FLV into FLV, which keeps it: the simulator's stream is checked either way."""
    room = sim.room(WEB_RID)
    room.go_live()
    links = room.view().links
    results: dict[str, tuple[int, str]] = {}
    flv_into = "mpegts" if await follows_size_change(ffmpeg_bin) else "flv"

    async def record(kind: str, url: str) -> None:
        out = str(tmp_path / f"{kind}.ts")
        into = flv_into if kind == "flv" else "mpegts"
        results[kind] = await ffmpeg(
            "-loglevel", "warning", "-i", url, "-t", "9", "-c", "copy", "-f", into, out,
            exe=ffmpeg_bin,
        )  # fmt: skip

    async with anyio.create_task_group() as tg:
        tg.start_soon(record, "flv", links["ld"].flv)
        tg.start_soon(record, "hls", links["ld"].hls)
        await anyio.sleep(1)
        room.inject("resolution_change")
    for kind in ("flv", "hls"):
        code, warnings = results[kind]
        assert code == 0
        assert warnings.strip() == "", warnings  # no non-monotonic DTS, no CC errors
        code, info = await ffmpeg("-i", str(tmp_path / f"{kind}.ts"), "-vf", "showinfo",
                                  "-f", "null", "-", exe=ffmpeg_bin)  # fmt: skip
        sizes = [(int(w), int(h)) for w, h in SHOWINFO_SIZE.findall(info)]
        assert len(sizes) >= 200  # ~9 s at 25 fps
        assert set(sizes) == {(640, 360), (360, 640)}, kind
    flv_record = next(r for r in sim.observed.media_connections if r.kind == "flv")
    assert flv_record.frame_sizes == [(640, 360), (360, 640)]
    # the adaptation event went out and web/enter now advertises the portrait size
    links_after = room.view().links
    assert (links_after["ld"].width, links_after["ld"].height) == (360, 640)


async def test_expired_forged_unknown_and_ended_urls(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room.go_live()
    url = httpx.URL(room.view().links["hd"].flv)
    async with httpx.AsyncClient() as client:
        forged = await client.get(url.copy_set_param("sign", "0" * 32))
        expired = await client.get(url.copy_set_param("expire", "5f5e1000"))
        unknown = await client.get(url.copy_with(path="/thirdgame/stream-1_hd.flv"))
        playlist = await client.get(room.view().links["hd"].hls)
        room.go_offline()
        ended = await client.get(url)
    assert forged.status_code == 403
    assert expired.status_code == 403
    assert unknown.status_code == 403
    assert playlist.status_code == 200
    assert playlist.text.startswith("#EXTM3U")
    assert "#EXT-X-MEDIA-SEQUENCE:" in playlist.text
    assert ended.status_code == 404


async def test_flv_timestamps_continue_across_loops(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room.go_live()
    clip = await sim.media.clip(426, 240)
    # one loop of tags, retimed for loop 3, parses back with the same spacing
    header_and_tags = b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00" + b"".join(
        tag.retimed(3 * CLIP_MS + tag.ts) for tag in clip.flv_tags
    )
    _, tags = parse_flv(header_and_tags)
    assert [t.ts for t in tags] == [3 * CLIP_MS + t.ts for t in clip.flv_tags]
    video = [t.ts for t in clip.flv_tags if t.kind == 9]
    audio = [t.ts for t in clip.flv_tags if t.kind == 8]
    assert max(video) + 40 - min(video) == CLIP_MS  # video spans exactly one loop
    assert max(audio) < min(audio) + CLIP_MS - 40  # audio never overlaps the next loop
    # HLS: segment n+K is segment n moved by exactly one loop
    later = segment_bytes(clip, 2)
    assert later == rewrite_ts(segment_bytes(clip, 0), CLIP_MS * 90, _cc_after(clip))


def _cc_after(clip: object) -> dict[int, int]:
    from dylived.sim.media import Clip

    assert isinstance(clip, Clip)
    totals: dict[int, int] = {}
    for counts in clip.ts_cc_counts:
        for pid, n in counts.items():
            totals[pid] = (totals.get(pid, 0) + n) & 0x0F
    return totals
