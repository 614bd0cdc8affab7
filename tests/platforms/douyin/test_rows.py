"""wire/messages + wire/rows: the real chat row, gift streaks, ids as strings, room_info."""

from __future__ import annotations

import json

import pytest

from dylived.model import EVENT_TYPES, LiveStatus, StreamVariant
from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.platforms.douyin.messages import (
    KNOWN_METHODS,
    ControlEvent,
    GiftEvent,
    decode_message,
)
from dylived.platforms.douyin.push import SCHEMA
from dylived.platforms.douyin.rows import build_room_info_row, build_row, is_streak_final
from dylived.wire.frames import UndecodableMessage, UnknownMessage, parse_frame, parse_response
from tests.wire.wirebuild import EVENT_BUILDERS


COMMON = ("type", "msg_id", "room_id", "web_rid", "server_time_ms", "received_at_ms")


def test_every_dataset_type_has_a_method() -> None:
    assert sorted(EVENT_BUILDERS) == sorted(EVENT_TYPES)
    assert {method for method, _, _ in EVENT_BUILDERS.values()} == KNOWN_METHODS


def test_real_chat_row(chat_frame_bytes: bytes) -> None:
    [raw] = parse_response(parse_frame(chat_frame_bytes, SCHEMA).payload, SCHEMA).messages
    event = decode_message(raw.method, raw.msg_id, raw.payload, 1672157081841)
    row = build_row(event, web_rid="261378947940", received_at_ms=1672157082000)
    assert row == {
        "type": "chat",
        "msg_id": "7181859941539730490",
        "room_id": "7181823408362015540",
        "web_rid": "261378947940",
        "server_time_ms": 1672157081841,
        "received_at_ms": 1672157082000,
        "stream_offset_s": None,
        "user": {
            "user_id": "726106111214807",
            "short_id": "67322853592",
            "sec_uid": "MS4wLjABAAAAIGC6SdEl63fbNtD1C3aYW2-fQfVO3tFZ_8JLJBrJgdk",
            "display_id": "TZ11306",
            "nickname": "渴死的鱼.",
            "gender": 1,
            "fans_club_name": "颗美玉",
            "fans_club_level": 5,
            "pay_grade_level": 14,
        },
        "content": "百分之10可以直播半小时",
    }
    # JSON-ready: survives a round trip unchanged
    assert json.loads(json.dumps(row, ensure_ascii=False)) == row


def _gift(*, combo: bool, gift_type: int, repeat_end: int) -> GiftEvent:
    message = pb.GiftMessage(repeat_count=3, repeat_end=repeat_end)
    message.gift.combo = combo
    message.gift.type = gift_type
    message.gift.id = 5655
    message.gift.name = "Rose"
    event = decode_message("WebcastGiftMessage", 7, message.SerializeToString())
    assert isinstance(event, GiftEvent)
    return event


@pytest.mark.parametrize(
    ("combo", "gift_type", "repeat_end", "final"),
    [
        (False, 0, 0, True),  # a non-streakable gift is final at once
        (True, 0, 0, False),  # a combo in progress
        (True, 0, 1, True),  # the combo's last message
        (False, 1, 0, False),  # TikTok's streakable type
        (False, 1, 1, True),
    ],
)
def test_gift_streak_final(combo: bool, gift_type: int, repeat_end: int, final: bool) -> None:
    event = _gift(combo=combo, gift_type=gift_type, repeat_end=repeat_end)
    assert is_streak_final(event) is final
    row = build_row(event)
    assert row["streak_final"] is final
    assert row["repeat_end"] == repeat_end
    assert row["gift_id"] == "5655"  # GiftStruct.id when GiftMessage.gift_id is unset
    assert row["gift_name"] == "Rose"
    assert row["recipient_nickname"] is None


