"""The personality seam: each room is served by its platform's personality, over real HTTP and
WebSocket on 127.0.0.1; an unknown platform is a clear error; the core names no platform.

``OtherTv`` is a second personality made here (its own status route and JSON, push path, opening
events and message encoding, on the shared PushFrame schema), beside the registered Douyin one.
"""

from __future__ import annotations

import ast
import gzip
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from dylived.errors import ConfigError
from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.sim import (
    RoomSpec,
    RoomView,
    Scenario,
    ScheduleStep,
    ScriptedEvent,
    SimRoom,
    Simulator,
    UnknownPlatform,
    load_scenario,
    parse_scenario,
)
from dylived.sim.douyin.messages import SCHEMA
from dylived.sim.framing import Framing
from dylived.sim.http import Answer, HttpRequest, Reply, json_reply
from tests.conftest import REPO_ROOT


pytestmark = pytest.mark.anyio

DOUYIN_RID = "200000000001"
OTHER_HANDLE = "other-anchor"


def _encode(event: ScriptedEvent) -> bytes:
    return f"othertv:{event.type}:{event.msg_id}".encode()


class OtherTv:
    """A made-up platform: GET /api/room?handle=… and a push at /othertv/push/?room_id=…."""

    platform = "othertv"
    default = False
    push_path = "/othertv/push/"
    opening_events = ("viewer_count",)
    framing = Framing(SCHEMA, _encode)

    def endpoint_of(self, path: str) -> str | None:
        return "othertv_room" if path == "/api/room" else None

    async def answer(self, endpoint: str, request: HttpRequest, sim: Simulator) -> Answer:
        room = sim.room_of(self.platform, request.query.get("handle", ""))
        return json_reply(self.render_status(room.view() if room is not None else None))

    def render_status(self, view: RoomView | None) -> dict[str, Any]:
        if view is None:
            return {"ok": False, "error": "no such user"}
        return {"ok": True, "handle": view.web_rid, "live": view.live, "room": view.room_id}

    def accept_push(self, request: HttpRequest, sim: Simulator) -> SimRoom | Reply:
        room = sim.room_by_id(request.query.get("room_id", ""), platform=self.platform)
        return room if room is not None else Reply(404, b'{"ok":false}')

    def push_url(self, ws_base: str, room_id: str, **params: str) -> str:
        return f"{ws_base}{self.push_path}?room_id={room_id}"

    def daemon_config(self, web_base: str, ws_base: str) -> str:
        return f'[othertv]\nweb_base = "{web_base}"\n'


def _scenario() -> Scenario:
    live = (ScheduleStep("live"),)
    return Scenario(
        rooms=(
            RoomSpec(DOUYIN_RID, nickname="抖音主播", schedule=live),
            RoomSpec(OTHER_HANDLE, nickname="other", schedule=live, platform="othertv"),
        ),
        ping_interval=0,
    )


def _messages(frame_bytes: bytes) -> list[pb.Message]:
    frame = pb.PushFrame.FromString(frame_bytes)
    return list(pb.Response.FromString(gzip.decompress(frame.payload)).messages_list)


