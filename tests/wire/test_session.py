"""wire/session: acks, heartbeats, close, dedup across reconnects, counters, server times."""

from __future__ import annotations

import pytest

from dylived.errors import RemoteProtocolError
from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.platforms.douyin.messages import (
    ChatEvent,
    LikeEvent,
    decode_message,
)
from dylived.platforms.douyin.push import SCHEMA
from dylived.wire.frames import HEARTBEAT_FRAME, UndecodableMessage, UnknownMessage, parse_frame
from dylived.wire.session import (
    DedupWindow,
    SessionState,
    SessionStatistics,
    WebcastSession,
    heartbeat_interval_s,
)
from tests.wire.wirebuild import build_frame


def _like(msg_id: int, count: int = 1) -> tuple[str, int, bytes]:
    message = pb.LikeMessage(count=count)
    message.common.msg_id = msg_id
    message.common.room_id = 99
    return ("WebcastLikeMessage", msg_id, message.SerializeToString())


def test_real_frame_gives_one_chat_and_one_ack(chat_frame_bytes: bytes) -> None:
    session = WebcastSession(SCHEMA, decode_message)
    session.receive_data(chat_frame_bytes)
    [event] = session.events_received()
    assert isinstance(event, ChatEvent)
    assert event.content == "百分之10可以直播半小时"
    assert event.server_time_ms == 1672157081841  # Response.now: the chat has no create_time
    assert session.server_now_ms == 1672157081841
    [ack] = session.data_to_send()
    parsed = parse_frame(ack, SCHEMA)
    assert parsed.log_id == 8726349535470258530
    assert parsed.payload.decode() == session.last_response.internal_ext  # type: ignore[union-attr]
    assert session.last_seq_id == 703
    assert session.heartbeat_interval_s == 15.0
    assert session.events_received() == []
    assert session.data_to_send() == []


def test_no_ack_unless_asked() -> None:
    session = WebcastSession(SCHEMA, decode_message)
    session.receive_data(build_frame([_like(1)], need_ack=False))
    assert session.data_to_send() == []
    assert session.statistics().acks_sent == 0


def test_ack_falls_back_to_the_internal_ext_header() -> None:
    session = WebcastSession(SCHEMA, decode_message)
    frame = build_frame([], internal_ext="", headers={"im-internal_ext": "from-header"})
    session.receive_data(frame)
    [ack] = session.data_to_send()
    assert parse_frame(ack, SCHEMA).payload == b"from-header"


def test_im_now_header_is_the_server_time_when_response_has_none() -> None:
    session = WebcastSession(SCHEMA, decode_message)
    session.receive_data(build_frame([_like(1)], now_ms=0, headers={"im-now": "1672157081920"}))
    [event] = session.events_received()
    assert event.server_time_ms == 1672157081920
    assert session.server_now_ms == 1672157081920


@pytest.mark.parametrize("header", ["", "abc", "１２", "9" * 30])
def test_bad_im_now_header_is_ignored(header: str) -> None:
    session = WebcastSession(SCHEMA, decode_message)
    session.receive_data(build_frame([_like(1)], now_ms=0, headers={"im-now": header}))
    assert session.events_received()[0].server_time_ms == 0


def test_duplicates_are_skipped_across_reconnects() -> None:
    first = WebcastSession(SCHEMA, decode_message)
    first.receive_data(build_frame([_like(1), _like(2), _like(2)]))
    assert [e.msg_id for e in first.events_received()] == [1, 2]
    second = WebcastSession(SCHEMA, decode_message, dedup=first.dedup)
    second.receive_data(build_frame([_like(2), _like(3)]))
    assert [e.msg_id for e in second.events_received()] == [3]
    assert first.statistics().duplicates_skipped == 1
    assert second.statistics().duplicates_skipped == 1


def test_msg_id_zero_is_never_deduplicated() -> None:
    session = WebcastSession(SCHEMA, decode_message)
    session.receive_data(build_frame([_like(0), _like(0)]))
    assert len(session.events_received()) == 2


def test_dedup_window_forgets_the_oldest() -> None:
    window = DedupWindow(capacity=3)
    assert [window.check_and_add(i) for i in (1, 2, 3, 1)] == [False, False, False, True]
    assert not window.check_and_add(4)  # evicts 1
    assert 1 not in window
    assert 4 in window
    assert len(window) == 3
    assert not window.check_and_add(1)


