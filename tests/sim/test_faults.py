"""One test per fault: the simulator does what the scenario says; scenarios load from TOML."""

from __future__ import annotations

import gzip
import itertools
import time
from pathlib import Path

import anyio
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from dylived.errors import ConfigError
from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.sim import FAULT_KINDS, Simulator, load_scenario, parse_scenario
from tests.conftest import REPO_ROOT
from tests.sim.conftest import WEB_RID


pytestmark = pytest.mark.anyio
SCENARIOS = REPO_ROOT / "etc" / "sim"


async def _enter(client: httpx.AsyncClient, web_rid: str = WEB_RID) -> httpx.Response:
    return await client.get("/webcast/room/web/enter/", params={"web_rid": web_rid})


async def test_ws_drop_closes_without_a_close_frame(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room_id = room.go_live()
    async with connect(sim.ws_url(room_id)) as ws:
        await ws.recv()
        room.inject("ws_drop")
        with pytest.raises(ConnectionClosedError), anyio.fail_after(5):
            await ws.recv()
        assert ws.close_code == 1006
    assert sim.observed.push_connections[0].close_reason == "ws_drop"


async def test_ws_reject_answers_200_then_recovers(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room_id = room.go_live()
    room.inject("ws_reject", count=1)
    with pytest.raises(InvalidStatus) as rejected:
        async with connect(sim.ws_url(room_id)):
            pass
    assert rejected.value.response.status_code == 200
    assert rejected.value.response.headers["Handshake-Msg"]
    async with connect(sim.ws_url(room_id)) as ws:
        assert await ws.recv()
    assert len(sim.observed.rejected_upgrades) == 1


async def test_http_5xx_burst(sim: Simulator) -> None:
    sim.room(WEB_RID).inject("http_5xx", count=2, status=502)
    async with httpx.AsyncClient(base_url=sim.web_base) as client:
        await client.get("/")
        statuses = [(await _enter(client)).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]


async def test_http_429_with_retry_after(sim: Simulator) -> None:
    sim.room(WEB_RID).inject("http_429", retry_after=12)
    async with httpx.AsyncClient(base_url=sim.web_base) as client:
        await client.get("/")
        limited = await _enter(client)
        fine = await _enter(client)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "12"
    assert fine.status_code == 200
    assert fine.json()["status_code"] == 0


async def test_risk_control_window_gives_empty_bodies() -> None:
    scenario = parse_scenario({"time_scale": 10.0, "room": [{"web_rid": WEB_RID, "live": True}]})
    async with Simulator.running(scenario) as sim, httpx.AsyncClient(base_url=sim.web_base) as c:
        await c.get("/")
        sim.room(WEB_RID).inject("risk_control", duration=3)  # 0.3 wall seconds
        during = [await _enter(c) for _ in range(3)]
        await anyio.sleep(0.4)
        after = await _enter(c)
    assert [(r.status_code, r.content) for r in during] == [(200, b"")] * 3
    assert after.json()["data"]["data"][0]["status"] == 2


async def test_a_waf_page_gives_html_instead_of_json() -> None:
    scenario = parse_scenario({"room": [{"web_rid": WEB_RID, "live": True}]})
    async with Simulator.running(scenario) as sim, httpx.AsyncClient(base_url=sim.web_base) as c:
        await c.get("/")
        sim.room(WEB_RID).inject("waf_page", count=2)
        during = [await _enter(c) for _ in range(2)]
        after = await _enter(c)
    assert [r.status_code for r in during] == [200, 200]
    assert all(b"Please wait" in r.content and b"status_code" not in r.content for r in during)
    assert all(r.headers["content-type"].startswith("text/html") for r in during)
    assert after.json()["data"]["data"][0]["status"] == 2


async def test_stream_stall_keeps_the_connection_open_without_bytes(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room.go_live()
    url = room.view().links["md"].flv
    arrivals: list[tuple[float, int]] = []
    async with httpx.AsyncClient() as client, client.stream("GET", url) as response:
        started = time.monotonic()
        async for chunk in response.aiter_raw():
            arrivals.append((time.monotonic() - started, len(chunk)))
            if len(arrivals) == 3:
                room.inject("stream_stall", duration=1.0)
            if time.monotonic() - started > 2.5:
                break
    stall_start = arrivals[2][0]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(arrivals)]
    assert max(gaps) >= 0.8  # nothing arrived during the stall...
    assert arrivals[-1][0] > stall_start + 0.9  # ...and the same connection resumed after it
    assert sim.observed.request_counts()["flv"] == 1


async def test_stream_cut_drops_media_connections(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room.go_live()
    url = room.view().links["md"].flv

    async def read_while_cutting(response: httpx.Response) -> None:
        async for _chunk in response.aiter_raw():
            room.inject("stream_cut")

    async with httpx.AsyncClient() as client, client.stream("GET", url) as response:
        with pytest.raises(httpx.RemoteProtocolError), anyio.fail_after(5):
            await read_while_cutting(response)
    assert sim.observed.media_connections[0].close_reason == "cut"
    assert room.live


async def test_url_expire_revokes_issued_urls(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room.go_live()
    old = room.view().links["md"].flv
    room.inject("url_expire")
    fresh = room.view().links["md"].flv
    async with httpx.AsyncClient() as client:
        assert (await client.get(old)).status_code == 403
        async with client.stream("GET", fresh) as response:
            assert response.status_code == 200
            assert (await response.aiter_raw().__anext__())[:3] == b"FLV"


async def test_resolution_change_is_announced(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room_id = room.go_live()
    async with connect(sim.ws_url(room_id)) as ws:
        await ws.recv()
        room.inject("resolution_change")
        with anyio.fail_after(5):
            frame = pb.PushFrame.FromString(await ws.recv(decode=False))
    import gzip

    methods = [
        m.method for m in pb.Response.FromString(gzip.decompress(frame.payload)).messages_list
    ]
    assert methods == ["WebcastRoomStreamAdaptationMessage"]
    assert room.variant_changes[-1][1] == 1  # the media switches at the next clip boundary


async def _collect_methods(ws: ClientConnection, methods: list[str]) -> None:
    while True:
        frame = pb.PushFrame.FromString(await ws.recv(decode=False))
        response = pb.Response.FromString(gzip.decompress(frame.payload))
        methods += [m.method for m in response.messages_list]


async def test_stream_end_without_control(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room_id = room.go_live()
    methods: list[str] = []
    async with connect(sim.ws_url(room_id)) as ws:
        room.inject("stream_end_without_control")
        with pytest.raises(ConnectionClosedError), anyio.fail_after(5):
            await _collect_methods(ws, methods)
    assert "WebcastControlMessage" not in methods
    assert not room.live
    assert sim.observed.push_connections[0].close_reason == "stream_end_without_control"


async def test_timed_faults_from_toml() -> None:
    scenario = load_scenario(SCENARIOS / "faults.toml")
    async with Simulator.running(scenario) as sim, httpx.AsyncClient(base_url=sim.web_base) as c:
        await c.get("/")
        before = await _enter(c, "300000000002")
        await anyio.sleep(0.6)
        during = [await _enter(c, "300000000002") for _ in range(3)]
    assert before.json()["data"]["data"][0]["status"] == 2
    assert [r.status_code for r in during] == [429, 429, 200]
    assert during[0].headers["retry-after"] == "7"
    assert during[2].content == b""  # the risk-control window is still open


async def test_schedule_with_time_scale() -> None:
    scenario = load_scenario(SCENARIOS / "schedule.toml")
    seen: list[bool] = []
    async with Simulator.running(scenario) as sim:
        room = sim.room("300000000001")
        for _ in range(25):
            seen.append(room.live)
            await anyio.sleep(0.1)
    # offline for 0.5 s, live for 1 s, then offline for good
    assert seen[0] is False
    assert True in seen
    assert seen[-1] is False
    assert seen.index(True) >= 3
    assert room.live_sessions == 1


def test_every_fault_kind_has_a_test() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    for kind in FAULT_KINDS:
        assert f'"{kind}"' in source


def test_demo_scenario_loads_and_bad_ones_are_reported() -> None:
    demo = load_scenario(SCENARIOS / "demo.toml")
    assert len(demo.rooms) == 4
    with pytest.raises(ConfigError) as bad:
        parse_scenario(
            {
                "tme_scale": 1,
                "room": [{"web_rid": "1", "rates": {"chatt": 1}, "faults": [{"kind": "x"}]}],
            }
        )
    text = str(bad.value)
    assert "tme_scale: unknown key" in text
    assert "room[0].rates.chatt: unknown event type" in text
    assert "room[0].faults[0].kind" in text