async def test_each_room_is_served_by_its_platforms_personality() -> None:
    async with Simulator.running(_scenario(), personalities=[OtherTv()]) as sim:
        douyin_room, other_room = sim.room(DOUYIN_RID), sim.room(OTHER_HANDLE)
        await sim.wait_until(lambda: douyin_room.live and other_room.live)
        assert (douyin_room.platform, other_room.platform) == ("douyin", "othertv")
        async with httpx.AsyncClient(base_url=sim.web_base) as client:
            # OtherTv's route knows its own room and renders it its way; not the Douyin room
            mine = (await client.get("/api/room", params={"handle": OTHER_HANDLE})).json()
            expected = {"ok": True, "handle": OTHER_HANDLE, "live": True}
            assert mine == {**expected, "room": other_room.room_id}
            theirs = (await client.get("/api/room", params={"handle": DOUYIN_RID})).json()
            assert theirs == {"ok": False, "error": "no such user"}
            # Douyin's web/enter knows the Douyin room only
            await client.get("/")  # the ttwid cookie
            enter = await client.get("/webcast/room/web/enter/", params={"web_rid": DOUYIN_RID})
            assert enter.json()["data"]["data"][0]["id_str"] == douyin_room.room_id
            assert enter.json()["data"]["data"][0]["status"] == 2
            other = await client.get("/webcast/room/web/enter/", params={"web_rid": OTHER_HANDLE})
            assert other.json()["data"]["data"] == []
            state = (await client.get("/_sim/state")).json()
        assert [(r["web_rid"], r["platform"]) for r in state["rooms"]] == [
            (DOUYIN_RID, "douyin"),
            (OTHER_HANDLE, "othertv"),
        ]
        counts = sim.observed.request_counts()
        assert (counts["othertv_room"], counts["web_enter"], counts["home"]) == (2, 2, 1)

        # the push URL, the opening frame and the message encoding are the room's platform's
        other_url = sim.ws_url(other_room.room_id)
        assert other_url.startswith(f"{sim.ws_base}/othertv/push/?")
        async with connect(other_url) as ws:
            first = await ws.recv()
        assert isinstance(first, bytes)
        [message] = _messages(first)
        assert message.method == "WebcastRoomUserSeqMessage"
        assert message.payload == f"othertv:viewer_count:{message.msg_id}".encode()
        async with connect(sim.ws_url(douyin_room.room_id)) as ws:
            first = await ws.recv()
        assert isinstance(first, bytes)
        stats, viewers = _messages(first)
        assert pb.RoomStatsMessage.FromString(stats.payload).common.msg_id == stats.msg_id
        assert pb.RoomUserSeqMessage.FromString(viewers.payload).common.msg_id == viewers.msg_id
        # a room is not served on another platform's push path
        wrong = sim.ws_url(douyin_room.room_id).replace("/webcast/im/push/v2/", "/othertv/push/")
        with pytest.raises(InvalidStatus) as refused:
            async with connect(wrong):
                pass
        assert refused.value.response.status_code == 404
        assert [c.web_rid for c in sim.observed.push_connections] == [OTHER_HANDLE, DOUYIN_RID]


def test_an_unknown_platform_in_a_scenario_is_a_clear_error(tmp_path: Path) -> None:
    raw = {"room": [{"web_rid": "1"}, {"web_rid": "2", "platform": "myspace"}]}
    with pytest.raises(ConfigError) as bad:
        parse_scenario(raw, "x.toml")
    assert (
        "room[1].platform: unknown platform 'myspace'; this simulator plays douyin, tiktok"
        in str(bad.value)
    )
    # a room built in Python: the simulator says which room and which platforms there are
    with pytest.raises(
        UnknownPlatform, match=r"room 2: unknown platform 'nope'.*plays douyin, tiktok"
    ):
        Simulator(Scenario(rooms=(RoomSpec("2", platform="nope"),)))
    # the command: exit 78 (a bad scenario) with the problem on stderr
    scenario = tmp_path / "bad.toml"
    scenario.write_text('[[room]]\nweb_rid = "1"\nplatform = "myspace"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "dylived.sim.cli", "--scenario", str(scenario)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 78
    assert "room[0].platform: unknown platform 'myspace'" in result.stderr


def test_scenarios_without_a_platform_are_the_default_personalitys() -> None:
    scenario = load_scenario(REPO_ROOT / "etc" / "sim" / "demo.toml")
    sim = Simulator(scenario)
    named = {spec.web_rid: spec.platform for spec in scenario.rooms}
    assert [room.platform for room in sim.rooms.values()] == [
        named[rid] or "douyin" for rid in sim.rooms
    ]
    assert "" in named.values()  # the demo has rooms that name no platform
    assert sim.push_url == f"{sim.ws_base}/webcast/im/push/v2/"


def _code_mentions(path: Path, word: str) -> list[int]:
    """Lines where ``word`` appears in code (a name, an import, a string that is no docstring)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    lines = []
    for node in ast.walk(tree):
        texts: list[str] = []
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts = [] if id(node) in docstrings else [node.value]
        elif isinstance(node, ast.Name):
            texts = [node.id]
        elif isinstance(node, ast.Attribute):
            texts = [node.attr]
        elif isinstance(node, ast.ImportFrom):
            texts = [node.module or "", *(a.name for a in node.names)]
        elif isinstance(node, ast.Import):
            texts = [a.name for a in node.names]
        if any(word in text.lower() for text in texts):
            lines.append(getattr(node, "lineno", 0))
    return lines


def test_the_core_names_no_platform_in_code() -> None:
    core = REPO_ROOT / "dylived" / "sim"
    found = {
        str(path.relative_to(core)): _code_mentions(path, "douyin")
        for path in sorted(core.glob("*.py"))
    }
    assert len(found) >= 10  # the core's modules were read
    assert {name: lines for name, lines in found.items() if lines} == {}
    # and the check sees a mention in code where there is one
    assert _code_mentions(core / "douyin" / "routes.py", "douyin")
