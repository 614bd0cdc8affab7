"""The push WebSocket: frames, acks, heartbeats, pings, stream end, all 13 event types."""

from __future__ import annotations

import gzip
import json
import socket
import struct
from collections.abc import Mapping
from typing import Any

import anyio
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from dylived.model import EVENT_TYPES
from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.sim import METHODS, RoomSpec, Scenario, Simulator
from tests.sim.conftest import WEB_RID


pytestmark = pytest.mark.anyio

CLASSES: dict[str, Any] = {
    "WebcastChatMessage": pb.ChatMessage,
    "WebcastGiftMessage": pb.GiftMessage,
    "WebcastLikeMessage": pb.LikeMessage,
    "WebcastMemberMessage": pb.MemberMessage,
    "WebcastSocialMessage": pb.SocialMessage,
    "WebcastRoomUserSeqMessage": pb.RoomUserSeqMessage,
    "WebcastFansclubMessage": pb.FansclubMessage,
    "WebcastEmojiChatMessage": pb.EmojiChatMessage,
    "WebcastRoomStatsMessage": pb.RoomStatsMessage,
    "WebcastRoomRankMessage": pb.RoomRankMessage,
    "WebcastRoomMessage": pb.RoomMessage,
    "WebcastRoomStreamAdaptationMessage": pb.RoomStreamAdaptationMessage,
    "WebcastControlMessage": pb.ControlMessage,
}


def decode(frame_bytes: bytes) -> tuple[pb.PushFrame, pb.Response, list[tuple[pb.Message, Any]]]:
    """Test-side decoding with the generated schema (independent of the sim's encoder)."""
    frame = pb.PushFrame.FromString(frame_bytes)
    headers = {h.key: h.value for h in frame.headers_list}
    assert headers["compress_type"] == "gzip"
    response = pb.Response.FromString(gzip.decompress(frame.payload))
    out = []
    for message in response.messages_list:
        event = CLASSES[message.method].FromString(message.payload)
        assert event.common.msg_id == message.msg_id
        assert event.common.method == message.method
        out.append((message, event))
    return frame, response, out


def ack_for(frame: pb.PushFrame, response: pb.Response) -> bytes:
    return pb.PushFrame(
        log_id=frame.log_id, payload_type="ack", payload=response.internal_ext.encode()
    ).SerializeToString()


async def _receive_events(
    ws: ClientConnection, count: int, *, ack: bool = True
) -> list[tuple[pb.Message, Any]]:
    events: list[tuple[pb.Message, Any]] = []
    with anyio.fail_after(10):
        while len(events) < count:
            data = await ws.recv()
            assert isinstance(data, bytes)
            frame, response, decoded = decode(data)
            assert response.need_ack
            if ack:
                await ws.send(ack_for(frame, response))
            events.extend(decoded)
    return events


async def test_frames_carry_exactly_the_sent_events_and_acks_are_recorded(
    scenario: Scenario,
) -> None:
    rates = {"chat": 40.0, "gift": 20.0, "like": 20.0, "member": 20.0}
    scenario = Scenario(rooms=(RoomSpec(WEB_RID, rates=rates),), ping_interval=0)
    async with Simulator.running(scenario) as sim:
        room_id = sim.room(WEB_RID).go_live()
        async with connect(sim.ws_url(room_id)) as ws:
            await ws.send(bytes.fromhex("3a026862"))
            received = await _receive_events(ws, 60)
            await sim.wait_until(lambda: len(sim.observed.acks()) >= 3)
        record = sim.observed.push_connections[0]
        await sim.wait_until(lambda: not record.open)
    sent = [(e.msg_id, e.method) for e in record.events]
    got = [(m.msg_id, m.method) for m, _ in received]
    assert got == sent[: len(got)]
    assert len({msg_id for msg_id, _ in sent}) == len(sent)  # msg_ids unique
    assert record.heartbeats
    assert record.exact_heartbeats == 1
    assert all(ack.matched for ack in record.acks)
    assert record.close_reason == "client_closed"
    # frames_sent are exactly what went over the wire, in order
    wire = [m.msg_id for f in record.frames_sent for m, _ in decode(f)[2]]
    assert wire == [e.msg_id for e in record.events]


