"""Douyin's typed events → the rows of shared/design/dataset.md, as plain JSON-ready dicts.

Field names are exactly dataset.md's. Every event row carries ``type``, ``msg_id``,
``room_id``, ``web_rid``, ``server_time_ms``, ``received_at_ms`` and ``stream_offset_s``; the
caller supplies ``web_rid``, ``received_at_ms`` and ``stream_offset_s`` (wire has no clock and
does not know the recording), and may override ``server_time_ms`` (by default the event's own).

Id types: every platform id (``msg_id``, ``room_id``, ``user_id``, ``short_id``, ``gift_id``,
``emoji_id``) is a **decimal string** in rows, because 19-digit ids exceed 2**53 and would be
silently rounded by JSON consumers that read numbers as doubles (JavaScript, jq). Absent ids are
``null``. Counts, levels, enums and times are JSON numbers (``*_ms`` integers, ``*_s`` floats); a
non-finite float from the wire becomes ``null``, so every row is strict JSON.

Gift streaks: a streakable (combo) gift produces repeated messages with a growing
``repeat_count`` and a final one with ``repeat_end`` 1; a non-streakable gift is one message.
``streak_final`` is true exactly once per streak (non-streakable: always; streakable: on
``repeat_end == 1``), so counting gifts means counting rows with ``streak_final``.

Unknown methods become ``{"type": "unknown", "method", "payload_base64", ...}`` and
undecodable payloads ``{"type": "undecodable", "method", "error", "payload_base64", ...}``;
those are for diagnosis and are never stored as events.

Pure: no sockets, files, clocks, anyio or asyncio; no protobuf.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

from dylived.model import LiveStatus
from dylived.platforms.douyin.messages import (
    ChatEvent,
    ControlEvent,
    EmojiChatEvent,
    FansclubEvent,
    GiftEvent,
    LikeEvent,
    MemberEvent,
    RoomMessageEvent,
    RoomRankEvent,
    RoomStatsEvent,
    SocialEvent,
    StreamAdaptationEvent,
    User,
    ViewerCountEvent,
    WireEvent,
)
from dylived.platforms.douyin.status import sec_uid_of
from dylived.wire.frames import UndecodableMessage, UnknownMessage


Row = dict[str, Any]


def _id(value: int) -> str | None:
    return str(value) if value else None


def user_object(user: User | None) -> Row | None:
    """The dataset.md ``user`` object (``None`` when the event has no user)."""
    if user is None:
        return None
    user_id, short_id = user.user_id, user.short_id
    return {  # _id inlined: two users' worth of calls per event otherwise
        "user_id": str(user_id) if user_id else None,
        "short_id": str(short_id) if short_id else None,
        "sec_uid": user.sec_uid,
        "display_id": user.display_id,
        "nickname": user.nickname,
        "gender": user.gender,
        "fans_club_name": user.fans_club_name,
        "fans_club_level": user.fans_club_level,
        "pay_grade_level": user.pay_grade_level,
    }


def _chat(e: ChatEvent, row: Row) -> None:
    row["user"] = user_object(e.user)
    row["content"] = e.content


def _gift(e: GiftEvent, row: Row) -> None:
    row["user"] = user_object(e.user)
    row["gift_id"] = _id(e.gift_id)
    row["gift_name"] = e.gift_name
    row["gift_diamond_count"] = e.gift_diamond_count
    row["gift_describe"] = e.gift_describe
    row["combo_count"] = e.combo_count
    row["repeat_count"] = e.repeat_count
    row["total_count"] = e.total_count
    row["send_type"] = e.send_type
    row["recipient_nickname"] = e.to_user.nickname if e.to_user is not None else None
    row["repeat_end"] = e.repeat_end
    row["streak_final"] = is_streak_final(e)


def is_streak_final(event: GiftEvent) -> bool:
    """True for the one row of a gift streak that counts (see the module docstring)."""
    return not event.streakable or event.repeat_end == 1


def _like(e: LikeEvent, row: Row) -> None:
    row["user"] = user_object(e.user)
    row["count"] = e.count
    row["total"] = e.total


def _member(e: MemberEvent, row: Row) -> None:
    row["user"] = user_object(e.user)
    row["member_count"] = e.member_count
    row["enter_type"] = e.enter_type
    row["action"] = e.action


SOCIAL_SHARE_ACTION = 3  # the only non-follow action seen on the wire (TikTok capture: a share)


def _social(e: SocialEvent, row: Row) -> None:
    # dataset.md names the action (follow / share); the wire code is kept as action_code
    # because Douyin's values are undocumented (protocol.md §2.7): 3 or a share_type is a share.
    shared = e.action == SOCIAL_SHARE_ACTION or e.share_type != 0
    row["user"] = user_object(e.user)
    row["action"] = "share" if shared else "follow"
    row["action_code"] = e.action
    row["share_type"] = e.share_type
    row["follow_count"] = e.follow_count


def _viewers(e: ViewerCountEvent, row: Row) -> None:
    row["current_viewers"] = e.current_viewers
    row["total_users"] = e.total_users
    row["popularity"] = e.popularity
    row["current_viewers_text"] = e.current_viewers_text
    row["total_users_text"] = e.total_users_text
    row["online_user_for_anchor"] = e.online_user_for_anchor
    row["total_pv_for_anchor"] = e.total_pv_for_anchor


def _fansclub(e: FansclubEvent, row: Row) -> None:
    row["user"] = user_object(e.user)
    row["fansclub_type"] = e.fansclub_type
    row["content"] = e.content


def _emoji(e: EmojiChatEvent, row: Row) -> None:
    row["user"] = user_object(e.user)
    row["emoji_id"] = _id(e.emoji_id)
    row["default_content"] = e.default_content


def _stats(e: RoomStatsEvent, row: Row) -> None:
    row["display_short"] = e.display_short
    row["display_middle"] = e.display_middle
    row["display_long"] = e.display_long
    row["display_value"] = e.display_value


def _rank(e: RoomRankEvent, row: Row) -> None:
    row["ranks"] = [
        {"rank": r.rank, "user": user_object(r.user), "score_text": r.score_text} for r in e.ranks
    ]


def _room(e: RoomMessageEvent, row: Row) -> None:
    row["content"] = e.content
    row["biz_scene"] = e.biz_scene
    row["room_message_type"] = e.room_message_type


def _finite(value: float) -> float | None:
    # NaN and infinities are not JSON; the wire can carry them in float fields.
    return value if math.isfinite(value) else None


def _adapt(e: StreamAdaptationEvent, row: Row) -> None:
    row["adaptation_type"] = e.adaptation_type
    row["adaptation_height_ratio"] = _finite(e.adaptation_height_ratio)
    row["adaptation_body_center_ratio"] = _finite(e.adaptation_body_center_ratio)
    row["adaptation_content_top_ratio"] = _finite(e.adaptation_content_top_ratio)
    row["adaptation_content_bottom_ratio"] = _finite(e.adaptation_content_bottom_ratio)


def _control(e: ControlEvent, row: Row) -> None:
    row["status"] = e.status
    row["tips"] = e.tips


def _unknown(e: UnknownMessage, row: Row) -> None:
    row["method"] = e.method
    row["payload_base64"] = base64.b64encode(e.payload).decode()


def _undecodable(e: UndecodableMessage, row: Row) -> None:
    row["method"] = e.method
    row["error"] = e.error
    row["payload_base64"] = base64.b64encode(e.payload).decode()


_BUILDERS: dict[type, Callable[[Any, Row], None]] = {
    ChatEvent: _chat,
    GiftEvent: _gift,
    LikeEvent: _like,
    MemberEvent: _member,
    SocialEvent: _social,
    ViewerCountEvent: _viewers,
    FansclubEvent: _fansclub,
    EmojiChatEvent: _emoji,
    RoomStatsEvent: _stats,
    RoomRankEvent: _rank,
    RoomMessageEvent: _room,
    StreamAdaptationEvent: _adapt,
    ControlEvent: _control,
    UnknownMessage: _unknown,
    UndecodableMessage: _undecodable,
}


def build_row(
    event: WireEvent,
    *,
    web_rid: str | None = None,
    received_at_ms: int | None = None,
    stream_offset_s: float | None = None,
    room_id: str | None = None,
    server_time_ms: int | None = None,
) -> Row:
    """The dataset.md row of one event.

    Args:
        event: a value from ``messages.decode_message`` (typed, unknown or undecodable).
        web_rid: the broadcaster's web room id, when known.
        received_at_ms: when the frame arrived (Unix ms, the caller's clock).
        stream_offset_s: seconds into the recording; ``None`` when not recording.
        room_id: used when the event itself carries none (unknown/undecodable, or 0).
        server_time_ms: overrides the event's ``server_time_ms``.
    """
    event_room_id = getattr(event, "room_id", 0)
    time_ms = server_time_ms if server_time_ms is not None else event.server_time_ms
    msg_id = event.msg_id
    row: Row = {
        "type": event.row_type,
        "msg_id": str(msg_id) if msg_id else None,
        "room_id": str(event_room_id) if event_room_id else room_id,
        "web_rid": web_rid,
        "server_time_ms": time_ms or None,
        "received_at_ms": received_at_ms,
        "stream_offset_s": stream_offset_s,
    }
    _BUILDERS[type(event)](event, row)  # adds the type's own fields, in dataset.md's order
    return row


def build_room_info_row(
    status: LiveStatus,
    *,
    raw_url: str = "",
    received_at_ms: int | None = None,
) -> Row:
    """The ``room_info`` row (first of an export) from a room-status answer.

    ``user_count_text`` is the platform's own text when it gave one, else the viewer count.
    """
    if status.viewers_text:
        user_count_text: str | None = status.viewers_text
    elif status.viewers is not None:
        user_count_text = str(status.viewers)
    else:
        user_count_text = None
    return {
        "type": "room_info",
        "room_id": status.room_id,
        "web_rid": status.handle,
        "broadcaster": {
            "nickname": status.nickname,
            "user_id": status.user_id,
            "sec_uid": sec_uid_of(status),
        },
        "title": status.title,
        "user_count_text": user_count_text,
        "raw_url": raw_url,
        "live": status.live,
        "stream_qualities": list(status.streams),
        "server_time_ms": status.server_time_ms,
        "received_at_ms": received_at_ms,
    }
