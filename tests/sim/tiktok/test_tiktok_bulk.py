"""Real-size TikTok status bodies (sim/tiktok/bulk.py): the keys and sizes of the public shapes,
the same parsed status as the small bodies for every state, and the ``status_body`` knob on
all three endpoints."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from typing import Any

import httpx
import pytest

from dylived.platforms.tiktok.status import parse_live_page, parse_room_info, parse_user_room
from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.sim.tiktok.bulk import (
    real_live_page_bytes,
    real_room_info_bytes,
    real_user_room_bytes,
)
from dylived.sim.tiktok.routes import live_page
from dylived.sim.tiktok.status import room_info_body, sigi_state, user_room_body
from dylived.sim.view import QUALITY_LADDER, RoomView, StreamLinks


SDK_KEYS = {"origin", "uhd_60", "hd_60", "hd", "sd", "ld", "ao"}
# data.stream_url's keys in the 2025 room capture (tiktok.md §2.2)
STREAM_URL_KEYS = {
    "alive_timestamp",
    "candidate_resolution",
    "complete_push_urls",
    "default_resolution",
    "drm_type",
    "extra",
    "flv_pull_url",
    "flv_pull_url_params",
    "hls_pull_url",
    "hls_pull_url_map",
    "hls_pull_url_params",
    "id",
    "id_str",
    "live_core_sdk_data",
    "provider",
    "push_resolution",
    "push_urls",
    "resolution_name",
    "rtmp_pull_url",
    "rtmp_pull_url_params",
    "rtmp_push_url",
    "rtmp_push_url_params",
    "stream_app_id",
    "stream_control_type",
    "stream_delay_ms",
    "stream_size_height",
    "stream_size_width",
    "vr_type",
}
SIGI = re.compile(rb'<script id="SIGI_STATE" type="application/json">(.*?)</script>')


def view(*, live: bool = True, modes: frozenset[str] = frozenset()) -> RoomView:
    links = {
        q.sdk_key: StreamLinks(
            flv=f"http://127.0.0.1:1/thirdgame/stream-7{q.suffix}.flv?expire=1&sign=a",
            hls=f"http://127.0.0.1:1/thirdgame/stream-7{q.suffix}.m3u8?expire=1&sign=a",
            width=q.width,
            height=q.height,
        )
        for q in QUALITY_LADDER
    }
    return RoomView(
        web_rid="some.creator",
        uid=7_000_000_000_000_000_123,
        sec_uid="MS4wLjABAAAAx",
        nickname="Some Creator",
        title="evening live",
        live=live,
        room_id="7300000000000000001",
        stream_id="2999000000000000777",
        viewers=42,
        total_users=420,
        now_ms=1_764_000_000_000,
        links=links if live else {},
        session_id="s-1",
        create_time=1_764_000_000,
        modes=modes,
    )


def compact(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    return dict(pairs)


def strict_json(raw: bytes) -> Any:
    """The document, checked to have no key twice in any object (the splices would hide it)."""
    return json.loads(raw, object_pairs_hook=unique_keys)


STATES = {
    "live": view(),
    "paused": view(modes=frozenset({"paused"})),
    "offline": view(live=False),
    "restricted": view(modes=frozenset({"restricted"})),
}


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize("logged_in", [False, True])
def test_real_and_small_bodies_parse_to_the_same_status(state: str, logged_in: bool) -> None:
    v = STATES[state]
    pairs: list[tuple[Any, bytes, bytes]] = [
        (
            parse_user_room,
            real_user_room_bytes(v, logged_in=logged_in),
            compact(user_room_body(v, logged_in=logged_in)),
        ),
        (
            lambda body: parse_room_info(body, "1"),
            real_room_info_bytes(v, logged_in=logged_in),
            compact(room_info_body(v, logged_in=logged_in)),
        ),
        (
            parse_live_page,
            real_live_page_bytes(v, logged_in=logged_in),
            live_page(sigi_state(v, logged_in=logged_in)),
        ),
    ]
    for parse, real, small in pairs:
        assert len(real) >= len(small)  # the refusals are small in both
        try:
            expected = parse(small)
        except Exception as error:  # a refusal (restricted): the real body says the same
            with pytest.raises(type(error)):
                parse(real)
            continue
        assert parse(real) == expected
        if state == "live":
            assert set(expected.streams) == {"origin", "uhd", "hd", "sd", "ld"}


def test_api_live_has_both_stream_sets_at_the_estimated_size() -> None:
    raw = real_user_room_bytes(view(), logged_in=False)
    assert 18_000 < len(raw) < 40_000
    data = strict_json(raw)["data"]
    assert set(data) == {"liveRoom", "stats", "user"}
    room = data["liveRoom"]
    for key in ("streamData", "hevcStreamData"):
        pull = room[key]["pull_data"]
        assert {q["sdk_key"] for q in pull["options"]["qualities"]} == SDK_KEYS - {"ao"}
        text = pull["stream_data"]
        assert isinstance(text, str)
        assert len(text) > 6_000
        streams = json.loads(text)
        assert set(streams) == {"common", "data"}
        assert set(streams["data"]) == SDK_KEYS
        assert set(streams["data"]["hd"]) == {"main", "backup"}
        params = json.loads(streams["data"]["hd"]["main"]["sdk_params"])
        assert {"VCodec", "vbitrate", "resolution", "stream_suffix"} <= set(params)
    assert {"paidEvent", "liveRoomStats", "streamId", "multiStreamScene", "gameTagId"} <= set(room)
    assert {"avatarLarger", "avatarMedium", "avatarThumb", "secUid", "uniqueId"} <= set(
        data["user"]
    )


def test_an_offline_answer_keeps_a_stale_stream_set_that_is_not_read() -> None:
    raw = real_user_room_bytes(view(live=False), logged_in=False)
    room = strict_json(raw)["data"]["liveRoom"]
    assert room["status"] == 4
    assert "stream_data" in room["streamData"]["pull_data"]  # the last broadcast's
    status = parse_user_room(raw)
    assert (status.live, status.streams, status.room_id) == (False, {}, "7300000000000000001")


def test_room_info_is_the_whole_webcast_room_at_the_capture_size() -> None:
    raw = real_room_info_bytes(view(), logged_in=False)
    assert 45_000 < len(raw) < 70_000  # the 2025 capture's room: ~55 KB
    document = strict_json(raw)
    assert set(document) == {"data", "extra", "status_code"}
    data = document["data"]
    assert len(data) > 180  # ~190 room keys in the capture
    assert set(data["stream_url"]) == STREAM_URL_KEYS
    assert set(data["stream_url"]["flv_pull_url"]) == {"HD1", "SD1", "SD2"}
    owner = data["owner"]
    assert len(owner) > 60
    assert owner["display_id"] == "some.creator"
    assert len(owner["avatar_large"]["url_list"]) == 3
    assert data["top_fans"][0]["user"]["badge_list"]
    guests = data["social_interaction"]["multi_live"]["room_multi_guest_linkmic_info"]
    [guest] = guests["multi_guest_linkmic_info"]["linked_users"]
    assert guest["user"]["id_str"] == owner["id_str"]
    assert {"room_auth", "game_tag", "hashtag", "link_mic", "decisions", "stats"} <= set(data)
    assert {"now", "region"} <= set(document["extra"])
    offline = strict_json(real_room_info_bytes(view(live=False), logged_in=False))["data"]
    assert offline["status"] == 4
    assert "stream_url" not in offline


def test_the_live_page_is_a_large_html_with_one_sigi_state() -> None:
    page = real_live_page_bytes(view(), logged_in=False)
    assert len(page) > 150_000  # an estimate: see bulk.py
    assert b'id="__UNIVERSAL_DATA_FOR_REHYDRATION__"' in page
    [state_text] = SIGI.findall(page)
    state = strict_json(state_text)
    live_room = state["LiveRoom"]
    assert len(live_room["recommendLiveRooms"]) == 12
    assert set(live_room["liveRoomUserInfo"]) == {"user", "stats", "liveRoom"}
    assert state["CurrentRoom"]["roomId"] == "7300000000000000001"
    unknown = SIGI.findall(real_live_page_bytes(None, logged_in=False))[0]
    assert "LiveRoom" not in strict_json(unknown)


def test_an_offline_body_costs_little_to_serve() -> None:
    offline = view(live=False)
    for build in (real_user_room_bytes, real_room_info_bytes, real_live_page_bytes):
        build(offline, logged_in=False)  # the cached blocks are built once
        start = time.process_time()
        for _ in range(100):
            build(offline, logged_in=False)
        assert time.process_time() - start < 1.0  # ~25-60 µs each on the dev machine


SCENARIO = Scenario(rooms=(RoomSpec("sim.creator", platform="tiktok", nickname="Sim"),))
PARAMS = {"aid": "1988", "app_name": "tiktok_web", "device_platform": "web_pc"}


async def _served(scenario: Scenario) -> dict[str, bytes]:
    async with Simulator.running(scenario) as sim, httpx.AsyncClient(base_url=sim.web_base) as c:
        room_id = sim.room("sim.creator").go_live()
        ask = {**PARAMS, "uniqueId": "sim.creator"}
        return {
            "user_room": (await c.get("/api-live/user/room/", params=ask)).content,
            "room_info": (await c.get("/webcast/room/info/", params={"room_id": room_id})).content,
            "live_page": (await c.get("/@sim.creator/live")).content,
        }


@pytest.mark.anyio
async def test_status_body_knob_serves_real_or_small_tiktok_bodies() -> None:
    assert SCENARIO.status_body == "real"
    real = await _served(SCENARIO)
    small = await _served(dataclasses.replace(SCENARIO, status_body="small"))
    assert len(real["user_room"]) > 18_000 > 10_000 > len(small["user_room"])
    assert len(real["room_info"]) > 45_000 > 10_000 > len(small["room_info"])
    assert len(real["live_page"]) > 150_000 > 10_000 > len(small["live_page"])
    for bodies in (real, small):
        statuses = [
            parse_user_room(bodies["user_room"]),
            parse_room_info(bodies["room_info"], "1"),
            parse_live_page(bodies["live_page"]),
        ]
        assert {(s.live, s.handle, s.nickname, tuple(sorted(s.streams))) for s in statuses} == {
            (True, "sim.creator", "Sim", ("hd", "ld", "origin", "sd", "uhd"))
        }
