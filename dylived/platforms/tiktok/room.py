"""The room's own state and widgets on TikTok: viewer count and ranking, stream control, pinned
message, LIVE intro, goals, polls, captions, banners, rank widgets, system text, moderation
verdicts → row bodies (``decode.py`` adds the common head).

Field numbers: shared/research/tiktok.md §4.2 (TikTokLiveProto 0.2.2) and protocol.md §3.2-3.3,
checked against tiktok-events-2023.jsonl: RoomPin carries a pinned chat in field 2 and a pinned
gift in 4; Barrage's user sits at 100.4 (user grade) or 101.4 (fan level); Poll's options are
in 4.3, 5.2 or 6.2 by ``message_type``; ControlMessage 1 pause, 2 resume, 3 end, 4 suspended.

Pure: no sockets, files, clocks, anyio or asyncio.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.common import Row, id_str, text_or_none, user_object, user_of


SUPERFAN_KEY = "ttlive_superfan"
CONTROL_ACTIONS = {1: "paused", 2: "resumed", 3: "ended", 4: "suspended"}
CONTROL_ENDS = frozenset({3, 4})  # ended, suspended: the capture stops (protocol.md §3.2 item 7)


def viewer_count(m: pb.RoomUserSeqMessage) -> Row:
    return {
        "type": "viewer_count",
        "current_viewers": m.total,
        "total_users": m.total_user,
        "popularity": m.popularity,
        "anonymous": m.anonymous,
        "ranks": [
            {"rank": r.rank, "user": user_of(r), "score": r.score, "delta": r.delta}
            for r in m.ranks
        ],
    }


def control(m: pb.ControlMessage) -> Row:
    return {
        "type": "control",
        "status": m.action,
        "action": CONTROL_ACTIONS.get(m.action, "unknown"),
        "stream_ended": m.action in CONTROL_ENDS,
    }


_PINNABLE = ("chat_message", "gift_message", "social_message", "member_message", "like_message")


def room_pin(m: pb.RoomPinMessage) -> Row:
    pinned: Any = None
    for field in _PINNABLE:
        if m.HasField(field):
            pinned = getattr(m, field)
            break
    return {
        "type": "room_pin",
        "action": m.action,  # 1 pin, 2 unpin
        "pinned_method": text_or_none(m.method),
        "pinned_msg_id": id_str(pinned.common.msg_id) if pinned is not None else None,
        "pinned_user": user_of(pinned) if pinned is not None else None,
        "pinned_content": m.chat_message.content if m.HasField("chat_message") else None,
        "pinned_gift_id": (
            id_str(m.gift_message.gift_id or m.gift_message.gift.id)
            if m.HasField("gift_message")
            else None
        ),
        "pin_time_ms": m.pin_time or None,
        "display_duration_s": m.display_duration,
    }


def live_intro(m: pb.LiveIntroMessage) -> Row:
    return {
        "type": "live_intro",
        "host": user_of(m, "host"),
        "content": m.content,
        "audit_status": m.audit_status,
        "content_language": text_or_none(m.content_language),
    }


def goal(m: pb.GoalUpdateMessage) -> Row:
    g = m.goal
    return {
        "type": "goal",
        "goal_id": id_str(g.id),
        "goal_type": g.type,
        "status": g.status,
        "description": g.description,
        "sub_goals": [
            {"type": s.type, "progress": s.progress, "target": s.target} for s in g.sub_goals
        ],
        "contributor_id": id_str(m.contributor_id),
        "contributor_handle": text_or_none(m.contributor_display_id),
        "contribute_count": m.contribute_count,
        "contribute_score": m.contribute_score,
    }


def _poll_options(m: pb.PollMessage) -> Any:
    # the options travel in the part that message_type names (0 start, 1 end, 2 update)
    if m.HasField("start_content"):
        return m.start_content.option_list
    if m.HasField("end_content"):
        return m.end_content.option_list
    return m.update_votes_content.option_list


def poll(m: pb.PollMessage) -> Row:
    return {
        "type": "poll",
        "poll_id": id_str(m.poll_id),
        "message_type": m.message_type,
        "poll_kind": m.poll_kind,
        "title": text_or_none(m.start_content.title),
        "options": [
            {"option_idx": o.option_idx, "content": o.display_content, "votes": o.votes}
            for o in _poll_options(m)
        ],
    }


def caption(m: pb.CaptionMessage) -> Row:
    return {
        "type": "caption",
        "timestamp_ms": m.timestamp_ms,
        "duration_ms": m.duration_ms,
        "definite": m.definite,
        "captions": [{"lang": c.lang, "content": c.content} for c in m.content],
    }


def barrage(m: pb.BarrageMessage) -> Row:
    grade, fans = m.user_grade_param, m.fans_level_param
    user = grade.user if grade.HasField("user") else fans.user if fans.HasField("user") else None
    return {
        "type": "barrage",
        "msg_type": m.msg_type,
        "content_key": text_or_none(m.content.key),
        # super-fan notices are barrages whose key says so (TikTokLive, TikTok-Live-Connector)
        "superfan": SUPERFAN_KEY in m.content.key,
        "content_text": text_or_none(m.content.default_pattern),
        "duration_ms": m.duration,
        "user_grade": grade.level if m.HasField("user_grade_param") else None,
        "fans_level": fans.level if m.HasField("fans_level_param") else None,
        "user": user_object(user) if user is not None else None,
    }


def rank_update(m: pb.RankUpdateMessage) -> Row:
    return {
        "type": "rank_update",
        "group_type": m.group_type,
        "updates": [{"rank_type": u.rank_type, "owner_rank": u.owner_rank} for u in m.updates],
    }


def room_message(m: pb.RoomMessage) -> Row:
    # real samples carry a single space here; the text is in the display key
    return {"type": "room_message", "content": m.content}


def room_verify(m: pb.RoomVerifyMessage) -> Row:
    return {
        "type": "room_verify",
        "action": m.action,
        "content": m.content,
        "notice_type": m.notice_type,
        "close_room": m.close_room,
    }


CONVERTERS: dict[str, tuple[Any, Callable[[Any], Row]]] = {
    "WebcastRoomUserSeqMessage": (pb.RoomUserSeqMessage, viewer_count),
    "WebcastControlMessage": (pb.ControlMessage, control),
    "WebcastRoomPinMessage": (pb.RoomPinMessage, room_pin),
    "WebcastLiveIntroMessage": (pb.LiveIntroMessage, live_intro),
    "WebcastGoalUpdateMessage": (pb.GoalUpdateMessage, goal),
    "WebcastPollMessage": (pb.PollMessage, poll),
    "WebcastCaptionMessage": (pb.CaptionMessage, caption),
    "WebcastBarrageMessage": (pb.BarrageMessage, barrage),
    "WebcastRankUpdateMessage": (pb.RankUpdateMessage, rank_update),
    "WebcastRoomMessage": (pb.RoomMessage, room_message),
    "WebcastSystemMessage": (pb.RoomMessage, room_message),  # same field 2 text
    "WebcastRoomVerifyMessage": (pb.RoomVerifyMessage, room_verify),
    "RoomVerifyMessage": (pb.RoomVerifyMessage, room_verify),  # TikTokLiveJava's name
}