def test_dedup_window_needs_room() -> None:
    with pytest.raises(ValueError, match="capacity"):
        DedupWindow(0)


def test_unknown_and_undecodable_are_counted_and_do_not_stop_the_rest() -> None:
    session = WebcastSession(SCHEMA, decode_message)
    session.receive_data(
        build_frame(
            [
                ("WebcastNewThingMessage", 1, b"\x01\x02"),
                ("WebcastChatMessage", 2, b"\xff\xff"),
                _like(3),
            ]
        )
    )
    unknown, undecodable, like = session.events_received()
    assert isinstance(unknown, UnknownMessage)
    assert unknown.payload == b"\x01\x02"
    assert isinstance(undecodable, UndecodableMessage)
    assert isinstance(like, LikeEvent)
    stats = session.statistics()
    assert (stats.unknown_methods, stats.undecodable, stats.messages_decoded) == (1, 1, 1)


def test_bad_frame_raises_counts_and_leaves_the_session_usable() -> None:
    session = WebcastSession(SCHEMA, decode_message)
    with pytest.raises(RemoteProtocolError):
        session.receive_data(b"\xff\xff")
    with pytest.raises(RemoteProtocolError):
        session.receive_data(
            pb.PushFrame(payload_type="msg", payload=b"\x0a\x05").SerializeToString()
        )
    session.receive_data(build_frame([_like(1)]))
    assert len(session.events_received()) == 1
    stats = session.statistics()
    assert (stats.frames, stats.failed_frames) == (3, 2)


def test_payload_cap_is_per_session() -> None:
    session = WebcastSession(SCHEMA, decode_message, max_payload_size=16)
    with pytest.raises(RemoteProtocolError, match="cap"):
        session.receive_data(build_frame([_like(1)]))


def test_new_session_is_open() -> None:
    session = WebcastSession(SCHEMA, decode_message)
    assert session.state is SessionState.OPEN
    assert not session.close_requested


def test_close_frame_moves_to_closing_and_stops_heartbeats() -> None:
    session = WebcastSession(SCHEMA, decode_message)
    session.receive_data(pb.PushFrame(payload_type="close").SerializeToString())
    assert session.state is SessionState.CLOSING
    assert session.close_requested
    assert not session.heartbeat_due(1000.0)
    session.receive_data(build_frame([_like(1)]))  # a late frame still counts
    assert len(session.events_received()) == 1


def test_server_heartbeat_and_other_frames_are_ignored() -> None:
    session = WebcastSession(SCHEMA, decode_message)
    session.receive_data(HEARTBEAT_FRAME)
    session.receive_data(pb.PushFrame(payload_type="ack").SerializeToString())
    assert session.events_received() == []
    assert session.data_to_send() == []
    assert session.state is SessionState.OPEN
    assert session.statistics() == SessionStatistics(frames=2)


def test_heartbeat_schedule_follows_the_server() -> None:
    session = WebcastSession(SCHEMA, decode_message)
    assert session.heartbeat_due(0.0)  # first one right after connecting
    session.heartbeat(0.0)
    assert session.data_to_send() == [HEARTBEAT_FRAME]
    assert not session.heartbeat_due(9.9)
    assert session.heartbeat_due(10.0)
    session.receive_data(build_frame([], heartbeat_duration=15))
    session.heartbeat(10.0)
    assert session.next_heartbeat_at == 25.0
    assert session.statistics().heartbeats_sent == 2


@pytest.mark.parametrize(
    ("server", "expected"), [(0, 10.0), (5, 10.0), (15, 15.0), (10_000, 10.0), (20_000, 20.0)]
)
def test_heartbeat_interval_units(server: int, expected: float) -> None:
    assert heartbeat_interval_s(server) == expected


def test_heartbeat_interval_is_capped() -> None:
    assert heartbeat_interval_s(999) == 60.0


def test_a_webcast_session_holds_nothing_back_for_its_end() -> None:
    """Every event is handed out as its frame arrives: the capture's end hook (``finish``,
    where TikTok's session flushes its open gift streaks) has nothing left to add."""
    session = WebcastSession(SCHEMA, decode_message)
    session.receive_data(build_frame([_like(1), _like(2)]))
    assert len(session.events_received()) == 2
    assert session.finish() == []
