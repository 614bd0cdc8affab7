"""Fixtures for the simulator's own tests: the anyio backend, a scenario with one room, and
``ffmpeg_bin``: each distinct ffmpeg on the machine in turn (tests/ffmpegs.py), for the tests
that read the simulator's media with ffmpeg; the test id names the version (``[ffmpeg5.1]``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from tests.ffmpegs import ffmpeg_bin


__all__ = ["ffmpeg_bin"]


WEB_RID = "200000000001"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def scenario() -> Scenario:
    return Scenario(
        rooms=(
            RoomSpec(
                WEB_RID,
                nickname="测试主播",
                title="模拟直播间",
                share_code="iRNBho6u",
                profile_code="Xk3pQ2aa",
            ),
            RoomSpec("200000000002", nickname="下播主播", ended_style="prompts"),
        ),
        ping_interval=0,
    )


@pytest.fixture
async def sim(scenario: Scenario) -> AsyncIterator[Simulator]:
    async with Simulator.running(scenario) as simulator:
        yield simulator