async def test_all_thirteen_types_with_their_fields(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room_id = room.go_live()
    async with connect(sim.ws_url(room_id)) as ws:
        await _receive_events(ws, 2)  # the initial room_stats + viewer_count
        pushed = {kind: room.push(kind) for kind in EVENT_TYPES if kind != "control"}
        chat = room.push("chat", content="你好，世界")
        received = await _receive_events(ws, len(pushed) + 1)
        room.go_offline()
        control = await _receive_events(ws, 1)
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    by_id = {m.msg_id: (m, e) for m, e in received + control}
    for kind, event in pushed.items():
        message, decoded = by_id[event.msg_id]
        assert message.method == METHODS[kind]
        assert decoded.common.room_id == int(room_id)
    assert by_id[chat.msg_id][1].content == "你好，世界"
    gift = by_id[pushed["gift"].msg_id][1]
    assert gift.gift.name == pushed["gift"].fields["gift_name"]
    assert gift.repeat_count == pushed["gift"].fields["repeat_count"]
    seq = by_id[pushed["viewer_count"].msg_id][1]
    assert seq.total == pushed["viewer_count"].fields["current_viewers"]
    assert len(seq.ranks) == 3
    assert seq.ranks[0].user.nickname
    user = by_id[pushed["chat"].msg_id][1].user
    assert user.id
    assert user.nickname
    assert user.sec_uid.startswith("MS4wLjABAAAA")
    (control_message, control_event) = control[0]
    assert control_message.method == "WebcastControlMessage"
    assert control_event.action == 3
    record = sim.observed.push_connections[0]
    await sim.wait_until(lambda: not record.open)
    assert record.close_reason == "stream_ended"


async def test_gift_streaks_end_with_repeat_end(sim: Simulator) -> None:
    room = sim.room(WEB_RID)
    room.go_live()
    assert room.script is not None
    gifts = [room.script.make_event("gift") for _ in range(60)]
    streaks: dict[int, list[Mapping[str, Any]]] = {}
    for gift in gifts:
        streaks.setdefault(gift.fields["group_id"], []).append(gift.fields)
    complete = [s for s in streaks.values() if s[-1]["repeat_end"] == 1]
    assert len(complete) >= 5
    assert any(len(s) > 1 for s in complete)
    for streak in complete:
        assert [g["repeat_count"] for g in streak] == list(range(1, len(streak) + 1))
        assert [g["repeat_end"] for g in streak] == [0] * (len(streak) - 1) + [1]
        assert len({g["gift_id"] for g in streak}) == 1


async def _drain(ws: ClientConnection) -> None:
    while True:
        await ws.recv()


async def test_client_without_heartbeats_is_dropped() -> None:
    scenario = Scenario(rooms=(RoomSpec(WEB_RID),), heartbeat_timeout=0.5, ping_interval=0)
    async with Simulator.running(scenario) as sim:
        room_id = sim.room(WEB_RID).go_live()
        async with connect(sim.ws_url(room_id)) as ws:
            with pytest.raises(ConnectionClosed), anyio.fail_after(5):
                await _drain(ws)
        record = sim.observed.push_connections[0]
    assert record.close_reason == "heartbeat_timeout"
    assert record.closed_at is not None
    assert record.closed_at - record.opened_at < 3


async def test_client_with_heartbeats_stays() -> None:
    scenario = Scenario(rooms=(RoomSpec(WEB_RID),), heartbeat_timeout=0.5, ping_interval=0)
    async with Simulator.running(scenario) as sim:
        room_id = sim.room(WEB_RID).go_live()
        async with connect(sim.ws_url(room_id)) as ws:
            for _ in range(8):
                await ws.send(bytes.fromhex("3a026862"))
                await anyio.sleep(0.2)
            assert sim.observed.push_connections[0].open
        assert len(sim.observed.push_connections[0].heartbeats) == 8


async def test_pings_are_sent_and_pongs_recorded() -> None:
    scenario = Scenario(rooms=(RoomSpec(WEB_RID),), ping_interval=0.1, ping_timeout=1.0)
    async with Simulator.running(scenario) as sim:
        room_id = sim.room(WEB_RID).go_live()
        async with connect(sim.ws_url(room_id)) as ws:  # websockets answers pings itself
            await sim.wait_until(lambda: len(sim.observed.pongs()) >= 3)
            assert sim.observed.push_connections[0].open
            del ws
        record = sim.observed.push_connections[0]
    assert len(record.pings_sent) >= 3


async def test_client_not_answering_pings_is_dropped() -> None:
    scenario = Scenario(rooms=(RoomSpec(WEB_RID),), ping_interval=0.1, ping_timeout=0.3)
    async with Simulator.running(scenario) as sim:
        room_id = sim.room(WEB_RID).go_live()
        url = sim.ws_url(room_id).removeprefix(sim.ws_base)
        async with await anyio.connect_tcp("127.0.0.1", sim.port) as stream:
            await stream.send(
                (
                    f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            head = await stream.receive()
            assert head.startswith(b"HTTP/1.1 101")
            assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head  # RFC 6455's example accept key
            with anyio.fail_after(5):
                try:
                    while await stream.receive():  # read, but never answer a ping
                        pass
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    pass
        record = sim.observed.push_connections[0]
    assert record.close_reason == "ping_timeout"
    assert record.pongs == []


async def test_upgrade_needs_room_id_and_signature(sim: Simulator) -> None:
    room_id = sim.room(WEB_RID).go_live()
    without_signature = sim.ws_url(room_id, signature="")
    with pytest.raises(InvalidStatus) as missing:
        async with connect(without_signature):
            pass
    assert missing.value.response.status_code == 400
    with pytest.raises(InvalidStatus) as unknown:
        async with connect(sim.ws_url("7000000000000000000")):
            pass
    assert unknown.value.response.status_code == 404


async def test_signature_checked_against_its_stub_when_asked() -> None:
    # protocol.md §2.2 vector: this signature belongs to stub 704f436b…; ours is different
    scenario = Scenario(rooms=(RoomSpec(WEB_RID),), check_signature=True, ping_interval=0)
    async with Simulator.running(scenario) as sim:
        room_id = sim.room(WEB_RID).go_live()
        with pytest.raises(InvalidStatus) as rejected:
            async with connect(sim.ws_url(room_id, signature="6pt0VC0aRZDP7n07")):
                pass
    assert rejected.value.response.status_code == 200
    assert rejected.value.response.headers["Handshake-Msg"] == "signature verify failed"


async def test_sim_control_endpoint_drives_rooms(sim: Simulator) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=sim.web_base) as client:
        live = await client.post(f"/_sim/rooms/{WEB_RID}/live", json={"title": "远程开播"})
        state = (await client.get("/_sim/state")).json()
        bad = await client.post(f"/_sim/rooms/{WEB_RID}/fault", json={"kind": "nope"})
        offline = await client.post(f"/_sim/rooms/{WEB_RID}/offline", json={})
    assert live.status_code == 200
    assert live.json()["room_id"] == sim.room(WEB_RID).room_id
    assert state["rooms"][0]["live"] is True
    assert bad.status_code == 400
    assert offline.status_code == 200
    assert not sim.room(WEB_RID).live
    assert json.loads(live.content)["room_id"]


async def test_a_client_that_resets_its_connection_ends_that_connection_only() -> None:
    """A client gone with a TCP reset (a SIGKILLed daemon) while events flow: the push session
    ends as closed by the client, and the simulator goes on serving. (When the reset reaches the
    writer's send before the reader, that send used to raise out of ``Simulator.running``; this
    test does not force that order, which a full suite run hit once.)"""
    scenario = Scenario(rooms=(RoomSpec(WEB_RID, rates={"chat": 400.0}),), ping_interval=0)
    async with Simulator.running(scenario) as sim:
        room_id = sim.room(WEB_RID).go_live()
        for attempt in range(5):
            ws = await connect(sim.ws_url(room_id))
            await _receive_events(ws, 20, ack=False)
            sock = ws.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            ws.transport.abort()  # RST, while the simulator keeps writing
            record = sim.observed.push_connections[attempt]
            await sim.wait_until(lambda record=record: not record.open)  # type: ignore[misc]
            assert record.close_reason == "client_closed"
        async with connect(sim.ws_url(room_id)) as ws:  # still serving
            assert len(await _receive_events(ws, 5)) >= 5
