"""Test-side frame building with the generated schema only (never with dylived.wire logic).

``build_frame`` wraps messages into a Response and a PushFrame the way the push server does;
the hypothesis strategies build one random event of each of the 13 types together with the
row dataset.md says it must decode to, computed here from the generated values — so decoder
bugs cannot be hidden by sharing code with it.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from dylived.platforms.douyin._pb import douyin_pb2 as pb


U64 = st.integers(min_value=0, max_value=2**64 - 1)
I32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
I64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SMALL = st.integers(min_value=0, max_value=10**6)
TEXT = st.text(max_size=12)
F32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


def build_frame(
    messages: Sequence[tuple[str, int, bytes]],
    *,
    gzip_payload: bool = True,
    gzip_header: bool = True,
    log_id: int = 4242,
    seq_id: int = 7,
    need_ack: bool = True,
    internal_ext: str = "internal_src:pushserver|seq:1",
    now_ms: int = 1_700_000_000_000,
    heartbeat_duration: int = 0,
    headers: dict[str, str] | None = None,
    payload_type: str = "msg",
) -> bytes:
    """A PushFrame carrying one Response with ``(method, msg_id, payload)`` messages."""
    response = pb.Response(
        cursor="t-1_r-1",
        now=now_ms,
        internal_ext=internal_ext,
        need_ack=need_ack,
        heartbeat_duration=heartbeat_duration,
        fetch_interval=1000,
    )
    for method, msg_id, payload in messages:
        response.messages_list.add(method=method, msg_id=msg_id, payload=payload)
    body = response.SerializeToString()
    frame = pb.PushFrame(
        seq_id=seq_id,
        log_id=log_id,
        service=8888,
        method=8,
        payload_encoding="pb",
        payload_type=payload_type,
    )
    all_headers = dict(headers or {})
    if gzip_payload:
        body = gzip.compress(body, mtime=0)
        if gzip_header:
            all_headers["compress_type"] = "gzip"
    for key, value in all_headers.items():
        frame.headers_list.add(key=key, value=value)
    frame.payload = body
    return frame.SerializeToString()


def _id(value: int) -> str | None:
    return str(value) if value else None


@st.composite
def users(draw: st.DrawFn) -> tuple[pb.User, dict[str, Any]]:
    """A pb.User and the dataset.md ``user`` object it must become."""
    user = pb.User(
        id=draw(U64),
        short_id=draw(U64),
        nickname=draw(TEXT),
        gender=draw(st.integers(0, 2)),
        sec_uid=draw(TEXT),
        display_id=draw(TEXT),
    )
    club, club_level, grade = draw(TEXT), draw(I32), draw(I64)
    user.fans_club.data.club_name = club
    user.fans_club.data.level = club_level
    user.pay_grade.level = grade
    expected = {
        "user_id": _id(user.id),
        "short_id": _id(user.short_id),
        "sec_uid": user.sec_uid,
        "display_id": user.display_id,
        "nickname": user.nickname,
        "gender": user.gender,
        "fans_club_name": club,
        "fans_club_level": club_level,
        "pay_grade_level": grade,
    }
    return user, expected


@dataclass(frozen=True)
class Case:
    """One generated event: what goes on the wire and the row it must decode to."""

    method: str
    msg_id: int
    payload: bytes
    row: dict[str, Any]  # every row field except web_rid/received_at_ms/stream_offset_s


def _with_user(draw: st.DrawFn, message: Any, field: str = "user") -> dict[str, Any] | None:
    if not draw(st.booleans()):
        return None
    user, expected = draw(users())
    getattr(message, field).CopyFrom(user)
    return expected


def _chat(draw: st.DrawFn, m: pb.ChatMessage) -> dict[str, Any]:
    user = _with_user(draw, m)
    m.content = draw(TEXT)
    m.event_time = draw(U64)
    return {"user": user, "content": m.content}


def _gift(draw: st.DrawFn, m: pb.GiftMessage) -> dict[str, Any]:
    user = _with_user(draw, m)
    recipient = _with_user(draw, m, "to_user")
    m.gift_id = draw(U64)
    m.gift.id = draw(U64)
    m.gift.name = draw(TEXT)
    m.gift.diamond_count = draw(I32)
    m.gift.describe = draw(TEXT)
    m.gift.combo = draw(st.booleans())
    m.gift.type = draw(st.integers(0, 3))
    m.combo_count, m.repeat_count, m.total_count = draw(SMALL), draw(SMALL), draw(SMALL)
    m.send_type = draw(SMALL)
    m.repeat_end = draw(st.integers(0, 1))
    streakable = m.gift.combo or m.gift.type == 1
    return {
        "user": user,
        "gift_id": _id(m.gift_id or m.gift.id),
        "gift_name": m.gift.name,
        "gift_diamond_count": m.gift.diamond_count,
        "gift_describe": m.gift.describe,
        "combo_count": m.combo_count,
        "repeat_count": m.repeat_count,
        "total_count": m.total_count,
        "send_type": m.send_type,
        "recipient_nickname": recipient["nickname"] if recipient else None,
        "repeat_end": m.repeat_end,
        "streak_final": (not streakable) or m.repeat_end == 1,
    }


def _like(draw: st.DrawFn, m: pb.LikeMessage) -> dict[str, Any]:
    user = _with_user(draw, m)
    m.count, m.total = draw(U64), draw(U64)
    return {"user": user, "count": m.count, "total": m.total}


def _member(draw: st.DrawFn, m: pb.MemberMessage) -> dict[str, Any]:
    user = _with_user(draw, m)
    m.member_count, m.enter_type, m.action = draw(U64), draw(SMALL), draw(SMALL)
    return {
        "user": user,
        "member_count": m.member_count,
        "enter_type": m.enter_type,
        "action": m.action,
    }


def _social(draw: st.DrawFn, m: pb.SocialMessage) -> dict[str, Any]:
    user = _with_user(draw, m)
    m.action, m.share_type, m.follow_count = draw(SMALL), draw(SMALL), draw(U64)
    return {
        "user": user,
        "action": "share" if m.action == 3 or m.share_type else "follow",
        "action_code": m.action,
        "share_type": m.share_type,
        "follow_count": m.follow_count,
    }


def _viewers(draw: st.DrawFn, m: pb.RoomUserSeqMessage) -> dict[str, Any]:
    m.total, m.total_user, m.popularity = draw(U64), draw(U64), draw(U64)
    m.total_str, m.total_user_str = draw(TEXT), draw(TEXT)
    m.online_user_for_anchor, m.total_pv_for_anchor = draw(TEXT), draw(TEXT)
    return {
        "current_viewers": m.total,
        "total_users": m.total_user,
        "popularity": m.popularity,
        "current_viewers_text": m.total_str,
        "total_users_text": m.total_user_str,
        "online_user_for_anchor": m.online_user_for_anchor,
        "total_pv_for_anchor": m.total_pv_for_anchor,
    }


def _fansclub(draw: st.DrawFn, m: pb.FansclubMessage) -> dict[str, Any]:
    user = _with_user(draw, m)
    m.type, m.content = draw(st.integers(0, 2)), draw(TEXT)
    return {"user": user, "fansclub_type": m.type, "content": m.content}


def _emoji(draw: st.DrawFn, m: pb.EmojiChatMessage) -> dict[str, Any]:
    user = _with_user(draw, m)
    m.emoji_id, m.default_content = draw(U64), draw(TEXT)
    return {"user": user, "emoji_id": _id(m.emoji_id), "default_content": m.default_content}


def _stats(draw: st.DrawFn, m: pb.RoomStatsMessage) -> dict[str, Any]:
    m.display_short, m.display_middle, m.display_long = draw(TEXT), draw(TEXT), draw(TEXT)
    m.display_value = draw(I64)
    return {
        "display_short": m.display_short,
        "display_middle": m.display_middle,
        "display_long": m.display_long,
        "display_value": m.display_value,
    }


def _rank(draw: st.DrawFn, m: pb.RoomRankMessage) -> dict[str, Any]:
    ranks = []
    for position in range(1, draw(st.integers(0, 3)) + 1):
        entry = m.ranks.add(score_str=draw(TEXT))
        user = _with_user(draw, entry)
        ranks.append({"rank": position, "user": user, "score_text": entry.score_str})
    return {"ranks": ranks}


def _room(draw: st.DrawFn, m: pb.RoomMessage) -> dict[str, Any]:
    m.content, m.biz_scene, m.room_message_type = draw(TEXT), draw(TEXT), draw(I32)
    return {
        "content": m.content,
        "biz_scene": m.biz_scene,
        "room_message_type": m.room_message_type,
    }


def _adapt(draw: st.DrawFn, m: pb.RoomStreamAdaptationMessage) -> dict[str, Any]:
    m.adaptation_type = draw(I32)
    m.adaptation_height_ratio = draw(F32)
    m.adaptation_body_center_ratio = draw(F32)
    m.adaptation_content_top_ratio = draw(F32)
    m.adaptation_content_bottom_ratio = draw(F32)
    return {
        "adaptation_type": m.adaptation_type,
        "adaptation_height_ratio": m.adaptation_height_ratio,
        "adaptation_body_center_ratio": m.adaptation_body_center_ratio,
        "adaptation_content_top_ratio": m.adaptation_content_top_ratio,
        "adaptation_content_bottom_ratio": m.adaptation_content_bottom_ratio,
    }


def _control(draw: st.DrawFn, m: pb.ControlMessage) -> dict[str, Any]:
    m.action, m.tips = draw(I64), draw(TEXT)
    return {"status": m.action, "tips": m.tips}


# row type → (method, generated class, field filler returning the type-specific row fields)
EVENT_BUILDERS: dict[str, tuple[str, Any, Callable[[st.DrawFn, Any], dict[str, Any]]]] = {
    "chat": ("WebcastChatMessage", pb.ChatMessage, _chat),
    "gift": ("WebcastGiftMessage", pb.GiftMessage, _gift),
    "like": ("WebcastLikeMessage", pb.LikeMessage, _like),
    "member": ("WebcastMemberMessage", pb.MemberMessage, _member),
    "social": ("WebcastSocialMessage", pb.SocialMessage, _social),
    "viewer_count": ("WebcastRoomUserSeqMessage", pb.RoomUserSeqMessage, _viewers),
    "fansclub": ("WebcastFansclubMessage", pb.FansclubMessage, _fansclub),
    "emoji_chat": ("WebcastEmojiChatMessage", pb.EmojiChatMessage, _emoji),
    "room_stats": ("WebcastRoomStatsMessage", pb.RoomStatsMessage, _stats),
    "room_rank": ("WebcastRoomRankMessage", pb.RoomRankMessage, _rank),
    "room_message": ("WebcastRoomMessage", pb.RoomMessage, _room),
    "stream_adaptation": (
        "WebcastRoomStreamAdaptationMessage",
        pb.RoomStreamAdaptationMessage,
        _adapt,
    ),
    "control": ("WebcastControlMessage", pb.ControlMessage, _control),
}


@st.composite
def event_cases(draw: st.DrawFn, msg_id: int, now_ms: int, row_type: str | None = None) -> Case:
    """One random event of ``row_type`` (default: a random one of the 13), with ``msg_id``."""
    if row_type is None:
        row_type = draw(st.sampled_from(sorted(EVENT_BUILDERS)))
    method, message_class, fill = EVENT_BUILDERS[row_type]
    message = message_class()
    room_id, create_time = draw(U64), draw(st.sampled_from([0, 1_600_000_000_123]))
    message.common.method = method
    message.common.room_id = room_id
    message.common.create_time = create_time
    fields = fill(draw, message)
    row = {
        "type": row_type,
        "msg_id": str(msg_id),
        "room_id": _id(room_id),
        "server_time_ms": create_time or now_ms or None,
        **fields,
    }
    return Case(method, msg_id, message.SerializeToString(), row)


@st.composite
def framed_batches(
    draw: st.DrawFn, first_type: str | None = None
) -> tuple[bytes, list[Case], bool]:
    """A frame holding 1–6 random events with distinct ids; also whether it was gzipped.

    ``first_type`` fixes the type of the first event (the others stay random).
    """
    ids = draw(st.lists(st.integers(1, 2**63 - 1), min_size=1, max_size=6, unique=True))
    now_ms = draw(st.sampled_from([0, 1_700_000_000_000]))
    cases = [
        draw(event_cases(msg_id, now_ms, first_type if i == 0 else None))
        for i, msg_id in enumerate(ids)
    ]
    gzip_payload = draw(st.booleans())
    frame = build_frame(
        [(c.method, c.msg_id, c.payload) for c in cases],
        gzip_payload=gzip_payload,
        gzip_header=draw(st.booleans()),
        now_ms=now_ms,
    )
    return frame, cases, gzip_payload
