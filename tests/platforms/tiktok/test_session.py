"""TikTok push session: enter room first, heartbeats only after the server's answer, acks with
internal_ext, cursor kept, replays dropped, gift streaks collapsed across frames and reconnects,
ControlMessage pause/resume/end; bad frames raise the protocol error and are survived."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from dylived.errors import RemoteProtocolError
from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.common import RowContext
from dylived.platforms.tiktok.session import TikTokSession
from tests.conftest import capture_path


ROOM = 7309128470994258694


def _frame(payload_type: str, payload: bytes = b"", log_id: int = 0) -> bytes:
    frame = pb.PushFrame(log_id=log_id, payload_encoding="pb", payload_type=payload_type)
    frame.payload = payload
    return frame.SerializeToString()


def _msg(
    *messages: tuple[str, int, bytes], log_id: int = 11, ext: str = "ext-1", cursor: str = "c1"
) -> bytes:
    response = pb.Response(
        cursor=cursor,
        internal_ext=ext,
        now=1_700_000_000_000,
        need_ack=True,
        heartbeat_duration=20000,
    )
    for method, msg_id, payload in messages:
        response.messages.add(method=method, msg_id=msg_id, payload=payload)
    frame = pb.PushFrame(log_id=log_id, payload_encoding="pb", payload_type="msg")
    frame.headers.add(key="compress_type", value="gzip")
    frame.payload = gzip.compress(response.SerializeToString())
    return frame.SerializeToString()


def _gift(msg_id: int, count: int, end: int) -> tuple[str, int, bytes]:
    m = pb.GiftMessage(gift_id=5655, group_id=9, repeat_count=count, repeat_end=end)
    m.common.msg_id = msg_id
    m.user.id, m.user.display_id = 42, "fan"
    m.gift.type, m.gift.diamond_count, m.gift.name = 1, 1, "Rose"
    return ("WebcastGiftMessage", msg_id, m.SerializeToString())


def _control(msg_id: int, action: int) -> tuple[str, int, bytes]:
    return ("WebcastControlMessage", msg_id, pb.ControlMessage(action=action).SerializeToString())


def _entered(session: TikTokSession) -> None:
    session.receive_data(_frame("im_enter_room_resp"))


def test_enter_room_first_then_heartbeats_after_the_answer() -> None:
    session = TikTokSession(ROOM, 555, cursor="resume-here")
    (enter,) = session.data_to_send()
    frame = pb.PushFrame.FromString(enter)
    assert frame.payload_type == "im_enter_room"
    assert pb.ImEnterRoomMessage.FromString(frame.payload).cursor == "resume-here"
    assert not session.heartbeat_due(0.0)
    _entered(session)
    assert session.heartbeat_due(0.0)
    session.heartbeat(0.0)
    assert not session.heartbeat_due(9.9)
    session.heartbeat(10.0)
    beats = [
        pb.HeartBeatMessage.FromString(pb.PushFrame.FromString(b).payload)
        for b in session.data_to_send()
    ]
    assert [(b.room_id, b.send_packet_seq_id) for b in beats] == [(ROOM, 1), (ROOM, 2)]


def test_msg_frame_is_acked_and_its_cursor_and_interval_kept() -> None:
    session = TikTokSession(ROOM, 1)
    session.data_to_send()
    chat = pb.ChatMessage(content="hi")
    session.receive_data(
        _msg(("WebcastChatMessage", 7, chat.SerializeToString())), RowContext(handle="host")
    )
    (ack,) = session.data_to_send()
    ack_frame = pb.PushFrame.FromString(ack)
    assert (ack_frame.payload_type, ack_frame.log_id, ack_frame.payload) == ("ack", 11, b"ext-1")
    assert (session.cursor, session.internal_ext, session.acks_sent) == ("c1", "ext-1", 1)
    assert session.heartbeat_interval_s == 20.0  # heartbeat_duration 20000 ms
    (row,) = session.rows_received()
    assert (row["type"], row["content"], row["handle"], row["msg_id"]) == (
        "chat",
        "hi",
        "host",
        "7",
    )


def test_a_streak_over_frames_and_a_reconnect_is_one_row_and_replays_are_dropped() -> None:
    first = TikTokSession(ROOM, 1)
    first.receive_data(_msg(_gift(1, 1, 0), _gift(2, 2, 0)))
    assert first.rows_received() == []
    # reconnect: the server replays message 2, then the streak ends
    second = TikTokSession(ROOM, 2, cursor=first.cursor, dedup=first.dedup, streaks=first.streaks)
    second.receive_data(_msg(_gift(2, 2, 0), _gift(3, 3, 0), _gift(4, 3, 1)))
    (row,) = second.rows_received()
    assert (row["repeat_count"], row["msg_id"], row["streak_interrupted"]) == (3, "4", False)
    assert second.duplicates == 1
    assert second.finish() == []


def test_control_pauses_resumes_and_ends() -> None:
    session = TikTokSession(ROOM, 1)
    _entered(session)
    session.receive_data(_msg(_control(1, 1)))
    assert (session.paused, session.ended) == (True, False)
    session.receive_data(_msg(_control(2, 2)))
    assert (session.paused, session.ended) == (False, False)
    session.receive_data(_msg(_gift(5, 1, 0), _control(3, 3)))
    assert session.ended
    assert not session.heartbeat_due(1e9)
    assert [r["status"] for r in session.rows_received()] == [1, 2, 3]
    (held,) = session.finish()
    assert (held["type"], held["streak_interrupted"]) == ("gift", True)


def test_a_bad_frame_raises_the_protocol_error_and_is_survived() -> None:
    session = TikTokSession(ROOM, 1)
    with pytest.raises(RemoteProtocolError):
        session.receive_data(b"\xff\xff\xff")
    bad_gzip = _frame("msg", b"\x1f\x8b\x08garbage")
    with pytest.raises(RemoteProtocolError):
        session.receive_data(bad_gzip)
    session.receive_data(_msg(_control(1, 4)))
    assert (session.failed_frames, session.frames, session.ended) == (2, 3, True)


def test_every_real_payload_in_one_frame_comes_out_as_rows() -> None:
    lines = [
        json.loads(x)
        for x in capture_path("tiktok-events-2023.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    messages = [(x["method"], 0, base64.b64decode(x["payload_b64"])) for x in lines]
    session = TikTokSession(ROOM, 1)
    session.receive_data(_msg(*messages))
    rows = session.rows_received() + session.finish()
    assert len(rows) == 48  # the mid-streak gift comes out on finish, marked
    assert {r["type"] for r in rows} >= {"chat", "gift", "battle", "poll", "caption", "room_pin"}
    assert not [r for r in rows if r["type"] in ("unknown", "undecodable")]
    assert session.ended  # the capture holds a ControlMessage 3
