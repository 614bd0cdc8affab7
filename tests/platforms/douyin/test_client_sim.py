"""DouyinPlatform against the simulator on 127.0.0.1: every target form, ttwid, error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from dylived.config.values import Secret
from dylived.errors import RiskControl, RoomNotFound, UpstreamError
from dylived.net.http import BlockedResponse, HttpClient
from dylived.platforms.base import Target
from dylived.platforms.douyin.client import DouyinPlatform
from dylived.platforms.douyin.options import DouyinConfig
from dylived.platforms.douyin.status import sec_uid_of
from dylived.platforms.douyin.targets import ResolvedTarget, TargetKind
from dylived.sim import RoomSpec, Scenario, Simulator


LIVE_RID = "200000000001"
IDLE_RID = "200000000002"  # never live in this run
PROMPTS_RID = "200000000003"  # ends with data.prompts, no data.user
SCENARIO = Scenario(
    rooms=(
        RoomSpec(LIVE_RID, nickname="直播中", share_code="liveShare1", profile_code="prof0001"),
        RoomSpec(IDLE_RID, nickname="还没开播"),
        RoomSpec(PROMPTS_RID, nickname="下播了", ended_style="prompts"),
    )
)


@dataclass
class Rig:
    sim: Simulator
    http: HttpClient
    platform: DouyinPlatform

    def count(self, endpoint: str) -> int:
        return len(self.sim.observed.requests_to(endpoint))


def settings(sim: Simulator, cookies: str = "") -> DouyinConfig:
    return DouyinConfig(
        web_base=sim.web_base,
        ws_hosts=(sim.ws_base,),
        app_base=sim.web_base,
        share_base=sim.web_base,
        cookies=Secret(cookies),
    )


@asynccontextmanager
async def rig(cookies: str = "", ttwid_refresh_interval: float = 60.0) -> AsyncIterator[Rig]:
    async with Simulator.running(SCENARIO) as sim:
        config = settings(sim, cookies)
        async with HttpClient(user_agent=config.user_agent, timeout=5) as http:
            platform = DouyinPlatform(http, config, ttwid_refresh_interval=ttwid_refresh_interval)
            yield Rig(sim, http, platform)


def live_target_forms(sim: Simulator) -> list[str]:
    sec_uid = sim.room(LIVE_RID).sec_uid
    return [
        f"https://live.douyin.com/{LIVE_RID}",
        LIVE_RID,
        "https://v.douyin.com/liveShare1/",  # live share: redirect to a reflow page
        "https://v.douyin.com/prof0001/",  # profile share: redirect to a profile page
        f"https://www.douyin.com/user/{sec_uid}",
        sec_uid,
    ]


@pytest.mark.anyio
async def test_every_target_form_reports_live_then_offline() -> None:
    async with rig() as r:
        room = r.sim.room(LIVE_RID)
        room_id = room.go_live(title="今晚测试")
        resolved = [await r.platform.resolve(form) for form in live_target_forms(r.sim)]
        for target in resolved:
            assert target.web_rid == LIVE_RID, target
            status = await r.platform.fetch_status(target)
            assert status.live is True, target
            assert (status.room_id, status.handle, status.title) == (room_id, LIVE_RID, "今晚测试")
            assert (status.nickname, sec_uid_of(status)) == ("直播中", room.sec_uid)
            assert status.user_id == str(room.uid)
            assert {"origin", "uhd", "hd", "sd", "ld", "md"} <= set(status.streams)
            assert status.streams["ld"].height == 360
        kinds = [t.kind for t in resolved]
        assert kinds == ["web_rid", "web_rid", "share_url", "share_url", "sec_uid", "sec_uid"]
        assert resolved[2].room_id == room_id  # the live share named the room
        assert r.count("share") == 2

        room.go_offline()
        for target in resolved:
            status = await r.platform.fetch_status(target)
            assert status.live is False, target
            assert status.streams == {}
        assert r.platform.ttwid_fetches == 1  # one ttwid served every request


@pytest.mark.anyio
async def test_sec_uid_only_target_uses_reflow_and_its_post_end_quirk_is_offline() -> None:
    async with rig() as r:
        room = r.sim.room(LIVE_RID)
        room_id = room.go_live()
        target = ResolvedTarget(room.sec_uid, TargetKind.SEC_UID, sec_uid=room.sec_uid)
        status = await r.platform.fetch_status(target)
        assert (status.live, status.room_id, status.handle) == (True, room_id, LIVE_RID)
        assert r.count("web_enter") == 0
        room.go_offline()
        # The reflow API still says status 2 for a while after the end, with finish_time and a
        # replay URL (the real quirk, reproduced by the simulator): offline nonetheless.
        body = (await r.http.fetch(r.platform.reflow_url(room.sec_uid))).body
        assert b'"status":2' in body
        assert b"reflow_room_info" in body
        assert (await r.platform.fetch_status(target)).live is False


@pytest.mark.anyio
async def test_rooms_that_are_not_live() -> None:
    async with rig() as r:
        idle = await r.platform.fetch_status(await r.platform.resolve(IDLE_RID))
        assert (idle.live, idle.nickname, idle.handle) == (False, "还没开播", IDLE_RID)
        assert sec_uid_of(idle) == r.sim.room(IDLE_RID).sec_uid
        # A known broadcaster always has a room object (status 4 while offline), as on the
        # real service: one web/enter request per check, no reflow fallback.
        assert r.count("web_enter") == 1
        assert r.count("reflow") == 0

        prompts_room = r.sim.room(PROMPTS_RID)
        prompts_room.go_live()
        prompts_room.go_offline()
        ended = await r.platform.fetch_status(await r.platform.resolve(PROMPTS_RID))
        assert ended.live is False


@pytest.mark.anyio
async def test_unknown_targets_are_room_not_found() -> None:
    async with rig() as r:
        with pytest.raises(RoomNotFound, match="no room"):
            await r.platform.fetch_status(await r.platform.resolve("299999999999"))
        with pytest.raises(RoomNotFound, match="HTTP 404"):
            await r.platform.resolve("https://v.douyin.com/nosuchcode/")
        with pytest.raises(RoomNotFound, match="sec_uid"):
            await r.platform.resolve("uid:3789344204128560")
        with pytest.raises(UpstreamError, match="10011"):  # the real reflow error shape
            await r.platform.resolve("MS4wLjABAAAAnobodyhasthissecuid000000000000000000000")
        resolved = await r.platform.resolve(Target("web_rid", LIVE_RID))
        assert resolved == ResolvedTarget(LIVE_RID, TargetKind.WEB_RID, web_rid=LIVE_RID)


@pytest.mark.anyio
async def test_no_ttwid_is_an_empty_body_then_the_adapter_fetches_one() -> None:
    async with rig() as r:
        r.sim.room(LIVE_RID).go_live()
        with pytest.raises(BlockedResponse) as refused:  # no cookie at all: HTTP 200, 0 bytes
            await r.http.fetch(r.platform.enter_url(LIVE_RID))
        assert refused.value.status_code == 200
        assert refused.value.retry_after is None

        target = await r.platform.resolve(LIVE_RID)
        assert (await r.platform.fetch_status(target)).live is True
        assert (r.count("home"), r.platform.ttwid_fetches) == (1, 1)
        enter = r.sim.observed.requests_to("web_enter")[-1]
        assert enter.cookies["ttwid"] == r.http.cookie("ttwid")
        assert enter.cookies["ttwid"] in r.sim.ttwids
        assert {k.lower(): v for k, v in enter.headers.items()}["referer"] == (
            f"{r.sim.web_base}/{LIVE_RID}"
        )
        assert enter.query["web_rid"] == LIVE_RID
        assert enter.query["a_bogus"]
        assert len(enter.query["msToken"]) == 184
        assert r.platform.cookie_header() == f"ttwid={r.http.cookie('ttwid')}"


@pytest.mark.anyio
async def test_an_expired_ttwid_is_refreshed_once() -> None:
    async with rig(ttwid_refresh_interval=0) as r:
        r.sim.room(LIVE_RID).go_live()
        target = await r.platform.resolve(LIVE_RID)
        r.http.set_cookie("ttwid", "1%7Cexpired")  # one the simulator never issued
        assert (await r.platform.fetch_status(target)).live is True
        assert r.platform.ttwid_fetches == 1
        assert r.http.cookie("ttwid") in r.sim.ttwids

        # Refused twice: refresh once, then the RiskControl goes to the caller.
        r.sim.room(LIVE_RID).inject("risk_control", count=2)
        with pytest.raises(RiskControl, match="empty body"):
            await r.platform.fetch_status(target)
        assert (r.platform.ttwid_fetches, r.count("home")) == (2, 2)
        assert (await r.platform.fetch_status(target)).live is True


@pytest.mark.anyio
async def test_a_fresh_ttwid_is_not_replaced_during_a_risk_control_window() -> None:
    async with rig() as r:
        r.sim.room(LIVE_RID).go_live()
        target = await r.platform.resolve(LIVE_RID)
        await r.platform.fetch_status(target)
        r.sim.room(LIVE_RID).inject("risk_control", count=3)
        for _ in range(3):
            with pytest.raises(RiskControl):
                await r.platform.fetch_status(target)
        assert (r.platform.ttwid_fetches, r.count("home")) == (1, 1)


@pytest.mark.anyio
async def test_429_with_retry_after_and_5xx() -> None:
    async with rig() as r:
        room = r.sim.room(LIVE_RID)
        room.go_live()
        target = await r.platform.resolve(LIVE_RID)
        room.inject("http_429", retry_after=7)
        with pytest.raises(RiskControl) as limited:
            await r.platform.fetch_status(target)
        assert limited.value.retry_after == 7.0
        room.inject("http_5xx", status=502)
        with pytest.raises(UpstreamError, match="HTTP 502"):
            await r.platform.fetch_status(target)
        assert r.platform.ttwid_fetches == 1  # neither is a reason to replace the ttwid
        assert (await r.platform.fetch_status(target)).live is True


@pytest.mark.anyio
async def test_configured_cookies_replace_the_ttwid_dance() -> None:
    async with Simulator.running(SCENARIO) as sim:
        sim.room(LIVE_RID).go_live()
        async with HttpClient(user_agent="UA", timeout=5) as donor:
            await donor.fetch(sim.web_base + "/", require_body=False)
            issued = donor.cookie("ttwid")
        config = settings(sim, cookies=f"ttwid={issued}; odin_tt=abc")
        async with HttpClient(user_agent=config.user_agent, timeout=5) as http:
            platform = DouyinPlatform(http, config)
            status = await platform.fetch_status(await platform.resolve(LIVE_RID))
            assert status.live is True
            assert platform.ttwid_fetches == 0
            assert platform.cookie_header() == f"ttwid={issued}; odin_tt=abc"
        homes = sim.observed.requests_to("home")
        assert len(homes) == 1  # the donor's only
        assert sim.observed.requests_to("web_enter")[-1].cookies == {
            "ttwid": issued,
            "odin_tt": "abc",
        }

        rejected = settings(sim, cookies="ttwid=not-issued")
        async with HttpClient(user_agent="UA", timeout=5) as http:
            platform = DouyinPlatform(http, rejected)
            with pytest.raises(RiskControl):  # configured cookies are never swapped
                await platform.fetch_status(await platform.resolve(LIVE_RID))
            assert platform.ttwid_fetches == 0


@pytest.mark.anyio
async def test_refresh_stream_urls_after_expiry_gives_new_urls() -> None:
    async with rig() as r:
        room = r.sim.room(LIVE_RID)
        room.go_live()
        target = await r.platform.resolve(LIVE_RID)
        before = await r.platform.fetch_status(target)
        room.inject("url_expire")
        after = await r.platform.refresh_stream_urls(target)
        assert after.live is True
        assert after.room_id == before.room_id
        assert after.streams["origin"].flv_url != before.streams["origin"].flv_url
