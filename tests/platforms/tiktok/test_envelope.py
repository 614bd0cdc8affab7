"""TikTok envelope: a real-shaped push frame (gzip Response) through the shared PushFrame
parser and the TikTok Response; the client frames decode to what protocol.md §3.2 says."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given, settings, strategies as st

from dylived.errors import RemoteProtocolError
from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.decode import rows_of_response
from dylived.platforms.tiktok.envelope import (
    SCHEMA,
    build_ack,
    build_enter_room,
    build_heartbeat,
    parse_fetch_result,
)
from dylived.wire.frames import parse_frame


def _msg_frame() -> bytes:
    response = pb.Response(
        cursor="t-1_r-1",
        internal_ext="internal_src:pushserver|wss_push_room_id:7309128470994258694",
        now=1701791800000,
        fetch_interval=1000,
        heartbeat_duration=10000,
        need_ack=True,
        push_server="wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/",
        is_first=True,
        history_no_more=True,
    )
    response.route_params["wrss"] = "abc"
    chat = pb.ChatMessage(content="+999")
    chat.common.msg_id, chat.common.room_id = 7309139836781611808, 7309128470994258694
    response.messages.add(method="WebcastChatMessage", payload=chat.SerializeToString(), msg_id=1)
    frame = pb.PushFrame(seq_id=3, log_id=8726349535470258530, payload_encoding="pb")
    frame.payload_type = "msg"
    frame.headers.add(key="compress_type", value="gzip")
    frame.payload = gzip.compress(response.SerializeToString())
    return frame.SerializeToString()


def test_a_msg_frame_decodes_to_its_response_and_rows() -> None:
    frame = parse_frame(_msg_frame(), SCHEMA)
    assert (frame.payload_type, frame.log_id, frame.was_compressed) == (
        "msg",
        8726349535470258530,
        True,
    )
    result = parse_fetch_result(frame.payload)
    assert (result.cursor, result.now_ms, result.heartbeat_duration) == (
        "t-1_r-1",
        1701791800000,
        10000,
    )
    assert (result.need_ack, result.is_first, result.history_no_more) == (True, True, True)
    assert result.route_params == {"wrss": "abc"}
    assert result.push_server.endswith("ws_reuse_supplement/")
    (row,) = rows_of_response(result)
    assert (row["type"], row["content"], row["msg_id"]) == ("chat", "+999", "7309139836781611808")
    assert row["server_time_ms"] == 1701791800000  # no create_time: the Response's now


def test_enter_room_frame() -> None:
    frame = pb.PushFrame.FromString(build_enter_room(7309128470994258694, 123456789, "t-1"))
    assert (frame.payload_type, frame.payload_encoding) == ("im_enter_room", "pb")
    enter = pb.ImEnterRoomMessage.FromString(frame.payload)
    assert (enter.room_id, enter.live_id, enter.identity) == (7309128470994258694, 12, "audience")
    assert (enter.cursor, enter.enter_unique_id, enter.filter_welcome_msg) == (
        "t-1",
        123456789,
        "0",
    )


def test_heartbeat_frame_counts_packets() -> None:
    frames = [pb.PushFrame.FromString(build_heartbeat(77, n)) for n in (1, 2)]
    assert [(f.payload_type, f.payload_encoding) for f in frames] == [("hb", "pb")] * 2
    beats = [pb.HeartBeatMessage.FromString(f.payload) for f in frames]
    assert [(b.room_id, b.send_packet_seq_id) for b in beats] == [(77, 1), (77, 2)]


def test_ack_frame_carries_internal_ext_or_a_dash() -> None:
    ack = pb.PushFrame.FromString(build_ack(99, "internal_src:pushserver"))
    assert (ack.log_id, ack.payload_type, ack.payload) == (99, "ack", b"internal_src:pushserver")
    assert pb.PushFrame.FromString(build_ack(99, "")).payload == b"-"


@pytest.mark.timeout(60)
@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_a_response_or_the_protocol_error(payload: bytes) -> None:
    try:
        result = parse_fetch_result(payload)
    except RemoteProtocolError:
        return
    rows_of_response(result)  # and its messages never raise
