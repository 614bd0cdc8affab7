"""``TikTokPlatform`` over real HTTP against the simulator's TikTok personality on 127.0.0.1:
one request per check, the live page once when the API is refused, no second request after a
429, the cookies on status requests, a numeric room id through room/info; each with the
simulator's real-size bodies (the default) and its small ones (``status_body = "small"``)."""

from __future__ import annotations

import dataclasses

import pytest

from dylived.config.values import Secret
from dylived.errors import RiskControl, StatusUncertain
from dylived.net.http import HttpClient
from dylived.platforms.tiktok.client import TikTokPlatform
from dylived.platforms.tiktok.options import TikTokConfig
from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.sim.scenario import FaultSpec


pytestmark = pytest.mark.anyio

SCENARIO = Scenario(rooms=(RoomSpec("sim.creator", platform="tiktok", nickname="Sim"),))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["real", "small"])
def scenario(request: pytest.FixtureRequest) -> Scenario:
    return dataclasses.replace(SCENARIO, status_body=request.param)


def section(sim: Simulator, **keys: object) -> TikTokConfig:
    return TikTokConfig(web_base=sim.web_base, webcast_base=sim.web_base, **keys)  # type: ignore[arg-type]


async def test_one_request_per_check_and_the_live_page_only_when_refused(
    scenario: Scenario,
) -> None:
    async with Simulator.running(scenario) as sim, HttpClient(user_agent="UA", timeout=5) as http:
        room = sim.room("sim.creator")
        room.go_live()
        platform = TikTokPlatform(http, section(sim, sessionid=Secret("sess-1")))
        target = await platform.resolve("https://www.tiktok.com/@sim.creator/live")
        first = await platform.fetch_status(target)
        second = await platform.fetch_status(target)
        assert (first.live, second.room_id, platform.fallbacks) == (True, room.room_id, 0)
        assert set(first.streams) == {"origin", "uhd", "hd", "sd", "ld"}
        assert [r.endpoint for r in sim.observed.requests] == ["tt_user_room"] * 2
        sizes = [r.body_bytes for r in sim.observed.requests]
        assert min(sizes) > 18_000 if scenario.status_body == "real" else max(sizes) < 10_000
        ids = {r.query["device_id"] for r in sim.observed.requests}
        assert len(ids) == 2  # a fresh device_id per request, as TikTokLive does
        assert all(r.cookies == {"sessionid": "sess-1"} for r in sim.observed.requests)

        room.apply_fault(FaultSpec("waf_page", count=1))
        fallback = await platform.fetch_status(target)
        assert (fallback.live, fallback.room_id, platform.fallbacks) == (True, room.room_id, 1)
        assert set(fallback.streams) == set(first.streams)  # from the live page
        assert [r.endpoint for r in sim.observed.requests][2:] == ["tt_user_room", "tt_live_page"]

        room.apply_fault(FaultSpec("http_429", count=1, retry_after=7))
        with pytest.raises(RiskControl) as limited:
            await platform.fetch_status(target)
        assert limited.value.retry_after == 7
        assert [r.endpoint for r in sim.observed.requests][4:] == ["tt_user_room"]

        room.modes.add("user_not_found")
        with pytest.raises(StatusUncertain):
            await platform.fetch_status(target)
        assert platform.fallbacks == 1  # an uncertain answer is not retried on the page


async def test_a_numeric_room_id_asks_room_info_and_media_gets_no_cookie(
    scenario: Scenario,
) -> None:
    async with Simulator.running(scenario) as sim, HttpClient(user_agent="UA", timeout=5) as http:
        room = sim.room("sim.creator")
        room_id = room.go_live()
        platform = TikTokPlatform(http, section(sim, tt_target_idc=Secret("useast2a")))
        status = await platform.fetch_status(await platform.resolve(room_id))
        assert (status.live, status.handle, status.user_id) == (True, "sim.creator", str(room.uid))
        assert [r.endpoint for r in sim.observed.requests] == ["tt_room_info"]
        assert set(status.streams) == {"origin", "uhd", "hd", "sd", "ld"}
        assert sim.observed.requests[0].cookies == {"tt-target-idc": "useast2a"}
        headers = dict(platform.media_headers())
        assert set(headers) == {"User-Agent", "Referer"}
        assert "useast2a" not in repr(platform.media_headers())
