"""Template frames (sim/templates.py): byte for byte what the personality's encoder builds from
the same events, msg_ids carrying their send time, and the "templates" pump end to end."""

from __future__ import annotations

import gzip
import itertools
import time
from dataclasses import replace

import pytest
from websockets.asyncio.client import connect

from dylived.model import EVENT_TYPES
from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.sim.douyin.messages import FRAMING
from dylived.sim.framing import FrameContext
from dylived.sim.scenario import parse_scenario
from dylived.sim.script import EventScript, SimUser
from dylived.sim.templates import MSG_ID_SHIFT, FrameTemplates, sent_ms, varint
from dylived.sim.tiktok.push import FRAMING as TIKTOK_FRAMING


pytestmark = pytest.mark.anyio

ANCHOR = SimUser(7, 7, "主播", "MS4wLjABAAAAx", "200000000001")


def script() -> EventScript:
    return EventScript(
        room_id=7300000000000000001,
        anchor=ANCHOR,
        rates={},
        seed=5,
        msg_ids=itertools.count(1),
    )


def test_varint_matches_protobuf() -> None:
    for value in (1, 127, 128, 300, 2**35, 2**42 - 1, 2**56, 2**63 - 1):
        assert b"\x18" + varint(value) == pb.Message(msg_id=value).SerializeToString()


async def test_template_frames_equal_the_encoder_byte_for_byte() -> None:
    events = [script().make_event(kind) for kind in EVENT_TYPES for _ in range(3)]
    templates = FrameTemplates(FRAMING, events)
    now_ms = int(time.time() * 1000)
    ctx = FrameContext(room_id=7300000000000000001, seq_id=4, log_id=99, now_ms=now_ms)
    frame, ids = templates.frame(len(events) + 5, ctx)  # wraps round the sample
    cycled = [*events, *events[:5]]
    expected_events = [
        replace(e, msg_id=i, create_time_ms=now_ms) for e, i in zip(cycled, ids, strict=True)
    ]
    ours, theirs = (
        pb.PushFrame.FromString(f) for f in (frame, FRAMING.encode_frame(expected_events, ctx))
    )
    assert gzip.decompress(ours.payload) == gzip.decompress(theirs.payload)  # the level differs
    ours.payload = theirs.payload = b""
    assert ours.SerializeToString() == theirs.SerializeToString()
    assert len(set(ids)) == len(ids)
    assert {sent_ms(i) for i in ids} == {now_ms}
    assert all(2**56 <= i < 2**63 for i in ids)
    # the next frame goes on round the sample where this one stopped
    frame2, ids2 = templates.frame(2, replace(ctx, seq_id=5))
    response = pb.Response.FromString(gzip.decompress(pb.PushFrame.FromString(frame2).payload))
    assert [m.method for m in response.messages_list] == [e.method for e in events[5:7]]
    assert [m.msg_id for m in response.messages_list] == ids2
    first = pb.Response.FromString(gzip.decompress(pb.PushFrame.FromString(frame).payload))
    chats = [m for m in first.messages_list if m.method == "WebcastChatMessage"]
    assert len(chats) == sum(e.type == "chat" for e in cycled) > 0
    for message in chats:
        chat = pb.ChatMessage.FromString(message.payload)
        assert chat.common.msg_id == message.msg_id
        assert chat.common.create_time == now_ms
        assert chat.event_time == now_ms // 1000


def test_templates_need_the_shared_framing() -> None:
    with pytest.raises(ValueError, match="shared PushFrame"):
        FrameTemplates(TIKTOK_FRAMING, [script().make_event("chat")])
    with pytest.raises(ValueError, match="sample"):
        FrameTemplates(FRAMING, [])


def test_scenario_pump_key() -> None:
    assert parse_scenario({"pump": "templates"}).pump == "templates"
    assert parse_scenario({}).pump == "script"
    with pytest.raises(Exception, match="pump"):
        parse_scenario({"pump": "fast"})


async def test_templates_pump_sends_counted_events_at_the_rate() -> None:
    rates = {"chat": 300.0, "like": 100.0, "gift": 50.0, "member": 50.0}
    scenario = Scenario(
        rooms=(RoomSpec("200000000001", nickname="bulk", rates=rates),), pump="templates"
    )
    async with Simulator.running(scenario) as sim:
        room = sim.room("200000000001")
        room_id = room.go_live()
        methods: list[str] = []
        ids: list[int] = []
        async with connect(sim.ws_url(room_id)) as ws:
            started = time.time()
            while time.time() - started < 1.0:
                data = await ws.recv()
                assert isinstance(data, bytes)
                frame = pb.PushFrame.FromString(data)
                if frame.payload_type != "msg":
                    continue
                response = pb.Response.FromString(gzip.decompress(frame.payload))
                assert response.need_ack
                for message in response.messages_list:
                    if message.msg_id in {e.msg_id for e in sim.observed.sent_events}:
                        continue  # the personality's opening events, scripted and recorded
                    methods.append(message.method)
                    ids.append(message.msg_id)
                    received_ms = time.time() * 1000
                    assert 0 <= received_ms - (message.msg_id >> MSG_ID_SHIFT) < 1000
        record = sim.observed.push_connections[0]
        assert len(record.events) == len(sim.observed.sent_events) <= 2  # the opening ones
        assert record.bulk_events == sim.observed.bulk_events >= len(ids) > 300
        assert len(set(ids)) == len(ids)
        assert methods.count("WebcastChatMessage") > methods.count("WebcastLikeMessage") > 0
