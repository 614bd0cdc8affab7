"""Real-size web/enter bodies (sim/douyin/bulk.py): the capture's structure and size, the
``status_body`` knob, and the same parsed status as the small body."""

from __future__ import annotations

import collections
import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from dylived.errors import ConfigError
from dylived.platforms.douyin.status import parse_enter
from dylived.sim import Scenario, Simulator
from dylived.sim.douyin.bulk import SIMILAR_ROOMS, real_web_enter, real_web_enter_bytes
from dylived.sim.douyin.status import web_enter_body
from dylived.sim.scenario import parse_scenario
from dylived.sim.view import QUALITY_LADDER, RoomView, StreamLinks
from tests.sim.conftest import WEB_RID


def _view(*, live: bool) -> RoomView:
    links = {
        q.sdk_key: StreamLinks(
            flv=f"http://127.0.0.1:1/live/s-1{q.suffix}.flv?expire=1",
            hls=f"http://127.0.0.1:1/live/s-1{q.suffix}/index.m3u8?expire=1",
            width=q.width,
            height=q.height,
        )
        for q in QUALITY_LADDER
    }
    return RoomView(
        web_rid="646454278948",
        uid=71000000000001,
        sec_uid="MS4wLjABAAAAsim",
        nickname="主播",
        title="标题",
        live=live,
        room_id="7300000000000000001",
        stream_id="7300000000000000999",
        viewers=1234,
        total_users=5678,
        now_ms=1_776_584_127_911,
        links=links if live else {},
        session_id="s1",
    )


def _types(value: dict[str, Any]) -> dict[str, str]:
    return {key: type(child).__name__ for key, child in value.items()}


def _value_counts(value: object) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    stack = [value]
    while stack:
        item = stack.pop()
        counts[type(item).__name__] += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return counts


def test_real_body_has_the_capture_structure_and_size(enter_live_json_path: Path) -> None:
    real_bytes = enter_live_json_path.read_bytes()
    ours_bytes = real_web_enter_bytes(_view(live=True))
    real, ours = json.loads(real_bytes), json.loads(ours_bytes)
    assert 0.85 < len(ours_bytes) / len(real_bytes) < 1.15
    for kind, count in _value_counts(real).items():  # as many values to parse, of each type
        assert 0.75 < _value_counts(ours)[kind] / count < 1.33, kind
    assert _types(ours) == _types(real)
    assert _types(ours["data"]) == _types(real["data"])
    room, real_room = ours["data"]["data"][0], real["data"]["data"][0]
    assert _types(room) == _types(real_room)
    assert _types(room["stream_url"]) == _types(real_room["stream_url"])
    real_stream = json.loads(
        real_room["stream_url"]["live_core_sdk_data"]["pull_data"]["stream_data"]
    )
    stream = json.loads(room["stream_url"]["live_core_sdk_data"]["pull_data"]["stream_data"])
    assert set(stream["common"]) == set(real_stream["common"])
    assert set(stream["data"]) == set(real_stream["data"]) - {"ao"}  # the similar rooms have ao
    assert _types(stream["data"]["hd"]["main"]) == _types(real_stream["data"]["hd"]["main"])
    pairs = zip(ours["data"]["similar_rooms"], real["data"]["similar_rooms"], strict=True)
    assert len(ours["data"]["similar_rooms"]) == SIMILAR_ROOMS
    for similar, real_similar in pairs:
        assert _types(similar) == _types(real_similar)
        assert set(similar["room"]) == set(real_similar["room"])
        additional = similar["room"]["others"]["web_data"]["additional_stream_url"]
        real_additional = real_similar["room"]["others"]["web_data"]["additional_stream_url"]
        assert set(additional) == set(real_additional)


@pytest.mark.parametrize("live", [True, False])
def test_real_and_small_bodies_parse_to_the_same_status(live: bool) -> None:
    view = _view(live=live)
    small = json.dumps(web_enter_body(view)).encode()
    assert len(real_web_enter_bytes(view)) > 40 * len(small)
    assert parse_enter(real_web_enter_bytes(view)) == parse_enter(small)
    assert real_web_enter(view)["data"]["data"][0]["status"] == (2 if live else 4)
    assert real_web_enter(None)["data"]["data"] == []  # an unknown room: no bulk either


async def _served(scenario: Scenario) -> bytes:
    async with Simulator.running(scenario) as sim:
        sim.room(WEB_RID).go_live()
        async with httpx.AsyncClient(base_url=sim.web_base) as client:
            await client.get("/")
            reply = await client.get("/webcast/room/web/enter/", params={"web_rid": WEB_RID})
            return reply.content


@pytest.mark.anyio
async def test_status_body_knob_serves_real_or_small(scenario: Scenario) -> None:
    assert scenario.status_body == "real"  # the default
    real = await _served(scenario)
    small = await _served(dataclasses.replace(scenario, status_body="small"))
    assert len(real) > 500_000
    assert len(small) < 20_000
    assert "similar_rooms" in json.loads(real)["data"]
    assert "similar_rooms" not in json.loads(small)["data"]
    statuses = [parse_enter(body) for body in (real, small)]  # two simulators: other URLs
    assert {(s.live, s.title, s.nickname, tuple(s.streams)) for s in statuses} == {
        (True, "模拟直播间", "测试主播", tuple(statuses[1].streams))
    }
    assert parse_scenario({"status_body": "small"}).status_body == "small"
    with pytest.raises(ConfigError, match="status_body"):
        parse_scenario({"status_body": "huge"})
