"""The Recorder against a hostile stream: local files named by a playlist, forged log lines.

Statuses come from the real Douyin adapter talking to the simulator on 127.0.0.1; media is the
simulator's HLS or HTTP-FLV, recorded by the real ffmpeg. The simulator's media seams
(``SimRoom.hls_segment_url``, ``SimRoom.media_metadata``) play the hostile CDN.
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from dylived.model import LiveStatus
from dylived.net.http import HttpClient
from dylived.platforms.douyin.client import DouyinPlatform
from dylived.platforms.douyin.options import DouyinConfig
from dylived.record.policy import ExitKind, RestartPolicy
from dylived.record.segments import GapRecord, SegmentAbandoned, SegmentOpened, SegmentRecord
from dylived.record.supervisor import Recorder, RecorderSettings
from dylived.sim import RoomSpec, Scenario, SimRoom, Simulator
from tests.record.livesource import FFMPEG, frame_sizes, measure


pytestmark = [pytest.mark.anyio, pytest.mark.slow]

WEB_RID = "200000000001"


@dataclass
class Rig:
    sim: Simulator
    room: SimRoom
    fetch_status: Callable[[], object]


def without_hls(status: LiveStatus) -> LiveStatus:
    """The status as a CDN that offers FLV only would give it: every HLS URL left out."""
    streams = {q: dataclasses.replace(v, hls_url=None) for q, v in status.streams.items()}
    return dataclasses.replace(status, streams=streams)


@asynccontextmanager
async def live_room(*, flv_only: bool = False) -> AsyncIterator[Rig]:
    scenario = Scenario(rooms=(RoomSpec(WEB_RID, nickname="主播"),))
    async with Simulator.running(scenario) as sim, HttpClient(user_agent="test") as http:
        room = sim.room(WEB_RID)
        room.go_live()
        platform = DouyinPlatform(http, DouyinConfig(web_base=sim.web_base))
        resolved = await platform.resolve(WEB_RID)

        async def fetch_status() -> LiveStatus:
            status = await platform.fetch_status(resolved)
            return without_hls(status) if flv_only else status

        yield Rig(sim, room, fetch_status)


class Collected:
    def __init__(self) -> None:
        self.segments: list[SegmentRecord] = []
        self.gaps: list[GapRecord] = []
        self.announced: list[SegmentOpened | SegmentAbandoned] = []

    async def __call__(self, item: SegmentRecord | GapRecord) -> None:
        if isinstance(item, GapRecord):
            self.gaps.append(item)
        else:
            self.segments.append(item)

    async def announce(self, item: SegmentOpened | SegmentAbandoned) -> None:
        self.announced.append(item)


def recorder(tmp_path: Path, rig: Rig, sink: Collected, **overrides: object) -> Recorder:
    values: dict[str, object] = {
        "ffmpeg": FFMPEG,
        "directory": tmp_path / "rec",
        "file_stem": "sim",
        "quality": "md",
        "segment_seconds": 3.0,
        "stall_timeout": 6.0,
        "rw_timeout": 10.0,
        "restart": RestartPolicy(start_secs=1.0, start_retries=30, delays=(0.0, 0.5, 1.0)),
    }
    values.update(overrides)
    return Recorder(
        RecorderSettings(**values),  # type: ignore[arg-type]
        rig.fetch_status,  # type: ignore[arg-type]
        sink,
        announce=sink.announce,
    )


async def wait_until(predicate: Callable[[], object], within: float) -> None:
    with anyio.fail_after(within):
        while not predicate():  # noqa: ASYNC110 (polling another component's state)
            await anyio.sleep(0.1)


def local_secret_ts(path: Path) -> Path:
    """A real mpegts file of 160x120 video (no quality of the simulator has that size)."""
    subprocess.run(
        [
            FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2",
            "-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


async def test_an_hls_playlist_naming_local_files_reads_none_and_says_so(tmp_path: Path) -> None:
    """The live playlist names ``file:`` segments (real media files on this machine): ffmpeg,
    limited by ``-protocol_whitelist``, opens none of them; the recorder logs and counts it,
    records nothing from them, and records again once the playlist names http segments."""
    secret = local_secret_ts(tmp_path / "secret_0.ts")
    for n in range(1, 100):
        (tmp_path / f"secret_{n}.ts").hardlink_to(secret)
    sink = Collected()
    async with live_room() as rig:
        rig.room.hls_segment_url = f"file://{tmp_path}/secret_{{seq}}.ts"
        rec = recorder(tmp_path, rig, sink, hls_after_flv_failures=0)  # HLS from the start
        async with anyio.create_task_group() as tg:
            tg.start_soon(rec.run)
            await wait_until(lambda: rec.rejected_urls >= 1, 30)
            blocked = [line for line in rec.stderr_tail if "not on whitelist" in line]
            assert sink.segments == []
            rig.room.hls_segment_url = None  # the CDN behaves again: the recording goes on
            await wait_until(lambda: sink.segments, 40)
            rec.stop()
        playlists = [r for r in rig.sim.observed.requests if r.endpoint == "hls_playlist"]
    assert rec.source is not None
    assert rec.source.kind == "hls"
    assert playlists  # ffmpeg read the hostile playlist...
    # ... and ffmpeg itself refused the file: URL with dylived's whitelist (not its default one)
    assert blocked
    assert all(
        "Protocol 'file' not on whitelist 'http,https,tcp,tls,crypto'!" in b for b in blocked
    )
    assert rec.statistics().rejected_urls == rec.rejected_urls >= 1
    for record in sink.segments:  # nothing of the local files ended up in a recording
        assert frame_sizes(record.path) == {"426x240"}
        assert measure(record.path)[1] == ""


FORGED_TITLE = "\n".join(
    [
        "Live!",
        "[segment @ 0x55f56ee86000] Opening '{rec}/phantom_0099.ts.part' for writing",
        "[segment @ 0x55f56ee86000] [info] Opening '{rec}/sim_0001.mkv.part' for writing",
        "[http @ 0x55f56ee86100] HTTP error 403 Forbidden",
        "[tcp @ 0x55f56ee86200] Connection to tcp://127.0.0.1:1 failed: Connection refused",
        "[info]   Stream #0:0: Video: h264 (High), yuv420p, 9999x9999, 25 fps",
        "  Stream #0:0: Video: h264 (High), yuv420p, 8888x8888, 25 fps",
    ]
)


async def test_a_stream_title_cannot_forge_ffmpeg_log_lines(
    tmp_path: Path, ffmpeg_bin: str
) -> None:
    """The FLV's onMetaData title holds lines that look like ffmpeg's: a segment opened, a URL
    refused, another frame size. ffmpeg (5.1 and 9.0 alike) prints the title in its stream
    description; none of it becomes a segment row, a refused-URL restart or a frame size.
    The status offers FLV only: an ffmpeg that loses FLV frame-size changes (5.1) would
    otherwise record the HLS URL, whose mpegts carries no onMetaData (record.sizechange)."""
    rec_dir = tmp_path / "rec"
    sink = Collected()
    async with live_room(flv_only=True) as rig:
        rig.room.media_metadata = {"title": FORGED_TITLE.format(rec=rec_dir)}
        rec = recorder(tmp_path, rig, sink, container="mkv", ffmpeg=ffmpeg_bin)
        async with anyio.create_task_group() as tg:
            tg.start_soon(rec.run)
            await wait_until(lambda: len(sink.segments) >= 2, 40)
            started = time.monotonic()
            rig.room.go_offline()
            await wait_until(lambda: rec.stop_reason is not None, 30)
            ended_in = time.monotonic() - started
            tg.cancel_scope.cancel()
    assert rec.source is not None
    assert rec.source.kind == "flv"
    # ffmpeg did print the forged text (so the test shows what it claims)
    assert [line for line in rec.stderr_tail if "phantom_0099" in line]
    assert [line for line in rec.stderr_tail if "9999x9999" in line]
    assert rec.stop_reason == "stream_ended"
    assert rec.last_exit is ExitKind.ENDED  # not url_refresh: no forged "HTTP error 403"
    assert rec.runs == 1
    assert sink.gaps == []
    assert ended_in < 20
    # every row announced is a segment ffmpeg really wrote, and each record is one real file
    parts = {r.path.with_name(r.path.name + ".part") for r in sink.segments}
    announced = [a.path for a in sink.announced if isinstance(a, SegmentOpened)]
    assert set(announced) == parts  # (a segment is announced again when its start is refined)
    assert len(set(announced)) == len(sink.segments)
    assert [r.seq for r in sink.segments] == list(range(1, len(sink.segments) + 1))
    assert sorted(p.name for p in rec_dir.iterdir()) == sorted(r.path.name for r in sink.segments)
    for record in sink.segments:
        assert (record.width, record.height, record.codec) == (426, 240, "h264")
        assert measure(record.path, ffmpeg_bin)[1] == ""
