"""The Recorder steps down one quality after repeated failed starts.

Statuses come from the real Douyin adapter talking to the simulator on 127.0.0.1, with the
wanted quality's URLs pointed at a closed port (a CDN whose top rendition is broken); media is
the simulator's, recorded by the real ffmpeg.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import anyio
import pytest

from dylived.model import LiveStatus, StreamVariant, lower_quality
from dylived.record.segments import SegmentRecord
from tests.record.livesource import frame_sizes
from tests.record.test_media_security import Collected, live_room, recorder, wait_until


DEAD = "http://127.0.0.1:1/dead"  # nothing listens on port 1: ffmpeg fails at once


def _broken(status: LiveStatus, quality: str) -> LiveStatus:
    """``status`` with ``quality``'s FLV and HLS URLs dead."""
    streams = dict(status.streams)
    streams[quality] = dataclasses.replace(
        streams[quality], flv_url=f"{DEAD}.flv", hls_url=f"{DEAD}.m3u8"
    )
    return dataclasses.replace(status, streams=streams)


def test_lower_quality_is_the_best_one_below() -> None:
    def variant(q: str) -> StreamVariant:
        return StreamVariant(quality=q, flv_url=f"http://127.0.0.1/{q}.flv")

    status = LiveStatus(live=True, streams={q: variant(q) for q in ("origin", "hd", "ld")})
    assert lower_quality(status, "origin") == "hd"
    assert lower_quality(status, "uhd") == "hd"
    assert lower_quality(status, "hd") == "ld"
    assert lower_quality(status, "ld") is None


@pytest.mark.anyio
@pytest.mark.slow
async def test_a_broken_quality_is_left_for_the_next_lower_one_after_repeated_failures(
    tmp_path: Path,
) -> None:
    sink = Collected()
    async with live_room() as rig:
        real = rig.fetch_status

        async def fetch_status() -> LiveStatus:
            status = await real()  # type: ignore[misc]
            assert isinstance(status, LiveStatus)
            return _broken(status, "sd")

        rig.fetch_status = fetch_status
        rec = recorder(
            tmp_path, rig, sink, quality="sd", hls_after_flv_failures=1, step_down_after_failures=2
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(rec.run)
            await wait_until(lambda: sink.segments, 90)
            rec.stop()
    assert rec.quality_steps_down == 1
    assert rec.runs >= 3  # two failed starts at sd (FLV, then HLS), then ld
    stats = rec.statistics()
    assert stats.quality == "ld"
    record = sink.segments[0]
    assert isinstance(record, SegmentRecord)
    assert frame_sizes(record.path) == {"640x360"}  # the simulator's ld rendition
