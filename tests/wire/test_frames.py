"""wire/frames: the real 2022 frame, gzip rules and cap, heartbeat and ack bytes."""

from __future__ import annotations

import gzip

import pytest

from dylived.errors import RemoteProtocolError
from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.platforms.douyin.push import SCHEMA
from dylived.wire.frames import (
    HEARTBEAT_FRAME,
    PushSchema,
    build_ack,
    build_heartbeat,
    gunzip_capped,
    parse_frame,
    parse_response,
)
from tests.wire.wirebuild import build_frame


def test_real_frame_envelope(chat_frame_bytes: bytes) -> None:
    frame = parse_frame(chat_frame_bytes, SCHEMA)
    assert (frame.seq_id, frame.log_id, frame.service, frame.method) == (
        703,
        8726349535470258530,
        8888,
        8,
    )
    assert frame.payload_type == "msg"
    assert frame.payload_encoding == "pb"
    assert frame.was_compressed
    assert frame.headers["compress_type"] == "gzip"
    assert frame.headers["im-now"] == "1672157081920"
    assert frame.headers["im-live_cursor"] == "d-1_u-1"


def test_real_response(chat_frame_bytes: bytes) -> None:
    response = parse_response(parse_frame(chat_frame_bytes, SCHEMA).payload, SCHEMA)
    meta = response.meta
    assert meta.need_ack
    assert meta.heartbeat_duration == 15
    assert meta.fetch_interval_ms == 1000
    assert meta.now_ms == 1672157081841
    assert meta.internal_ext.startswith("internal_src:pushserver|wss_push_room_id:718182340836")
    assert meta.cursor.startswith("t-1672157081841_r-")
    assert [(m.method, m.msg_id) for m in response.messages] == [
        ("WebcastChatMessage", 7181859941539730490)
    ]


def test_heartbeat_is_exactly_the_browser_bytes() -> None:
    assert build_heartbeat(SCHEMA) == HEARTBEAT_FRAME == bytes.fromhex("3a026862")
    assert pb.PushFrame(payload_type="hb").SerializeToString() == HEARTBEAT_FRAME
    assert parse_frame(HEARTBEAT_FRAME, SCHEMA).payload_type == "hb"


def test_ack_echoes_log_id_and_carries_internal_ext() -> None:
    ack = pb.PushFrame()
    ack.ParseFromString(build_ack(8726349535470258530, "internal_src:pushserver|seq:9", SCHEMA))
    assert ack.log_id == 8726349535470258530
    assert ack.payload_type == "ack"
    assert ack.payload == b"internal_src:pushserver|seq:9"
    assert ack.payload_encoding == ""


def test_a_schema_sets_its_own_heartbeat_and_ack_encoding() -> None:
    # TikTok's clients send payload_encoding "pb" in acks and a heartbeat with a payload.
    heartbeat = pb.PushFrame(payload_encoding="pb", payload_type="hb", payload=b"\x08\x01")
    other = PushSchema(
        pb.PushFrame, pb.Response, heartbeat=heartbeat.SerializeToString(), ack_encoding="pb"
    )
    assert build_heartbeat(other) == heartbeat.SerializeToString()
    ack = parse_frame(build_ack(5, "ext", other), other)
    assert (ack.log_id, ack.payload_type, ack.payload_encoding, ack.payload) == (
        5,
        "ack",
        "pb",
        b"ext",
    )


@pytest.mark.parametrize(
    ("gzip_payload", "gzip_header"), [(True, True), (True, False), (False, False)]
)
def test_gunzip_by_header_or_magic(gzip_payload: bool, gzip_header: bool) -> None:
    data = build_frame(
        [("WebcastLikeMessage", 1, b"")], gzip_payload=gzip_payload, gzip_header=gzip_header
    )
    frame = parse_frame(data, SCHEMA)
    assert frame.was_compressed is gzip_payload
    assert [m.method for m in parse_response(frame.payload, SCHEMA).messages] == [
        "WebcastLikeMessage"
    ]


def test_gzip_header_without_gzip_payload_is_an_error() -> None:
    frame = pb.PushFrame(payload_type="msg", payload=b"\x0a\x00")
    frame.headers_list.add(key="compress_type", value="gzip")
    with pytest.raises(RemoteProtocolError, match="bad gzip"):
        parse_frame(frame.SerializeToString(), SCHEMA)


def test_gzip_header_with_empty_payload_is_fine() -> None:
    frame = pb.PushFrame(payload_type="close")
    frame.headers_list.add(key="compress_type", value="gzip")
    parsed = parse_frame(frame.SerializeToString(), SCHEMA)
    assert parsed.payload == b""
    assert not parsed.was_compressed


def test_truncated_gzip_is_an_error() -> None:
    with pytest.raises(RemoteProtocolError, match="truncated"):
        gunzip_capped(gzip.compress(b"x" * 1000)[:-12])


def test_cap_is_inclusive() -> None:
    assert gunzip_capped(gzip.compress(b"y" * 100), 100) == b"y" * 100
    with pytest.raises(RemoteProtocolError, match="cap"):
        gunzip_capped(gzip.compress(b"y" * 101), 100)


@pytest.mark.parametrize("data", [b"\xff\xff\xff", b"\x0a", b"\x3a\x05hb"])
def test_malformed_frame_is_a_remote_protocol_error(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="not a PushFrame"):
        parse_frame(data, SCHEMA)


def test_malformed_response_is_a_remote_protocol_error() -> None:
    with pytest.raises(RemoteProtocolError, match="not a Response"):
        parse_response(b"\x0a\x05\x0a", SCHEMA)


def test_negative_wire_msg_id_is_read_unsigned() -> None:
    response = pb.Response()
    response.messages_list.add(method="X", msg_id=-1)
    parsed = parse_response(response.SerializeToString(), SCHEMA)
    assert parsed.messages[0].msg_id == 2**64 - 1
