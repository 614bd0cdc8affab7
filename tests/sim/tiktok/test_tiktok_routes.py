"""The simulator's TikTok personality over real HTTP on 127.0.0.1: the three status answers,
their checks (web parameters, the ``sessionid`` cookie of restricted rooms), paused, and the
media its stream URLs name (FLV and HLS from the neutral core, read by real ffmpeg)."""

from __future__ import annotations

import json
import re
import subprocess

import anyio
import httpx
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.sim.tiktok import PERSONALITY


pytestmark = pytest.mark.anyio

PARAMS = {"aid": "1988", "app_name": "tiktok_web", "device_platform": "web_pc"}
SCENARIO = Scenario(rooms=(RoomSpec("sim.creator", platform="tiktok", nickname="Sim"),))


def sigi(page: str) -> dict[str, object]:
    found = re.search(r'<script id="SIGI_STATE" type="application/json">(.*?)</script>', page)
    assert found is not None
    state: dict[str, object] = json.loads(found.group(1))
    return state


async def test_user_room_checks_its_params_and_says_live_paused_and_offline() -> None:
    async with Simulator.running(SCENARIO) as sim, httpx.AsyncClient(base_url=sim.web_base) as c:
        room = sim.room("sim.creator")
        bare = await c.get("/api-live/user/room/", params={"uniqueId": "sim.creator"})
        assert bare.json() == {"data": None, "message": "params_error", "statusCode": 19881005}
        ask = {**PARAMS, "uniqueId": "sim.creator", "sourceType": "54"}
        offline = (await c.get("/api-live/user/room/", params=ask)).json()
        assert (offline["statusCode"], offline["data"]["user"]["status"]) == (0, 4)
        room.go_live()
        live = (await c.get("/api-live/user/room/", params=ask)).json()["data"]
        assert (live["user"]["status"], live["liveRoom"]["status"]) == (2, 2)
        assert live["user"]["roomId"] == room.room_id
        assert live["user"]["id"] == str(room.uid)
        stream_data = json.loads(live["liveRoom"]["streamData"]["pull_data"]["stream_data"])
        assert set(stream_data["data"]) == {"origin", "uhd_60", "hd_60", "hd", "sd", "ld", "ao"}
        room.modes.add("paused")
        paused = (await c.get("/api-live/user/room/", params=ask)).json()["data"]
        assert (paused["user"]["status"], paused["liveRoom"]["status"]) == (3, 3)
        unknown = await c.get("/api-live/user/room/", params={**ask, "uniqueId": "nobody"})
        assert unknown.json()["message"] == "user_not_found"
    assert [r.endpoint for r in sim.observed.requests] == ["tt_user_room"] * 5


async def test_a_restricted_room_needs_the_sessionid_cookie_and_the_live_page_agrees() -> None:
    async with Simulator.running(SCENARIO) as sim, httpx.AsyncClient(base_url=sim.web_base) as c:
        room = sim.room("sim.creator")
        room.go_live()
        room.modes.add("restricted")
        ask = {**PARAMS, "uniqueId": "sim.creator"}
        refused = (await c.get("/api-live/user/room/", params=ask)).json()
        assert (refused["statusCode"], refused["data"]) == (4003110, {"prompts": ""})
        allowed = await c.get("/api-live/user/room/", params=ask, headers={"Cookie": "sessionid=s"})
        assert allowed.json()["data"]["liveRoom"]["streamData"]
        page = sigi((await c.get("/@sim.creator/live")).text)
        live_room = page["LiveRoom"]["liveRoomUserInfo"]["liveRoom"]  # type: ignore[index]
        assert (live_room["streamData"], live_room["status"]) == ({}, 2)
        assert "LiveRoom" not in sigi((await c.get("/@nobody/live")).text)
        info = await c.get("/webcast/room/info/", params={"room_id": room.room_id})
        assert info.json()["status_code"] == 4003110
        room.modes.clear()
        info = await c.get("/webcast/room/info/", params={"room_id": room.room_id})
        owner = info.json()["data"]["owner"]
        assert (owner["display_id"], owner["id_str"]) == ("sim.creator", str(room.uid))


async def test_the_stream_urls_play_flv_and_hls(ffmpeg_bin: str) -> None:
    async with Simulator.running(SCENARIO) as sim, httpx.AsyncClient(base_url=sim.web_base) as c:
        sim.room("sim.creator").go_live()
        ask = {**PARAMS, "uniqueId": "sim.creator"}
        live = (await c.get("/api-live/user/room/", params=ask)).json()["data"]["liveRoom"]
        data = json.loads(live["streamData"]["pull_data"]["stream_data"])["data"]
        for url in (data["ld"]["main"]["flv"], data["ld"]["main"]["hls"]):
            done = await _decode(ffmpeg_bin, url)
            assert done.returncode == 0, done.stderr
            assert "frame=" in done.stderr or "time=" in done.stderr


async def _decode(ffmpeg: str, url: str) -> subprocess.CompletedProcess[str]:
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-t", "1.5", "-i", url, "-f", "null", "-"]
    result = await anyio.run_process(argv, check=False)
    return subprocess.CompletedProcess(
        argv, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


def test_the_daemon_section_points_both_bases_and_the_signer_at_the_simulator() -> None:
    text = PERSONALITY.daemon_config("http://127.0.0.1:9", "ws://127.0.0.1:9")
    assert text == (
        '[tiktok]\nweb_base = "http://127.0.0.1:9"\nwebcast_base = "http://127.0.0.1:9"\n'
        'sign_server = "http://127.0.0.1:9"\n'
    )
