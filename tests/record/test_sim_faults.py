"""The Recorder against the simulator's live media and its media faults.

Statuses (with fresh, signed stream URLs) come from the real Douyin adapter talking to the
simulator over HTTP on 127.0.0.1; media is the simulator's HTTP-FLV. Quality ``md``
(426x240) keeps the bytes small.
"""

from __future__ import annotations

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
from dylived.record.policy import RecorderState, RestartPolicy
from dylived.record.segments import GapRecord, SegmentRecord
from dylived.record.sizechange import follows_size_change
from dylived.record.supervisor import Recorder, RecorderSettings
from dylived.sim import RoomSpec, Scenario, SimRoom, Simulator
from tests.record.livesource import FFMPEG, frame_sizes, measure


pytestmark = [pytest.mark.anyio, pytest.mark.slow]

WEB_RID = "200000000001"


@dataclass
class Rig:
    room: SimRoom
    fetch_status: Callable[[], object]
    status_requests: list[float]


@asynccontextmanager
async def sim_room() -> AsyncIterator[Rig]:
    scenario = Scenario(rooms=(RoomSpec(WEB_RID, nickname="测试主播"),))
    async with Simulator.running(scenario) as sim, HttpClient(user_agent="test") as http:
        room = sim.room(WEB_RID)
        room.go_live()
        platform = DouyinPlatform(http, DouyinConfig(web_base=sim.web_base))
        resolved = await platform.resolve(WEB_RID)
        asked: list[float] = []

        async def fetch_status() -> LiveStatus:
            asked.append(time.time())
            return await platform.fetch_status(resolved)

        yield Rig(room, fetch_status, asked)


class Collected:
    def __init__(self) -> None:
        self.segments: list[SegmentRecord] = []
        self.gaps: list[GapRecord] = []

    async def __call__(self, item: SegmentRecord | GapRecord) -> None:
        if isinstance(item, GapRecord):
            self.gaps.append(item)
        else:
            self.segments.append(item)


def make_recorder(tmp_path: Path, rig: Rig, sink: Collected, **overrides: object) -> Recorder:
    values: dict[str, object] = {
        "ffmpeg": FFMPEG,
        "directory": tmp_path / "rec",
        "file_stem": "sim",
        "quality": "md",
        "segment_seconds": 6.0,
        "stall_timeout": 4.0,
        "rw_timeout": 10.0,
        "restart": RestartPolicy(start_secs=1.0, start_retries=8, delays=(0.0, 0.5, 1.0)),
    }
    values.update(overrides)
    return Recorder(RecorderSettings(**values), rig.fetch_status, sink)  # type: ignore[arg-type]


async def wait_until(predicate: Callable[[], object], within: float) -> None:
    with anyio.fail_after(within):
        while not predicate():  # noqa: ASYNC110 (polling another component's state)
            await anyio.sleep(0.1)


def covered_seconds(segments: list[SegmentRecord]) -> float:
    return sum(measure(r.path)[0] for r in segments)


async def test_url_expire_costs_under_20_s(tmp_path: Path, ffmpeg_bin: str) -> None:
    sink = Collected()
    async with sim_room() as rig:
        recorder = make_recorder(tmp_path, rig, sink, ffmpeg=ffmpeg_bin)
        async with anyio.create_task_group() as tg:
            tg.start_soon(recorder.run)
            await wait_until(lambda: recorder.state is RecorderState.RUNNING, 15)
            started = time.time()
            await anyio.sleep(4)
            asked_before = len(rig.status_requests)
            rig.room.inject("url_expire")  # old URLs answer 403, open media is cut
            await wait_until(lambda: sink.gaps, 20)
            await anyio.sleep(5)
            recorder.stop()
        wall = time.time() - started
    assert len(rig.status_requests) > asked_before  # a fresh status (new URL) was fetched
    [gap] = sink.gaps
    assert gap.seconds <= 20
    assert covered_seconds(sink.segments) >= wall - 20
    for record in sink.segments:
        assert measure(record.path, ffmpeg_bin)[1] == "" or not record.complete


async def test_stream_stall_costs_under_20_s(tmp_path: Path) -> None:
    sink = Collected()
    async with sim_room() as rig:
        recorder = make_recorder(tmp_path, rig, sink)
        async with anyio.create_task_group() as tg:
            tg.start_soon(recorder.run)
            await wait_until(lambda: recorder.state is RecorderState.RUNNING, 15)
            started = time.time()
            await anyio.sleep(3)
            rig.room.inject("stream_stall", duration=8)  # connections open, no bytes
            await wait_until(lambda: sink.gaps, 25)
            await wait_until(lambda: recorder.state is RecorderState.RUNNING, 15)
            await anyio.sleep(4)
            recorder.stop()
        wall = time.time() - started
    assert [g.cause for g in sink.gaps][:1] == ["stall"]
    assert sum(g.seconds for g in sink.gaps) <= 20
    assert covered_seconds(sink.segments) >= wall - 20
    assert recorder.runs >= 2


async def test_resolution_change_starts_a_new_segment(tmp_path: Path, ffmpeg_bin: str) -> None:
    """Each segment holds one frame size and decodes clean, with this ffmpeg as recorder and
    decoder. An ffmpeg that loses a size change inside FLV (5.1) records the HLS URL instead."""
    follows = await follows_size_change(ffmpeg_bin)
    sink = Collected()
    async with sim_room() as rig:
        recorder = make_recorder(tmp_path, rig, sink, segment_seconds=8.0, ffmpeg=ffmpeg_bin)
        async with anyio.create_task_group() as tg:
            tg.start_soon(recorder.run)
            await wait_until(lambda: recorder.state is RecorderState.RUNNING, 25)
            await anyio.sleep(3)
            rig.room.inject("resolution_change")  # from the next 4 s clip boundary
            await anyio.sleep(12)
            recorder.stop()
    assert recorder.source is not None
    assert recorder.source.kind == ("flv" if follows else "hls")
    sizes = [(r.width, r.height) for r in sink.segments]
    assert (426, 240) in sizes
    assert (240, 426) in sizes
    assert sink.gaps == []  # split in place: nothing lost
    for record in sink.segments:
        assert frame_sizes(record.path, ffmpeg_bin) == {f"{record.width}x{record.height}"}, record
        assert measure(record.path, ffmpeg_bin)[1] == ""
    for before, after in zip(sink.segments, sink.segments[1:], strict=False):
        assert after.started_at_ms >= before.ended_at_ms - 500