def test_control_stream_ended() -> None:
    ended = decode_message(
        "WebcastControlMessage", 1, pb.ControlMessage(action=3).SerializeToString()
    )
    paused = decode_message(
        "WebcastControlMessage", 2, pb.ControlMessage(action=1).SerializeToString()
    )
    assert isinstance(ended, ControlEvent)
    assert isinstance(paused, ControlEvent)
    assert ended.stream_ended
    assert not paused.stream_ended
    assert build_row(ended)["status"] == 3


def test_non_finite_floats_become_null() -> None:
    message = pb.RoomStreamAdaptationMessage(
        adaptation_type=2,
        adaptation_height_ratio=float("nan"),
        adaptation_body_center_ratio=float("inf"),
        adaptation_content_top_ratio=0.5,
    )
    event = decode_message("WebcastRoomStreamAdaptationMessage", 3, message.SerializeToString())
    row = build_row(event)
    assert row["adaptation_height_ratio"] is None
    assert row["adaptation_body_center_ratio"] is None
    assert row["adaptation_content_top_ratio"] == 0.5
    assert row["adaptation_content_bottom_ratio"] == 0.0
    json.dumps(row, allow_nan=False)  # strict JSON


def test_common_msg_id_used_when_message_has_none() -> None:
    message = pb.LikeMessage(count=2)
    message.common.msg_id = 123
    event = decode_message("WebcastLikeMessage", 0, message.SerializeToString())
    assert event.msg_id == 123


def test_unknown_row_keeps_the_raw_payload() -> None:
    event = decode_message("WebcastInRoomBannerMessage", 9, b"\x08\x01", 55)
    assert isinstance(event, UnknownMessage)
    row = build_row(event, room_id="777")
    assert row == {
        "type": "unknown",
        "msg_id": "9",
        "room_id": "777",
        "web_rid": None,
        "server_time_ms": 55,
        "received_at_ms": None,
        "stream_offset_s": None,
        "method": "WebcastInRoomBannerMessage",
        "payload_base64": "CAE=",
    }


def test_undecodable_row_carries_the_error() -> None:
    event = decode_message("WebcastGiftMessage", 9, b"\x0a\xff")
    assert isinstance(event, UndecodableMessage)
    row = build_row(event)
    assert row["type"] == "undecodable"
    assert row["method"] == "WebcastGiftMessage"
    assert row["error"]
    assert row["payload_base64"] == "Cv8="
    assert row["server_time_ms"] is None


def test_caller_can_override_server_time_and_offset() -> None:
    event = decode_message("WebcastLikeMessage", 1, b"", 1000)
    row = build_row(event, server_time_ms=2000, stream_offset_s=12.5)
    assert (row["server_time_ms"], row["stream_offset_s"]) == (2000, 12.5)
    assert set(COMMON) <= set(row)


@pytest.mark.parametrize(
    ("viewers", "text", "expected"),
    [(91, "", "91"), (91, "91在线观众", "91在线观众"), (None, "", None)],
)
def test_room_info_row(viewers: int | None, text: str, expected: str | None) -> None:
    status = LiveStatus(
        live=True,
        room_id="7630361251285076745",
        handle="261378947940",
        title="内格夫强势打法，把把虐",
        nickname="内格夫教主Duck",
        extra={"sec_uid": "MS4w"},
        user_id="42",
        viewers=viewers,
        viewers_text=text,
        streams={"origin": StreamVariant("origin"), "hd": StreamVariant("hd")},
        server_time_ms=1776000000000,
    )
    row = build_room_info_row(status, raw_url="https://live.douyin.com/261378947940")
    assert row["type"] == "room_info"
    assert row["broadcaster"] == {"nickname": "内格夫教主Duck", "user_id": "42", "sec_uid": "MS4w"}
    assert row["title"] == "内格夫强势打法，把把虐"
    assert row["user_count_text"] == expected
    assert row["raw_url"] == "https://live.douyin.com/261378947940"
    assert row["stream_qualities"] == ["origin", "hd"]
    assert row["room_id"] == "7630361251285076745"
