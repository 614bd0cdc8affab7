"""The simulator's status endpoints answer like the real service (shapes from the real capture)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from dylived.sim import Simulator
from tests.sim.conftest import WEB_RID


pytestmark = pytest.mark.anyio


@contextlib.asynccontextmanager
async def _client_with_ttwid(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.web_base) as client:
        home = await client.get("/")
        assert home.status_code == 200
        assert home.cookies.get("ttwid")
        yield client


async def _enter(client: httpx.AsyncClient, web_rid: str) -> httpx.Response:
    return await client.get(
        "/webcast/room/web/enter/", params={"aid": "6383", "web_rid": web_rid, "a_bogus": "x"}
    )


def _keys(value: object, depth: int = 2) -> set[str]:
    if not isinstance(value, dict) or depth == 0:
        return set()
    out = set(value)
    for key, child in value.items():
        out |= {f"{key}.{k}" for k in _keys(child, depth - 1)}
    return out


async def test_live_room_matches_the_real_capture_shape(
    sim: Simulator, enter_live_json_path: Path
) -> None:
    real = json.loads(await anyio.Path(enter_live_json_path).read_text())
    room_id = sim.room(WEB_RID).go_live()
    async with _client_with_ttwid(sim) as client:
        body = (await _enter(client, WEB_RID)).json()
    ours = body["data"]["data"][0]
    theirs = real["data"]["data"][0]
    assert ours["status"] == theirs["status"] == 2
    assert body["data"]["room_status"] == real["data"]["room_status"] == 0
    assert ours["id_str"] == room_id == body["data"]["enter_room_id"]
    assert ours["title"] == "模拟直播间"
    assert body["data"]["user"]["nickname"] == "测试主播"
    # every key path the real body has at these levels is present in ours
    for path in ("stream_url", "owner", "stats", "room_view_stats"):
        assert _keys(theirs[path], 1) & {"flv_pull_url"} <= _keys(ours[path], 1)
    stream = ours["stream_url"]
    real_stream = theirs["stream_url"]
    assert set(stream["flv_pull_url"]) == set(real_stream["flv_pull_url"])
    assert set(stream["hls_pull_url_map"]) == set(real_stream["hls_pull_url_map"])
    pull = stream["live_core_sdk_data"]["pull_data"]
    assert isinstance(pull["stream_data"], str)  # a JSON string, as in reality
    stream_data = json.loads(pull["stream_data"])
    real_data = json.loads(real_stream["live_core_sdk_data"]["pull_data"]["stream_data"])
    assert {"origin", "uhd", "hd", "sd", "ld", "md"} <= set(stream_data["data"])
    assert set(stream_data["data"]["hd"]["main"]) <= set(real_data["data"]["hd"]["main"]) | {
        "templateRealTimeInfo"
    }
    sizes = set()
    for key, entry in stream_data["data"].items():
        sdk = json.loads(entry["main"]["sdk_params"])
        assert sdk["VCodec"] == "h264"
        sizes.add(sdk["resolution"])
        assert entry["main"]["flv"].startswith(sim.web_base)
        assert "expire=" in entry["main"]["flv"]
        assert key in entry["main"]["flv"] or key == "origin"
    assert len(sizes) == 6  # every quality has its own frame size
    qualities = pull["options"]["qualities"]
    assert {q["sdk_key"] for q in qualities} == set(stream_data["data"])
    assert set(qualities[0]) == set(
        real_stream["live_core_sdk_data"]["pull_data"]["options"]["qualities"][0]
    )
    # legacy keys map as in the 2026 capture
    assert stream["flv_pull_url"]["FULL_HD1"] == stream_data["data"]["uhd"]["main"]["flv"]
    assert stream["flv_pull_url"]["SD1"] == stream_data["data"]["ld"]["main"]["flv"]


async def test_ended_room_is_status_4_without_stream(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room.go_live()
    room.go_offline()
    async with _client_with_ttwid(sim) as client:
        body = (await _enter(client, WEB_RID)).json()
    assert body["data"]["data"][0]["status"] == 4
    assert body["data"]["data"][0]["status_str"] == "4"
    assert body["data"]["room_status"] == 2
    assert "stream_url" not in body["data"]["data"][0]
    assert body["data"]["user"]["sec_uid"] == room.sec_uid


async def test_ended_room_prompts_style(sim: Simulator) -> None:
    room = sim.room("200000000002")
    room.go_live()
    room.go_offline()
    async with _client_with_ttwid(sim) as client:
        body = (await _enter(client, "200000000002")).json()
    assert body["data"]["prompts"] == "直播已结束"
    assert "user" not in body["data"]


async def test_unknown_room_has_no_room_list(sim: Simulator) -> None:
    async with _client_with_ttwid(sim) as client:
        body = (await _enter(client, "999")).json()
    assert body["status_code"] == 0
    assert body["data"]["data"] == []


async def test_no_ttwid_means_200_empty_body(sim: Simulator) -> None:
    sim.room(WEB_RID).go_live()
    async with httpx.AsyncClient(base_url=sim.web_base) as client:
        plain = await _enter(client, WEB_RID)
        forged = await client.get(
            "/webcast/room/web/enter/",
            params={"web_rid": WEB_RID},
            headers={"Cookie": "ttwid=1%7Cforged"},
        )
    assert (plain.status_code, plain.content) == (200, b"")
    assert (forged.status_code, forged.content) == (200, b"")
    assert [r.endpoint for r in sim.observed.requests] == ["web_enter", "web_enter"]


async def test_reflow_by_sec_uid_and_its_error_shape(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room_id = room.go_live()
    async with httpx.AsyncClient(base_url=sim.web_base) as client:
        live = (
            await client.get(
                "/webcast/room/reflow/info/",
                params={"type_id": 0, "live_id": 1, "room_id": 2, "sec_user_id": room.sec_uid},
            )
        ).json()
        unknown = (
            await client.get("/webcast/room/reflow/info/", params={"sec_user_id": "nobody"})
        ).json()
        room.go_offline()
        stale = (
            await client.get("/webcast/room/reflow/info/", params={"sec_user_id": room.sec_uid})
        ).json()
    assert live["data"]["room"]["status"] == 2
    assert live["data"]["room"]["id_str"] == room_id
    assert live["data"]["room"]["owner"]["web_rid"] == WEB_RID
    assert "FULL_HD1" in live["data"]["room"]["stream_url"]["flv_pull_url"]
    assert unknown["status_code"] == 10011
    # the real post-end quirk: still status 2, but finish_time set and a replay URL
    assert stale["data"]["room"]["status"] == 2
    assert stale["data"]["room"]["finish_time"] > 0
    assert (
        "rtm_expr_tag=reflow_room_info"
        in stale["data"]["room"]["stream_url"]["flv_pull_url"]["HD1"]
    )


async def test_share_links_redirect_to_reflow_and_profile(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room_id = room.go_live()
    async with httpx.AsyncClient(base_url=sim.web_base) as client:
        live_share = await client.get("/iRNBho6u/")
        profile_share = await client.get("/Xk3pQ2aa/")
        profile = await client.get(profile_share.headers["location"])
        unknown = await client.get("/nope123/")
    assert live_share.status_code == 302
    location = httpx.URL(live_share.headers["location"])
    assert location.path == f"/douyin/webcast/reflow/{room_id}"
    assert location.params["sec_user_id"] == room.sec_uid
    assert httpx.URL(profile_share.headers["location"]).path == f"/share/user/{room.sec_uid}"
    assert profile.status_code == 200
    assert "web_rid%22%3A%20%22200000000001" in profile.text
    assert unknown.status_code == 404
    assert sim.observed.request_counts()["share"] == 3


async def test_keep_alive_connection_serves_several_requests(sim: Simulator) -> None:
    async with _client_with_ttwid(sim) as client:
        for _ in range(3):
            assert (await _enter(client, WEB_RID)).status_code == 200
    # one TCP connection, four requests: the records are all there
    assert sim.observed.request_counts() == {"home": 1, "web_enter": 3}
